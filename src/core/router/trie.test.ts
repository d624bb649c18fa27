import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TopicTrie } from './trie.js';
import { topicMatches } from './topic.js';

/** The visited (filter, key, value) triples, sorted, as strings. */
function matched<V>(trie: TopicTrie<V>, topic: string): string[] {
  const out: string[] = [];
  trie.match(topic, (key, value, filter) => out.push(`${filter}|${key}|${String(value)}`));
  return out.sort();
}

test('add reports new pairs, replaces values, and counts (filter, key) pairs', () => {
  const t = new TopicTrie<number>();
  assert.equal(t.add('a/b', 'c1', 1), true);
  assert.equal(t.add('a/b', 'c1', 2), false); // replace
  assert.equal(t.get('a/b', 'c1'), 2);
  assert.equal(t.add('a/b', 'c2', 3), true);
  assert.equal(t.add('a/+', 'c1', 4), true);
  assert.equal(t.add('a/#', 'c1', 5), true);
  assert.equal(t.add('#', 'c1', 6), true);
  assert.equal(t.size, 5);
  assert.equal(t.get('a/+', 'c1'), 4);
  assert.equal(t.get('a/#', 'c1'), 5);
  assert.equal(t.get('#', 'c1'), 6);
  assert.equal(t.get('a/#', 'c2'), undefined);
  assert.equal(t.get('x/y', 'c1'), undefined);
  assert.deepEqual([...t.filters()].sort(), ['#', 'a/#', 'a/+', 'a/b']);
});

test('a key matched through several filters is visited once per filter (MQTT 5.0 §4.7.1)', () => {
  const t = new TopicTrie<string>();
  t.add('a/b', 'c1', 'x');
  t.add('a/+', 'c1', 'y');
  t.add('a/#', 'c1', 'z');
  t.add('a/c', 'c2', 'w');
  assert.deepEqual(matched(t, 'a/b'), ['a/#|c1|z', 'a/+|c1|y', 'a/b|c1|x']);
});

test("'#' matches the parent level: 'sport/#' matches 'sport' [MQTT-4.7.1-2]", () => {
  const t = new TopicTrie<number>();
  t.add('sport/#', 'c', 1);
  t.add('sport/tennis/#', 'd', 2);
  assert.deepEqual(matched(t, 'sport'), ['sport/#|c|1']);
  assert.deepEqual(matched(t, 'sport/tennis'), ['sport/#|c|1', 'sport/tennis/#|d|2']);
  assert.deepEqual(matched(t, 'sports'), []);
});

test("'+' matches exactly one level, including empty ones [MQTT-4.7.1-3]", () => {
  const t = new TopicTrie<number>();
  t.add('a/+/c', 'k', 1);
  t.add('+', 'k', 2);
  t.add('/+', 'k', 3);
  assert.deepEqual(matched(t, 'a//c'), ['a/+/c|k|1']);
  assert.deepEqual(matched(t, 'a/c'), []);
  assert.deepEqual(matched(t, '/'), ['/+|k|3']);
  assert.deepEqual(matched(t, 'x'), ['+|k|2']);
});

test("filters starting with a wildcard do not match '$' topics [MQTT-4.7.2-1]", () => {
  const t = new TopicTrie<number>();
  t.add('#', 'k', 1);
  t.add('+/x', 'k', 2);
  t.add('$SYS/#', 'k', 3);
  t.add('+', 'k', 4);
  assert.deepEqual(matched(t, '$SYS/x'), ['$SYS/#|k|3']);
  assert.deepEqual(matched(t, '$SYS'), ['$SYS/#|k|3']);
  assert.deepEqual(matched(t, 'a/x'), ['#|k|1', '+/x|k|2']);
});

test('remove returns the value, keeps other keys and prunes empty nodes', () => {
  const t = new TopicTrie<number>();
  assert.equal(t.nodeCount, 1);
  t.add('a/b/c', 'k1', 1);
  t.add('a/b/c', 'k2', 2);
  t.add('a/+/#', 'k1', 3);
  const full = t.nodeCount;
  assert.equal(t.remove('a/b/c', 'nope'), undefined);
  assert.equal(t.remove('x/y', 'k1'), undefined);
  assert.equal(t.remove('a/b/c', 'k1'), 1);
  assert.equal(t.nodeCount, full);
  assert.equal(t.remove('a/b/c', 'k2'), 2);
  assert.equal(t.nodeCount, 3); // root, a, +
  assert.equal(t.remove('a/+/#', 'k1'), 3);
  assert.equal(t.nodeCount, 1);
  assert.equal(t.size, 0);
  assert.deepEqual([...t.filters()], []);
});

test('many subscribers on one filter: add, replace, remove in any order', () => {
  const t = new TopicTrie<number>();
  const n = 100;
  for (let i = 0; i < n; i++) assert.equal(t.add('f/#', `k${i}`, i), true);
  for (let i = 0; i < n; i += 3) assert.equal(t.add('f/#', `k${i}`, i + 1000), false);
  for (let i = 0; i < n; i += 2) assert.equal(t.remove('f/#', `k${i}`), i % 3 === 0 ? i + 1000 : i);
  assert.equal(t.size, n / 2);
  const seen = new Map<string, number>();
  t.match('f/x', (k, v) => seen.set(k, v));
  assert.equal(seen.size, n / 2);
  for (let i = 1; i < n; i += 2) assert.equal(seen.get(`k${i}`), i % 3 === 0 ? i + 1000 : i);
  for (let i = 1; i < n; i += 2) t.remove('f/#', `k${i}`);
  assert.equal(t.size, 0);
  assert.equal(t.nodeCount, 1);
});

test('entries() lists every (filter, key, value)', () => {
  const t = new TopicTrie<number>();
  t.add('a', 'x', 1);
  t.add('a', 'y', 2);
  t.add('#', 'x', 3);
  t.add('a/+', 'z', 4);
  assert.deepEqual(
    [...t.entries()].map((e) => e.join('|')).sort(),
    ['#|x|3', 'a/+|z|4', 'a|x|1', 'a|y|2'],
  );
});

// Random filters and topics over a small alphabet so that matches, '$' topics and empty levels
// are frequent.
const level = fc.constantFrom('a', 'b', '', '$x', 'ab');
const topicArb = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);
const filterArb = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { maxLength: 4 }), fc.boolean())
  .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
  .filter((f) => f.length > 0);
const keyArb = fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'k10', 'k11');

test('property: match visits exactly the (filter, key) pairs whose filter matches (MQTT 5.0 §4.7, [MQTT-4.7.2-1])', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(filterArb, keyArb), { maxLength: 40 }), fc.array(topicArb, { minLength: 1, maxLength: 10 }), (subs, topics) => {
      const t = new TopicTrie<string>();
      const model = new Map<string, string>();
      for (const [f, k] of subs) {
        t.add(f, k, `${f}#${k}`);
        model.set(`${f}|${k}`, `${f}#${k}`);
      }
      for (const topic of topics) {
        const expected: string[] = [];
        for (const [fk, v] of model) {
          const f = fk.slice(0, fk.lastIndexOf('|'));
          if (topicMatches(f, topic)) expected.push(`${fk}|${v}`);
        }
        assert.deepEqual(matched(t, topic), expected.sort(), topic);
      }
    }),
    { numRuns: 1000 },
  );
});

test('property: add/remove sequences keep size, values and filters right and prune every node', () => {
  const op = fc.tuple(fc.boolean(), filterArb, keyArb, fc.integer());
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const t = new TopicTrie<number>();
      const model = new Map<string, number>();
      for (const [isAdd, f, k, v] of ops) {
        const id = `${f}\u0000${k}`;
        if (isAdd) {
          assert.equal(t.add(f, k, v), !model.has(id));
          model.set(id, v);
        } else {
          assert.equal(t.remove(f, k), model.get(id));
          model.delete(id);
        }
        assert.equal(t.size, model.size);
      }
      for (const [id, v] of model) {
        const [f, k] = id.split('\u0000') as [string, string];
        assert.equal(t.get(f, k), v);
      }
      assert.deepEqual([...t.filters()].sort(), [...new Set([...model.keys()].map((id) => id.split('\u0000')[0]))].sort());
      // Removing everything leaves only the root.
      for (const id of model.keys()) {
        const [f, k] = id.split('\u0000') as [string, string];
        t.remove(f, k);
      }
      assert.equal(t.size, 0);
      assert.equal(t.nodeCount, 1);
    }),
    { numRuns: 1000 },
  );
});
