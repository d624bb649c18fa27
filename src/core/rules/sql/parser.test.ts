import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleSyntaxError } from './lexer.js';
import { parseExpr, parseRule } from './parser.js';
import { printExpr, printRule } from './print.js';

const p = (src: string) => printExpr(parseExpr(src));

function syntaxError(src: string): [number, number, string] {
  try {
    parseRule(src);
  } catch (e) {
    assert.ok(e instanceof RuleSyntaxError, String(e));
    return [e.pos.line, e.pos.column, e.message];
  }
  assert.fail(`parsed: ${src}`);
}

test('rule clauses: SELECT list with aliases and *, several FROM filters, WHERE, GROUP BY, WINDOW', () => {
  const r = parseRule(
    "select *, payload.t as \"T\", deviceid() d2 from 'a/+', '$events/client_disconnected' where qos = 1 group by deviceid(), topic(2) window sliding(1m, 10s);".replace(' d2', ' AS d2'),
  );
  assert.equal(r.select.length, 3);
  assert.deepEqual(r.from.map((f) => f.filter), ['a/+', '$events/client_disconnected']);
  assert.equal(r.groupBy.length, 2);
  assert.deepEqual(r.window, { kind: 'sliding', sizeMs: 60_000, stepMs: 10_000, pos: { line: 1, column: 139 } });
  assert.equal(
    printRule(r),
    `SELECT *, payload.t AS "T", deviceid() AS "d2" FROM 'a/+', '$events/client_disconnected' WHERE (qos = 1) GROUP BY deviceid(), topic(2) WINDOW SLIDING(60s, 10s)`,
  );
});

test('window kinds and duration units (ms, s, m, h, d)', () => {
  const w = (s: string) => parseRule(`SELECT count(*) FROM 'a' WINDOW ${s}`).window;
  assert.equal((w('TUMBLING(500ms)') as { sizeMs: number }).sizeMs, 500);
  assert.equal((w('TUMBLING(2h)') as { sizeMs: number }).sizeMs, 7_200_000);
  assert.equal((w('TUMBLING(1d)') as { sizeMs: number }).sizeMs, 86_400_000);
  assert.equal((w('tumbling(1.5s)') as { sizeMs: number }).sizeMs, 1500);
  assert.equal((w('COUNT(100)') as { count: number }).count, 100);
});

test('precedence: OR < AND < NOT < comparison < || < + - < * / % < unary minus', () => {
  assert.equal(p('a OR b AND NOT c = d'), '(a OR (b AND (NOT (c = d))))'.replace(/\b([abcd])\b/g, '$1'));
  assert.equal(p('1 + 2 * 3 - 4 / 5 % 6'), '((1 + (2 * 3)) - ((4 / 5) % 6))');
  assert.equal(p("'a' || 1 + 2 = 'a3'"), "(('a' || (1 + 2)) = 'a3')");
  assert.equal(p('-payload.x * 2'), '((-payload.x) * 2)');
  assert.equal(p('- 5'), '(-5)');
  assert.equal(p('(1 + 2) * 3'), '((1 + 2) * 3)');
  assert.equal(p('NOT a AND b'), '((NOT a) AND b)');
});

test('predicates: IS [NOT] NULL, [NOT] IN, [NOT] LIKE, [NOT] BETWEEN … AND …', () => {
  assert.equal(p('payload.a IS NOT NULL AND payload.b IS NULL'), '((payload.a IS NOT NULL) AND (payload.b IS NULL))');
  assert.equal(p("topic(1) NOT IN ('a', 'b')"), "(topic(1) NOT IN ('a', 'b'))");
  assert.equal(p("payload.s NOT LIKE 'x%' OR payload.s LIKE '_y'"), "((payload.s NOT LIKE 'x%') OR (payload.s LIKE '_y'))");
  // The AND of BETWEEN binds to BETWEEN, the next AND is boolean.
  assert.equal(p('payload.t BETWEEN 1 AND 2 AND qos = 0'), '((payload.t BETWEEN 1 AND 2) AND (qos = 0))');
  assert.equal(p('payload.t NOT BETWEEN 1 + 1 AND 3'), '(payload.t NOT BETWEEN (1 + 1) AND 3)');
});

test('CASE: searched and simple forms, optional ELSE', () => {
  assert.equal(p("CASE WHEN payload.t > 1 THEN 'hi' WHEN payload.t < 0 THEN 'lo' ELSE 'ok' END"), "CASE WHEN (payload.t > 1) THEN 'hi' WHEN (payload.t < 0) THEN 'lo' ELSE 'ok' END");
  assert.equal(p("case payload.s when 1 then 'one' end"), "CASE payload.s WHEN 1 THEN 'one' END");
});

test("paths: .name, [index], .'odd key', [\"odd key\"], ['key'], keywords as names, device and twin roots", () => {
  assert.equal(p('payload.readings[0].v'), 'payload.readings[0].v');
  assert.equal(p("payload.'odd key'"), "payload.'odd key'");
  assert.equal(p('payload["odd key"]'), "payload.'odd key'");
  assert.equal(p("payload['k']"), "payload['k']");
  assert.equal(p('payload.from.select'), 'payload.from.select');
  assert.equal(p("device.tags['site']"), "device.tags['site']");
  assert.equal(p('twin.reported.fw'), 'twin.reported.fw');
  assert.equal(p('PAYLOAD.X'), 'payload.X');
});

test('calls: count(*), no-argument calls, bare EMQX names, names lower-cased', () => {
  assert.equal(p('COUNT(*)'), 'count(*)');
  assert.equal(p('clientid()'), 'clientid()');
  assert.equal(p('topic'), 'topic');
  assert.equal(p('Concat(1, 2, 3)'), 'concat(1, 2, 3)');
});

test('literals: numbers, strings with quotes, TRUE/FALSE/NULL in any case', () => {
  assert.equal(p("'it''s'"), "'it''s'");
  assert.equal(p('True'), 'TRUE');
  assert.equal(p('null'), 'NULL');
  assert.equal(p('1e3'), '1000');
});

test('syntax errors point at the offending token (line, column)', () => {
  assert.deepEqual(syntaxError('SELEC x'), [1, 1, "expected SELECT, found 'SELEC'"]);
  assert.deepEqual(syntaxError("SELECT payload.x\nFROM a"), [2, 6, "expected a topic filter in single quotes, found 'a'"]);
  assert.deepEqual(syntaxError("SELECT x FROM 'a' WHERE"), [1, 24, 'expected an expression, found end of rule']);
  assert.deepEqual(syntaxError("SELECT (1 + 2 FROM 'a'"), [1, 15, "expected ')', found 'FROM'"]);
  assert.deepEqual(syntaxError("SELECT 1 FROM 'a' GROUP BY qos"), [1, 31, 'GROUP BY needs a WINDOW clause, found end of rule']);
  assert.deepEqual(syntaxError("SELECT 1 < 2 < 3 FROM 'a'"), [1, 14, 'comparisons do not chain: use AND (a < b AND b < c)']);
  assert.deepEqual(syntaxError("SELECT 1 FROM 'a' extra"), [1, 19, "unexpected 'extra'"]);
  assert.deepEqual(syntaxError("SELECT payload.) FROM 'a'"), [1, 16, "expected a field name after '.', found ')'"]);
  assert.deepEqual(syntaxError("SELECT CASE END FROM 'a'"), [1, 13, 'expected an expression, found keyword END']);
  assert.deepEqual(syntaxError("SELECT CASE WHEN 1 THEN 2 FROM 'a'"), [1, 27, "expected END, found 'FROM'"]);
  assert.deepEqual(syntaxError("SELECT 5s FROM 'a'"), [1, 8, "unexpected 's' after the number 5"]);
  assert.deepEqual(syntaxError("SELECT 1e999 FROM 'a'"), [1, 8, 'the number 1e999 is out of range']);
  assert.deepEqual(syntaxError("SELECT \"x\" FROM 'a'"), [1, 8, `"x" is a quoted name: write payload."x" for a payload field or 'x' for a string`]);
  assert.deepEqual(syntaxError("SELECT x AS FROM 'a'"), [1, 13, "expected an alias after AS, found 'FROM'"]);
  assert.deepEqual(syntaxError("SELECT x FROM 'a' WHERE x IS 1"), [1, 30, "expected NULL, found '1'"]);
});

test('WINDOW errors: unknown kind, missing or unknown unit, bounds, SLIDING shape', () => {
  // at: the text of the token the error must point at (its first occurrence after WINDOW).
  const e = (w: string, at: string, message: string) => {
    const src = `SELECT count(*) FROM 'a' WINDOW ${w}`;
    assert.deepEqual(syntaxError(src), [1, src.indexOf(at, 32) + 1, message], w);
  };
  e('HOPPING(1s)', 'HOPPING', "unknown window 'HOPPING': expected TUMBLING, SLIDING or COUNT");
  e('TUMBLING(60)', '60', 'a duration needs a unit (ms, s, m, h, d): 60s?');
  e('TUMBLING(60y)', '60y', "unknown duration unit 'y' (ms, s, m, h, d)");
  const range = 'a window duration is a whole number of milliseconds from 1ms to 30d';
  e('TUMBLING(0s)', '0s', range);
  e('TUMBLING(31d)', '31d', range);
  e('TUMBLING(0.5ms)', '0.5ms', range);
  e('SLIDING(10s, 20s)', '20s', 'the SLIDING step must not exceed the window size');
  e('SLIDING(10s, 3s)', '10s', 'the SLIDING size must be a multiple of the step');
  e('SLIDING(1h, 1s)', '1s', 'a SLIDING window holds at most 1000 steps (size/step)');
  const count = 'COUNT needs a whole number of messages from 1 to 1000000';
  e('COUNT(0)', '0', count);
  e('COUNT(1.5)', '1.5', count);
  e('COUNT(10s)', '10s', count);
  e('COUNT(2000000)', '2000000', count);
  assert.deepEqual(syntaxError("SELECT count(*) FROM 'a' WINDOW TUMBLING(1s"), [1, 44, "expected ')', found end of rule"]);
});
