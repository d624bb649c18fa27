import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteShadow, liveTombstone } from './delete-shadow.js';
import { buildGetAccepted } from './get-accepted.js';
import { AWS_SHADOW_LIMITS } from './limits.js';
import { errorDocument } from './shadow-error.js';
import { rejectedUpdate, update } from './test-helpers.js';

test('/get/accepted: desired, reported, delta, metadata, version, timestamp, clientToken (Interacting with shadows > Retrieving a shadow document)', () => {
  const r0 = update(undefined, { state: { reported: { color: 'GREEN' } } }, { now: 100 });
  const r1 = update(r0.next, { state: { desired: { color: 'RED', sequence: ['RED', 'GREEN', 'BLUE'] } } }, { now: 200 });
  const g = buildGetAccepted(r1.next, { now: 300, shadowName: 'thing1', clientToken: 'UniqueClientToken' });
  assert.ok(g.ok);
  assert.deepEqual(g.accepted, {
    state: {
      desired: { color: 'RED', sequence: ['RED', 'GREEN', 'BLUE'] },
      reported: { color: 'GREEN' },
      delta: { color: 'RED', sequence: ['RED', 'GREEN', 'BLUE'] },
    },
    metadata: {
      desired: { color: { timestamp: 200 }, sequence: { timestamp: 200 } },
      reported: { color: { timestamp: 100 } },
    },
    version: 2,
    timestamp: 300,
    clientToken: 'UniqueClientToken',
  });
});

test('/get/accepted: no delta field when desired and reported agree', () => {
  const r = update(undefined, { state: { desired: { a: 1 }, reported: { a: 1, b: 2 } } });
  const g = buildGetAccepted(r.next, { now: 1, shadowName: 't' });
  assert.ok(g.ok);
  assert.equal('delta' in g.accepted.state, false);
  assert.equal('clientToken' in g.accepted, false);
});

test('GET or DELETE of a shadow that does not exist → 404 "No shadow exists with name: shadowName" (Device Shadow error messages)', () => {
  const g = buildGetAccepted(undefined, { now: 5, shadowName: 'lights', clientToken: 'k' });
  assert.deepEqual(g, { ok: false, code: 404, message: 'No shadow exists with name: lights', clientToken: 'k' });
  assert.ok(!g.ok);
  assert.deepEqual(errorDocument(g, 5), { code: 404, message: 'No shadow exists with name: lights', timestamp: 5, clientToken: 'k' });
  const d = deleteShadow(undefined, { now: 5, shadowName: 'lights' });
  assert.deepEqual(d, { ok: false, code: 404, message: 'No shadow exists with name: lights' });
});

test('/delete/accepted: {"version": 4, "timestamp": ...} with the deleted version (Interacting with shadows > Deleting a shadow)', () => {
  let doc = update(undefined, { state: { reported: { a: 1 } } }).next;
  for (let i = 0; i < 3; i++) doc = update(doc, { state: { reported: { a: i } } }).next;
  const d = deleteShadow(doc, { now: 1591057529, shadowName: 'x' });
  assert.ok(d.ok);
  assert.deepEqual(d.accepted, { version: 4, timestamp: 1591057529 });
  assert.deepEqual(d.tombstone, { version: 4, deletedAt: 1591057529, writers: { '': 4 } });
  const withToken = deleteShadow(doc, { now: 1, shadowName: 'x', clientToken: 'c' });
  assert.ok(withToken.ok);
  assert.equal(withToken.accepted.clientToken, 'c');
});

test('a shadow recreated within 48 hours continues the deleted version; after that it starts over (Interacting with shadows > DELETE)', () => {
  let doc = update(undefined, { state: { reported: { a: 1 } } }, { now: 0 }).next;
  doc = update(doc, { state: { reported: { a: 2 } } }, { now: 0 }).next;
  const d = deleteShadow(doc, { now: 1000, shadowName: 'x' });
  assert.ok(d.ok);
  const within = update(undefined, { state: { reported: { b: 1 } } }, { now: 1000 + 48 * 3600, tombstone: d.tombstone });
  assert.equal(within.next.version, 3);
  assert.deepEqual(within.next.state, { reported: { b: 1 } }, 'the old state is gone');
  assert.equal(within.documents?.previous, undefined);
  // A conditional update on the recreated shadow expects the deleted version.
  assert.equal(update(undefined, { state: {}, version: 2 }, { now: 2000, tombstone: d.tombstone }).next.version, 3);
  assert.equal(rejectedUpdate(undefined, { state: {}, version: 0 }, { now: 2000, tombstone: d.tombstone }).code, 409);
  const after = update(undefined, { state: { reported: { b: 1 } } }, { now: 1001 + 48 * 3600, tombstone: d.tombstone });
  assert.equal(after.next.version, 1);
  // The window is configuration.
  const short = { ...AWS_SHADOW_LIMITS, deletedVersionWindowSeconds: 10 };
  assert.equal(liveTombstone(d.tombstone, 1010, short), d.tombstone);
  assert.equal(liveTombstone(d.tombstone, 1011, short), undefined);
  assert.equal(update(undefined, { state: {} }, { now: 1011, tombstone: d.tombstone, limits: short }).next.version, 1);
});

test('a stale multi-writer change stays stale after the shadow is deleted and recreated', () => {
  const r0 = update(undefined, { state: { reported: { a: 1 } } }, { writer: 'edge', vector: { edge: 5 } });
  const d = deleteShadow(r0.next, { now: 1000, shadowName: 'x' });
  assert.ok(d.ok);
  const rej = rejectedUpdate(undefined, { state: { reported: { a: 0 } } }, { writer: 'edge', vector: { edge: 4 }, tombstone: d.tombstone });
  assert.equal(rej.code, 409);
});
