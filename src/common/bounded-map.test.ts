import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getOrMake, setBounded } from './bounded-map.js';

test('getOrMake makes a missing value once and returns the kept one after', () => {
  const m = new Map<string, { k: string }>();
  let made = 0;
  const make = (k: string) => ({ k: `${k}${made++}` });
  const a = getOrMake(m, 10, 'a', make);
  assert.equal(getOrMake(m, 10, 'a', make), a);
  assert.equal(made, 1);
  assert.deepEqual(a, { k: 'a0' });
});

test('setBounded and getOrMake clear the map when it holds max entries, never exceeding it', () => {
  const m = new Map<string, number>();
  for (let i = 0; i < 3; i++) setBounded(m, 3, `k${i}`, i);
  assert.equal(m.size, 3);
  setBounded(m, 3, 'k3', 3);
  assert.deepEqual([...m], [['k3', 3]]);
  getOrMake(m, 2, 'k4', () => 4);
  assert.equal(m.size, 2);
  getOrMake(m, 2, 'k5', () => 5);
  assert.deepEqual([...m], [['k5', 5]]);
  // A hit never clears.
  assert.equal(getOrMake(m, 1, 'k5', () => -1), 5);
  assert.equal(m.size, 1);
});
