import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeUnpadded, encodeUnpadded } from './encoding.js';

test('encoding: unpadded base64 and base64url round trip any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.constantFrom('base64' as const, 'base64url' as const), (bytes, alphabet) => {
      const text = encodeUnpadded(Buffer.from(bytes), alphabet);
      assert.equal(text.includes('='), false);
      assert.deepEqual(decodeUnpadded(text, alphabet), Buffer.from(bytes));
    }),
  );
});

test('encoding: RFC 7515 §2 base64url has no padding, whitespace or other characters', () => {
  assert.deepEqual(decodeUnpadded('QQ', 'base64url'), Buffer.from('A'));
  for (const bad of ['QQ==', 'QQ=', ' QQ', 'QQ\n', 'Q Q', 'Q.Q', '+w', '/w', 'Q']) {
    assert.equal(decodeUnpadded(bad, 'base64url'), undefined, JSON.stringify(bad));
  }
  // A length of 4k+1 characters encodes no whole number of bytes.
  assert.equal(decodeUnpadded('QUJDR', 'base64url'), undefined);
});

test('encoding: PHC B64 is the standard alphabet without padding', () => {
  assert.deepEqual(decodeUnpadded('+/8', 'base64'), Buffer.from([0xfb, 0xff]));
  for (const bad of ['-_8', '+/8=', 'QQ==']) assert.equal(decodeUnpadded(bad, 'base64'), undefined, bad);
});

test('encoding: unused trailing bits must be zero (one encoding per byte string)', () => {
  // 'QQ' and 'QR' both decode to "A" in Node; only the canonical form is accepted.
  assert.equal(decodeUnpadded('QR', 'base64url'), undefined);
  assert.equal(decodeUnpadded('QUJ', 'base64'), undefined);
  assert.deepEqual(decodeUnpadded('QUI', 'base64'), Buffer.from('AB'));
});

test('encoding: the empty string is the encoding of no bytes', () => {
  assert.deepEqual(decodeUnpadded('', 'base64url'), Buffer.alloc(0));
});
