import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGetAccepted } from './get-accepted.js';
import { rejectedUpdate, update } from './test-helpers.js';

// Twinhub's multi-writer rule (docs/TWINS.md "Multi-writer state"); not part of AWS.

test('multi-writer: an update whose own vector entry is older than the stored one is suppressed with 409 "Stale update"', () => {
  const r1 = update(undefined, { state: { reported: { a: 1 } } }, { writer: 'edge', vector: { edge: 2 } });
  const older = rejectedUpdate(r1.next, { state: { reported: { a: 0 } }, clientToken: 'c' }, { writer: 'edge', vector: { edge: 1 } });
  assert.equal(older.code, 409);
  assert.match(older.message, /^Stale update/);
  assert.equal(older.clientToken, 'c');
  // The same change delivered twice is a replay: also suppressed.
  assert.equal(rejectedUpdate(r1.next, { state: { reported: { a: 1 } } }, { writer: 'edge', vector: { edge: 2 } }).code, 409);
  // A writer's first change carries 1; 0 is never newer than the stored nothing.
  assert.equal(rejectedUpdate(undefined, { state: {} }, { writer: 'w', vector: { w: 0 } }).code, 409);
  assert.equal(update(r1.next, { state: { reported: { a: 3 } } }, { writer: 'edge', vector: { edge: 3 } }).next.version, 2);
});

test('multi-writer: out-of-order delivery from an edge node: the later change applies, the earlier one is suppressed', () => {
  const base = update(undefined, { state: { desired: { mode: 'auto' } } }, { writer: 'api' });
  const second = update(base.next, { state: { desired: { mode: 'eco' } } }, { writer: 'edge', vector: { api: 1, edge: 2 }, now: 2000 });
  const first = rejectedUpdate(second.next, { state: { desired: { mode: 'off' } } }, { writer: 'edge', vector: { api: 1, edge: 1 } });
  assert.equal(first.code, 409);
  assert.deepEqual(second.next.state.desired, { mode: 'eco' });
});

test('multi-writer: a malformed version vector → 400', () => {
  for (const v of [5, 'x', { a: -1 }, { a: 1.5 }, { a: '1' }, null, []]) {
    const r = rejectedUpdate(undefined, { state: {} }, { writer: 'a', vector: v });
    assert.equal(r.code, 400, JSON.stringify(v));
  }
});

test('multi-writer: writers that send no vector get the AWS behaviour: the last update received wins, timestamps aside', () => {
  const r0 = update(undefined, { state: { desired: { temp: 20 } } }, { writer: 'api', now: 500 });
  const r1 = update(r0.next, { state: { desired: { temp: 18 } } }, { writer: 'rule', now: 400, changedAt: 100 });
  assert.deepEqual(r1.next.state.desired, { temp: 18 });
  assert.equal(r1.lost.length, 0);
});

test('multi-writer: concurrent changes to different fields merge without loss', () => {
  const s0 = update(undefined, { state: { desired: { a: 1, b: 1 } } }, { writer: 'api', now: 100 }); // api:1
  // While the edge node is offline the API changes b; the edge, which saw api:1, changes a.
  const s1 = update(s0.next, { state: { desired: { b: 2 } } }, { writer: 'api', now: 200 });
  const s2 = update(s1.next, { state: { desired: { a: 3 } } }, { writer: 'edge', vector: { api: 1, edge: 1 }, changedAt: 150, now: 300 });
  assert.deepEqual(s2.next.state.desired, { a: 3, b: 2 });
  assert.deepEqual(s2.lost, []);
  assert.deepEqual(s2.next.writers, { api: 2, edge: 1 });
  assert.equal(s2.next.version, 3);
});

test('multi-writer: concurrent changes to the same field: the later timestamp wins and the losing value is reported', () => {
  const s0 = update(undefined, { state: { desired: { temp: 19 } } }, { writer: 'api', now: 100 });
  const s1 = update(s0.next, { state: { desired: { temp: 20 } } }, { writer: 'api', now: 200 });
  // The edge changed temp at 150, before the API's change at 200 that it never saw: the edge loses.
  const lose = update(s1.next, { state: { desired: { temp: 18 } } }, { writer: 'edge', vector: { api: 1, edge: 1 }, changedAt: 150, now: 300 });
  assert.deepEqual(lose.next.state.desired, { temp: 20 });
  assert.deepEqual(lose.lost, [{ path: ['desired', 'temp'], value: 18, writer: 'edge', timestamp: 150, winner: { writer: 'api', timestamp: 200 } }]);
  assert.equal(lose.next.version, 3, 'the update is still accepted');
  assert.deepEqual(lose.next.writers, { api: 2, edge: 1 });
  // Made at 250 instead, the edge's change wins and the API's value is the one reported.
  const win = update(s1.next, { state: { desired: { temp: 18 } } }, { writer: 'edge', vector: { api: 1, edge: 1 }, changedAt: 250, now: 300 });
  assert.deepEqual(win.next.state.desired, { temp: 18 });
  assert.deepEqual(win.lost, [{ path: ['desired', 'temp'], value: 20, writer: 'api', timestamp: 200, winner: { writer: 'edge', timestamp: 250 } }]);
  const g = buildGetAccepted(win.next, { now: 400, shadowName: 't' });
  assert.ok(g.ok);
  assert.deepEqual(g.accepted.metadata, { desired: { temp: { timestamp: 250 } } });
});

test('multi-writer: equal timestamps: the greater writer id wins', () => {
  const s0 = update(undefined, { state: { reported: { x: 'init' } } }, { writer: 'm', now: 100 });
  const a = update(s0.next, { state: { reported: { x: 'from-b' } } }, { writer: 'edge-b', vector: { m: 1, 'edge-b': 1 }, changedAt: 300 });
  const c = update(a.next, { state: { reported: { x: 'from-a' } } }, { writer: 'edge-a', vector: { m: 1, 'edge-a': 1 }, changedAt: 300 });
  assert.deepEqual(c.next.state.reported, { x: 'from-b' });
  assert.equal(c.lost[0]?.value, 'from-a');
});

test('multi-writer: a change the writer has seen is overridden whatever the timestamps', () => {
  const s0 = update(undefined, { state: { desired: { temp: 20 } } }, { writer: 'api', now: 500 });
  const s1 = update(s0.next, { state: { desired: { temp: 18 } } }, { writer: 'edge', vector: { api: 1, edge: 1 }, changedAt: 100 });
  assert.deepEqual(s1.next.state.desired, { temp: 18 });
  assert.deepEqual(s1.lost, []);
});

test('multi-writer: a concurrent deletion is ordered like a value (the later wins)', () => {
  const s0 = update(undefined, { state: { desired: { light: 'on' } } }, { writer: 'api', now: 100 });
  const s1 = update(s0.next, { state: { desired: { light: 'dim' } } }, { writer: 'api', now: 300 });
  const del = update(s1.next, { state: { desired: { light: null } } }, { writer: 'edge', vector: { api: 1, edge: 1 }, changedAt: 200 });
  assert.deepEqual(del.next.state.desired, { light: 'dim' });
  assert.deepEqual(del.lost, [{ path: ['desired', 'light'], value: null, writer: 'edge', timestamp: 200, winner: { writer: 'api', timestamp: 300 } }]);
  const del2 = update(s1.next, { state: { desired: { light: null } } }, { writer: 'edge', vector: { api: 1, edge: 1 }, changedAt: 400 });
  assert.deepEqual(del2.next.state, {});
  assert.equal(del2.lost[0]?.value, 'dim');
  // The edge's deletion is kept as a tombstone: an older concurrent write by another edge stays deleted.
  const late = update(del2.next, { state: { desired: { light: 'on' } } }, { writer: 'edge2', vector: { api: 1, edge2: 1 }, changedAt: 350 });
  assert.deepEqual(late.next.state, {});
  assert.deepEqual(late.lost, [{ path: ['desired', 'light'], value: 'on', writer: 'edge2', timestamp: 350, winner: { writer: 'edge', timestamp: 400 } }]);
  // The tombstone never shows in AWS documents.
  const g = buildGetAccepted(late.next, { now: 1, shadowName: 't' });
  assert.ok(g.ok);
  assert.deepEqual(g.accepted.metadata, {});
});

test('multi-writer: a concurrent scalar over an object keeps the newer fields below it', () => {
  const s0 = update(undefined, { state: { desired: { color: { r: 1, g: 1 } } } }, { writer: 'api', now: 100 });
  const s1 = update(s0.next, { state: { desired: { color: { g: 2 } } } }, { writer: 'api', now: 300 });
  // The edge saw only api:1 and replaced color with a name at 200: r (seen) goes, g (newer) stays.
  const r = update(s1.next, { state: { desired: { color: 'red' } } }, { writer: 'edge', vector: { api: 1, edge: 1 }, changedAt: 200 });
  assert.deepEqual(r.next.state.desired, { color: { g: 2 } });
  assert.deepEqual(r.lost, [{ path: ['desired', 'color'], value: 'red', writer: 'edge', timestamp: 200, winner: { writer: 'api', timestamp: 300 } }]);
});

test('multi-writer: "desired": null from a concurrent writer removes only what it saw or beats', () => {
  const s0 = update(undefined, { state: { desired: { a: 1 } } }, { writer: 'api', now: 100 });
  const s1 = update(s0.next, { state: { desired: { b: 2 } } }, { writer: 'api', now: 300 });
  const r = update(s1.next, { state: { desired: null } }, { writer: 'edge', vector: { api: 1, edge: 1 }, changedAt: 200 });
  assert.deepEqual(r.next.state, { desired: { b: 2 } });
});

test('multi-writer: an update advances only its own writer entry, so changes it heard of elsewhere still apply later', () => {
  const s0 = update(undefined, { state: { reported: { a: 1 } } }, { writer: 'dev', now: 1 });
  // The edge learnt of x's change 3 from a peer; the hub does not hold it.
  const s1 = update(s0.next, { state: { reported: { b: 1 } } }, { writer: 'edge', vector: { dev: 1, edge: 1, x: 3 }, now: 2 });
  assert.deepEqual(s1.next.writers, { dev: 1, edge: 1 });
  const s2 = update(s1.next, { state: { reported: { c: 1 } } }, { writer: 'x', vector: { dev: 1, x: 3 }, now: 3 });
  assert.deepEqual(s2.next.state.reported, { a: 1, b: 1, c: 1 });
});
