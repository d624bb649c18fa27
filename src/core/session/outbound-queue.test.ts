import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutboundQueue } from './outbound-queue.js';

interface Item {
  id: string;
  qos: number;
}
const it = (id: string, qos = 1): Item => ({ id, qos });
const isQos0 = (x: Item): boolean => x.qos === 0;
const drain = (q: OutboundQueue<Item>): string[] => {
  const out: string[] = [];
  let x: Item | undefined;
  while ((x = q.shift()) !== undefined) out.push(x.id);
  return out;
};

test('higher classes are served first; order within a class is kept (MQTT 5.0 §4.6 per topic)', () => {
  const q = new OutboundQueue<Item>();
  q.push(it('t1'), 1, 10);
  q.push(it('h1'), 2, 10);
  q.push(it('a1'), 0, 10);
  q.push(it('t2'), 1, 10);
  q.push(it('a2'), 0, 10);
  assert.equal(q.length, 5);
  assert.deepEqual(drain(q), ['a1', 'a2', 't1', 't2', 'h1']);
  assert.equal(q.length, 0);
});

test('when full, the lowest class loses its oldest message to a higher-class newcomer', () => {
  const q = new OutboundQueue<Item>();
  q.push(it('h1'), 2, 3);
  q.push(it('h2'), 2, 3);
  q.push(it('t1'), 1, 3);
  const dropped = q.push(it('a1'), 0, 3);
  assert.equal(dropped?.id, 'h1');
  assert.deepEqual(drain(q), ['a1', 't1', 'h2']);
});

test('when full, a newcomer of the lowest class present is refused (older ones are kept)', () => {
  const q = new OutboundQueue<Item>();
  q.push(it('a1'), 0, 2);
  q.push(it('t1'), 1, 2);
  assert.equal(q.push(it('t2'), 1, 2)?.id, 't2');
  assert.equal(q.push(it('h1'), 2, 2)?.id, 'h1');
  assert.deepEqual(drain(q), ['a1', 't1']);
});

test('a QoS 1/2 newcomer displaces a QoS 0 message of its own class rather than being refused', () => {
  const q = new OutboundQueue<Item>();
  q.push(it('t0', 0), 1, 2);
  q.push(it('t1', 1), 1, 2);
  assert.equal(q.push(it('t2', 1), 1, 2, isQos0)?.id, 't0');
  assert.deepEqual(drain(q), ['t1', 't2']);
});

test('the lowest class loses a QoS 0 message before a QoS 1 one when the caller prefers it', () => {
  const q = new OutboundQueue<Item>();
  q.push(it('h1', 1), 2, 2);
  q.push(it('h0', 0), 2, 2);
  assert.equal(q.push(it('a1'), 0, 2, isQos0)?.id, 'h0');
  assert.deepEqual(drain(q), ['a1', 'h1']);
});

test('unshift puts an item back at the head of its class; removeWhere takes matching items out', () => {
  const q = new OutboundQueue<Item>();
  q.push(it('t1'), 1, 10);
  q.push(it('t2'), 1, 10);
  const first = q.shift()!;
  q.unshift(first, 1);
  assert.equal(q.peek()?.id, 't1');
  q.push(it('x', 0), 1, 10);
  assert.deepEqual(q.removeWhere(isQos0).map((x) => x.id), ['x']);
  assert.equal(q.length, 2);
  assert.deepEqual(drain(q), ['t1', 't2']);
});

test('a long-running queue compacts its consumed head and keeps order', () => {
  const q = new OutboundQueue<Item>();
  const out: string[] = [];
  for (let i = 0; i < 5000; i++) {
    q.push(it(String(i)), 0, 100_000);
    if (i % 2 === 1) out.push(q.shift()!.id);
  }
  out.push(...drain(q));
  assert.deepEqual(out, Array.from({ length: 5000 }, (_, i) => String(i)));
});
