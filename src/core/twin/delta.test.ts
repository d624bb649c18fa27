import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDelta, deltaMetadata } from './delta.js';

// "Device Shadow MQTT topics > /update/delta > Message body details" (AWS IoT Developer Guide).

test('delta: only desired attributes that differ from reported (AWS /update/delta body details)', () => {
  assert.deepEqual(computeDelta({ color: 'red', power: 'on' }, { color: 'green', power: 'on' }), { color: 'red' });
});

test('delta: an attribute in reported with no equivalent in desired is not included (AWS /update/delta body details)', () => {
  assert.equal(computeDelta({ color: 'red' }, { color: 'red', temp: 55 }), undefined);
});

test('delta: an attribute in desired with no equivalent in reported is included (AWS /update/delta body details)', () => {
  assert.deepEqual(computeDelta({ color: 'red', engine: 'ON' }, { color: 'red' }), { engine: 'ON' });
  assert.deepEqual(computeDelta({ engine: 'ON' }, undefined), { engine: 'ON' });
});

test('delta: nested objects are compared recursively; only the differing nested fields appear (AWS "Using shadows" example)', () => {
  // Initial reported color {r:255,g:255,b:0}; update desired {color:{r:10}, engine:"ON"} → delta {color:{r:10}, engine:"ON"}.
  const reported = { color: { r: 255, g: 255, b: 0 } };
  const desired = { color: { r: 10 }, engine: 'ON' };
  assert.deepEqual(computeDelta(desired, reported), { color: { r: 10 }, engine: 'ON' });
  assert.equal(computeDelta({ color: { r: 255 } }, reported), undefined);
  assert.deepEqual(computeDelta({ a: { b: { c: 1, d: 2 } } }, { a: { b: { c: 1, d: 3 } } }), { a: { b: { d: 2 } } });
});

test('delta: a desired object against a reported scalar (or the reverse) differs whole', () => {
  assert.deepEqual(computeDelta({ color: { r: 1 } }, { color: 'red' }), { color: { r: 1 } });
  assert.deepEqual(computeDelta({ color: 'red' }, { color: { r: 1 } }), { color: 'red' });
});

test('delta: arrays are whole values ("Array values in shadow documents")', () => {
  assert.deepEqual(computeDelta({ colors: ['RED', 'GREEN'] }, { colors: ['RED'] }), { colors: ['RED', 'GREEN'] });
  assert.deepEqual(computeDelta({ colors: ['GREEN', 'RED'] }, { colors: ['RED', 'GREEN'] }), { colors: ['GREEN', 'RED'] });
  assert.equal(computeDelta({ colors: ['RED', { a: 1 }] }, { colors: ['RED', { a: 1 }] }), undefined);
});

test('delta: values compare by JSON type (1 and "1", false and 0 differ)', () => {
  assert.deepEqual(computeDelta({ a: 1, b: false }, { a: '1', b: 0 }), { a: 1, b: false });
});

test('delta: undefined when nothing differs or when there is no desired state', () => {
  assert.equal(computeDelta({}, { a: 1 }), undefined);
  assert.equal(computeDelta(undefined, { a: 1 }), undefined);
  assert.equal(computeDelta({ a: 1 }, { a: 1 }), undefined);
});

test('delta: field names that are Object.prototype members are ordinary fields', () => {
  assert.deepEqual(computeDelta({ toString: 1, constructor: 2 }, {}), { toString: 1, constructor: 2 });
  const desired = JSON.parse('{"__proto__": {"x": 1}}');
  const delta = computeDelta(desired, {});
  assert.ok(delta !== undefined);
  assert.equal(JSON.stringify(delta), '{"__proto__":{"x":1}}');
  assert.equal(Object.getPrototypeOf(delta), Object.prototype);
});

test('delta metadata: the desired timestamps in the delta shape, without desired/reported (AWS /delta response state document)', () => {
  const desiredMeta = {
    color: { r: { timestamp: 5, seq: 1 }, g: { timestamp: 6, seq: 1 } },
    engine: { timestamp: 7, seq: 2, writer: 'app' },
  };
  assert.deepEqual(deltaMetadata({ color: { r: 10 }, engine: 'ON' }, desiredMeta), {
    color: { r: { timestamp: 5 } },
    engine: { timestamp: 7 },
  });
});
