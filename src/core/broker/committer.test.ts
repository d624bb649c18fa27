import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBrokerStore } from '../../adapters/memory/broker-store.js';
import type { BrokerStore, StoreOp } from '../../ports/broker-store.js';
import type { AckWaiter } from './committer.js';
import { Committer } from './committer.js';

class Recorder implements AckWaiter {
  readonly events: string[] = [];
  ackReady(ack: Buffer): void {
    this.events.push(`ok:${ack.toString()}`);
  }
  ackFailed(ack: Buffer): void {
    this.events.push(`fail:${ack.toString()}`);
  }
}

const op = (n: number): StoreOp => ({ op: 'deleteRetained', topic: `t/${n}` });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('the writes of one turn go into one commit; its acks are released after it, in order', async () => {
  const store = new MemoryBrokerStore();
  const commits: number[] = [];
  const real = store.commit.bind(store);
  store.commit = (ops) => {
    commits.push(ops.length);
    return real(ops);
  };
  const c = new Committer(store, () => undefined);
  const w = new Recorder();
  c.add(op(1));
  c.afterCommit(w, Buffer.from('a'));
  c.add(op(2));
  c.afterCommit(w, Buffer.from('b'));
  assert.equal(c.pendingOps, 2);
  assert.deepEqual(w.events, [], 'nothing is released before the commit');
  await c.flush();
  assert.deepEqual(commits, [2]);
  assert.deepEqual(w.events, ['ok:a', 'ok:b']);
});

test('acks of a later turn are never released before those of an earlier, slower commit', async () => {
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  let calls = 0;
  const store = {
    commit: (_ops: readonly StoreOp[]) => (++calls === 1 ? slow : Promise.resolve()),
  } as unknown as BrokerStore;
  const c = new Committer(store, () => undefined);
  const w = new Recorder();
  c.add(op(1));
  c.afterCommit(w, Buffer.from('first'));
  await tick();
  c.add(op(2));
  c.afterCommit(w, Buffer.from('second'));
  await tick();
  await tick();
  assert.deepEqual(w.events, []);
  release();
  await c.flush();
  assert.deepEqual(w.events, ['ok:first', 'ok:second']);
});

test('a failed commit fails its acks, reports the store unwritable, and recovers on success', async () => {
  const store = new MemoryBrokerStore();
  const health: string[] = [];
  const c = new Committer(store, (writable, err) => health.push(writable ? 'up' : `down:${err}`));
  const w = new Recorder();
  store.failNextCommits(1, new Error('disk full'));
  c.add(op(1));
  c.afterCommit(w, Buffer.from('x'));
  await c.flush();
  assert.deepEqual(w.events, ['fail:x']);
  assert.equal(c.storeWritable, false);
  assert.match(health[0]!, /^down:.*disk full/);
  c.add(op(2));
  c.afterCommit(w, Buffer.from('y'));
  await c.flush();
  assert.deepEqual(w.events, ['fail:x', 'ok:y']);
  assert.equal(c.storeWritable, true);
  assert.deepEqual(health.slice(1), ['up']);
});

test('an ack with no writes of its own still waits behind the commit before it', async () => {
  const store = new MemoryBrokerStore();
  const c = new Committer(store, () => undefined);
  const w = new Recorder();
  c.add(op(1));
  c.afterCommit(w, Buffer.from('durable'));
  assert.equal(c.busy, true);
  c.afterCommit(w, Buffer.from('behind'));
  await c.flush();
  assert.deepEqual(w.events, ['ok:durable', 'ok:behind']);
});

test('a held write of another store delays the turn\'s acks until it settles (twins, telemetry WAL before PUBACK)', async () => {
  const c = new Committer(new MemoryBrokerStore(), () => undefined);
  const w = new Recorder();
  let release!: () => void;
  const before = c.pendingOps;
  c.hold(new Promise<void>((r) => (release = r)));
  assert.ok(c.pendingOps > before, 'a hold counts as a pending write so the publisher waits');
  c.afterCommit(w, Buffer.from('a'));
  await tick();
  await tick();
  assert.deepEqual(w.events, [], 'not released while the held write is pending');
  release();
  await c.flush();
  assert.deepEqual(w.events, ['ok:a']);
});

test('a failed held write fails the turn\'s acks but leaves the broker store writable', async () => {
  const health: boolean[] = [];
  const c = new Committer(new MemoryBrokerStore(), (writable) => health.push(writable));
  const w = new Recorder();
  c.add(op(1));
  c.hold(Promise.reject(new Error('wal full')));
  c.afterCommit(w, Buffer.from('a'));
  await c.flush();
  assert.deepEqual(w.events, ['fail:a']);
  assert.equal(c.storeWritable, true);
  assert.deepEqual(health, []);
  assert.equal(c.heldFailures, 1);
  // The next turn is unaffected.
  c.afterCommit(w, Buffer.from('b'));
  c.add(op(2));
  await c.flush();
  assert.deepEqual(w.events, ['fail:a', 'ok:b']);
});

test('cutIfFull: once a turn holds 16 writes of other stores, their acks are released when those settle, not with the rest of the turn', async () => {
  const c = new Committer(new MemoryBrokerStore(), () => undefined);
  const w = new Recorder();
  const gate = (): { p: Promise<void>; open: () => void } => {
    let open!: () => void;
    const p = new Promise<void>((r) => (open = r));
    return { p, open };
  };
  // Sixteen messages, each holding a twin write, then their acks (as handle-publish registers them).
  const first = Array.from({ length: 16 }, gate);
  for (let i = 0; i < 16; i++) {
    c.cutIfFull();
    c.hold(first[i]!.p);
    c.afterCommit(w, Buffer.from(`a${i}`));
  }
  // The seventeenth message starts a new batch: its ack waits for its own write only.
  const late = gate();
  c.cutIfFull();
  c.hold(late.p);
  c.afterCommit(w, Buffer.from('late'));
  for (const g of first) g.open();
  await tick();
  await tick();
  assert.deepEqual(w.events, Array.from({ length: 16 }, (_, i) => `ok:a${i}`), 'the first 16 acks left while the 17th write is pending');
  late.open();
  await c.flush();
  assert.equal(w.events.at(-1), 'ok:late');
});

test('cutIfFull: fewer than 16 held writes stay in the turn\'s batch; a later batch never overtakes an earlier one', async () => {
  const c = new Committer(new MemoryBrokerStore(), () => undefined);
  const w = new Recorder();
  let openSlow!: () => void;
  const slow = new Promise<void>((r) => (openSlow = r));
  c.hold(slow);
  c.afterCommit(w, Buffer.from('slow'));
  for (let i = 0; i < 14; i++) {
    c.cutIfFull();
    c.hold(Promise.resolve());
    c.afterCommit(w, Buffer.from(`b${i}`));
  }
  c.cutIfFull(); // 15 held: no cut
  assert.equal(c.pendingOps, 15);
  c.hold(Promise.resolve());
  c.afterCommit(w, Buffer.from('b14'));
  c.cutIfFull(); // 16 held: the batch goes
  assert.equal(c.pendingOps, 0);
  c.hold(Promise.resolve());
  c.afterCommit(w, Buffer.from('next'));
  await tick();
  await tick();
  assert.deepEqual(w.events, [], 'nothing before the slow write of the first batch');
  openSlow();
  await c.flush();
  assert.deepEqual(w.events, ['ok:slow', ...Array.from({ length: 15 }, (_, i) => `ok:b${i}`), 'ok:next']);
});
