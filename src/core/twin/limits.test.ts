import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JsonObject, JsonValue } from './json-value.js';
import {
  AWS_SHADOW_LIMITS,
  clientTokenValid,
  depthExceeds,
  jsonBytesBound,
  stateBytes,
  stateBytesExceed,
  validateShadowName,
  validateThingName,
} from './limits.js';

test('limits: AWS defaults (Device Shadow error messages; Diagnosing problems with shadows; Interacting with shadows > DELETE)', () => {
  assert.equal(AWS_SHADOW_LIMITS.maxStateBytes, 8192);
  assert.equal(AWS_SHADOW_LIMITS.maxDepth, 6);
  assert.equal(AWS_SHADOW_LIMITS.maxClientTokenBytes, 64);
  assert.equal(AWS_SHADOW_LIMITS.maxShadowNameLength, 64);
  assert.equal(AWS_SHADOW_LIMITS.maxInFlightPerConnection, 10);
  assert.equal(AWS_SHADOW_LIMITS.deletedVersionWindowSeconds, 172800);
});

test('limits: shadow names are 1–64 characters of a-zA-Z0-9:_-', () => {
  for (const n of ['a', 'Z9', 'x:y_z-1', 'n'.repeat(64)]) assert.equal(validateShadowName(n), null, n);
  for (const n of ['', 'n'.repeat(65), 'a/b', 'a b', '$x', 'a+b', 'a#', 'é']) assert.notEqual(validateShadowName(n), null, n);
});

test('limits: thing names are 1–128 characters of a-zA-Z0-9:_-', () => {
  assert.equal(validateThingName('t'.repeat(128)), null);
  for (const n of ['', 't'.repeat(129), 'a/b', 'a.b']) assert.notEqual(validateThingName(n), null, n);
  assert.equal(validateThingName('t'.repeat(20), { ...AWS_SHADOW_LIMITS, maxThingNameLength: 10 }) !== null, true);
});

test('limits: clientToken of at most 64 UTF-8 bytes ("A client token that is longer than 64 bytes will cause this response")', () => {
  assert.equal(clientTokenValid('t'.repeat(64)), true);
  assert.equal(clientTokenValid('t'.repeat(65)), false);
  assert.equal(clientTokenValid('€'.repeat(21)), true); // 63 bytes
  assert.equal(clientTokenValid('€'.repeat(22)), false); // 66 bytes in 22 characters
  assert.equal(clientTokenValid(''), true);
  assert.equal(clientTokenValid(42), false);
  assert.equal(clientTokenValid(null), false);
});

test('limits: nesting depth counts the section and each object or array inside it', () => {
  // The pair AWS's Greengrass shadow manager checks: 6 levels accepted, 7 rejected.
  const six = JSON.parse('{"1": {"2": {"3": {"4": {"5": {"6": "The Beatles"}}}}}}');
  const seven = JSON.parse('{"1": {"2": {"3": {"4": {"5": {"6": {"7": "The Beatles"}}}}}}}');
  assert.equal(depthExceeds(six, 6), false);
  assert.equal(depthExceeds(seven, 6), true);
  assert.equal(depthExceeds({ a: [[[[[1]]]]] }, 6), false);
  assert.equal(depthExceeds({ a: [[[[[[1]]]]]] }, 6), true);
  assert.equal(depthExceeds({}, 1), false);
  assert.equal(depthExceeds({ a: {} }, 1), true);
  assert.equal(depthExceeds(5, 0), false);
});

test('limits: state size is desired + reported JSON in UTF-8 bytes', () => {
  assert.equal(stateBytes(undefined, undefined), 0);
  assert.equal(stateBytes({ a: 1 }, undefined), 7);
  assert.equal(stateBytes({ a: 1 }, { b: '€' }), 7 + 11);
});

const utf8Bytes = (v: JsonValue): number => Buffer.byteLength(JSON.stringify(v), 'utf8');

test('limits: the size bound never undercounts (the 413 check may skip serialising only below the limit)', () => {
  // The longest number forms (ECMA-262 Number::toString) and the longest escapes (QuoteJSONString).
  for (const n of [-0.0000012345678901234567, -1.2345678901234567e-308, -123456789012345678901, Number.MAX_VALUE, -Number.MIN_VALUE, 5e-324, 0.1 + 0.2]) {
    assert.ok(jsonBytesBound(n) >= utf8Bytes(n), String(n));
  }
  for (const s of ['\u0000\u001f', '\ud800', '\udfff\ud800', '"\\', '€😀', '\u2028']) assert.ok(jsonBytesBound(s) >= utf8Bytes(s), JSON.stringify(s));
  fc.assert(
    fc.property(fc.jsonValue(), (v) => jsonBytesBound(v as JsonValue) >= utf8Bytes(v as JsonValue)),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.object({ values: [fc.string({ unit: 'binary' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)] }), (v) =>
      jsonBytesBound(v as JsonObject) >= utf8Bytes(v as JsonObject),
    ),
    { numRuns: 2000 },
  );
});

test('limits: stateBytesExceed is exactly stateBytes > max, at the 8 KB boundary too ("Diagnosing problems with shadows": 8 KB)', () => {
  const max = AWS_SHADOW_LIMITS.maxStateBytes;
  // {"a":"…"} is 8 bytes plus the string; a shared desired of {"d":1} (7 bytes).
  const at = (n: number, ch: string): JsonObject => ({ a: ch.repeat(n) });
  for (const [ch, w] of [['x', 1], ['é', 2], ['€', 3], ['\n', 2], ['\u0001', 6]] as const) {
    const fits = Math.floor((max - 7 - 8) / w);
    for (const n of [fits - 1, fits, fits + 1]) {
      const r = at(n, ch);
      assert.equal(stateBytesExceed({ d: 1 }, r, max), stateBytes({ d: 1 }, r) > max, `${JSON.stringify(ch)} × ${n}`);
    }
    assert.equal(stateBytesExceed({ d: 1 }, at(fits, ch), max), false);
    assert.equal(stateBytesExceed({ d: 1 }, at(fits + 1, ch), max), true);
  }
  assert.equal(stateBytesExceed(undefined, undefined, 0), false);
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue()), fc.nat(4000), (d, r, m) =>
      stateBytesExceed(d as JsonObject, r as JsonObject, m) === stateBytes(d as JsonObject, r as JsonObject) > m,
    ),
    { numRuns: 500 },
  );
});
