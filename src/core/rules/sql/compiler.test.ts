// Evaluation semantics over the whole grammar. Every case runs through both the compiled closures
// and the reference interpreter, which must agree; see also the property tests in
// compiler.property.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRule, interpretRule, type RuleInput } from './index.js';
import { makeInput } from './test-input.js';

const MSG = {
  t: 21.5,
  n: 0,
  s: 'abc',
  num: '42',
  arr: [1, 2, 3],
  readings: [{ v: 3 }, { v: 4 }],
  obj: { a: 1, b: [true] },
  obj2: { b: [true], a: 1 },
  'odd key': 'odd',
  k: 'odd key',
  big: 1e200,
  empty: '',
};

function run(sql: string, input: RuleInput): Record<string, unknown> | undefined {
  const c = compileRule(sql);
  assert.ok(c.ok, c.ok ? '' : JSON.stringify(c.errors));
  const compiled = c.rule.evaluate(input);
  assert.deepEqual(compiled, interpretRule(sql, input), `compiled and interpreted differ for ${sql}`);
  return compiled;
}

/** The value of one expression over MSG (or the given input). */
function ev(expr: string, input: RuleInput = makeInput(MSG)): unknown {
  return run(`SELECT ${expr} AS v FROM '#'`, input)!['v'];
}

function table(cases: [string, unknown][], input?: RuleInput): void {
  for (const [expr, want] of cases) assert.deepEqual(ev(expr, input), want, expr);
}

test('arithmetic: numbers and numeric strings; null, non-numbers, division by zero and overflow give null', () => {
  table([
    ['1 + 2 * 3', 7], ['10 / 4', 2.5], ['7 % 3', 1], ['-7 % 3', -1], ['payload.t - 1.5', 20], ['-payload.t', -21.5],
    ["payload.num + 1", 43], ["' 2.5 ' * 2", 5], ['payload.s + 1', null], ['payload.missing + 1', null], ['NULL * 2', null],
    ['7 / 0', null], ['7 % 0', null], ['payload.n / payload.n', null], ['payload.big * payload.big', null],
    ['payload.arr + 1', null], ["payload.empty + 1", null], ["number('0x10')", null], ['-payload.s', null],
  ]);
});

test('|| concatenates text; null gives null; numbers, booleans and objects become text', () => {
  table([
    ["'a' || 1 || TRUE", 'a1true'], ["'a' || NULL", null], ['payload.obj || \'\'', '{"a":1,"b":[true]}'], ["payload.t || '°'", '21.5°'],
  ]);
});

test('comparison: numbers (numeric strings as numbers), strings, booleans; null and mixed types', () => {
  table([
    ['1 < 2', true], ["'10' > 9", true], ["'b' > 'a'", true], ["'B' < 'a'", true], ["payload.s = 'abc'", true], ["payload.s <> 'abc'", false],
    ["payload.s = 1", false], ["payload.s != 1", true], ["payload.s < 1", null], ['NULL = NULL', null], ['payload.missing != 1', null],
    ['payload.obj = payload.obj2', true], ['payload.obj = payload.arr', false], ['payload.arr > payload.arr', null], ['TRUE > FALSE', true],
    ["TRUE = 'true'", false], ['payload.num = 42', true], ["payload.num = '42.0'", false], ['payload.t >= 21.5', true], ['payload.t <= 21', false],
  ]);
});

test('AND / OR / NOT: SQL three-valued logic; non-booleans are unknown', () => {
  table([
    ['NULL AND FALSE', false], ['FALSE AND NULL', false], ['NULL AND TRUE', null], ['TRUE AND TRUE', true],
    ['NULL OR TRUE', true], ['TRUE OR NULL', true], ['NULL OR FALSE', null], ['FALSE OR FALSE', false],
    ['NOT NULL', null], ['NOT FALSE', true], ['payload.t AND TRUE', null], ['NOT payload.s', null], ['payload.missing OR TRUE', true],
  ]);
});

test('IS [NOT] NULL: a missing field is null, 0 and empty string are not', () => {
  table([['payload.missing IS NULL', true], ['payload.n IS NULL', false], ['payload.empty IS NOT NULL', true], ['payload.arr[9] IS NULL', true]]);
});

test('[NOT] IN: true on a match, null when no match and some comparison was unknown', () => {
  table([
    ['2 IN (1, 2)', true], ['3 IN (1, 2)', false], ['3 IN (1, NULL)', null], ['1 IN (1, NULL)', true], ['3 NOT IN (1, NULL)', null],
    ['3 NOT IN (1, 2)', true], ["payload.num IN (1, 42)", true], ["payload.s IN ('x', 'abc')", true], ["payload.s NOT IN ('x', 'abc')", false],
    ['NULL IN (1)', null], ["payload.t IN (payload.n, 21.5)", true], ['payload.obj IN (payload.obj2)', true], ["1 IN ('1')", true],
  ]);
});

test('[NOT] LIKE: % any run, _ one character, backslash escapes; case-sensitive; other regex characters literal', () => {
  table([
    ["'abc' LIKE 'a%'", true], ["'abc' LIKE 'a_c'", true], ["'abc' LIKE 'a_'", false], ["'a%c' LIKE 'a\\%c'", true], ["'abc' LIKE 'a\\%c'", false],
    ["'abc' LIKE 'A%'", false], ["12 LIKE '1%'", true], ["NULL LIKE 'a'", null], ["'a.c' LIKE 'a.c'", true], ["'abc' LIKE 'a.c'", false],
    ["'a(b' LIKE 'a(%'", true], ["'a\nb' LIKE 'a%b'", true], ["'abc' NOT LIKE '%c'", false], ["payload.obj LIKE '%'", null],
    ["payload.s LIKE payload.s", true], ["'😀x' LIKE '_x'", true], ["'' LIKE '%'", true],
  ]);
});

test('[NOT] BETWEEN: inclusive bounds, SQL null logic', () => {
  table([
    ['5 BETWEEN 1 AND 10', true], ['1 BETWEEN 1 AND 1', true], ['5 NOT BETWEEN 1 AND 10', false], ['NULL BETWEEN 1 AND 2', null],
    ['5 BETWEEN 6 AND NULL', false], ['5 BETWEEN 1 AND NULL', null], ["'b' BETWEEN 'a' AND 'c'", true], ['0 NOT BETWEEN 1 AND 2', true],
  ]);
});

test('CASE: first true WHEN wins, ELSE or null; simple CASE compares with =', () => {
  table([
    ["CASE WHEN payload.t > 30 THEN 'hot' WHEN payload.t > 20 THEN 'warm' ELSE 'cold' END", 'warm'],
    ["CASE WHEN payload.t > 30 THEN 'hot' END", null],
    ["CASE WHEN NULL THEN 1 ELSE 2 END", 2],
    ["CASE payload.s WHEN 'x' THEN 1 WHEN 'abc' THEN 2 END", 2],
    ["CASE payload.num WHEN 42 THEN 'n' END", 'n'],
    ["CASE NULL WHEN NULL THEN 1 ELSE 0 END", 0],
  ]);
});

test('payload paths: fields, array indexes, odd keys, computed keys; missing or wrong shapes are null', () => {
  table([
    ['payload.readings[0].v', 3], ['payload.readings[1].v', 4], ['payload.readings[2].v', null], ['payload.readings[-1]', null],
    ["payload.readings['0']", null], ['payload.arr[0.5]', null], ["payload.'odd key'", 'odd'], ['payload["odd key"]', 'odd'], ["payload['odd key']", 'odd'],
    ['payload[payload.k]', 'odd'], ['payload.arr[1 + 1]', 3], ['payload.t.x', null], ['payload.s[0]', null], ['payload.arr.length', null],
    ['payload.obj.b[0]', true], ['payload.missing.x.y', null], ['payload.obj.a', 1],
  ]);
});

test('paths never reach inherited properties (constructor, __proto__, toString), only own JSON fields', () => {
  table([['payload.constructor', null], ['payload.__proto__', null], ['payload.toString', null], ["payload['hasOwnProperty']", null], ['payload.obj.constructor', null]]);
  const own = JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}');
  table([['payload.__proto__.x', 1], ['payload.constructor', 2]], makeInput(own));
});

test('payload: the parsed JSON; its text when it is not JSON (fields of it are null)', () => {
  assert.equal(ev('payload', makeInput(undefined)), 'not json');
  assert.equal(ev('payload.x', makeInput(undefined)), null);
  assert.equal(ev('payload', makeInput(7)), 7);
  assert.equal(ev('payload[1]', makeInput([5, 6])), 6);
  assert.equal(ev('payload', makeInput(null)), null);
});

test('message functions: topic(), topic(n), clientid(), deviceid(), timestamp(), qos(), retain(), user_property(k), bare names', () => {
  const i = makeInput(MSG);
  table(
    [
      ['topic()', 'devices/d1/telemetry'], ['topic(1)', 'devices'], ['topic(3)', 'telemetry'], ['topic(4)', null], ['topic(0)', null],
      ['topic(1.5)', null], ['topic(payload.n + 2)', 'd1'], ['clientid()', 'client-1'], ['deviceid()', 'd1'], ['timestamp()', 1_700_000_000_000],
      ['qos()', 1], ['retain()', false], ["user_property('unit')", 'C'], ["user_property('none')", null], ["user_property('constructor')", null],
      ['topic', 'devices/d1/telemetry'], ['clientid', 'client-1'], ['qos', 1], ['retain', false], ['timestamp', 1_700_000_000_000],
      ["user_property(payload.s)", null],
    ],
    i,
  );
  assert.equal(ev('deviceid()', makeInput(MSG, { deviceId: undefined })), null);
  assert.equal(ev('topic(2)', makeInput(MSG, { topic: 'a//b' })), '');
  // now() reads the clock: compiled and interpreted may fall in different milliseconds, so each
  // is checked against the clock rather than against the other.
  const before = Date.now();
  const c = compileRule("SELECT now() AS v FROM '#'");
  assert.ok(c.ok);
  const compiled = c.rule.evaluate(makeInput(MSG))!['v'] as number;
  const interpreted = interpretRule("SELECT now() AS v FROM '#'", makeInput(MSG))!['v'] as number;
  const after = Date.now();
  for (const now of [compiled, interpreted]) assert.ok(now >= before && now <= after);
});

test('device registry attributes and twin state; absent device or twin reads as null', () => {
  const i = makeInput(MSG, {
    device: { id: 'd1', type: 'thermo', group: 'g1', tags: { site: 'paris', 'my key': 'v' } },
    twin: { reported: { fw: '1.2', net: { rssi: -70 } }, desired: { x: 1 } },
  });
  table(
    [
      ['device.type', 'thermo'], ['device.group', 'g1'], ['device.id', 'd1'], ['device.tags.site', 'paris'], ["device.tags['my key']", 'v'],
      ['device.tags.none', null], ['twin.reported.fw', '1.2'], ['twin.reported.net.rssi', -70], ['twin.desired.x', 1], ['twin.desired.y', null],
      ['device.tags.constructor', null],
    ],
    i,
  );
  table([['device.type', null], ['device.tags.site', null], ['twin.reported.fw', null], ['device', null]], makeInput(MSG));
});

test('string functions: lower, upper, trim, concat, substr (1-based), length (code points), replace, split, regex_match', () => {
  table([
    ["lower('AbC')", 'abc'], ["upper(payload.s)", 'ABC'], ["trim('  x ')", 'x'], ['lower(NULL)', null], ['upper(1.5)', '1.5'], ['lower(payload.obj)', null],
    ["concat('a', NULL, 1, TRUE)", 'a1true'], ['concat(NULL)', ''], ["substr('hello', 2)", 'ello'], ["substr('hello', 2, 3)", 'ell'],
    ["substr('hello', 0, 2)", 'h'], ["substr('hello', 9)", ''], ["substr('hello', 2, -1)", null], ["substr(NULL, 1)", null],
    ["length('héllo')", 5], ["length('😀')", 1], ['length(payload.arr)', 3], ['length(payload.t)', null], ["length('')", 0],
    ["replace('a-b-c', '-', '+')", 'a+b+c'], ["replace('abc', '', 'x')", 'abc'], ["replace('a.c', '.', '$&')", 'a$&c'],
    ["split('a,b,c', ',', 2)", 'b'], ["split('a,b,c', ',', -1)", 'c'], ["split('a,b,c', ',', 4)", null], ["split('a,b,c', ',', 0)", null],
    ["split('a,b', ',')", ['a', 'b']], ["split('a,b', '')", null], ["regex_match('abc', '^a.c$')", true], ["regex_match('abd', 'c')", false],
    ["regex_match(NULL, 'a')", null], ["regex_match(123, '^\\d+$')", true],
  ]);
});

test('math functions: abs, round (half away from zero, n places), floor, ceil, sqrt, pow, scalar min/max', () => {
  table([
    ['abs(-2)', 2], ["abs('-3')", 3], ['abs(payload.s)', null], ['round(2.5)', 3], ['round(-2.5)', -3], ['round(1.234, 2)', 1.23],
    ['round(1234, -2)', 1200], ['round(1, 99)', null], ['round(-0.4)', 0], ['floor(-1.5)', -2], ['ceil(1.2)', 2], ['sqrt(16)', 4], ['sqrt(-1)', null],
    ['pow(2, 10)', 1024], ['pow(10, 400)', null], ['min(1, 2)', 1], ['max(1, 2)', 2], ["max('a', 'b')", 'b'], ['min(1, NULL)', null],
    ["min(1, 'x')", null], ["max('10', 9)", '10'],
  ]);
});

test('null handling and conversions: coalesce, nullif, number, str, bool', () => {
  table([
    ['coalesce(NULL, payload.missing, 3)', 3], ['coalesce(NULL)', null], ['coalesce(payload.n, 1)', 0], ['nullif(1, 1)', null], ['nullif(1, 2)', 1],
    ['nullif(NULL, 1)', null], ["number('42')", 42], ["number('4x')", null], ['number(TRUE)', 1], ['number(payload.obj)', null], ["number('1e999')", null],
    ['str(1.5)', '1.5'], ['str(payload.obj)', '{"a":1,"b":[true]}'], ['str(NULL)', null], ["bool('TRUE')", true], ['bool(0)', false],
    ["bool('x')", null], ['bool(2)', true],
  ]);
});

test('output row: fields in SELECT order; WHERE not true (false or null) gives undefined', () => {
  const i = makeInput(MSG);
  assert.deepEqual(run("SELECT payload.t, topic(2), payload.s AS name FROM '#' WHERE payload.t > 20", i), { t: 21.5, topic_2: 'd1', name: 'abc' });
  assert.equal(run("SELECT payload.t FROM '#' WHERE payload.t > 30", i), undefined);
  assert.equal(run("SELECT payload.t FROM '#' WHERE payload.missing > 30", i), undefined);
  assert.deepEqual(Object.keys(run("SELECT 1 AS z, 2 AS a, 3 AS m FROM '#'", i)!), ['z', 'a', 'm']);
});

test('SELECT *: all payload fields (later items override), or {payload} when it is not an object', () => {
  assert.deepEqual(run("SELECT *, topic(2) AS d FROM '#'", makeInput({ a: 1, b: 2 })), { a: 1, b: 2, d: 'd1' });
  assert.deepEqual(run("SELECT *, 9 AS a FROM '#'", makeInput({ a: 1 })), { a: 9 });
  assert.deepEqual(run("SELECT * FROM '#'", makeInput([1, 2])), { payload: [1, 2] });
  assert.deepEqual(run("SELECT * FROM '#'", makeInput(5)), { payload: 5 });
  assert.deepEqual(run("SELECT * FROM '#'", makeInput(undefined)), { payload: 'not json' });
});

test('a __proto__ field or alias is an own field of the row, never its prototype', () => {
  const row = run(`SELECT * FROM '#'`, makeInput(JSON.parse('{"__proto__": {"polluted": 1}}')))!;
  assert.equal(Object.getPrototypeOf(row), Object.prototype);
  assert.deepEqual(Object.keys(row), ['__proto__']);
  const r2 = run(`SELECT 1 AS "__proto__" FROM '#'`, makeInput({}))!;
  assert.equal(Object.getPrototypeOf(r2), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(r2, '__proto__')?.value, 1);
});

test('compileRule: from, fields, needs, windowed; errors instead of a rule', () => {
  const c = compileRule("SELECT payload.t, device.type FROM 'a/+', 'b/#' WHERE twin.reported.fw = '1'");
  assert.ok(c.ok);
  assert.deepEqual(c.rule.from, ['a/+', 'b/#']);
  assert.deepEqual(c.rule.fields, ['t', 'type']);
  assert.deepEqual(c.rule.needs, { json: true, device: true, twin: true });
  assert.equal(c.rule.windowed, false);
  assert.throws(() => c.rule.createWindows());
  const bad = compileRule("SELECT x(\nFROM 'a'");
  assert.deepEqual(bad, { ok: false, errors: [{ line: 2, column: 1, message: 'expected an expression, found keyword FROM' }] });
  assert.throws(() => interpretRule("SELECT nope() FROM 'a'", makeInput({})), /1:8 unknown function 'nope'/);
});
