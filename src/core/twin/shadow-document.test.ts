import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AWS_SHADOW_LIMITS } from './limits.js';
import { applyUpdate } from './shadow-document.js';
import { deepFreeze, rejectedUpdate, update } from './test-helpers.js';

// Examples and rules from the AWS IoT Developer Guide pages "Interacting with shadows" (data
// flow), "Device Shadow service documents" and "Device Shadow MQTT topics".

test('update reported: creates the shadow, version 1, /update/accepted with the sent state and per-leaf metadata (Interacting with shadows > device reports its state)', () => {
  const r = update(undefined, { state: { reported: { color: { r: 10 }, engine: 'ON' } } }, { now: 1591057529 });
  assert.deepEqual(r.accepted, {
    state: { reported: { color: { r: 10 }, engine: 'ON' } },
    metadata: { reported: { color: { r: { timestamp: 1591057529 } }, engine: { timestamp: 1591057529 } } },
    version: 1,
    timestamp: 1591057529,
  });
  assert.deepEqual(r.next.state, { reported: { color: { r: 10 }, engine: 'ON' } });
  assert.equal(r.next.version, 1);
  assert.equal(r.delta, undefined, 'no desired state, no delta');
});

test('update desired → delta with only the differing desired fields, desired timestamps as metadata (Using shadows example; /delta response state document)', () => {
  const r0 = update(undefined, { state: { reported: { color: { r: 255, g: 255, b: 0 } } } }, { now: 100 });
  const r1 = update(r0.next, { state: { desired: { color: { r: 10 }, engine: 'ON' } }, clientToken: 'app-1' }, { now: 200 });
  assert.deepEqual(r1.delta, {
    state: { color: { r: 10 }, engine: 'ON' },
    metadata: { color: { r: { timestamp: 200 } }, engine: { timestamp: 200 } },
    version: 2,
    timestamp: 200,
    clientToken: 'app-1',
  });
  assert.equal(r1.accepted.clientToken, 'app-1');
  // The device reports the new state: the delta is gone.
  const r2 = update(r1.next, { state: { reported: { color: { r: 10 }, engine: 'ON' } } }, { now: 300 });
  assert.equal(r2.delta, undefined);
  assert.deepEqual(r2.next.state.reported, { color: { r: 10, g: 255, b: 0 }, engine: 'ON' });
});

test('/update/delta holds every differing desired attribute, also those not in this update (Device Shadow MQTT topics > /update/delta)', () => {
  const r0 = update(undefined, { state: { desired: { a: 1, b: 2 } } });
  const r1 = update(r0.next, { state: { reported: { b: 2, c: 3 } } });
  assert.deepEqual(r1.delta?.state, { a: 1 });
  // "If an attribute is deleted from the reported section but still exists in the desired section, it is included."
  const r2 = update(r1.next, { state: { reported: { b: null } } });
  assert.deepEqual(r2.delta?.state, { a: 1, b: 2 });
});

test('conditional update: a version other than the current one → 409 "Version conflict" with the clientToken; the matching one is accepted (Interacting with shadows > Optimistic locking)', () => {
  let doc = update(undefined, { state: { desired: { colors: ['RED', 'GREEN', 'BLUE'] } } }).next;
  while (doc.version < 10) doc = update(doc, { state: { desired: { colors: ['RED', 'GREEN', 'BLUE'] } } }).next;
  assert.equal(doc.version, 10);
  const r = rejectedUpdate(doc, { state: { desired: { colors: ['BLUE'] } }, version: 9, clientToken: '426bfd96-e720-46d3-95cd-014e3ef12bb6' });
  assert.deepEqual(r, { ok: false, code: 409, message: 'Version conflict', clientToken: '426bfd96-e720-46d3-95cd-014e3ef12bb6' });
  assert.equal(rejectedUpdate(doc, { state: { desired: {} }, version: 11 }).code, 409);
  const ok = update(doc, { state: { desired: { colors: ['BLUE'] } }, version: 10 });
  assert.deepEqual(ok.next.state, { desired: { colors: ['BLUE'] } });
  assert.equal(ok.next.version, 11);
});

test('conditional update on a shadow that does not exist yet: its version is 0', () => {
  assert.equal(update(undefined, { state: { reported: { a: 1 } }, version: 0 }).next.version, 1);
  assert.equal(rejectedUpdate(undefined, { state: { reported: { a: 1 } }, version: 1 }).code, 409);
});

test('null deletes a field and its metadata (Interacting with shadows > Deleting a property from a shadow document)', () => {
  const r0 = update(undefined, { state: { desired: { engine: 'ON', color: 'red' } } });
  const r1 = update(r0.next, { state: { desired: { engine: null } } }, { now: 2000 });
  assert.deepEqual(r1.next.state, { desired: { color: 'red' } });
  assert.deepEqual(r1.accepted.state, { desired: { engine: null } });
  assert.deepEqual(r1.accepted.metadata, { desired: { engine: { timestamp: 2000 } } });
  const get = r1.documents?.current;
  assert.deepEqual(get?.metadata, { desired: { color: { timestamp: 1000 } } });
});

test('"desired": null removes the desired section (Device Shadow service documents > Empty shadow document properties)', () => {
  const r0 = update(undefined, { state: { desired: { color: 'red' }, reported: { color: 'blue' } } });
  assert.deepEqual(r0.delta?.state, { color: 'red' });
  const r1 = update(r0.next, { state: { reported: { color: 'red' }, desired: null } });
  assert.deepEqual(r1.next.state, { reported: { color: 'red' } });
  assert.deepEqual(r1.next.metadata.desired, undefined);
  assert.equal(r1.delta, undefined);
  const r2 = update(r1.next, { state: { reported: null } });
  assert.deepEqual(r2.next.state, {}, 'a shadow with neither section is valid: {}');
});

test('an update that empties an object removes it: a section exists only when it has state (Empty shadow document properties)', () => {
  const r0 = update(undefined, { state: { desired: { color: { r: 1 } }, reported: { x: 1 } } });
  const r1 = update(r0.next, { state: { desired: { color: { r: null } } } });
  assert.deepEqual(r1.next.state, { reported: { x: 1 } });
  assert.deepEqual(r1.next.metadata, { reported: { x: { timestamp: 1000, seq: 1 } } });
});

test('"state": null clears both sections; the shadow and its version remain (Interacting with shadows > Deleting a shadow)', () => {
  const r0 = update(undefined, { state: { desired: { a: 1 }, reported: { b: 2 } } });
  const r1 = update(r0.next, { state: null });
  assert.deepEqual(r1.next.state, {});
  assert.equal(r1.next.version, 2);
});

test('arrays are replaced whole (Device Shadow service documents > Array values in shadow documents)', () => {
  const r0 = update(undefined, { state: { desired: { colors: ['RED', 'GREEN', 'BLUE'] } } });
  const r1 = update(r0.next, { state: { desired: { colors: ['RED'] } } });
  assert.deepEqual(r1.next.state, { desired: { colors: ['RED'] } });
  assert.equal(rejectedUpdate(r1.next, { state: { desired: { colors: [null, 'RED', 'GREEN'] } } }).code, 400);
});

test('updates affect only the fields specified; nested objects merge (Request state document: "Updates affect only the fields specified")', () => {
  const r0 = update(undefined, { state: { reported: { color: { r: 255, g: 255, b: 0 }, engine: 'OFF' } } });
  const r1 = update(r0.next, { state: { reported: { color: { r: 10 } } } });
  assert.deepEqual(r1.next.state.reported, { color: { r: 10, g: 255, b: 0 }, engine: 'OFF' });
  assert.deepEqual(r1.accepted.state, { reported: { color: { r: 10 } } });
  assert.deepEqual(r1.accepted.metadata, { reported: { color: { r: { timestamp: 1000 } } } });
  // A scalar over an object and an object over a scalar replace the field.
  const r2 = update(r1.next, { state: { reported: { color: 'red', engine: { on: true } } } });
  assert.deepEqual(r2.next.state.reported, { color: 'red', engine: { on: true } });
});

test('an empty object changes nothing: only fields sent are updated', () => {
  const r0 = update(undefined, { state: { desired: { a: 'x', b: { c: 1 } } } });
  const r1 = update(r0.next, { state: { desired: { a: {}, b: {}, z: {} } } });
  assert.deepEqual(r1.next.state, r0.next.state);
});

test('version increases by one on every accepted update, also one that changes nothing (Device Shadow service documents > Versioning)', () => {
  const r0 = update(undefined, { state: { reported: { a: 1 } } });
  const r1 = update(r0.next, { state: { reported: { a: 1 } } });
  const r2 = update(r1.next, { state: {} });
  assert.deepEqual([r0.next.version, r1.next.version, r2.next.version], [1, 2, 3]);
  assert.deepEqual(r2.next.state, r0.next.state);
});

test('/update/documents carries previous and current state, metadata and version (Device Shadow MQTT topics > /update/documents)', () => {
  const r0 = update(undefined, { state: { reported: { temp: 20 } } }, { now: 10 });
  assert.deepEqual(r0.documents, {
    current: { state: { reported: { temp: 20 } }, metadata: { reported: { temp: { timestamp: 10 } } }, version: 1 },
    timestamp: 10,
  });
  const r1 = update(r0.next, { state: { desired: { temp: 22 } }, clientToken: 'c1' }, { now: 20 });
  assert.deepEqual(r1.documents, {
    previous: { state: { reported: { temp: 20 } }, metadata: { reported: { temp: { timestamp: 10 } } }, version: 1 },
    current: {
      state: { desired: { temp: 22 }, reported: { temp: 20 } },
      metadata: { desired: { temp: { timestamp: 20 } }, reported: { temp: { timestamp: 10 } } },
      version: 2,
    },
    timestamp: 20,
    clientToken: 'c1',
  });
});

test('delta and documents are built only when asked (the caller skips them when nobody subscribes)', () => {
  const r0 = update(undefined, { state: { desired: { a: 1 } } }, { buildDelta: false, buildDocuments: false });
  assert.equal(r0.delta, undefined);
  assert.equal(r0.documents, undefined);
  const r1 = update(undefined, { state: { desired: { a: 1 } } });
  assert.ok(r1.delta !== undefined && r1.documents !== undefined);
  // The accepted document's metadata likewise; its state and version are always there (history, API).
  const r2 = update(undefined, { state: { desired: { a: 1 } } }, { now: 5, buildAcceptedMetadata: false });
  assert.deepEqual(r2.accepted, { state: { desired: { a: 1 } }, metadata: {}, version: 1, timestamp: 5 });
  assert.deepEqual(r1.accepted.metadata, { desired: { a: { timestamp: 1000 } } });
});

test('desired + reported beyond 8 KB after the merge → 413 "The payload exceeds the maximum size allowed"; metadata is not counted (Diagnosing problems with shadows)', () => {
  const big = 'x'.repeat(4000);
  const r0 = update(undefined, { state: { desired: { a: big } } });
  const r1 = update(r0.next, { state: { reported: { a: big } } }); // ~8014 bytes: fits
  const rej = rejectedUpdate(r1.next, { state: { reported: { b: 'y'.repeat(200) } }, clientToken: 't' });
  assert.deepEqual(rej, { ok: false, code: 413, message: 'The payload exceeds the maximum size allowed', clientToken: 't' });
  // Many fields make the metadata larger than the state; only the state counts.
  const fields: Record<string, number> = {};
  for (let i = 0; i < 900; i++) fields[`f${i}`] = 1;
  assert.ok(JSON.stringify(fields).length < 8192);
  update(undefined, { state: { reported: fields } });
  // Configurable.
  const small = { ...AWS_SHADOW_LIMITS, maxStateBytes: 10 };
  assert.equal(rejectedUpdate(undefined, { state: { reported: { abc: 'defghi' } } }, { limits: small }).code, 413);
});

test('validation errors come before any change (400 with the AWS messages)', () => {
  assert.deepEqual(rejectedUpdate(undefined, '{"version": 1}'), { ok: false, code: 400, message: 'Missing required node: state' });
  assert.equal(rejectedUpdate(undefined, 'not json').message, 'Invalid JSON');
});

test('accepts the payload as bytes, text or a parsed value', () => {
  const json = '{"state": {"reported": {"a": 1}}}';
  for (const p of [json, Buffer.from(json), new Uint8Array(Buffer.from(json)), JSON.parse(json)]) {
    assert.deepEqual(update(undefined, p).next.state, { reported: { a: 1 } });
  }
});

test('the current document is never mutated; unchanged parts are shared', () => {
  const r0 = update(undefined, { state: { desired: { a: { x: 1 }, b: { y: 2 } }, reported: { c: 3 } } });
  deepFreeze(r0.next);
  const r1 = update(r0.next, { state: { desired: { a: { x: 5 }, b: null }, reported: null } });
  assert.deepEqual(r1.next.state, { desired: { a: { x: 5 } } });
  assert.deepEqual(r0.next.state, { desired: { a: { x: 1 }, b: { y: 2 } }, reported: { c: 3 } });
  const r2 = update(r0.next, { state: { desired: { a: { x: 9 } } } });
  assert.equal(r2.next.state.reported, r0.next.state.reported);
  assert.equal((r2.next.state.desired as { b: unknown }).b, (r0.next.state.desired as { b: unknown }).b);
});

test('field names such as __proto__ and constructor are stored as fields, not as prototypes', () => {
  const r0 = update(undefined, '{"state": {"desired": {"__proto__": {"polluted": 1}, "constructor": 1, "toString": {"x": 1}}}}');
  const desired = r0.next.state.desired as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(desired), Object.prototype);
  assert.deepEqual(Object.keys(desired).sort(), ['__proto__', 'constructor', 'toString']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const r1 = update(r0.next, '{"state": {"desired": {"__proto__": null, "toString": {"y": 2}}}}');
  assert.equal(JSON.stringify(r1.next.state), '{"desired":{"constructor":1,"toString":{"x":1,"y":2}}}');
  assert.equal(JSON.stringify(r1.documents?.current.metadata), '{"desired":{"constructor":{"timestamp":1000},"toString":{"x":{"timestamp":1000},"y":{"timestamp":1000}}}}');
});

test('a "__proto__" field that already exists is changed as a field: state, metadata, delta and /update/accepted metadata', () => {
  const r0 = update(undefined, '{"state": {"desired": {"__proto__": {"a": 1}, "p": 1}, "reported": {"__proto__": {"a": 0}}}}');
  const r1 = update(r0.next, '{"state": {"desired": {"__proto__": {"a": 2, "b": 3}}, "reported": {"__proto__": 5}}}');
  for (const section of [r1.next.state.desired!, r1.next.state.reported!, r1.next.metadata.desired!, r1.next.metadata.reported!]) {
    assert.equal(Object.getPrototypeOf(section), Object.prototype);
  }
  assert.equal(JSON.stringify(r1.next.state), '{"desired":{"__proto__":{"a":2,"b":3},"p":1},"reported":{"__proto__":5}}');
  assert.equal(JSON.stringify(r1.delta?.state), '{"__proto__":{"a":2,"b":3},"p":1}');
  assert.equal(JSON.stringify(r1.delta?.metadata), '{"__proto__":{"a":{"timestamp":1000},"b":{"timestamp":1000}},"p":{"timestamp":1000}}');
  assert.equal(JSON.stringify(r1.accepted.metadata), '{"desired":{"__proto__":{"a":{"timestamp":1000},"b":{"timestamp":1000}}},"reported":{"__proto__":{"timestamp":1000}}}');
  assert.equal(({} as Record<string, unknown>).a, undefined);
});

test('the writer of every change is recorded in the version vector', () => {
  const r0 = update(undefined, { state: { reported: { a: 1 } } }, { writer: 'device:t1' });
  const r1 = update(r0.next, { state: { desired: { a: 2 } } }, { writer: 'api' });
  const r2 = update(r1.next, { state: { reported: { a: 2 } } }, { writer: 'device:t1' });
  assert.deepEqual(r2.next.writers, { 'device:t1': 2, api: 1 });
  const anon = applyUpdate(undefined, { state: {} }, { now: 1 });
  assert.ok(anon.ok);
  assert.deepEqual(anon.next.writers, { '': 1 });
});
