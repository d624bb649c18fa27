import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteCache } from './route-cache.js';

test('get/set with hit and miss counters', () => {
  const c = new RouteCache<number[]>(100);
  assert.equal(c.get('a'), undefined);
  c.set('a', [1]);
  assert.deepEqual(c.get('a'), [1]);
  assert.deepEqual(c.get('a'), [1]);
  assert.equal(c.get('b'), undefined);
  assert.equal(c.hits, 2);
  assert.equal(c.misses, 2);
});

test('invalidate() makes every entry stale and bumps the epoch', () => {
  const c = new RouteCache<string>(100);
  c.set('a', 'x');
  c.set('b', 'y');
  const e = c.epoch;
  c.invalidate();
  c.invalidate();
  assert.equal(c.epoch, e + 2);
  assert.equal(c.get('a'), undefined);
  assert.equal(c.get('b'), undefined);
  assert.equal(c.size, 0);
  c.set('a', 'z');
  assert.equal(c.get('a'), 'z');
});

test('set after invalidate() does not resurrect other stale entries', () => {
  const c = new RouteCache<string>(100);
  c.set('a', 'x');
  c.invalidate();
  c.set('b', 'y');
  assert.equal(c.get('a'), undefined);
  assert.equal(c.get('b'), 'y');
});

test('stays within maxEntries and keeps recently used topics', () => {
  const max = 64;
  const c = new RouteCache<number>(max);
  c.set('hot', -1);
  for (let i = 0; i < 10 * max; i++) {
    c.set(`t${i}`, i);
    assert.ok(c.size <= max, `size ${c.size}`);
    // A topic in use survives the churn of one-off topics.
    assert.equal(c.get('hot'), -1);
  }
  assert.ok(c.evictions > 0);
  // The most recent topics are still cached; the oldest are gone.
  assert.equal(c.get(`t${10 * max - 1}`), 10 * max - 1);
  assert.equal(c.get('t0'), undefined);
});

test('replacing a cached topic does not evict', () => {
  const c = new RouteCache<number>(4);
  c.set('a', 1);
  c.set('b', 2);
  for (let i = 0; i < 10; i++) c.set('b', i);
  assert.equal(c.evictions, 0);
  assert.equal(c.get('a'), 1);
  assert.equal(c.get('b'), 9);
});

test('rejects a size below 2', () => {
  assert.throws(() => new RouteCache(1), RangeError);
  assert.throws(() => new RouteCache(Number.NaN), RangeError);
});
