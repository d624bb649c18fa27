import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createSecretKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { TwinhubError } from '../../../common/errors.js';
import { importJwtKey, signJwt, verifyJwt, type JwtAlg } from './jwt.js';
import { P256_CERT, RSA_2048_CERT } from './test-helpers.js';

// RFC 7515 Appendix A.1: the HS256 example JWS and its key (a JWK "k", base64url), exactly as
// published (the RFC breaks the token over lines for display only).
const A1_TOKEN =
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9' +
  '.' +
  'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
  '.' +
  'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const A1_KEY = 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow';
const A1_EXP = 1300819380;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecOther = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const hsText = randomBytes(32).toString('base64');
const hs = createSecretKey(Buffer.from(hsText, 'base64'));
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

const NOW = 1_800_000_000_000; // epoch ms
const at = (seconds: number) => ({ now: seconds * 1000, clockSkewSeconds: 0 });
const opts = { now: NOW, clockSkewSeconds: 0 };
const b64u = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A token with any header and payload, HMAC-signed with `secret` (for hostile shapes). */
function hsToken(header: unknown, payload: unknown, secret: KeyObject | Buffer = hs): string {
  const input = `${b64u(header)}.${b64u(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function refused(result: ReturnType<typeof verifyJwt>, reason: RegExp): void {
  assert.equal(result.ok, false, JSON.stringify(result));
  if (!result.ok) assert.match(result.reason, reason);
}

// --- RFC 7515 §A.1

test('jwt: RFC 7515 §A.1 example JWS (HS256) verifies with the published key', () => {
  const key = importJwtKey('HS256', A1_KEY);
  const r = verifyJwt(A1_TOKEN, [{ alg: 'HS256', key }], at(A1_EXP - 1));
  assert.deepEqual(r, {
    ok: true,
    claims: { iss: 'joe', exp: A1_EXP, 'http://example.com/is_root': true },
    expiresAt: A1_EXP * 1000,
  });
});

test('jwt: RFC 7515 §A.1 token refused once its exp has passed (RFC 7519 §4.1.4)', () => {
  const key = importJwtKey('HS256', A1_KEY);
  refused(verifyJwt(A1_TOKEN, [{ alg: 'HS256', key }], at(A1_EXP + 3600)), /expired/);
});

test('jwt: RFC 7515 §A.1 token refused after any change to header, payload or signature', () => {
  const key = [{ alg: 'HS256' as const, key: importJwtKey('HS256', A1_KEY) }];
  const [h, p, s] = A1_TOKEN.split('.') as [string, string, string];
  const flip = (t: string, i: number) => t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
  refused(verifyJwt(`${flip(h, 5)}.${p}.${s}`, key, at(A1_EXP - 1)), /./);
  refused(verifyJwt(`${h}.${flip(p, 10)}.${s}`, key, at(A1_EXP - 1)), /signature/);
  refused(verifyJwt(`${h}.${p}.${flip(s, 0)}`, key, at(A1_EXP - 1)), /signature/);
  // Same bytes, another spelling: 'l' differs from the final 'k' only in the unused low bits.
  refused(verifyJwt(`${h}.${p}.${s.slice(0, -1)}l`, key, at(A1_EXP - 1)), /signature is not base64url/);
  refused(verifyJwt(A1_TOKEN, [{ alg: 'HS256', key: createSecretKey(randomBytes(32)) }], at(A1_EXP - 1)), /signature/);
});

// --- round trips

test('jwt: HS256, RS256 and ES256 round trip through signJwt and verifyJwt', () => {
  const claims = { sub: 'dev-1', aud: 'twinhub', exp: NOW / 1000 + 60, n: 1 };
  const cases: [JwtAlg, KeyObject, KeyObject][] = [
    ['HS256', hs, importJwtKey('HS256', hsText)],
    ['RS256', rsa.privateKey, importJwtKey('RS256', pem(rsa.publicKey))],
    ['ES256', ec.privateKey, importJwtKey('ES256', pem(ec.publicKey))],
  ];
  for (const [alg, signKey, verifyKey] of cases) {
    const token = signJwt(claims, alg, signKey);
    const [h] = token.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg, typ: 'JWT' });
    const r = verifyJwt(token, [{ alg, key: verifyKey }], { ...opts, subject: 'dev-1', audience: 'twinhub' });
    assert.deepEqual(r, { ok: true, claims, expiresAt: claims.exp * 1000 }, alg);
  }
});

test('jwt: ES256 signatures are the 64-byte R||S form (RFC 7518 §3.4), not DER', () => {
  const token = signJwt({ sub: 'dev-1' }, 'ES256', ec.privateKey);
  const [h, p, s] = token.split('.') as [string, string, string];
  assert.equal(Buffer.from(s, 'base64url').length, 64);
  const der = sign('sha256', Buffer.from(`${h}.${p}`), { key: ec.privateKey, dsaEncoding: 'der' }).toString('base64url');
  refused(verifyJwt(`${h}.${p}.${der}`, [{ alg: 'ES256', key: ec.publicKey }], opts), /signature/);
});

test('jwt: a signature by another key of the same algorithm is refused', () => {
  refused(verifyJwt(signJwt({}, 'RS256', rsaOther.privateKey), [{ alg: 'RS256', key: rsa.publicKey }], opts), /signature/);
  refused(verifyJwt(signJwt({}, 'ES256', ecOther.privateKey), [{ alg: 'ES256', key: ec.publicKey }], opts), /signature/);
  refused(verifyJwt(signJwt({}, 'HS256', createSecretKey(randomBytes(32))), [{ alg: 'HS256', key: hs }], opts), /signature/);
});

test('jwt: a payload moved under another signature is refused', () => {
  const a = signJwt({ sub: 'dev-1' }, 'ES256', ec.privateKey).split('.');
  const b = signJwt({ sub: 'dev-2' }, 'ES256', ec.privateKey).split('.');
  refused(verifyJwt(`${a[0]}.${b[1]}.${a[2]}`, [{ alg: 'ES256', key: ec.publicKey }], opts), /signature/);
});

test('jwt: any of several keys may verify (key rotation)', () => {
  const keys = [
    { alg: 'ES256' as const, key: ecOther.publicKey },
    { alg: 'RS256' as const, key: rsa.publicKey },
    { alg: 'ES256' as const, key: ec.publicKey },
  ];
  assert.equal(verifyJwt(signJwt({}, 'ES256', ec.privateKey), keys, opts).ok, true);
  assert.equal(verifyJwt(signJwt({}, 'RS256', rsa.privateKey), keys, opts).ok, true);
  refused(verifyJwt(signJwt({}, 'HS256', hs), keys, opts), /alg HS256 is not accepted/);
  refused(verifyJwt(signJwt({}, 'ES256', ec.privateKey), [], opts), /not accepted/);
});

// --- algorithms (RFC 8725 §2.1, §3.1)

test('jwt: alg none is refused, with or without a signature (RFC 7518 §3.6 unsecured JWS)', () => {
  const keys = [{ alg: 'HS256' as const, key: hs }];
  for (const alg of ['none', 'None', 'NONE']) {
    refused(verifyJwt(`${b64u({ alg })}.${b64u({ sub: 'x' })}.`, keys, opts), /none|not base64url|alg/);
    refused(verifyJwt(hsToken({ alg }, { sub: 'x' }), keys, opts), /none|not accepted/);
  }
  refused(verifyJwt(hsToken({ alg: 'none' }, {}), keys, opts), /alg none refused/);
});

test('jwt: algorithm confusion: an HS256 token keyed with an RS256 public key PEM is refused', () => {
  const rsaPem = pem(rsa.publicKey);
  const forged = hsToken({ alg: 'HS256', typ: 'JWT' }, { sub: 'dev-1' }, Buffer.from(rsaPem));
  // The credential says RS256: the header cannot choose HMAC.
  refused(verifyJwt(forged, [{ alg: 'RS256', key: importJwtKey('RS256', rsaPem) }], opts), /alg HS256 is not accepted/);
  // Nor can a PEM become an HMAC secret, and a key of the wrong kind is never used for the header's alg.
  assert.throws(() => importJwtKey('HS256', rsaPem), TwinhubError);
  refused(verifyJwt(forged, [{ alg: 'HS256', key: rsa.publicKey }], opts), /no usable key/);
  refused(verifyJwt(signJwt({}, 'RS256', rsa.privateKey), [{ alg: 'RS256', key: hs }], opts), /no usable key/);
  refused(verifyJwt(signJwt({}, 'ES256', ec.privateKey), [{ alg: 'ES256', key: rsa.publicKey }], opts), /no usable key/);
  refused(verifyJwt(signJwt({}, 'RS256', rsa.privateKey), [{ alg: 'RS256', key: null as unknown as KeyObject }], opts), /no usable key/);
  refused(verifyJwt(signJwt({}, 'RS256', rsa.privateKey), [{ alg: 'ES256', key: ec.publicKey }], opts), /alg RS256 is not accepted/);
});

test('jwt: a header with crit is refused: no extensions are understood (RFC 7515 §4.1.11)', () => {
  const keys = [{ alg: 'HS256' as const, key: hs }];
  refused(verifyJwt(hsToken({ alg: 'HS256', crit: ['exp'] }, {}), keys, opts), /crit/);
  // RFC 7797 unencoded payloads (b64: false) are announced through crit.
  refused(verifyJwt(hsToken({ alg: 'HS256', b64: false, crit: ['b64'] }, {}), keys, opts), /crit/);
});

// --- registered claims (RFC 7519 §4.1)

test('jwt: exp: refused from exp on, accepted before it, with the clock skew added (RFC 7519 §4.1.4)', () => {
  const keys = [{ alg: 'HS256' as const, key: hs }];
  const exp = NOW / 1000;
  const token = signJwt({ exp }, 'HS256', hs);
  assert.equal(verifyJwt(token, keys, { now: NOW - 1, clockSkewSeconds: 0 }).ok, true);
  // "the expiration time on or after which the JWT MUST NOT be accepted"
  refused(verifyJwt(token, keys, { now: NOW, clockSkewSeconds: 0 }), /expired/);
  assert.equal(verifyJwt(token, keys, { now: NOW + 30_000 - 1, clockSkewSeconds: 30 }).ok, true);
  refused(verifyJwt(token, keys, { now: NOW + 30_000, clockSkewSeconds: 30 }), /expired/);
  // NumericDate may be fractional (RFC 7519 §2).
  const frac = verifyJwt(signJwt({ exp: exp + 0.5 }, 'HS256', hs), keys, { now: NOW + 499, clockSkewSeconds: 0 });
  assert.deepEqual(frac.ok && frac.expiresAt, NOW + 500);
  for (const bad of ['1800000000', null, true, {}, [exp]]) refused(verifyJwt(signJwt({ exp: bad }, 'HS256', hs), keys, opts), /exp is not a number/);
  // 1e400 parses to Infinity: a token that would never expire.
  refused(verifyJwt(hsToken({ alg: 'HS256' }, '{"exp":1e400}'), keys, opts), /exp is not a number/);
  refused(verifyJwt(hsToken({ alg: 'HS256' }, '{"nbf":-1e400}'), keys, opts), /nbf is not a number/);
});

test('jwt: exp is optional; expiresAt is then undefined', () => {
  const r = verifyJwt(signJwt({ sub: 'a' }, 'HS256', hs), [{ alg: 'HS256', key: hs }], opts);
  assert.deepEqual(r, { ok: true, claims: { sub: 'a' }, expiresAt: undefined });
});

test('jwt: nbf: refused before it, accepted from it on, with the clock skew (RFC 7519 §4.1.5)', () => {
  const keys = [{ alg: 'HS256' as const, key: hs }];
  const token = signJwt({ nbf: NOW / 1000 }, 'HS256', hs);
  refused(verifyJwt(token, keys, { now: NOW - 1, clockSkewSeconds: 0 }), /not valid before/);
  // "the current date/time MUST be after or equal to the not-before date/time"
  assert.equal(verifyJwt(token, keys, { now: NOW, clockSkewSeconds: 0 }).ok, true);
  assert.equal(verifyJwt(token, keys, { now: NOW - 30_000, clockSkewSeconds: 30 }).ok, true);
  refused(verifyJwt(token, keys, { now: NOW - 30_001, clockSkewSeconds: 30 }), /not valid before/);
  refused(verifyJwt(signJwt({ nbf: 'soon' }, 'HS256', hs), keys, opts), /nbf is not a number/);
});

test('jwt: sub must equal the expected subject when one is given (RFC 7519 §4.1.2)', () => {
  const keys = [{ alg: 'HS256' as const, key: hs }];
  const o = { ...opts, subject: 'dev-1' };
  assert.equal(verifyJwt(signJwt({ sub: 'dev-1' }, 'HS256', hs), keys, o).ok, true);
  refused(verifyJwt(signJwt({ sub: 'dev-2' }, 'HS256', hs), keys, o), /sub/);
  refused(verifyJwt(signJwt({ sub: 'DEV-1' }, 'HS256', hs), keys, o), /sub/); // StringOrURI compare case-sensitively (§2)
  refused(verifyJwt(signJwt({}, 'HS256', hs), keys, o), /sub/);
  // sub is a StringOrURI: another type is malformed even when no subject is expected.
  refused(verifyJwt(signJwt({ sub: 1 }, 'HS256', hs), keys, opts), /sub is not a string/);
});

test('jwt: aud must contain the expected audience when one is given (RFC 7519 §4.1.3)', () => {
  const keys = [{ alg: 'HS256' as const, key: hs }];
  const o = { ...opts, audience: 'twinhub' };
  assert.equal(verifyJwt(signJwt({ aud: 'twinhub' }, 'HS256', hs), keys, o).ok, true);
  assert.equal(verifyJwt(signJwt({ aud: ['other', 'twinhub'] }, 'HS256', hs), keys, o).ok, true);
  refused(verifyJwt(signJwt({ aud: ['other'] }, 'HS256', hs), keys, o), /aud does not include/);
  refused(verifyJwt(signJwt({ aud: 'twinhub-2' }, 'HS256', hs), keys, o), /aud does not include/);
  refused(verifyJwt(signJwt({ aud: [] }, 'HS256', hs), keys, o), /aud does not include/);
  refused(verifyJwt(signJwt({}, 'HS256', hs), keys, o), /aud does not include/);
  for (const bad of [1, null, [1], ['twinhub', 2], { twinhub: true }]) {
    refused(verifyJwt(signJwt({ aud: bad }, 'HS256', hs), keys, o), /aud is not a string or an array of strings/);
  }
  // No expected audience configured: an aud claim does not refuse the token.
  assert.equal(verifyJwt(signJwt({ aud: 'anyone' }, 'HS256', hs), keys, opts).ok, true);
});

// --- hostile input

test('jwt: malformed tokens of many shapes are refused with a reason', () => {
  const keys = [{ alg: 'HS256' as const, key: hs }];
  const good = signJwt({ sub: 'a' }, 'HS256', hs);
  const [h, p, s] = good.split('.') as [string, string, string];
  const cases: [unknown, RegExp][] = [
    ['', /three base64url parts/],
    ['abc', /three base64url parts/],
    [`${h}.${p}`, /three base64url parts/],
    [`${good}.`, /three base64url parts/],
    [`${good}.${s}`, /three base64url parts/],
    ['..', /header is not base64url/],
    [`.${p}.${s}`, /header is not base64url/],
    [`${h}..${s}`, /payload is not base64url/],
    [`${h}.${p}.`, /signature is not base64url/],
    [`${h}=.${p}.${s}`, /header is not base64url/],
    [`${h}.${p}.${s}=`, /signature is not base64url/],
    [` ${good}`, /header is not base64url/],
    [`${good}\n`, /signature is not base64url/],
    [`${h}.${p}.${s.slice(0, -1)}+`, /signature is not base64url/], // '+' is base64, not base64url
    [`${b64u('not json')}.${p}.${s}`, /header is not a JSON object/],
    [`${b64u([1, 2])}.${p}.${s}`, /header is not a JSON object/],
    [`${b64u('null')}.${p}.${s}`, /header is not a JSON object/],
    [`${b64u('"HS256"')}.${p}.${s}`, /header is not a JSON object/],
    [`${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${p}.${s}`, /header is not a JSON object/], // not UTF-8
    [hsToken({ typ: 'JWT' }, {}), /alg missing or not a string/],
    [hsToken({ alg: 256 }, {}), /alg missing or not a string/],
    [hsToken({ alg: 'HS512' }, {}), /alg HS512 is not accepted/],
    [hsToken({ alg: 'HS256' }, 'not json'), /payload is not a JSON object/],
    [hsToken({ alg: 'HS256' }, '[1]'), /payload is not a JSON object/],
    [hsToken({ alg: 'HS256' }, 'null'), /payload is not a JSON object/],
    [hsToken({ alg: 'HS256' }, '42'), /payload is not a JSON object/],
    [hsToken({ alg: 'HS256' }, ''), /payload is not base64url/],
    ['a'.repeat(8193), /longer than 8192/],
    [`${h}.${'A'.repeat(9000)}.${s}`, /longer than 8192/],
    [42, /not a string/],
    [null, /not a string/],
    [undefined, /not a string/],
  ];
  for (const [token, reason] of cases) refused(verifyJwt(token as string, keys, opts), reason);
});

test('jwt: verifyJwt never throws on arbitrary strings', () => {
  const keys = [
    { alg: 'HS256' as const, key: hs },
    { alg: 'RS256' as const, key: rsa.publicKey },
    { alg: 'ES256' as const, key: ec.publicKey },
  ];
  const part = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.json().map((j) => b64u(j)),
    fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64url')),
    fc.constantFrom('eyJhbGciOiJIUzI1NiJ9', 'eyJhbGciOiJFUzI1NiJ9', 'eyJhbGciOiJSUzI1NiJ9', 'eyJhbGciOiJub25lIn0'),
  );
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(part, { maxLength: 5 }).map((ps) => ps.join('.'))), (token) => {
      const r = verifyJwt(token, keys, { ...opts, subject: 'dev', audience: 'th' });
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
});

test('jwt: verifyJwt never throws on validly signed tokens with arbitrary JSON payloads', () => {
  fc.assert(
    fc.property(fc.json(), fc.jsonValue(), (payload, extraHeader) => {
      const token = hsToken({ alg: 'HS256', x: extraHeader }, payload);
      const r = verifyJwt(token, [{ alg: 'HS256', key: hs }], { ...opts, subject: 'dev', audience: 'th' });
      if (r.ok) assert.equal(typeof r.claims, 'object');
    }),
    { numRuns: 500 },
  );
});

// --- importJwtKey

function rejects(alg: JwtAlg, text: string, message: RegExp): void {
  assert.throws(
    () => importJwtKey(alg, text),
    (e: unknown) => e instanceof TwinhubError && e.code === 'TH_CREDENTIAL_INVALID' && message.test(e.message),
    `${alg} ${text.slice(0, 40)}`,
  );
}

test('jwt: importJwtKey HS256 takes base64 or base64url text of at least 32 bytes (RFC 7518 §3.2)', () => {
  const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => 250 - i)); // holds '+' '/' in base64
  const std = bytes.toString('base64');
  assert.ok(/[+/]/.test(std) && std.endsWith('='));
  for (const text of [std, std.replace(/=+$/, ''), bytes.toString('base64url'), `${std}\n`]) {
    const key = importJwtKey('HS256', text);
    assert.equal(key.type, 'secret');
    assert.deepEqual(key.export(), bytes, text);
  }
  assert.equal(importJwtKey('HS256', A1_KEY).symmetricKeySize, 64);
  rejects('HS256', randomBytes(31).toString('base64'), /31 bytes.*at least 32.*RFC 7518 §3\.2/);
  rejects('HS256', '', /0 bytes|not base64/);
  rejects('HS256', 'not base64 at all!', /not base64/);
  rejects('HS256', std.replace('+', '-'), /not base64/); // both alphabets in one text
  rejects('HS256', `${std.replace(/=+$/, '')}===`, /not base64/);
});

test('jwt: importJwtKey RS256 takes an SPKI PEM or a certificate, RSA of 2048 bits or more (RFC 7518 §3.3)', () => {
  assert.ok(importJwtKey('RS256', pem(rsa.publicKey)).equals(rsa.publicKey));
  assert.ok(importJwtKey('RS256', RSA_2048_CERT).equals(new X509Certificate(RSA_2048_CERT).publicKey));
  assert.ok(importJwtKey('RS256', `\n${pem(rsa.publicKey)}\n\n`).equals(rsa.publicKey));
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  rejects('RS256', pem(small.publicKey), /1024 bits.*at least 2048.*RFC 7518 §3\.3/);
  rejects('RS256', pem(ec.publicKey), /RS256 needs an RSA key, got ec/);
  rejects('RS256', P256_CERT, /RS256 needs an RSA key, got ec/);
  const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
  rejects('RS256', pem(pss.publicKey), /RS256 needs an RSA key, got rsa-pss/);
});

test('jwt: importJwtKey ES256 takes a P-256 public key or certificate (RFC 7518 §3.4)', () => {
  assert.ok(importJwtKey('ES256', pem(ec.publicKey)).equals(ec.publicKey));
  assert.ok(importJwtKey('ES256', P256_CERT).equals(new X509Certificate(P256_CERT).publicKey));
  rejects('ES256', pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey), /P-256.*secp384r1/);
  rejects('ES256', pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey), /P-256.*secp256k1/);
  rejects('ES256', pem(rsa.publicKey), /ES256 needs an EC key, got rsa/);
  rejects('ES256', pem(generateKeyPairSync('ed25519').publicKey), /ES256 needs an EC key, got ed25519/);
});

test('jwt: importJwtKey refuses private keys, several PEM blocks, broken PEM and unknown algorithms', () => {
  const privatePem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  rejects('ES256', privatePem, /PRIVATE KEY.*public key/);
  rejects('ES256', ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(), /EC PRIVATE KEY.*public key/);
  rejects('RS256', rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(), /RSA PUBLIC KEY/);
  rejects('ES256', pem(ec.publicKey) + P256_CERT, /one PEM block/);
  rejects('ES256', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /not a valid public key/);
  rejects('ES256', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /not a valid certificate/);
  rejects('ES256', '', /PEM/);
  rejects('ES256', 'hello', /PEM/);
  rejects('ES256', pem(ec.publicKey).replace('-----END PUBLIC KEY-----', '-----END CERTIFICATE-----'), /PEM/);
  for (const alg of ['HS512', 'none', 'es256', '']) rejects(alg as JwtAlg, hsText, /unsupported JWT algorithm/);
});

// --- signJwt

test('jwt: signJwt refuses a key of the wrong kind for the algorithm', () => {
  assert.throws(() => signJwt({}, 'HS256', rsa.privateKey), TwinhubError);
  assert.throws(() => signJwt({}, 'HS256', createSecretKey(randomBytes(16))), /at least 32/);
  assert.throws(() => signJwt({}, 'RS256', hs), TwinhubError);
  assert.throws(() => signJwt({}, 'RS256', rsa.publicKey), /private/);
  assert.throws(() => signJwt({}, 'ES256', rsa.privateKey), TwinhubError);
  assert.throws(() => signJwt({}, 'ES256', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey), /P-256/);
});
