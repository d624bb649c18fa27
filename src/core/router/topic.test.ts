import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseShared, topicMatches, validateTopicFilter, validateTopicName } from './topic.js';

const MAX = 128;

test('topic name: valid names, including empty levels and a lone "/" (MQTT 5.0 §4.7.3)', () => {
  for (const t of ['a', '/', 'a/b/c', 'a//b', '/a', 'a/', '$SYS/x', ' ', 'ü/€/😀']) {
    assert.equal(validateTopicName(t, MAX), null, t);
  }
});

test('topic name: empty is invalid [MQTT-4.7.3-1]', () => {
  assert.notEqual(validateTopicName('', MAX), null);
});

test('topic name: wildcards are invalid [MQTT-3.3.2-2] [MQTT-4.7.0-1]', () => {
  for (const t of ['+', '#', 'a/+', 'a/#', 'a+b', 'a#', 'a/b+/c']) {
    assert.notEqual(validateTopicName(t, MAX), null, t);
  }
});

test('topic name: U+0000 is invalid [MQTT-4.7.3-2]', () => {
  assert.notEqual(validateTopicName('a\u0000b', MAX), null);
});

test('topic name: at most 65535 UTF-8 bytes [MQTT-4.7.3-3]', () => {
  assert.equal(validateTopicName('a'.repeat(65535), 1), null);
  assert.notEqual(validateTopicName('a'.repeat(65536), 1), null);
  // 3 bytes per '€': 21845 × 3 = 65535 fits, one more does not, although the string is short.
  assert.equal(validateTopicName('€'.repeat(21845), 1), null);
  assert.notEqual(validateTopicName('€'.repeat(21846), 1), null);
  // A surrogate pair is 2 code units but 4 bytes.
  assert.notEqual(validateTopicName('😀'.repeat(16384), 1), null);
  assert.equal(validateTopicName('😀'.repeat(16383) + 'abc', 1), null);
});

test('topic name: level count is bounded by the hub limit', () => {
  assert.equal(validateTopicName('a/b/c', 3), null);
  assert.notEqual(validateTopicName('a/b/c/d', 3), null);
  assert.notEqual(validateTopicName('///', 3), null); // four empty levels
});

test('topic filter: valid filters (MQTT 5.0 §4.7.1)', () => {
  for (const f of ['#', '+', 'a/#', '+/+', '/+', '+/', 'a/+/c', 'sport/tennis/#', '+/tennis/#', 'a//b', '$SYS/#', '/', '$share']) {
    assert.equal(validateTopicFilter(f, MAX), null, f);
  }
});

test("topic filter: '#' must be last and alone in its level [MQTT-4.7.1-2]", () => {
  for (const f of ['sport/tennis#', 'sport/tennis/#/ranking', '#/', '##', 'a/#b', 'a#/b', '#a']) {
    assert.notEqual(validateTopicFilter(f, MAX), null, f);
  }
});

test("topic filter: '+' must occupy a whole level [MQTT-4.7.1-3]", () => {
  for (const f of ['sport+', 'a/+b', 'a/b+', '++', '+a/b', 'a/+#', '+#']) {
    assert.notEqual(validateTopicFilter(f, MAX), null, f);
  }
});

test('topic filter: empty is invalid [MQTT-4.7.3-1]; U+0000 is invalid [MQTT-4.7.3-2]', () => {
  assert.notEqual(validateTopicFilter('', MAX), null);
  assert.notEqual(validateTopicFilter('a/\u0000', MAX), null);
  assert.notEqual(validateTopicFilter('$share/g\u0000/a', MAX), null);
});

test('topic filter: level count is bounded by the hub limit', () => {
  assert.equal(validateTopicFilter('a/+/#', 3), null);
  assert.notEqual(validateTopicFilter('a/+/c/#', 3), null);
  // For shared subscriptions the limit applies to the filter after $share/{ShareName}/.
  assert.equal(validateTopicFilter('$share/g/a/+/#', 3), null);
  assert.notEqual(validateTopicFilter('$share/g/a/b/c/d', 3), null);
});

test('topic filter: at most 65535 UTF-8 bytes [MQTT-4.7.3-3]', () => {
  assert.equal(validateTopicFilter('a'.repeat(65535), 1), null);
  assert.notEqual(validateTopicFilter('€'.repeat(21846), 1), null);
});

test('shared filter: valid forms (MQTT 5.0 §4.8.2)', () => {
  for (const f of ['$share/g/a', '$share/g/#', '$share/g/+/b', '$share/g//', '$share/g/$SYS/#']) {
    assert.equal(validateTopicFilter(f, MAX), null, f);
  }
});

test('shared filter: ShareName is at least one character [MQTT-4.8.2-1]', () => {
  assert.notEqual(validateTopicFilter('$share//a', MAX), null);
  assert.notEqual(validateTopicFilter('$share/', MAX), null);
});

test("shared filter: ShareName has no '+' or '#' and is followed by '/' and a filter [MQTT-4.8.2-2]", () => {
  for (const f of ['$share/+/a', '$share/g+/a', '$share/#/a', '$share/a#/b', '$share/g', '$share/g/']) {
    assert.notEqual(validateTopicFilter(f, MAX), null, f);
  }
  // The filter after the ShareName obeys the normal rules.
  assert.notEqual(validateTopicFilter('$share/g/a#', MAX), null);
  assert.notEqual(validateTopicFilter('$share/g/#/a', MAX), null);
});

test('parseShared splits $share/{ShareName}/{filter} (MQTT 5.0 §4.8.2)', () => {
  assert.deepEqual(parseShared('$share/g/a/b'), { group: 'g', filter: 'a/b' });
  assert.deepEqual(parseShared('$share/grp/#'), { group: 'grp', filter: '#' });
  assert.deepEqual(parseShared('$share/g//'), { group: 'g', filter: '/' });
  for (const f of ['a/b', '$share', '$share/', '$share//a', '$share/g', '$share/g/', '$SHARE/g/a']) {
    assert.equal(parseShared(f), null, f);
  }
});

test('matcher: spec examples of the multi-level wildcard [MQTT-4.7.1-2]', () => {
  // MQTT 5.0 §4.7.1.2 non-normative example.
  assert.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1'));
  assert.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/ranking'));
  assert.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon'));
  assert.ok(topicMatches('sport/#', 'sport')); // '#' matches the parent level
  assert.ok(topicMatches('#', 'a/b/c'));
  assert.ok(topicMatches('a/#', 'a/'));
  assert.ok(!topicMatches('sport/tennis/#', 'sport'));
  assert.ok(!topicMatches('a/#', 'ab'));
});

test('matcher: spec examples of the single-level wildcard [MQTT-4.7.1-3]', () => {
  // MQTT 5.0 §4.7.1.3 non-normative example.
  assert.ok(topicMatches('sport/tennis/+', 'sport/tennis/player1'));
  assert.ok(topicMatches('sport/tennis/+', 'sport/tennis/player2'));
  assert.ok(!topicMatches('sport/tennis/+', 'sport/tennis/player1/ranking'));
  assert.ok(!topicMatches('sport/+', 'sport'));
  assert.ok(topicMatches('sport/+', 'sport/'));
  assert.ok(topicMatches('+/+', '/finance'));
  assert.ok(topicMatches('/+', '/finance'));
  assert.ok(!topicMatches('+', '/finance'));
  assert.ok(topicMatches('+', 'a'));
  assert.ok(topicMatches('a/+/c', 'a//c')); // '+' matches an empty level
  assert.ok(!topicMatches('a/+/c', 'a/c'));
});

test('matcher: empty levels are real levels (MQTT 5.0 §4.7.3)', () => {
  assert.ok(topicMatches('a//b', 'a//b'));
  assert.ok(!topicMatches('a/b', 'a//b'));
  assert.ok(!topicMatches('/a', 'a'));
  assert.ok(!topicMatches('a', 'a/'));
  assert.ok(topicMatches('/', '/'));
});

test("matcher: wildcard-first filters do not match '$' topics [MQTT-4.7.2-1]", () => {
  assert.ok(!topicMatches('#', '$SYS/monitor/Clients'));
  assert.ok(!topicMatches('+/monitor/Clients', '$SYS/monitor/Clients'));
  assert.ok(topicMatches('$SYS/#', '$SYS/monitor/Clients'));
  assert.ok(topicMatches('$SYS/monitor/+', '$SYS/monitor/Clients'));
  assert.ok(!topicMatches('#', '$'));
  assert.ok(topicMatches('a/#', 'a/$b')); // the rule is about the first level only
  assert.ok(topicMatches('+/$b', 'a/$b'));
});

test('matcher: exact comparison, no normalization [MQTT-4.7.3-4]', () => {
  assert.ok(!topicMatches('ACCOUNTS', 'Accounts'));
  assert.ok(!topicMatches('a', 'a '));
  assert.ok(!topicMatches('e\u0301', '\u00e9'));
  assert.ok(topicMatches('Accounts payable', 'Accounts payable'));
});

// An independent oracle: the filter as a regular expression, levels split by '/'.
function oracle(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const levels = filter.split('/');
  let re = '';
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l === '#') {
      re = i === 0 ? '.*' : `${re}(/.*)?`;
      break;
    }
    if (i > 0) re += '/';
    re += l === '+' ? '[^/]*' : l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's').test(topic);
}

const level = fc.constantFrom('a', 'b', '', '$x', 'ab', 'é');
const topicArb = fc
  .array(level, { minLength: 1, maxLength: 5 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);
const filterArb = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
  .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
  .filter((f) => f.length > 0);

test('matcher agrees with a regular-expression oracle on random filters and topics (MQTT 5.0 §4.7)', () => {
  fc.assert(
    fc.property(filterArb, topicArb, (f, t) => {
      assert.equal(validateTopicFilter(f, MAX), null);
      assert.equal(validateTopicName(t, MAX), null);
      assert.equal(topicMatches(f, t), oracle(f, t), `${f} vs ${t}`);
    }),
    { numRuns: 5000 },
  );
});

test('validators never throw and accept only what the rules allow, on arbitrary strings', () => {
  const chars = fc.constantFrom('a', '/', '+', '#', '$', '\u0000', 'é');
  const str = fc.array(chars, { maxLength: 8 }).map((c) => c.join(''));
  fc.assert(
    fc.property(str, (s) => {
      const nameOk = validateTopicName(s, MAX) === null;
      assert.equal(nameOk, s.length > 0 && !/[+#\u0000]/.test(s));
      const filterOk = validateTopicFilter(s, MAX) === null;
      if (!s.startsWith('$share/')) {
        const levels = s.split('/');
        const expected =
          s.length > 0 &&
          !s.includes('\u0000') &&
          levels.every((l, i) => (!l.includes('#') || (l === '#' && i === levels.length - 1)) && (!l.includes('+') || l === '+'));
        assert.equal(filterOk, expected, JSON.stringify(s));
      }
    }),
    { numRuns: 5000 },
  );
});
