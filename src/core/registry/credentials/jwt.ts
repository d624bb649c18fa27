// Compact JWS (RFC 7515 §7.1) carrying a JWT (RFC 7519), for devices that log in with a token they
// sign themselves (the password field of MQTT CONNECT, as Google Cloud IoT Core devices did).
// HS256, RS256 and ES256 only, with node:crypto.
//
// Hostile input never throws: every failure is { ok: false, reason } (reasons are for logs and
// never echo more than a short quote of the token). The header never picks the key or the
// algorithm: the credential's keys do (RFC 8725 §2.1, §3.1), and key URLs or embedded keys in the
// header (jku, jwk, x5u, x5c) are ignored.

import { createHmac, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { Errors, TwinhubError } from '../../../common/errors.js';
import { decodeUnpadded } from './encoding.js';
import { isJwtAlg, JWT_ALGS, keyProblem, type JwtAlg } from './jwt-keys.js';

export { importJwtKey, type JwtAlg } from './jwt-keys.js';

export interface JwtKey {
  alg: JwtAlg;
  key: KeyObject;
}

export interface JwtVerifyOptions {
  /** Epoch milliseconds. */
  now: number;
  /** Leeway for exp and nbf between the device's clock and ours. */
  clockSkewSeconds: number;
  /** When given, `sub` must equal it. */
  subject?: string;
  /** When given, `aud` must contain it. */
  audience?: string;
}

export type JwtVerification =
  | { ok: true; claims: Record<string, unknown>; expiresAt: number | undefined }
  | { ok: false; reason: string };

/** Refused before any decoding: far above a device token (a few hundred bytes), bounds the work. */
export const MAX_JWT_LENGTH = 8192;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A JSON object from UTF-8 bytes (RFC 7515 §5.2 steps 3, 8), or undefined. */
function parseObject(bytes: Buffer): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    // Duplicate member names: JSON.parse keeps the last, which RFC 7515 §5.2 step 4 allows.
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A short, printable quote of untrusted text for a reason. */
function quote(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function signatureValid(alg: JwtAlg, key: KeyObject, input: Buffer, signature: Buffer): boolean {
  try {
    switch (alg) {
      case 'HS256': {
        const mac = createHmac('sha256', key).update(input).digest();
        return signature.length === mac.length && timingSafeEqual(signature, mac);
      }
      case 'RS256':
        return verify('sha256', input, key, signature);
      case 'ES256':
        // RFC 7518 §3.4: the signature is R || S, 32 bytes each, not DER.
        return signature.length === 64 && verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
  } catch {
    return false;
  }
}

function checkClaims(claims: Record<string, unknown>, opts: JwtVerifyOptions): JwtVerification {
  const has = (name: string) => Object.hasOwn(claims, name);
  const skewMs = Number.isFinite(opts.clockSkewSeconds) && opts.clockSkewSeconds > 0 ? opts.clockSkewSeconds * 1000 : 0;
  // NumericDate (RFC 7519 §2): seconds, possibly fractional. 1e400 parses to Infinity: refused.
  const exp = claims.exp;
  if (has('exp') && (typeof exp !== 'number' || !Number.isFinite(exp))) return { ok: false, reason: 'exp is not a number' };
  // §4.1.4: "the expiration time on or after which the JWT MUST NOT be accepted".
  if (typeof exp === 'number' && opts.now >= exp * 1000 + skewMs) return { ok: false, reason: `token expired (exp ${exp})` };
  const nbf = claims.nbf;
  if (has('nbf') && (typeof nbf !== 'number' || !Number.isFinite(nbf))) return { ok: false, reason: 'nbf is not a number' };
  // §4.1.5: "the current date/time MUST be after or equal to the not-before date/time".
  if (typeof nbf === 'number' && opts.now < nbf * 1000 - skewMs) return { ok: false, reason: `token not valid before nbf ${nbf}` };
  // §4.1.2: sub is a StringOrURI, compared as a case-sensitive string (§2).
  if (has('sub') && typeof claims.sub !== 'string') return { ok: false, reason: 'sub is not a string' };
  if (opts.subject !== undefined && claims.sub !== opts.subject) {
    return { ok: false, reason: has('sub') ? `sub ${quote(claims.sub)} does not match ${quote(opts.subject)}` : `sub missing (expected ${quote(opts.subject)})` };
  }
  // §4.1.3: aud is one StringOrURI or an array of them. Without a configured audience an aud claim
  // is not checked: the hub has no name of its own to find in it.
  const aud = claims.aud;
  let audiences: readonly unknown[] = [];
  if (has('aud')) {
    audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [undefined];
    if (!audiences.every((a) => typeof a === 'string')) return { ok: false, reason: 'aud is not a string or an array of strings' };
  }
  if (opts.audience !== undefined && !audiences.includes(opts.audience)) {
    return { ok: false, reason: `aud does not include ${quote(opts.audience)}` };
  }
  return { ok: true, claims, expiresAt: typeof exp === 'number' ? exp * 1000 : undefined };
}

function verifyCompact(token: string, keys: readonly JwtKey[], opts: JwtVerifyOptions): JwtVerification {
  const fail = (reason: string): JwtVerification => ({ ok: false, reason });
  if (typeof token !== 'string') return fail('token is not a string');
  if (token.length > MAX_JWT_LENGTH) return fail(`token longer than ${MAX_JWT_LENGTH} characters`);
  const parts = token.split('.');
  if (parts.length !== 3) return fail('token is not three base64url parts separated by dots (JWS Compact Serialization)');
  const [h, p, s] = parts as [string, string, string];

  const headerBytes = h === '' ? undefined : decodeUnpadded(h, 'base64url');
  if (headerBytes === undefined) return fail('header is not base64url');
  const header = parseObject(headerBytes);
  if (header === undefined) return fail('header is not a JSON object');
  const alg = header.alg;
  if (typeof alg !== 'string') return fail('header alg missing or not a string');
  if (alg === 'none') return fail('alg none refused (unsecured JWS, RFC 7518 §3.6)');
  const candidates = keys.filter((k) => k.alg === alg);
  if (!isJwtAlg(alg) || candidates.length === 0) {
    const accepted = [...new Set(keys.map((k) => k.alg))].join(', ');
    const shown = /^[\w-]{1,20}$/.test(alg) ? alg : quote(alg);
    return fail(`alg ${shown} is not accepted (${accepted === '' ? 'no keys' : `credential algorithms: ${accepted}`})`);
  }
  // RFC 7515 §4.1.11: a recipient MUST reject a JWS whose crit lists extensions it does not
  // understand; this verifier understands none (this also refuses RFC 7797 b64=false).
  if (Object.hasOwn(header, 'crit')) return fail('header crit lists extensions this verifier does not understand (RFC 7515 §4.1.11)');

  const payloadBytes = p === '' ? undefined : decodeUnpadded(p, 'base64url');
  if (payloadBytes === undefined) return fail('payload is not base64url');
  const signature = s === '' ? undefined : decodeUnpadded(s, 'base64url');
  if (signature === undefined) return fail('signature is not base64url');

  const usable = candidates.filter((k) => {
    try {
      return keyProblem(alg, k.key, 'verify') === undefined;
    } catch {
      return false; // not a KeyObject at all
    }
  });
  if (usable.length === 0) return fail(`no usable key for alg ${alg}`);
  // The signing input is the encoded header and payload as received (RFC 7515 §5.2 step 8).
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  if (!usable.some((k) => signatureValid(alg, k.key, input, signature))) return fail('signature does not verify');

  const claims = parseObject(payloadBytes);
  if (claims === undefined) return fail('payload is not a JSON object');
  return checkClaims(claims, opts);
}

/**
 * Verify a compact JWS JWT against a credential's keys: signature by one of the keys of the
 * header's alg, then exp / nbf (with clock skew), sub and aud. Never throws.
 */
export function verifyJwt(token: string, keys: readonly JwtKey[], opts: JwtVerifyOptions): JwtVerification {
  try {
    return verifyCompact(token, keys, opts);
  } catch {
    // Not reached by any input the tests know; kept so that a surprise in a dependency cannot
    // turn a hostile token into an exception on the connect path.
    return { ok: false, reason: 'token could not be verified' };
  }
}

/** Sign claims as a compact JWS with header {alg, typ: "JWT"}; `key` is the secret or private key. */
export function signJwt(claims: Record<string, unknown>, alg: JwtAlg, key: KeyObject): string {
  if (!isJwtAlg(alg)) throw new TwinhubError(Errors.CREDENTIAL_INVALID, `unsupported JWT algorithm ${String(alg)} (supported: ${JWT_ALGS.join(', ')})`);
  const problem = keyProblem(alg, key, 'sign');
  if (problem !== undefined) throw new TwinhubError(Errors.CREDENTIAL_INVALID, problem, { alg });
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  const input = `${encode({ alg, typ: 'JWT' })}.${encode(claims)}`;
  const data = Buffer.from(input, 'ascii');
  const signature =
    alg === 'HS256'
      ? createHmac('sha256', key).update(data).digest()
      : sign('sha256', data, alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}
