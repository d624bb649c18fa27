import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedGroup, SharedSubscriptions } from './shared.js';

interface Member {
  online: boolean;
}
const online = (m: Member): boolean => m.online;

test('SharedGroup: round-robin over eligible members (MQTT 5.0 §4.8.2)', () => {
  const g = new SharedGroup<Member>('g', 'a/#');
  g.add('c1', { online: true });
  g.add('c2', { online: true });
  g.add('c3', { online: true });
  const picks = Array.from({ length: 6 }, () => g.pick(online)![0]);
  assert.deepEqual(picks, ['c1', 'c2', 'c3', 'c1', 'c2', 'c3']);
});

test('SharedGroup: prefers eligible members, falls back to any member (MQTT 5.0 §4.8.2)', () => {
  const g = new SharedGroup<Member>('g', 'a');
  g.add('c1', { online: false });
  g.add('c2', { online: true });
  g.add('c3', { online: false });
  for (let i = 0; i < 5; i++) assert.equal(g.pick(online)![0], 'c2');
  g.get('c2')!.online = false;
  // Nobody eligible: still one member per message, rotating.
  const picks = Array.from({ length: 3 }, () => g.pick(online)![0]);
  assert.deepEqual([...picks].sort(), ['c1', 'c2', 'c3']);
});

test('SharedGroup: empty group picks nothing; remove keeps the rest pickable', () => {
  const g = new SharedGroup<Member>('g', 'a');
  assert.equal(g.pick(online), undefined);
  assert.equal(g.pickIndex(online), -1);
  g.add('c1', { online: true });
  g.add('c2', { online: true });
  g.add('c3', { online: true });
  assert.equal(g.add('c3', { online: true }), false);
  g.pick(online);
  g.pick(online);
  assert.deepEqual(g.remove('c3'), { online: true });
  assert.equal(g.remove('c3'), undefined);
  assert.equal(g.size, 2);
  const picks = new Set(Array.from({ length: 4 }, () => g.pick(online)![0]));
  assert.deepEqual([...picks].sort(), ['c1', 'c2']);
  g.remove('c1');
  g.remove('c2');
  assert.equal(g.pick(online), undefined);
});

test('SharedGroup: each message goes to exactly one member, evenly (MQTT 5.0 §4.8.2)', () => {
  const g = new SharedGroup<Member>('g', 'a');
  for (let i = 0; i < 7; i++) g.add(`c${i}`, { online: true });
  const counts = new Map<string, number>();
  for (let i = 0; i < 700; i++) {
    const i2 = g.pickIndex(online);
    counts.set(g.keyAt(i2), (counts.get(g.keyAt(i2)) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()], [100, 100, 100, 100, 100, 100, 100]);
});

test('SharedSubscriptions: a group is identified by (ShareName, filter) (MQTT 5.0 §4.8.2)', () => {
  const s = new SharedSubscriptions<Member>();
  assert.equal(s.add('g', 'a/+', 'c1', { online: true }), true);
  assert.equal(s.add('g', 'a/+', 'c2', { online: true }), true);
  assert.equal(s.add('g', 'a/#', 'c1', { online: true }), true);
  assert.equal(s.add('h', 'a/+', 'c3', { online: true }), true);
  assert.equal(s.add('g', 'a/+', 'c1', { online: false }), false);
  assert.equal(s.size, 4);
  assert.equal(s.groupCount, 3);
  const seen: string[] = [];
  s.match('a/b', (g) => seen.push(`${g.group}:${g.filter}:${g.size}`));
  assert.deepEqual(seen.sort(), ['g:a/#:1', 'g:a/+:2', 'h:a/+:1']);
  assert.deepEqual([...s.groups()].map((g) => `${g.group}:${g.filter}`).sort(), ['g:a/#', 'g:a/+', 'h:a/+']);
});

test("SharedSubscriptions: '$' topics do not match wildcard-first filters [MQTT-4.7.2-1]", () => {
  const s = new SharedSubscriptions<Member>();
  s.add('g', '#', 'c1', { online: true });
  s.add('g', '$SYS/#', 'c1', { online: true });
  const seen: string[] = [];
  s.match('$SYS/x', (g) => seen.push(g.filter));
  assert.deepEqual(seen, ['$SYS/#']);
});

test('SharedSubscriptions: remove drops emptied groups', () => {
  const s = new SharedSubscriptions<Member>();
  s.add('g', 'a', 'c1', { online: true });
  s.add('g', 'a', 'c2', { online: true });
  assert.equal(s.remove('g', 'a', 'zz'), undefined);
  assert.equal(s.remove('x', 'a', 'c1'), undefined);
  assert.deepEqual(s.remove('g', 'a', 'c1'), { online: true });
  assert.equal(s.getGroup('g', 'a')!.size, 1);
  s.remove('g', 'a', 'c2');
  assert.equal(s.getGroup('g', 'a'), undefined);
  assert.equal(s.size, 0);
  assert.equal(s.groupCount, 0);
  let n = 0;
  s.match('a', () => n++);
  assert.equal(n, 0);
});

test('SharedSubscriptions: nested match from inside a visitor restores the outer visitor', () => {
  const s = new SharedSubscriptions<Member>();
  s.add('g', 'a', 'c1', { online: true });
  s.add('h', 'a', 'c2', { online: true });
  s.add('g', 'b', 'c3', { online: true });
  const outer: string[] = [];
  const inner: string[] = [];
  s.match('a', (g) => {
    outer.push(g.group);
    s.match('b', (g2) => inner.push(g2.group));
  });
  assert.deepEqual(outer.sort(), ['g', 'h']);
  assert.deepEqual(inner, ['g', 'g']);
});
