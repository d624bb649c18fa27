// Keys of jwt-key credentials: what each JWS algorithm accepts (RFC 7518 §3), and how the text an
// operator stores (CredentialRecord.key) becomes a KeyObject. The key, never the token header,
// decides the algorithm (RFC 8725 §2.1, §3.1): keyProblem() is checked again for every key the
// verifier is about to use, so an RSA public key can never serve as an HMAC secret.

import { createPublicKey, createSecretKey, X509Certificate, type KeyObject } from 'node:crypto';
import { Errors, TwinhubError } from '../../../common/errors.js';
import { decodeUnpadded } from './encoding.js';

export type JwtAlg = 'HS256' | 'RS256' | 'ES256';
export const JWT_ALGS: readonly JwtAlg[] = ['HS256', 'RS256', 'ES256'];

export function isJwtAlg(value: unknown): value is JwtAlg {
  return typeof value === 'string' && (JWT_ALGS as readonly string[]).includes(value);
}

const HS256_MIN_BYTES = 32; // RFC 7518 §3.2: a key at least as long as the hash output
const RS256_MIN_BITS = 2048; // RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used"

/** Why `key` cannot sign (private/secret) or verify (public/secret) with `alg`; undefined when it can. */
export function keyProblem(alg: JwtAlg, key: KeyObject, role: 'sign' | 'verify'): string | undefined {
  if (alg === 'HS256') {
    if (key.type !== 'secret') return `HS256 needs a secret key, got a ${key.type} key`;
    const bytes = key.symmetricKeySize ?? 0;
    return bytes < HS256_MIN_BYTES ? `HS256 key is ${bytes} bytes; at least ${HS256_MIN_BYTES} required (RFC 7518 §3.2)` : undefined;
  }
  const want = role === 'sign' ? 'private' : 'public';
  if (key.type !== want) return `${alg} ${role === 'sign' ? 'signing' : 'verification'} needs a ${want} key, got a ${key.type} key`;
  if (alg === 'RS256') {
    // 'rsa-pss' keys are restricted to PSS padding; RS256 is RSASSA-PKCS1-v1_5.
    if (key.asymmetricKeyType !== 'rsa') return `RS256 needs an RSA key, got ${key.asymmetricKeyType}`;
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits < RS256_MIN_BITS ? `RS256 key is ${bits} bits; at least ${RS256_MIN_BITS} required (RFC 7518 §3.3)` : undefined;
  }
  if (key.asymmetricKeyType !== 'ec') return `ES256 needs an EC key, got ${key.asymmetricKeyType}`;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  // RFC 7518 §3.4: ES256 is ECDSA using P-256 (OpenSSL's prime256v1).
  return curve !== 'prime256v1' ? `ES256 needs a P-256 (prime256v1) key, got ${curve}` : undefined;
}

function invalid(message: string, alg: unknown, cause?: unknown): TwinhubError {
  return new TwinhubError(Errors.CREDENTIAL_INVALID, message, { alg }, cause === undefined ? undefined : { cause });
}

/** An HS256 secret written as base64 or base64url, padded or not; undefined if it is neither. */
function decodeSecret(text: string): Buffer | undefined {
  const m = /^([A-Za-z0-9+/_-]*)(={0,2})$/.exec(text);
  if (m === null) return undefined;
  const [, body, padding] = m as unknown as [string, string, string];
  if (padding !== '' && (body.length + padding.length) % 4 !== 0) return undefined;
  // One alphabet per text: decodeUnpadded refuses a mix of '+/' and '-_'.
  return decodeUnpadded(body, /[-_]/.test(body) ? 'base64url' : 'base64');
}

function publicKeyFromPem(alg: JwtAlg, text: string): KeyObject {
  const blocks = text.match(/-----BEGIN /g)?.length ?? 0;
  const m = /^-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*-----END \1-----$/.exec(text);
  if (blocks > 1) throw invalid(`${alg} key: expected one PEM block, found ${blocks}`, alg);
  if (m === null) {
    throw invalid(`${alg} key is not a PEM public key or certificate (expected "-----BEGIN PUBLIC KEY-----" or "-----BEGIN CERTIFICATE-----")`, alg);
  }
  const label = m[1];
  if (label === 'PUBLIC KEY') {
    try {
      return createPublicKey({ key: text, format: 'pem' });
    } catch (err) {
      throw invalid(`${alg} key: the PUBLIC KEY block is not a valid public key`, alg, err);
    }
  }
  if (label === 'CERTIFICATE') {
    try {
      return new X509Certificate(text).publicKey;
    } catch (err) {
      throw invalid(`${alg} key: the CERTIFICATE block is not a valid certificate`, alg, err);
    }
  }
  // Private keys especially: they belong on the device, never in the hub's registry.
  throw invalid(`${alg} key: ${label} given; expected a public key ("-----BEGIN PUBLIC KEY-----", SPKI) or a certificate`, alg);
}

/**
 * The KeyObject for a jwt-key credential's stored text. HS256: a secret of at least 32 bytes as
 * base64 or base64url. RS256 / ES256: a PEM public key (SPKI) or certificate holding an RSA key of
 * at least 2048 bits / a P-256 key. Throws TwinhubError CREDENTIAL_INVALID saying what is wrong.
 */
export function importJwtKey(alg: JwtAlg, text: string): KeyObject {
  if (!isJwtAlg(alg)) throw invalid(`unsupported JWT algorithm ${String(alg)} (supported: ${JWT_ALGS.join(', ')})`, alg);
  if (typeof text !== 'string') throw invalid(`${alg} key must be text`, alg);
  const t = text.trim();
  let key: KeyObject;
  if (alg === 'HS256') {
    const secret = decodeSecret(t);
    if (secret === undefined) throw invalid('HS256 key is not base64 or base64url text', alg);
    key = createSecretKey(secret);
  } else {
    key = publicKeyFromPem(alg, t);
  }
  const problem = keyProblem(alg, key, 'verify');
  if (problem !== undefined) throw invalid(problem, alg);
  return key;
}
