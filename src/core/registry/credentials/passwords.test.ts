import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_SCRYPT, hashPassword, parsePasswordHash, validatePassword, verifyPassword } from './passwords.js';

// Cheap parameters for tests that only exercise the format (ln=4: 8 KiB, well under a millisecond).
const FAST = { costLog2: 4, blockSize: 8, parallelization: 1 };
const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

// RFC 7914 §12, third test vector: scrypt(P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1,
// dkLen=64), written as a PHC string.
const RFC7914_V3 =
  '$scrypt$ln=14,r=8,p=1$' +
  Buffer.from('SodiumChloride').toString('base64').replace(/=+$/, '') +
  '$' +
  Buffer.from(
    '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887',
    'hex',
  )
    .toString('base64')
    .replace(/=+$/, '');

test('passwords: DEFAULT_SCRYPT is ln=12, r=8, p=1 (4 MiB, a few ms per hash on the target machine)', () => {
  assert.deepEqual({ ...DEFAULT_SCRYPT }, { costLog2: 12, blockSize: 8, parallelization: 1 });
  assert.equal(Object.isFrozen(DEFAULT_SCRYPT), true);
});

test('passwords: hashPassword writes a PHC string with a 16-byte salt and a 32-byte key', async () => {
  const phc = await hashPassword('correct horse battery staple');
  const m = PHC.exec(phc);
  assert.ok(m, phc);
  assert.deepEqual([m[1], m[2], m[3]], ['12', '8', '1']);
  assert.equal(Buffer.from(m[4]!, 'base64').length, 16);
  assert.equal(Buffer.from(m[5]!, 'base64').length, 32);
  assert.equal((m[4]! + m[5]!).includes('='), false, 'PHC B64 has no padding');
  assert.deepEqual(parsePasswordHash(phc), { ok: true, params: { ...DEFAULT_SCRYPT } });
  assert.equal(await verifyPassword('correct horse battery staple', phc), true);
});

test('passwords: the stored parameters are the ones used', async () => {
  const phc = await hashPassword('pw-12345', { costLog2: 5, blockSize: 2, parallelization: 3 });
  assert.match(phc, /^\$scrypt\$ln=5,r=2,p=3\$/);
  assert.equal(await verifyPassword('pw-12345', phc), true);
});

test('passwords: RFC 7914 §12 test vector 3 verifies (params and key length come from the string)', async () => {
  assert.deepEqual(parsePasswordHash(RFC7914_V3), { ok: true, params: { costLog2: 14, blockSize: 8, parallelization: 1 } });
  assert.equal(await verifyPassword('pleaseletmein', RFC7914_V3), true);
  assert.equal(await verifyPassword(Buffer.from('pleaseletmein'), RFC7914_V3), true);
  assert.equal(await verifyPassword('pleaseletmeim', RFC7914_V3), false);
});

test('passwords: wrong passwords fail; strings are hashed as their UTF-8 bytes, without normalisation', async () => {
  const phc = await hashPassword('pässwörd', FAST);
  assert.equal(await verifyPassword('pässwörd', phc), true);
  assert.equal(await verifyPassword(Buffer.from('pässwörd', 'utf8'), phc), true);
  assert.equal(await verifyPassword(Buffer.from('pässwörd', 'latin1'), phc), false);
  // The MQTT Password is binary data (MQTT 3.1.1 §3.1.3.5, MQTT 5.0 §3.1.3.6): the hub compares
  // bytes, so the NFD spelling of the same text is another password.
  assert.equal(await verifyPassword('pässwörd'.normalize('NFD'), phc), false);
  assert.equal(await verifyPassword('pässwörd ', phc), false);
  assert.equal(await verifyPassword('', phc), false);
});

test('passwords: binary passwords round trip', async () => {
  const pw = Buffer.from([0, 255, 1, 254, 0, 0, 7, 128]);
  const phc = await hashPassword(pw, FAST);
  assert.equal(await verifyPassword(pw, phc), true);
  assert.equal(await verifyPassword(Buffer.from([0, 255, 1, 254, 0, 0, 7, 129]), phc), false);
});

test('passwords: every hash has its own random salt', async () => {
  const [a, b] = await Promise.all([hashPassword('same-password', FAST), hashPassword('same-password', FAST)]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('same-password', a), true);
  assert.equal(await verifyPassword('same-password', b), true);
});

test('passwords: hashing runs on the thread pool, not on the event loop (async crypto.scrypt)', async () => {
  // With scryptSync the promise would already be settled and this immediate would run after it.
  let immediateRan = false;
  setImmediate(() => {
    immediateRan = true;
  });
  await hashPassword('off-the-loop');
  assert.equal(immediateRan, true);
});

test('passwords: the largest memory allowed (128·2^16·8 bytes = 64 MiB) hashes (maxmem is set)', async () => {
  const params = { costLog2: 16, blockSize: 8, parallelization: 1 };
  const phc = await hashPassword('big-memory', params);
  assert.equal(await verifyPassword('big-memory', phc), true);
});

test('passwords: hashPassword refuses parameters outside the accepted ranges', async () => {
  for (const bad of [
    { costLog2: 0, blockSize: 8, parallelization: 1 },
    { costLog2: 21, blockSize: 8, parallelization: 1 },
    { costLog2: 12.5, blockSize: 8, parallelization: 1 },
    { costLog2: 12, blockSize: 0, parallelization: 1 },
    { costLog2: 12, blockSize: 33, parallelization: 1 },
    { costLog2: 12, blockSize: 8, parallelization: 0 },
    { costLog2: 12, blockSize: 8, parallelization: 17 },
    { costLog2: 16, blockSize: 1, parallelization: 1 },
    { costLog2: 17, blockSize: 8, parallelization: 1 },
  ]) {
    await assert.rejects(hashPassword('x', bad), RangeError, JSON.stringify(bad));
  }
});

test('passwords: parsePasswordHash names what is wrong', () => {
  const salt = Buffer.alloc(16, 1).toString('base64').replace(/=+$/, '');
  const hash = Buffer.alloc(32, 2).toString('base64').replace(/=+$/, '');
  const ok = (params: string, s = salt, h = hash) => `$scrypt$${params}$${s}$${h}`;
  assert.deepEqual(parsePasswordHash(ok('ln=12,r=8,p=1')), { ok: true, params: { costLog2: 12, blockSize: 8, parallelization: 1 } });
  // PHC string format: parameters are name=value pairs; their order does not change their meaning.
  assert.deepEqual(parsePasswordHash(ok('p=2,ln=3,r=4')), { ok: true, params: { costLog2: 3, blockSize: 4, parallelization: 2 } });

  const cases: [string, RegExp][] = [
    ['', /not an scrypt PHC string/],
    ['scrypt$ln=12,r=8,p=1$' + salt + '$' + hash, /not an scrypt PHC string/],
    ['$argon2id$v=19$m=65536,t=3,p=4$' + salt + '$' + hash, /not an scrypt PHC string/],
    ['$scrypt$ln=12,r=8,p=1$' + salt, /4 fields.*found 3/],
    [ok('ln=12,r=8,p=1') + '$', /4 fields.*found 5/],
    ['$scrypt$v=1$ln=12,r=8,p=1$' + salt + '$' + hash, /4 fields.*found 5/],
    [ok('ln=12,r=8'), /parameter p missing/],
    [ok('ln=12,r=8,p=1,x=2'), /unknown parameter x/],
    [ok('ln=12,r=8,p=1,ln=12'), /parameter ln given twice/],
    [ok('ln=12,,r=8,p=1'), /parameter "" is not name=value/],
    [ok('ln=012,r=8,p=1'), /ln=012 is not a decimal integer/],
    [ok('ln=+12,r=8,p=1'), /ln=\+12 is not a decimal integer/],
    [ok('ln=1e1,r=8,p=1'), /ln=1e1 is not a decimal integer/],
    [ok('ln=,r=8,p=1'), /ln= is not a decimal integer/],
    [ok('ln=0,r=8,p=1'), /ln=0 out of range 1\.\.20/],
    [ok('ln=21,r=8,p=1'), /ln=21 out of range 1\.\.20/],
    [ok('ln=99999999999999999999,r=8,p=1'), /out of range 1\.\.20/],
    [ok('ln=12,r=0,p=1'), /r=0 out of range 1\.\.32/],
    [ok('ln=12,r=33,p=1'), /r=33 out of range 1\.\.32/],
    [ok('ln=12,r=8,p=0'), /p=0 out of range 1\.\.16/],
    [ok('ln=12,r=8,p=17'), /p=17 out of range 1\.\.16/],
    // RFC 7914 §2: N "less than 2^(128 * r / 8)".
    [ok('ln=16,r=1,p=1'), /ln=16 needs r ≥ 2.*RFC 7914 §2/],
    [ok('ln=20,r=8,p=1'), /1024 MiB of memory, more than 64 MiB/],
    [ok('ln=12,r=8,p=1', 'AAAA=='), /salt is not unpadded standard base64/],
    [ok('ln=12,r=8,p=1', salt.replace(/.$/, '_')), /salt is not unpadded standard base64/],
    [ok('ln=12,r=8,p=1', 'AAAAAAA'), /salt is 5 bytes, at least 8/],
    [ok('ln=12,r=8,p=1', Buffer.alloc(65).toString('base64').replace(/=+$/, '')), /salt is 65 bytes, at most 64/],
    [ok('ln=12,r=8,p=1', salt, ''), /hash is 0 bytes, at least 16/],
    [ok('ln=12,r=8,p=1', salt, Buffer.alloc(15).toString('base64').replace(/=+$/, '')), /hash is 15 bytes, at least 16/],
    [ok('ln=12,r=8,p=1', salt, Buffer.alloc(65).toString('base64').replace(/=+$/, '')), /hash is 65 bytes, at most 64/],
    [ok('ln=12,r=8,p=1', salt, hash + ' '), /hash is not unpadded standard base64/],
    ['$scrypt$ln=12,r=8,p=1$' + salt + '$' + 'A'.repeat(600), /longer than 512 characters/],
  ];
  for (const [phc, error] of cases) {
    const r = parsePasswordHash(phc);
    assert.equal(r.ok, false, phc);
    if (!r.ok) assert.match(r.error, error, phc);
  }
  assert.equal(parsePasswordHash(42 as unknown as string).ok, false);
});

test('passwords: verifyPassword answers false, never throws, on malformed hashes', async () => {
  for (const phc of ['', 'x', '$scrypt$', '$scrypt$ln=12,r=8,p=1$$', '$scrypt$ln=16,r=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA']) {
    assert.equal(await verifyPassword('password', phc), false, phc);
  }
  assert.equal(await verifyPassword('password', null as unknown as string), false);
  assert.equal(await verifyPassword(undefined as unknown as string, RFC7914_V3), false);
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 120 }), async (phc) => {
      assert.equal(await verifyPassword('password', '$scrypt$' + phc), false);
    }),
    { numRuns: 300 },
  );
});

test('passwords: validatePassword: at least 8 characters, at most 1024 UTF-8 bytes', () => {
  assert.equal(validatePassword('abcdefgh'), null);
  assert.equal(validatePassword('éééééééé'), null); // 8 characters, 16 bytes
  assert.equal(validatePassword('😀😀😀😀😀😀😀😀'), null); // 8 characters (code points), 16 UTF-16 units
  assert.match(validatePassword('abcdefg') ?? '', /at least 8 characters/);
  assert.match(validatePassword('😀😀😀😀') ?? '', /at least 8 characters/); // 8 UTF-16 units, 4 characters
  assert.match(validatePassword('') ?? '', /at least 8 characters/);
  assert.equal(validatePassword('a'.repeat(1024)), null);
  assert.match(validatePassword('a'.repeat(1025)) ?? '', /at most 1024 bytes/);
  assert.equal(validatePassword('€'.repeat(341)), null); // 1023 bytes
  assert.match(validatePassword('€'.repeat(342)) ?? '', /at most 1024 bytes/); // 1026 bytes
  // A lone surrogate has no UTF-8 form: Node would hash U+FFFD in its place.
  assert.match(validatePassword('abcdefgh\uD800') ?? '', /unpaired surrogate/);
  assert.match(validatePassword(12345678 as unknown as string) ?? '', /string/);
});
