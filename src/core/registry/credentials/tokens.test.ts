import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constantTimeEqualHex, generateApiKey, generateDeviceToken, parseApiKeyId, sha256Hex, tokenLookupKey } from './tokens.js';

test('tokens: a device token is tht_ + 128 random bits in base64url (22 characters)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const t = generateDeviceToken();
    assert.match(t, /^tht_[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(t.slice(4), 'base64url').length, 16);
    seen.add(t);
  }
  assert.equal(seen.size, 1000);
});

test('tokens: sha256Hex matches the FIPS 180-2 examples ("abc", empty input)', () => {
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(sha256Hex(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  // Strings are hashed as UTF-8.
  assert.equal(sha256Hex('é'), sha256Hex(Buffer.from([0xc3, 0xa9])));
});

test('tokens: tokenLookupKey is token:<sha256 hex> (CredentialRecord.lookupKey)', () => {
  const t = generateDeviceToken();
  assert.equal(tokenLookupKey(t), `token:${sha256Hex(t)}`);
  assert.equal(tokenLookupKey(Buffer.from(t)), tokenLookupKey(t));
});

test('tokens: an API key is thk_<12 hex id>_<128-bit base64url secret> and its id parses back', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const key = generateApiKey();
    assert.match(key.id, /^[0-9a-f]{12}$/);
    assert.match(key.text, /^thk_[0-9a-f]{12}_[A-Za-z0-9_-]{22}$/);
    assert.equal(key.text.startsWith(`thk_${key.id}_`), true);
    assert.equal(Buffer.from(key.text.slice(17), 'base64url').length, 16);
    assert.equal(parseApiKeyId(key.text), key.id);
    ids.add(key.id);
  }
  assert.equal(ids.size, 500);
});

test('tokens: parseApiKeyId refuses anything not of that shape', () => {
  const good = 'thk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAA';
  assert.equal(parseApiKeyId(good), '0123456789ab');
  // The secret may itself hold '_' and '-': the id has a fixed length, so the split is unambiguous.
  assert.equal(parseApiKeyId('thk_0123456789ab_' + '_'.repeat(19) + '-_w'), '0123456789ab');
  for (const bad of [
    '',
    'thk_',
    'thk_0123456789ab',
    'thk_0123456789ab_',
    'th_0123456789ab_AAAAAAAAAAAAAAAAAAAAAA',
    'tht_0123456789ab_AAAAAAAAAAAAAAAAAAAAAA',
    'THK_0123456789ab_AAAAAAAAAAAAAAAAAAAAAA',
    'thk_0123456789AB_AAAAAAAAAAAAAAAAAAAAAA',
    'thk_0123456789a_AAAAAAAAAAAAAAAAAAAAAA',
    'thk_0123456789abc_AAAAAAAAAAAAAAAAAAAAAA',
    'thk_0123456789ab_AAAAAAAAAAAAAAAAAAAAA',
    'thk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAA',
    'thk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAB', // unused trailing bits set: not the encoding of 16 bytes
    'thk_0123456789ab_AAAAAAAAAAAAAAAAAAAA+A',
    ' thk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAA',
    'thk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAA\n',
    'Bearer thk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAA',
  ]) {
    assert.equal(parseApiKeyId(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(parseApiKeyId(undefined as unknown as string), undefined);
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => {
      const id = parseApiKeyId(s);
      if (id !== undefined) assert.equal(s.startsWith(`thk_${id}_`), true);
    }),
  );
});

test('tokens: constantTimeEqualHex compares the bytes two hex strings encode', () => {
  const h = sha256Hex('x');
  assert.equal(constantTimeEqualHex(h, h), true);
  assert.equal(constantTimeEqualHex(h, h.toUpperCase()), true);
  assert.equal(constantTimeEqualHex(h, sha256Hex('y')), false);
  assert.equal(constantTimeEqualHex(h, h.slice(0, 62)), false);
  assert.equal(constantTimeEqualHex(h, h + '00'), false);
  // Never "equal" by accident: empty, odd-length or non-hex input is unequal to everything
  // (Buffer.from(text, 'hex') would silently stop at the first bad digit).
  assert.equal(constantTimeEqualHex('', ''), false);
  assert.equal(constantTimeEqualHex('abc', 'abc'), false);
  assert.equal(constantTimeEqualHex('zz', 'zz'), false);
  assert.equal(constantTimeEqualHex('aazz', 'aayy'), false);
  assert.equal(constantTimeEqualHex(undefined as unknown as string, h), false);
});
