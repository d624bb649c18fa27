// Credentials as users send them (`POST /api/v1/devices/{id}/credentials`, import lines) →
// CredentialRecords ready to store. Secrets never reach the store in clear: passwords become
// scrypt hashes (computed on the libuv thread pool), tokens are generated here and only their
// SHA-256 is kept; the caller shows the token once.
import { randomBytes } from 'node:crypto';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { CredentialRecord } from '../../ports/registry-store.js';
import {
  generateDeviceToken,
  hashPassword,
  importJwtKey,
  normalizeFingerprint,
  parsePasswordHash,
  sha256Hex,
  validatePassword,
  type JwtAlg,
  type ScryptParams,
} from './credentials/index.js';
import { tokenHashLookupKey } from './credentials/tokens.js';
import { fingerprintLookupKey, subjectLookupKey } from './credentials/x509.js';

export interface NewCredential {
  record: CredentialRecord;
  /** A generated secret (token) to show once; never stored. */
  secret?: string;
}

const TYPES = ['password', 'token', 'x509', 'jwt-key'] as const;
const ALLOWED: Record<(typeof TYPES)[number], ReadonlySet<string>> = {
  password: new Set(['type', 'password', 'hash', 'label', 'expiresAt']),
  token: new Set(['type', 'hash', 'label', 'expiresAt']),
  x509: new Set(['type', 'fingerprint', 'subject', 'label', 'expiresAt']),
  'jwt-key': new Set(['type', 'alg', 'key', 'label', 'expiresAt']),
};

function bad(message: string, field?: string): TwinhubError {
  return new TwinhubError(Errors.CREDENTIAL_INVALID, field === undefined ? message : `${field}: ${message}`, field === undefined ? undefined : { field });
}

export function credentialId(): string {
  return `cr_${randomBytes(9).toString('base64url')}`;
}

function expiry(v: unknown, now: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  const t = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(t)) throw bad('must be epoch milliseconds or an ISO 8601 time', 'expiresAt');
  if (t <= now) throw bad('is in the past', 'expiresAt');
  return t;
}

/**
 * Validate and prepare one credential of `deviceId`. Throws TwinhubError(CREDENTIAL_INVALID)
 * naming the field.
 */
export async function prepareCredential(deviceId: string, input: unknown, now: number, scrypt: ScryptParams): Promise<NewCredential> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw bad('a credential must be a JSON object');
  const o = input as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string' || !(TYPES as readonly string[]).includes(type)) {
    throw bad(`must be one of ${TYPES.join(', ')}`, 'type');
  }
  const t = type as (typeof TYPES)[number];
  for (const k of Object.keys(o)) if (!ALLOWED[t].has(k)) throw bad(`unknown field for a ${t} credential`, k);
  const record: CredentialRecord = { id: credentialId(), deviceId, type: t, createdAt: now };
  const exp = expiry(o.expiresAt, now);
  if (exp !== undefined) record.expiresAt = exp;
  if (o.label !== undefined) {
    if (typeof o.label !== 'string' || o.label.length > 128) throw bad('must be a string of at most 128 characters', 'label');
    record.label = o.label;
  }
  switch (t) {
    case 'password': {
      if ((o.password === undefined) === (o.hash === undefined)) throw bad('give either "password" or a pre-hashed "hash"', 'password');
      if (o.password !== undefined) {
        if (typeof o.password !== 'string') throw bad('must be a string', 'password');
        const p = validatePassword(o.password);
        if (p !== null) throw bad(p, 'password');
        record.hash = await hashPassword(o.password, scrypt);
      } else {
        if (typeof o.hash !== 'string') throw bad('must be a PHC scrypt string', 'hash');
        const parsed = parsePasswordHash(o.hash);
        if (!parsed.ok) throw bad(parsed.error, 'hash');
        record.hash = o.hash;
      }
      return { record };
    }
    case 'token': {
      // A token is generated, never chosen; imports carry only its SHA-256.
      if (o.hash !== undefined) {
        if (typeof o.hash !== 'string' || !/^[0-9a-f]{64}$/.test(o.hash)) throw bad('must be the SHA-256 of the token, 64 lowercase hex digits', 'hash');
        record.hash = o.hash;
        record.lookupKey = tokenHashLookupKey(o.hash);
        return { record };
      }
      const token = generateDeviceToken();
      record.hash = sha256Hex(token);
      record.lookupKey = tokenHashLookupKey(record.hash);
      return { record, secret: token };
    }
    case 'x509': {
      if ((o.fingerprint === undefined) === (o.subject === undefined)) throw bad('give either "fingerprint" (SHA-256) or "subject"', 'fingerprint');
      if (o.fingerprint !== undefined) {
        const fp = typeof o.fingerprint === 'string' ? normalizeFingerprint(o.fingerprint) : undefined;
        if (fp === undefined) throw bad('must be a SHA-256 fingerprint: 32 bytes in hex, with or without ":"', 'fingerprint');
        record.fingerprint = fp;
        record.lookupKey = fingerprintLookupKey(fp);
      } else {
        if (typeof o.subject !== 'string' || o.subject.length === 0 || o.subject.length > 1024) throw bad('must be a certificate subject such as "CN=dev-1"', 'subject');
        record.subject = o.subject;
        record.lookupKey = subjectLookupKey(o.subject);
      }
      return { record };
    }
    case 'jwt-key': {
      if (o.alg !== 'HS256' && o.alg !== 'RS256' && o.alg !== 'ES256') throw bad('must be HS256, RS256 or ES256', 'alg');
      if (typeof o.key !== 'string') throw bad('must be the HS256 secret (base64) or the public key (PEM)', 'key');
      try {
        importJwtKey(o.alg as JwtAlg, o.key);
      } catch (err) {
        throw bad((err as Error).message, 'key');
      }
      record.alg = o.alg;
      record.key = o.key;
      return { record };
    }
  }
}

/** What the API shows of a credential: never a hash or a shared secret. */
export function publicCredential(c: CredentialRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { id: c.id, deviceId: c.deviceId, type: c.type, createdAt: new Date(c.createdAt).toISOString() };
  if (c.expiresAt !== undefined) out.expiresAt = new Date(c.expiresAt).toISOString();
  if (c.label !== undefined) out.label = c.label;
  if (c.fingerprint !== undefined) out.fingerprint = c.fingerprint;
  if (c.subject !== undefined) out.subject = c.subject;
  if (c.alg !== undefined) out.alg = c.alg;
  if (c.type === 'jwt-key' && c.alg !== 'HS256' && c.key !== undefined) out.key = c.key;
  return out;
}
