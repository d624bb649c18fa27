// Property tests: the compiled closures and the reference interpreter agree on random messages,
// for a corpus of rules and for random expression trees printed to SQL; printing and parsing
// round-trip; evaluation never throws on data.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BinaryOp, Expr, Pos } from './ast.js';
import { compileRule, interpretRule } from './index.js';
import type { RuleInput } from './input.js';
import { parseExpr } from './parser.js';
import { printExpr } from './print.js';
import { makeInput } from './test-input.js';

const POS: Pos = { line: 1, column: 1 };
const KEYS = ['a', 'b', 's', 'n', 'arr', 'odd key', '__proto__', 'constructor', '0'] as const;

// JSON values as text (so '__proto__' keys and 1e999 arrive as JSON.parse makes them).
const jsonText: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('null', 'true', 'false', '0', '-0', '1', '-3', '2.5', '1e999', '1e308', '"5"', '" 2.5 "', '"abc"', '""', '"A%b_"', '"it\'s"', '"a,b,c"', '"ÿ😀"'),
    fc.integer({ min: -100, max: 100 }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((d) => JSON.stringify(d)),
    fc.array(tie('v'), { maxLength: 3 }).map((xs) => '[' + xs.join(',') + ']'),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('v')), { maxLength: 5 }).map((kv) => '{' + kv.map(([k, v]) => JSON.stringify(k) + ':' + v).join(',') + '}'),
  ),
})).v;

const message: fc.Arbitrary<RuleInput> = fc
  .record({
    json: fc.option(jsonText, { nil: undefined, freq: 8 }),
    topic: fc.constantFrom('devices/d1/telemetry', 'a/b', 'x', '$events/client_disconnected', 'a//b/'),
    qos: fc.constantFrom(0, 1, 2),
    retain: fc.boolean(),
    deviceId: fc.constantFrom('d1', 'd2', undefined),
    unit: fc.constantFrom('C', 'F', undefined),
    device: fc.option(fc.record({ type: fc.constantFrom('thermo', 'meter'), site: fc.constantFrom('paris', 'lyon') }), { nil: undefined }),
    fw: fc.option(fc.constantFrom('1.0', '2.0', 3), { nil: undefined }),
  })
  .map((m) => {
    const json = m.json === undefined ? undefined : (JSON.parse(m.json) as unknown);
    return makeInput(json, {
      payload: Buffer.from(m.json ?? 'raw text'),
      topic: m.topic,
      qos: m.qos,
      retain: m.retain,
      deviceId: m.deviceId,
      userProperties: m.unit === undefined ? {} : { unit: m.unit },
      device: m.device && { id: 'd1', type: m.device.type, tags: { site: m.device.site } },
      twin: m.fw === undefined ? undefined : { reported: { fw: m.fw } },
    });
  });

const CORPUS = [
  "SELECT payload.temp AS t, payload.hum, topic(2) AS d FROM 'devices/+/telemetry' WHERE payload.temp > 20",
  "SELECT * FROM '#'",
  "SELECT *, clientid() AS c FROM '#' WHERE payload.a IS NOT NULL",
  "SELECT payload.a + payload.b AS sum, payload.a * 2 - 1 AS x, payload.a / payload.b AS q, payload.a % 3 AS m FROM '#'",
  "SELECT payload.s || '-' || payload.a AS s FROM '#' WHERE payload.s LIKE 'a%' OR payload.s LIKE '_b%'",
  "SELECT CASE WHEN payload.a > 10 THEN 'high' WHEN payload.a > 0 THEN 'mid' ELSE 'low' END AS level FROM '#'",
  "SELECT CASE payload.s WHEN 'abc' THEN 1 WHEN '5' THEN 2 ELSE 0 END AS k FROM '#' WHERE NOT (payload.n IS NULL)",
  "SELECT payload.arr[0] AS first, payload.arr[1].a AS x, payload['odd key'] AS odd, payload.\"0\" AS zero FROM '#'",
  "SELECT payload.a FROM '#' WHERE payload.a IN (1, 2, '5', NULL) AND payload.b NOT IN ('x', 'y')",
  "SELECT payload.a FROM '#' WHERE payload.s IN ('abc', 'A%b_', '')",
  "SELECT payload.a FROM '#' WHERE payload.a BETWEEN -1 AND 2.5 OR payload.b NOT BETWEEN payload.a AND 100",
  "SELECT coalesce(payload.a, payload.b, 'none') AS v, nullif(payload.a, 0) AS nz, number(payload.s) AS n, str(payload.arr) AS sa, bool(payload.a) AS b FROM '#'",
  "SELECT lower(payload.s) AS l, upper(payload.s) AS u, trim(payload.s) AS t, length(payload.s) AS len, substr(payload.s, 2, 2) AS sub, replace(payload.s, 'b', 'B') AS r FROM '#'",
  "SELECT split(payload.s, ',', 2) AS p2, split(payload.s, ',') AS parts, regex_match(payload.s, '^[a-c]+$') AS rm, concat(payload.s, payload.a, NULL) AS c FROM '#'",
  "SELECT abs(payload.a) AS a, round(payload.a, 1) AS r, floor(payload.a) AS f, ceil(payload.a) AS c, sqrt(payload.a) AS s, pow(payload.a, 2) AS p, min(payload.a, payload.b) AS mi, max(payload.a, payload.b) AS ma FROM '#'",
  "SELECT topic() AS t, topic(1) AS t1, topic(3) AS t3, clientid() AS c, deviceid() AS d, qos() AS q, retain() AS r, timestamp() AS ts, user_property('unit') AS u FROM '#'",
  "SELECT device.type AS type, device.tags.site AS site, twin.reported.fw AS fw FROM '#' WHERE device.type = 'thermo' OR twin.reported.fw <> '1.0'",
  "SELECT payload FROM '#' WHERE payload IS NOT NULL",
  "SELECT payload.a FROM '#' WHERE payload.a = payload.b OR payload.a <> payload.s OR payload.a <= payload.n",
  "SELECT payload.constructor AS c, payload.__proto__ AS p, payload[payload.s] AS dyn, payload.arr[payload.n] AS idx FROM '#'",
  "SELECT payload.s LIKE payload.b AS dyn_like, -payload.a AS neg FROM '#' WHERE payload.a > payload.b AND (payload.s = 'abc' OR qos = 1)",
  "SELECT 1 AS one FROM '#' WHERE payload.a > 0 AND payload.b > 0 AND payload.s IS NULL",
];

test('property: compiled rules of the corpus equal the reference interpreter on random messages, and never throw', () => {
  const rules = CORPUS.map((sql) => {
    const c = compileRule(sql);
    assert.ok(c.ok, `${sql}: ${JSON.stringify(!c.ok && c.errors)}`);
    return { sql, rule: c.rule };
  });
  fc.assert(
    fc.property(message, (m) => {
      for (const { sql, rule } of rules) assert.deepStrictEqual(rule.evaluate(m), interpretRule(sql, m), sql);
    }),
    { numRuns: 600 },
  );
});

// Random expressions over the whole grammar (printed to SQL, then compiled).
const lit: fc.Arbitrary<Expr> = fc
  .oneof(
    fc.constantFrom<string | number | boolean | null>(null, true, false, 0, 1, -1, 2.5, 10, 'abc', '5', '', 'a%', '_b%', "it's", 'a\\%'),
    fc.integer({ min: -20, max: 20 }),
  )
  .map((value): Expr => ({ kind: 'lit', value, pos: POS }));

const path: fc.Arbitrary<Expr> = fc
  .array(fc.oneof(fc.constantFrom(...KEYS).map((name) => ({ kind: 'key' as const, name, pos: POS })), fc.integer({ min: -1, max: 3 }).map((n) => ({ kind: 'index' as const, expr: { kind: 'lit' as const, value: n, pos: POS }, pos: POS }))), { maxLength: 3 })
  .map((steps): Expr => ({ kind: 'path', root: 'payload', steps, pos: POS }));

const ctxCall: fc.Arbitrary<Expr> = fc.constantFrom<Expr>(
  { kind: 'call', name: 'topic', args: [], star: false, pos: POS },
  { kind: 'call', name: 'topic', args: [{ kind: 'lit', value: 2, pos: POS }], star: false, pos: POS },
  { kind: 'call', name: 'clientid', args: [], star: false, bare: true, pos: POS },
  { kind: 'call', name: 'deviceid', args: [], star: false, pos: POS },
  { kind: 'call', name: 'qos', args: [], star: false, pos: POS },
  { kind: 'call', name: 'user_property', args: [{ kind: 'lit', value: 'unit', pos: POS }], star: false, pos: POS },
  { kind: 'path', root: 'device', steps: [{ kind: 'key', name: 'type', pos: POS }], pos: POS },
  { kind: 'path', root: 'device', steps: [{ kind: 'key', name: 'tags', pos: POS }, { kind: 'key', name: 'site', pos: POS }], pos: POS },
  { kind: 'path', root: 'twin', steps: [{ kind: 'key', name: 'reported', pos: POS }, { kind: 'key', name: 'fw', pos: POS }], pos: POS },
);

const SCALARS: [string, number][] = [
  ['lower', 1], ['upper', 1], ['trim', 1], ['concat', 2], ['concat', 3], ['substr', 2], ['substr', 3], ['length', 1], ['replace', 3], ['split', 2], ['split', 3],
  ['abs', 1], ['round', 1], ['round', 2], ['floor', 1], ['ceil', 1], ['sqrt', 1], ['pow', 2], ['min', 2], ['max', 2], ['coalesce', 1], ['coalesce', 3],
  ['nullif', 2], ['number', 1], ['str', 1], ['bool', 1],
];
const BINOPS: BinaryOp[] = ['+', '-', '*', '/', '%', '||', '=', '!=', '<', '<=', '>', '>=', 'and', 'or'];

const expr: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => {
  const e = tie('e');
  return {
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      lit,
      path,
      ctxCall,
      fc.tuple(fc.constantFrom<'-' | 'not'>('-', 'not'), e).map(([op, arg]): Expr => ({ kind: 'unary', op, arg, pos: POS })),
      fc.tuple(fc.constantFrom(...BINOPS), e, e).map(([op, left, right]): Expr => ({ kind: 'binary', op, left, right, pos: POS })),
      fc.tuple(e, fc.boolean()).map(([arg, negated]): Expr => ({ kind: 'isnull', arg, negated, pos: POS })),
      fc.tuple(e, fc.array(e, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([arg, list, negated]): Expr => ({ kind: 'in', arg, list, negated, pos: POS })),
      fc.tuple(e, fc.oneof(lit, e), fc.boolean()).map(([arg, pattern, negated]): Expr => ({ kind: 'like', arg, pattern, negated, pos: POS })),
      fc.tuple(e, e, e, fc.boolean()).map(([arg, low, high, negated]): Expr => ({ kind: 'between', arg, low, high, negated, pos: POS })),
      fc.tuple(fc.option(e, { nil: null }), fc.array(fc.record({ when: e, then: e }), { minLength: 1, maxLength: 2 }), fc.option(e, { nil: null })).map(
        ([subject, whens, otherwise]): Expr => ({ kind: 'case', subject, whens, otherwise, pos: POS }),
      ),
      fc.tuple(fc.constantFrom(...SCALARS), fc.array(e, { minLength: 3, maxLength: 3 })).map(([[name, n], args]): Expr => ({ kind: 'call', name, args: args.slice(0, n), star: false, pos: POS })),
      fc.tuple(e, fc.constantFrom('^a', 'b$', '\\d', '.')).map(([a, p]): Expr => ({ kind: 'call', name: 'regex_match', args: [a, { kind: 'lit', value: p, pos: POS }], star: false, pos: POS })),
    ),
  };
}).e;

test('property: printing a random expression and parsing it back gives the same printed form', () => {
  fc.assert(
    fc.property(expr, (e) => {
      const s = printExpr(e);
      assert.equal(printExpr(parseExpr(s)), s);
    }),
    { numRuns: 500 },
  );
});

test('property: random expressions (SELECT and WHERE) compile to closures that agree with the interpreter and never throw', () => {
  let compiled = 0;
  fc.assert(
    fc.property(expr, expr, fc.array(message, { minLength: 1, maxLength: 5 }), (sel, cond, msgs) => {
      const sql = `SELECT ${printExpr(sel)} AS v, ${printExpr(cond)} AS c FROM '#' WHERE ${printExpr(cond)} OR payload.a IS NULL`;
      const c = compileRule(sql);
      if (!c.ok) return; // statically ill-typed (e.g. TRUE * 2): refused, nothing to run
      compiled++;
      for (const m of msgs) assert.deepStrictEqual(c.rule.evaluate(m), interpretRule(sql, m), sql);
    }),
    { numRuns: 1500 },
  );
  assert.ok(compiled > 300, `only ${compiled} random rules type-checked`);
});
