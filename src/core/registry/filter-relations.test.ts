import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { topicMatches } from '../router/topic.js';
import { filterCovers, filtersIntersect } from './filter-relations.js';

// Small alphabets make collisions likely; '$b' exercises [MQTT-4.7.2-1], '' empty levels.
const LITERALS = ['a', 'b', '$b', ''];
const filterArb = fc
  .tuple(fc.array(fc.constantFrom(...LITERALS, '+'), { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0) // a filter is at least one character long [MQTT-4.7.3-1]
  .chain((f) => fc.constantFrom(f, '#')); // the bare '#' often enough to matter

/**
 * Every topic of up to 5 levels over the literals plus a fresh level 'z': rich enough to hold a
 * witness for any relation between filters of up to 4 levels (a '+' can take 'z', a '#' one more
 * level than the other filter has).
 */
const UNIVERSE: string[] = [];
{
  const levels = [...LITERALS, 'z'];
  let layer: string[] = [''];
  for (let depth = 1; depth <= 5; depth++) {
    const next: string[] = [];
    for (const prefix of layer) for (const l of levels) next.push(depth === 1 ? l : `${prefix}/${l}`);
    // The empty string is not a topic name [MQTT-4.7.3-1].
    for (const t of next) if (t.length > 0) UNIVERSE.push(t);
    layer = next;
  }
}

/** A topic that `filter` matches, built by filling its wildcards with random levels. */
function instantiate(filter: string, fills: string[], extra: number): string {
  let k = 0;
  const out: string[] = [];
  for (const l of filter.split('/')) {
    if (l === '+') out.push(fills[k++ % fills.length]!);
    else if (l === '#') for (let j = 0; j < extra; j++) out.push(fills[k++ % fills.length]!);
    else out.push(l);
  }
  return out.join('/');
}

test('filterCovers: every topic matched by the covered filter is matched by the rule (property)', () => {
  const level = fc.constantFrom(...LITERALS, 'z', 'x');
  fc.assert(
    fc.property(filterArb, filterArb, fc.array(level, { minLength: 1, maxLength: 6 }), fc.nat(3), (rule, filter, fills, extra) => {
      const topic = instantiate(filter, fills, extra);
      fc.pre(topic.length > 0 && topicMatches(filter, topic));
      if (filterCovers(rule, filter)) assert.ok(topicMatches(rule, topic), `${rule} covers ${filter} but not ${topic}`);
    }),
    { numRuns: 5000 },
  );
});

test('filterCovers and filtersIntersect are exact over a finite universe of topics', () => {
  fc.assert(
    fc.property(filterArb, filterArb, (a, b) => {
      const inA = UNIVERSE.filter((t) => topicMatches(a, t));
      const covers = inA.every((t) => topicMatches(b, t));
      const meets = inA.some((t) => topicMatches(b, t));
      assert.equal(filterCovers(b, a), covers, `filterCovers(${b}, ${a})`);
      assert.equal(filtersIntersect(a, b), meets, `filtersIntersect(${a}, ${b})`);
    }),
    { numRuns: 2000 },
  );
});

test('filtersIntersect is symmetric (property)', () => {
  fc.assert(fc.property(filterArb, filterArb, (a, b) => filtersIntersect(a, b) === filtersIntersect(b, a)), { numRuns: 5000 });
});

test('[MQTT-4.7.2-1] a filter starting with a wildcard neither covers nor meets a $ filter (property)', () => {
  const wild = filterArb.filter((f) => f.startsWith('+') || f.startsWith('#'));
  const dollar = filterArb.map((f) => (f.startsWith('$') ? f : `$SYS/${f}`));
  fc.assert(
    fc.property(wild, dollar, (w, d) => {
      assert.equal(filterCovers(w, d), false);
      assert.equal(filtersIntersect(w, d), false);
      assert.equal(filtersIntersect(d, w), false);
    }),
  );
  assert.equal(filterCovers('#', '$SYS/#'), false);
  assert.equal(filterCovers('+/#', '$SYS/broker'), false);
  assert.equal(filtersIntersect('#', '$SYS/#'), false);
  assert.equal(filtersIntersect('+/uptime', '$SYS/uptime'), false);
  // A literal '$' first level is compared like any literal.
  assert.equal(filterCovers('$SYS/#', '$SYS/+/uptime'), true);
  assert.equal(filtersIntersect('$SYS/+', '$SYS/#'), true);
});

test('filterCovers: the examples of the device ACL', () => {
  assert.equal(filterCovers('devices/d1/#', 'devices/d1/+/temp'), true);
  assert.equal(filterCovers('devices/d1/#', 'devices/d1/#'), true);
  assert.equal(filterCovers('devices/d1/#', 'devices/d1'), true); // '#' matches the parent level
  assert.equal(filterCovers('devices/d1/#', 'devices/+/temp'), false);
  assert.equal(filterCovers('devices/d1/#', '#'), false);
  assert.equal(filterCovers('devices/+/temp', 'devices/d1/temp'), true);
  assert.equal(filterCovers('devices/+/temp', 'devices/+/temp'), true);
  assert.equal(filterCovers('devices/d1/temp', 'devices/+/temp'), false);
  assert.equal(filterCovers('a/+', 'a/#'), false); // 'a/#' also matches 'a' and 'a/b/c'
  assert.equal(filterCovers('a/+/#', 'a/#'), false); // ... and 'a'
  assert.equal(filterCovers('a/+/#', 'a/+'), true);
  assert.equal(filterCovers('+/#', '#'), true); // the empty topic does not exist [MQTT-4.7.3-1]
  assert.equal(filterCovers('/+/#', '/#'), true); // '/#' matches '' too, which is not a topic
  assert.equal(filterCovers('+/+/#', '/#'), true);
  assert.equal(filterCovers('a/+/#', 'a/#'), false);
  assert.equal(filterCovers('+', '#'), false);
  assert.equal(filterCovers('a', 'a/b'), false);
  assert.equal(filterCovers('a/b', 'a'), false);
});

test('filtersIntersect: examples', () => {
  assert.equal(filtersIntersect('devices/+/secret', '#'), true);
  assert.equal(filtersIntersect('devices/+/secret', 'devices/d1/+'), true);
  assert.equal(filtersIntersect('devices/d2/#', 'devices/d1/#'), false);
  assert.equal(filtersIntersect('a/#', 'a'), true); // 'a' matches both
  assert.equal(filtersIntersect('a/+', 'a'), false);
  assert.equal(filtersIntersect('+', '/#'), false); // only '' matches both [MQTT-4.7.3-1]
  assert.equal(filtersIntersect('#', '/#'), true); // '/'
  assert.equal(filtersIntersect('a/b', 'a/b/c'), false);
});
