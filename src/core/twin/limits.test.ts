import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AWS_SHADOW_LIMITS, clientTokenValid, depthExceeds, stateBytes, validateShadowName, validateThingName } from './limits.js';

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
