import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RetainedIndex } from './retained-index.js';
import { topicMatches } from './topic.js';

function matched<M>(r: RetainedIndex<M>, filter: string): string[] {
  const out: string[] = [];
  r.match(filter, (topic, m) => out.push(`${topic}=${String(m)}`));
  return out.sort();
}

test('set/get/delete/size, one message per topic (MQTT 5.0 §3.3.1.3)', () => {
  const r = new RetainedIndex<number>();
  r.set('a/b', 1);
  r.set('a/b', 2); // replaces
  r.set('a', 3);
  assert.equal(r.size, 2);
  assert.equal(r.get('a/b'), 2);
  assert.equal(r.get('a'), 3);
  assert.equal(r.get('a/c'), undefined);
  assert.equal(r.delete('a/c'), false);
  assert.equal(r.delete('a'), true);
  assert.equal(r.get('a'), undefined);
  assert.equal(r.get('a/b'), 2);
  assert.equal(r.size, 1);
  assert.deepEqual(matched(r, 'a/#'), ['a/b=2']);
});

test('retained messages matching a new subscription are found [MQTT-3.3.1-9]', () => {
  const r = new RetainedIndex<string>();
  for (const t of ['sport', 'sport/tennis', 'sport/tennis/p1', 'sport/golf', 'news', 'a//c', '/x']) r.set(t, t.toUpperCase());
  assert.deepEqual(matched(r, 'sport/tennis'), ['sport/tennis=SPORT/TENNIS']);
  assert.deepEqual(matched(r, 'sport/+'), ['sport/golf=SPORT/GOLF', 'sport/tennis=SPORT/TENNIS']);
  assert.deepEqual(matched(r, 'a/+/c'), ['a//c=A//C']); // '+' matches an empty level
  assert.deepEqual(matched(r, '+/x'), ['/x=/X']);
  assert.deepEqual(matched(r, 'nothing/#'), []);
});

test("'sport/#' returns 'sport' itself [MQTT-4.7.1-2]", () => {
  const r = new RetainedIndex<number>();
  r.set('sport', 1);
  r.set('sport/tennis/p1', 2);
  r.set('sports', 3);
  assert.deepEqual(matched(r, 'sport/#'), ['sport/tennis/p1=2', 'sport=1']);
});

test("first-level '#' and '+' do not return '$' topics [MQTT-4.7.2-1]", () => {
  const r = new RetainedIndex<number>();
  r.set('$SYS/broker/uptime', 1);
  r.set('$x', 2);
  r.set('a/$b', 3);
  r.set('a', 4);
  assert.deepEqual(matched(r, '#'), ['a/$b=3', 'a=4']);
  assert.deepEqual(matched(r, '+'), ['a=4']);
  assert.deepEqual(matched(r, '+/broker/uptime'), []);
  assert.deepEqual(matched(r, '$SYS/#'), ['$SYS/broker/uptime=1']);
  assert.deepEqual(matched(r, '$x'), ['$x=2']);
  assert.deepEqual(matched(r, 'a/+'), ['a/$b=3']); // the rule is for the first level only
});

test('delete prunes levels so a later match does not see them', () => {
  const r = new RetainedIndex<number>();
  r.set('a/b/c', 1);
  r.set('a/b', 2);
  r.delete('a/b/c');
  assert.deepEqual(matched(r, 'a/#'), ['a/b=2']);
  r.delete('a/b');
  assert.deepEqual(matched(r, '#'), []);
  assert.equal(r.size, 0);
  assert.deepEqual([...r.entries()], []);
});

const level = fc.constantFrom('a', 'b', '', '$x', 'ab');
const topicArb = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);
const filterArb = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { maxLength: 4 }), fc.boolean())
  .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
  .filter((f) => f.length > 0);

test('property: match agrees with a brute-force scan, through sets and deletes [MQTT-3.3.1-9] [MQTT-4.7.2-1]', () => {
  const op = fc.tuple(fc.boolean(), topicArb, fc.integer());
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), fc.array(filterArb, { minLength: 1, maxLength: 10 }), (ops, filters) => {
      const r = new RetainedIndex<number>();
      const model = new Map<string, number>();
      for (const [isSet, t, v] of ops) {
        if (isSet) {
          r.set(t, v);
          model.set(t, v);
        } else {
          assert.equal(r.delete(t), model.delete(t));
        }
        assert.equal(r.size, model.size);
      }
      for (const [t, v] of model) assert.equal(r.get(t), v);
      for (const f of filters) {
        const expected = [...model].filter(([t]) => topicMatches(f, t)).map(([t, v]) => `${t}=${v}`);
        assert.deepEqual(matched(r, f), expected.sort(), f);
      }
    }),
    { numRuns: 1000 },
  );
});
