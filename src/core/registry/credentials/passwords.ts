// Password hashing with scrypt (RFC 7914), stored as PHC strings
// (`$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`, B64 = standard base64 without padding), the
// shape passlib and others write, so operators can import hashes made elsewhere.
//
// Hashing uses the asynchronous crypto.scrypt: it runs on the libuv thread pool, so a burst of
// device logins does not stall the event loop that carries every other message (DESIGN.md:
// "password hashing (libuv thread pool)").

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { decodeUnpadded, encodeUnpadded } from './encoding.js';

export interface ScryptParams {
  /** log2 of N, the CPU/memory cost (RFC 7914 §2); the PHC parameter `ln`. */
  costLog2: number;
  /** r, the block size; memory is 128·N·r bytes. */
  blockSize: number;
  /** p, the number of independent mixes (CPU time grows with it, memory does not). */
  parallelization: number;
}

/**
 * ln=12, r=8, p=1: 4 MiB per hash. Measured on the 2-core target machine (Node 20, OpenSSL 3.0):
 * about 9 ms per hash, about 220 hashes/s with 4 in flight on the thread pool (ln=11: 4.6 ms;
 * ln=13: 18 ms). Device logins are bursty (a fleet reconnecting after an outage), so the cost is
 * kept at a few milliseconds; long random device secrets should use tokens, not passwords.
 */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ costLog2: 12, blockSize: 8, parallelization: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Accepted ranges, for hashes made here and imported ones alike.
const RANGES = { ln: [1, 20], r: [1, 32], p: [1, 16] } as const;
const SALT_RANGE = [8, 64] as const;
const HASH_RANGE = [16, 64] as const;
// An imported hash decides what every login of its device costs: refuse memory beyond this
// (128·2^16·8, passlib's default ln=16 r=8) so one record cannot make each attempt take a gigabyte.
const MAX_MEMORY_BYTES = 64 * 1024 * 1024;
// Bounds the work spent parsing an imported string (the longest valid one is about 200 characters).
const MAX_PHC_LENGTH = 512;
const FORMAT = '$scrypt$ln=<cost>,r=<block size>,p=<parallelization>$<salt>$<hash>';

/** Why `params` cannot be used, or undefined when they can. */
function paramsError(params: ScryptParams): string | undefined {
  const values = { ln: params.costLog2, r: params.blockSize, p: params.parallelization };
  for (const name of ['ln', 'r', 'p'] as const) {
    const [min, max] = RANGES[name];
    const v = values[name];
    if (!Number.isInteger(v) || v < min || v > max) return `${name}=${v} out of range ${min}..${max}`;
  }
  // RFC 7914 §2: N must be "less than 2^(128 * r / 8)"; OpenSSL refuses otherwise.
  if (values.ln >= 16 * values.r) {
    return `ln=${values.ln} needs r ≥ ${Math.floor(values.ln / 16) + 1}: N = 2^ln must be less than 2^(16·r) (RFC 7914 §2)`;
  }
  const memory = 128 * 2 ** values.ln * values.r;
  if (memory > MAX_MEMORY_BYTES) {
    return `ln=${values.ln},r=${values.r} need 128·2^ln·r = ${memory / 2 ** 20} MiB of memory, more than ${MAX_MEMORY_BYTES / 2 ** 20} MiB`;
  }
  return undefined;
}

function derive(password: string | Buffer, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.costLog2;
  const r = params.blockSize;
  const p = params.parallelization;
  // OpenSSL needs 128·r·(N + 2) bytes for V plus 128·r·p for B; Node's default maxmem is 32 MiB.
  const maxmem = 128 * r * (N + 2 + p) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hash a password for storage (random salt, 32-byte key). Rejects with RangeError on bad params. */
export async function hashPassword(password: string | Buffer, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const error = paramsError(params);
  if (error !== undefined) throw new RangeError(`scrypt parameters: ${error}`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, params);
  const head = `$scrypt$ln=${params.costLog2},r=${params.blockSize},p=${params.parallelization}`;
  return `${head}$${encodeUnpadded(salt, 'base64')}$${encodeUnpadded(key, 'base64')}`;
}

type Decoded = { ok: true; params: ScryptParams; salt: Buffer; hash: Buffer } | { ok: false; error: string };

function decode(phc: string): Decoded {
  const fail = (error: string): Decoded => ({ ok: false, error });
  if (typeof phc !== 'string') return fail('not a string');
  if (phc.length > MAX_PHC_LENGTH) return fail(`longer than ${MAX_PHC_LENGTH} characters`);
  const fields = phc.split('$');
  if (fields[0] !== '' || fields[1] !== 'scrypt') return fail(`not an scrypt PHC string: expected ${FORMAT}`);
  if (fields.length !== 5) {
    return fail(`expected ${FORMAT} (4 fields after the leading '$'), found ${fields.length - 1}`);
  }
  const [, , paramText, saltText, hashText] = fields as [string, string, string, string, string];

  const values = new Map<string, number>();
  for (const item of paramText.split(',')) {
    const m = /^([a-z0-9-]+)=(.*)$/.exec(item);
    if (m === null) return fail(`parameter ${JSON.stringify(item)} is not name=value`);
    const [, name, value] = m as unknown as [string, string, string];
    if (name !== 'ln' && name !== 'r' && name !== 'p') return fail(`unknown parameter ${name} (expected ln, r and p)`);
    if (values.has(name)) return fail(`parameter ${name} given twice`);
    // PHC string format: decimal values have no sign and no leading zero.
    if (!/^(0|[1-9][0-9]*)$/.test(value)) return fail(`${name}=${value} is not a decimal integer (no sign, no leading zeros)`);
    values.set(name, Number(value));
  }
  for (const name of ['ln', 'r', 'p']) if (!values.has(name)) return fail(`parameter ${name} missing (expected ${FORMAT})`);
  const params: ScryptParams = { costLog2: values.get('ln')!, blockSize: values.get('r')!, parallelization: values.get('p')! };
  const error = paramsError(params);
  if (error !== undefined) return fail(error);

  const salt = decodeUnpadded(saltText, 'base64');
  if (salt === undefined) return fail('salt is not unpadded standard base64');
  if (salt.length < SALT_RANGE[0]) return fail(`salt is ${salt.length} bytes, at least ${SALT_RANGE[0]} required`);
  if (salt.length > SALT_RANGE[1]) return fail(`salt is ${salt.length} bytes, at most ${SALT_RANGE[1]} allowed`);
  const hash = decodeUnpadded(hashText, 'base64');
  if (hash === undefined) return fail('hash is not unpadded standard base64');
  if (hash.length < HASH_RANGE[0]) return fail(`hash is ${hash.length} bytes, at least ${HASH_RANGE[0]} required`);
  if (hash.length > HASH_RANGE[1]) return fail(`hash is ${hash.length} bytes, at most ${HASH_RANGE[1]} allowed`);
  return { ok: true, params, salt, hash };
}

/** Check a PHC scrypt string (an imported, pre-hashed password) without a password to try. */
export function parsePasswordHash(phc: string): { ok: true; params: ScryptParams } | { ok: false; error: string } {
  const d = decode(phc);
  return d.ok ? { ok: true, params: d.params } : { ok: false, error: d.error };
}

/**
 * Does `password` match the stored PHC string? Recomputes with the string's own parameters and key
 * length (hashes imported from elsewhere keep theirs). False, never a rejection, when the string
 * is malformed or scrypt fails.
 */
export async function verifyPassword(password: Buffer | string, phc: string): Promise<boolean> {
  const d = decode(phc);
  if (!d.ok) return false;
  try {
    const key = await derive(password, d.salt, d.hash.length, d.params);
    return timingSafeEqual(key, d.hash);
  } catch {
    return false;
  }
}

export const PASSWORD_MIN_CHARACTERS = 8;
export const PASSWORD_MAX_BYTES = 1024;

/**
 * The policy for passwords set through the hub: at least 8 characters (Unicode code points) and at
 * most 1024 bytes of UTF-8 (a bound on hashing input, far above any real password). Nothing else:
 * no composition rules (NIST SP 800-63B §5.1.1.2 advises against them) and no normalisation, since
 * devices send the password as raw bytes and the hub compares bytes. Null when acceptable.
 */
export function validatePassword(pw: string): string | null {
  if (typeof pw !== 'string') return 'password must be a string';
  // An unpaired surrogate has no UTF-8 form; Node would hash U+FFFD instead, so two different
  // strings would share a hash.
  if (/[\uD800-\uDFFF]/u.test(pw)) return 'password contains an unpaired surrogate (not valid Unicode text)';
  const bytes = Buffer.byteLength(pw, 'utf8');
  if (bytes > PASSWORD_MAX_BYTES) return `password must be at most ${PASSWORD_MAX_BYTES} bytes of UTF-8 (it is ${bytes})`;
  let characters = 0;
  for (const _ of pw) characters++;
  if (characters < PASSWORD_MIN_CHARACTERS) {
    return `password must have at least ${PASSWORD_MIN_CHARACTERS} characters (it has ${characters})`;
  }
  return null;
}
