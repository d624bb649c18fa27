// Random bearer secrets for devices (tokens) and operators (API keys). The store keeps only their
// SHA-256: a token is 128 random bits, so a fast hash suffices (a slow password hash protects
// guessable secrets; nothing here is guessable).
//
// The tht_/thk_ prefixes make a leaked secret recognisable to secret scanners and in logs, and
// tell a reader at a glance what kind of secret it is.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeUnpadded } from './encoding.js';

const SECRET_BYTES = 16;
const API_KEY_ID_BYTES = 6; // 12 hex characters: an identifier, not a secret

/** A new device token: `tht_` + 128 random bits in base64url (22 characters). */
export function generateDeviceToken(): string {
  return `tht_${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

/** SHA-256 of `text` (strings as UTF-8), lowercase hex. */
export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** CredentialRecord.lookupKey of a token credential given the token's SHA-256 (lowercase hex): `token:<sha256 hex>`. */
export function tokenHashLookupKey(hashHex: string): string {
  return `token:${hashHex}`;
}

/** CredentialRecord.lookupKey of a token credential: `token:<sha256 hex>`. */
export function tokenLookupKey(token: string | Buffer): string {
  return tokenHashLookupKey(sha256Hex(token));
}

/**
 * A new operator API key. `id` is public (listed, used to find the record); `text` is what the
 * operator sends as `Authorization: Bearer <text>`; the store keeps sha256Hex(text).
 */
export function generateApiKey(): { id: string; text: string } {
  const id = randomBytes(API_KEY_ID_BYTES).toString('hex');
  return { id, text: `thk_${id}_${randomBytes(SECRET_BYTES).toString('base64url')}` };
}

// The id has a fixed length, so the secret may itself contain '_' (a base64url character).
const API_KEY = /^thk_([0-9a-f]{12})_([A-Za-z0-9_-]{22})$/;

/** The id part of an API key text, or undefined when the text is not an API key. */
export function parseApiKeyId(text: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  const m = API_KEY.exec(text);
  // The secret must be the canonical encoding of 16 bytes, as generateApiKey writes it.
  if (m === null || decodeUnpadded(m[2]!, 'base64url') === undefined) return undefined;
  return m[1];
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * Do two hex strings encode the same bytes? The time taken does not depend on where they differ.
 * False for empty, odd-length or non-hex input: a malformed stored hash never matches anything.
 */
export function constantTimeEqualHex(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || !HEX.test(a) || !HEX.test(b)) return false;
  // Lengths are public (a SHA-256 hex is always 64 characters); only the contents are secret.
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}
