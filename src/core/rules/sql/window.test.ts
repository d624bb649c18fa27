import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Expr, RuleAst } from './ast.js';
import { compileRule, type WindowState } from './index.js';
import { evalExpr, type WindowScope } from './interpreter.js';
import type { RuleInput } from './input.js';
import { parseRule } from './parser.js';
import { printExpr } from './print.js';
import { makeInput } from './test-input.js';
import { toNum } from './values.js';

function windows(sql: string, maxKeys?: number): WindowState {
  const c = compileRule(sql);
  assert.ok(c.ok, c.ok ? '' : JSON.stringify(c.errors));
  assert.equal(c.rule.windowed, true);
  assert.equal(c.rule.evaluate(makeInput({})), undefined);
  return c.rule.createWindows(maxKeys === undefined ? undefined : { maxKeys });
}
const msg = (device: string, temp: unknown) => makeInput({ temp }, { deviceId: device, topic: `devices/${device}/telemetry` });

test('TUMBLING: windows aligned to the epoch close when a later message or tick passes their end; one row per key', () => {
  const w = windows(
    "SELECT deviceid() AS d, avg(payload.temp) AS t, count(*) AS n, min(payload.temp) AS lo, max(payload.temp) AS hi, window_start() AS ws, window_end() AS we FROM 'devices/+/telemetry' GROUP BY deviceid() WINDOW TUMBLING(60s)",
  );
  assert.deepEqual(w.add(msg('a', 20), 61_000), []);
  assert.deepEqual(w.add(msg('a', 30), 100_000), []);
  assert.deepEqual(w.add(msg('b', 5), 119_999), []);
  assert.equal(w.keys, 2);
  assert.ok(w.memoryBytes > 0);
  assert.equal(w.nextCloseAt, 120_000);
  assert.deepEqual(w.tick(119_999), []);
  const rows = w.add(msg('a', 40), 120_000);
  assert.deepEqual(rows, [
    { d: 'a', t: 25, n: 2, lo: 20, hi: 30, ws: 60_000, we: 120_000 },
    { d: 'b', t: 5, n: 1, lo: 5, hi: 5, ws: 60_000, we: 120_000 },
  ]);
  assert.equal(w.keys, 1);
  assert.deepEqual(w.tick(500_000), [{ d: 'a', t: 40, n: 1, lo: 40, hi: 40, ws: 120_000, we: 180_000 }]);
  assert.equal(w.keys, 0);
  assert.equal(w.memoryBytes, 0);
  assert.equal(w.nextCloseAt, null);
  assert.deepEqual(w.tick(1_000_000), [], 'empty windows emit nothing');
});

test('WHERE is applied before a message enters a window', () => {
  const w = windows("SELECT count(*) AS n FROM '#' WHERE payload.temp > 10 WINDOW TUMBLING(1s)");
  w.add(msg('a', 5), 0);
  w.add(msg('a', 50), 10);
  w.add(msg('a', null), 20);
  assert.deepEqual(w.tick(1000), [{ n: 1 }]);
});

test('aggregates: avg/sum/min/max over numeric values (numeric strings count), count(x) skips nulls, first/last non-null', () => {
  const w = windows(
    "SELECT avg(payload.temp) AS a, sum(payload.temp) AS s, min(payload.temp) AS lo, max(payload.temp) AS hi, count(payload.temp) AS c, count(*) AS n, first(payload.temp) AS f, last(payload.temp) AS l FROM '#' WINDOW COUNT(5)",
  );
  for (const t of [null, '4', 'x', 2]) assert.deepEqual(w.add(msg('a', t), 0), []);
  assert.deepEqual(w.add(msg('a', null), 0), [{ a: 3, s: 6, lo: 2, hi: 4, c: 3, n: 5, f: '4', l: 2 }]);
  const e = windows("SELECT avg(payload.temp) AS a, sum(payload.temp) AS s, min(payload.temp) AS lo, first(payload.temp) AS f, count(payload.temp) AS c FROM '#' WINDOW COUNT(1)");
  assert.deepEqual(e.add(msg('a', null), 0), [{ a: null, s: null, lo: null, f: null, c: 0 }]);
});

test('expressions over aggregates and GROUP BY values, several GROUP BY expressions', () => {
  const w = windows(
    "SELECT topic(2) AS d, upper(payload.kind) AS k, round(avg(payload.temp), 1) AS t, max(payload.temp) - min(payload.temp) AS spread, CASE WHEN count(*) > 2 THEN 'busy' ELSE 'quiet' END AS load FROM 'devices/+/telemetry' GROUP BY topic(2), upper(payload.kind) WINDOW TUMBLING(10s)",
  );
  const m = (d: string, kind: string, temp: number) => makeInput({ kind, temp }, { topic: `devices/${d}/telemetry` });
  w.add(m('a', 'x', 1), 0);
  w.add(m('a', 'X', 2.15), 1);
  w.add(m('a', 'x', 3), 2);
  w.add(m('a', 'y', 3), 3);
  assert.deepEqual(w.tick(10_000), [
    { d: 'a', k: 'X', t: 2.1, spread: 2, load: 'busy' },
    { d: 'a', k: 'Y', t: 3, spread: 0, load: 'quiet' },
  ]);
});

test('SLIDING: each message is in size/step windows; each closing window emits the keys it holds', () => {
  const w = windows("SELECT deviceid() AS d, sum(payload.temp) AS s, window_start() AS ws, window_end() AS we FROM '#' GROUP BY deviceid() WINDOW SLIDING(30s, 10s)");
  assert.deepEqual(w.add(msg('a', 1), 5_000), []);
  assert.deepEqual(w.add(msg('a', 2), 15_000), [{ d: 'a', s: 1, ws: -20_000, we: 10_000 }]);
  assert.deepEqual(w.add(msg('b', 4), 25_000), [{ d: 'a', s: 3, ws: -10_000, we: 20_000 }]);
  assert.equal(w.nextCloseAt, 30_000);
  assert.deepEqual(w.tick(30_000), [
    { d: 'a', s: 3, ws: 0, we: 30_000 },
    { d: 'b', s: 4, ws: 0, we: 30_000 },
  ]);
  assert.deepEqual(w.tick(100_000), [
    { d: 'a', s: 2, ws: 10_000, we: 40_000 },
    { d: 'b', s: 4, ws: 10_000, we: 40_000 },
    { d: 'b', s: 4, ws: 20_000, we: 50_000 },
  ]);
  assert.equal(w.keys, 0);
  assert.equal(w.memoryBytes, 0);
  assert.deepEqual(w.tick(10_000_000), []);
});

test('COUNT: a key closes with its n-th message; tick closes nothing; window_start/end are the first and last message times', () => {
  const w = windows("SELECT deviceid() AS d, avg(payload.temp) AS t, window_start() AS ws, window_end() AS we FROM '#' GROUP BY deviceid() WINDOW COUNT(3)");
  w.add(msg('a', 1), 100);
  w.add(msg('b', 9), 150);
  w.add(msg('a', 2), 200);
  assert.deepEqual(w.tick(1e12), []);
  assert.equal(w.nextCloseAt, null);
  assert.deepEqual(w.add(msg('a', 3), 300), [{ d: 'a', t: 2, ws: 100, we: 300 }]);
  assert.equal(w.keys, 1);
});

test('the number of keys is bounded: a message that would open one more key is dropped and counted', () => {
  const w = windows("SELECT deviceid() AS d, count(*) AS n FROM '#' GROUP BY deviceid() WINDOW TUMBLING(1s)", 2);
  w.add(msg('a', 1), 0);
  w.add(msg('b', 1), 0);
  w.add(msg('c', 1), 0);
  w.add(msg('a', 1), 0);
  assert.equal(w.keys, 2);
  assert.equal(w.dropped, 1);
  assert.deepEqual(w.tick(1000), [{ d: 'a', n: 2 }, { d: 'b', n: 1 }]);
  w.add(msg('c', 1), 1000);
  assert.equal(w.keys, 1);
});

test('memoryBytes grows with the keys held and returns to zero when windows close', () => {
  const w = windows("SELECT deviceid() AS d, avg(payload.temp) AS t FROM '#' GROUP BY deviceid() WINDOW SLIDING(1m, 10s)");
  for (let i = 0; i < 100; i++) w.add(msg('dev' + i, i), 1000);
  const one = w.memoryBytes;
  for (let i = 100; i < 1000; i++) w.add(msg('dev' + i, i), 1000);
  assert.ok(w.memoryBytes > 9 * one, `${w.memoryBytes} vs ${one}`);
  w.tick(10_000_000);
  assert.equal(w.memoryBytes, 0);
});

test('group keys keep types apart (1 and "1"), null is a key, objects group by value', () => {
  const w = windows("SELECT payload.k AS k, count(*) AS n FROM '#' GROUP BY payload.k WINDOW TUMBLING(1s)");
  for (const k of [1, '1', null, { a: 1 }, { a: 1 }, 1]) w.add(makeInput({ k }), 0);
  assert.deepEqual(w.tick(1000), [{ k: 1, n: 2 }, { k: '1', n: 1 }, { k: null, n: 1 }, { k: { a: 1 }, n: 2 }]);
});

// A naive reference for windows: keep every message, aggregate lists at the end, evaluate the
// SELECT with the interpreter (evalExpr with a WindowScope).
function naiveAggregate(call: Extract<Expr, { kind: 'call' }>, msgs: RuleInput[]): unknown {
  if (call.star) return msgs.length;
  const vals = msgs.map((m) => evalExpr(call.args[0]!, m));
  const nonNull = vals.filter((v) => v !== null);
  const nums = vals.map(toNum).filter((v): v is number => v !== null);
  switch (call.name) {
    case 'count':
      return nonNull.length;
    case 'sum':
      return nums.length === 0 ? null : nums.reduce((a, b) => a + b, 0);
    case 'avg':
      return nums.length === 0 ? null : nums.reduce((a, b) => a + b, 0) / nums.length;
    case 'min':
      return nums.length === 0 ? null : Math.min(...nums);
    case 'max':
      return nums.length === 0 ? null : Math.max(...nums);
    case 'first':
      return nonNull.length === 0 ? null : nonNull[0];
    default:
      return nonNull.length === 0 ? null : nonNull[nonNull.length - 1];
  }
}

function aggregatesOf(e: Expr, out: Extract<Expr, { kind: 'call' }>[]): void {
  if (e.kind === 'call' && ['avg', 'sum', 'count', 'first', 'last'].includes(e.name)) out.push(e);
  else if (e.kind === 'call' && (e.name === 'min' || e.name === 'max') && e.args.length === 1) out.push(e);
  else if (e.kind === 'call') e.args.forEach((a) => aggregatesOf(a, out));
  else if (e.kind === 'binary') {
    aggregatesOf(e.left, out);
    aggregatesOf(e.right, out);
  }
}

function naiveRows(ast: RuleAst, fields: readonly string[], msgs: RuleInput[], start: number, end: number): Record<string, unknown>[] {
  const groups = new Map<string, RuleInput[]>();
  for (const m of msgs) {
    const key = JSON.stringify(ast.groupBy.map((g) => evalExpr(g, m)));
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.values()].map((ms) => {
    const values = new Map<string, unknown>();
    ast.groupBy.forEach((g) => values.set(printExpr(g), evalExpr(g, ms[0]!)));
    const calls: Extract<Expr, { kind: 'call' }>[] = [];
    ast.select.forEach((s) => s.kind === 'expr' && aggregatesOf(s.expr, calls));
    for (const c of calls) values.set(printExpr(c), naiveAggregate(c, ms));
    const scope: WindowScope = { values, start, end };
    const row: Record<string, unknown> = {};
    ast.select.forEach((s, k) => s.kind === 'expr' && (row[fields[k]!] = evalExpr(s.expr, ms[0]!, scope)));
    return row;
  });
}

const SELECT = "SELECT deviceid() AS d, sum(payload.v) AS s, count(*) AS n, count(payload.v) AS c, min(payload.v) AS lo, max(payload.v) AS hi, first(payload.v) AS f, last(payload.v) AS l, avg(payload.v) * 2 AS a2, window_start() AS ws FROM '#' WHERE payload.v IS NULL OR payload.v <> 0";
const events = fc.array(
  fc.record({ device: fc.constantFrom('a', 'b', 'c'), v: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant(null), fc.constant('3')), dt: fc.integer({ min: 0, max: 4000 }) }),
  { maxLength: 40 },
);
const sortRows = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();

test('property: TUMBLING and SLIDING windows equal a naive recomputation over the kept messages', () => {
  for (const spec of ['TUMBLING(5s)', 'SLIDING(6s, 2s)', 'SLIDING(3s, 3s)']) {
    const sql = `${SELECT} GROUP BY deviceid() WINDOW ${spec}`;
    const ast = parseRule(sql);
    const c = compileRule(sql);
    assert.ok(c.ok);
    const win = ast.window!;
    const size = win.kind === 'count' ? 0 : win.sizeMs;
    const step = win.kind === 'sliding' ? win.stepMs : size;
    fc.assert(
      fc.property(events, (evs) => {
        const w = c.rule.createWindows();
        const got: Record<string, unknown>[] = [];
        const seen: { m: RuleInput; at: number }[] = [];
        let now = 1_000_000;
        for (const e of evs) {
          now += e.dt;
          const m = msg(e.device, e.v);
          got.push(...w.add(m, now));
          if (evalExpr(ast.where!, m) === true) seen.push({ m, at: now });
        }
        got.push(...w.tick(now + 10 * size));
        const want: Record<string, unknown>[] = [];
        if (seen.length > 0) {
          const firstEnd = Math.floor(seen[0]!.at / step) * step + step;
          for (let end = firstEnd; end - size <= now; end += step) {
            const inWin = seen.filter((s) => s.at >= end - size && s.at < end).map((s) => s.m);
            if (inWin.length > 0) want.push(...naiveRows(ast, c.rule.fields, inWin, end - size, end));
          }
        }
        assert.deepEqual(sortRows(got), sortRows(want), spec);
        assert.equal(w.keys, 0);
      }),
      { numRuns: 150 },
    );
  }
});

test('property: COUNT windows equal a naive recomputation over each key’s batches of n messages', () => {
  const sql = `${SELECT.replace(', window_start() AS ws', '')} GROUP BY deviceid() WINDOW COUNT(3)`;
  const ast = parseRule(sql);
  const c = compileRule(sql);
  assert.ok(c.ok);
  fc.assert(
    fc.property(events, (evs) => {
      const w = c.rule.createWindows();
      const got: Record<string, unknown>[] = [];
      const pending = new Map<string, RuleInput[]>();
      const want: Record<string, unknown>[] = [];
      for (const e of evs) {
        const m = msg(e.device, e.v);
        got.push(...w.add(m, 0));
        if (evalExpr(ast.where!, m) !== true) continue;
        const list = [...(pending.get(e.device) ?? []), m];
        if (list.length === 3) {
          want.push(...naiveRows(ast, c.rule.fields, list, 0, 0));
          pending.delete(e.device);
        } else pending.set(e.device, list);
      }
      assert.deepEqual(got, want);
      assert.equal(w.keys, pending.size);
    }),
    { numRuns: 200 },
  );
});
