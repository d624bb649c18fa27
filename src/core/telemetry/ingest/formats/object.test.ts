import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_DEPTH, MAX_METRIC_LENGTH, readObject } from './object.js';
import type { ObjectOptions } from './object.js';
import type { Sink, TelemetryPoint } from '../types.js';

const NOW = 1_700_000_000_000;

function sink(ignoreStrings = false): Sink {
  return { device: 'd1', topic: 'devices/d1/telemetry', receivedAt: NOW, ignoreStrings, points: [], deadLetters: [] };
}

const OPTS: ObjectOptions = { timestampField: 'ts', timestampUnit: 'ms', prefix: '' };

function metrics(s: Sink): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const p of s.points) out[p.metric] = p.value;
  return out;
}

test('numeric fields become points at the receive time when there is no ts', () => {
  const s = sink();
  readObject({ temp: 21.5, hum: 40 }, OPTS, false, s);
  assert.deepEqual(s.points, [
    { device: 'd1', metric: 'temp', ts: NOW, value: 21.5 },
    { device: 'd1', metric: 'hum', ts: NOW, value: 40 },
  ]);
  assert.deepEqual(s.deadLetters, []);
});

test('ts: epoch milliseconds or an ISO 8601 string is the time of every point, and not a metric', () => {
  const a = sink();
  readObject({ ts: 1714564800123, temp: 1 }, OPTS, false, a);
  assert.deepEqual(a.points, [{ device: 'd1', metric: 'temp', ts: 1714564800123, value: 1 }]);
  const b = sink();
  readObject({ temp: 1, ts: '2024-05-01T12:00:00.123Z' }, OPTS, false, b);
  assert.deepEqual(b.points, [{ device: 'd1', metric: 'temp', ts: 1714564800123, value: 1 }]);
  const c = sink();
  readObject({ ts: null, temp: 1 }, OPTS, false, c);
  assert.equal(c.points[0]!.ts, NOW, 'a null ts is no ts');
});

test('a bad ts dead-letters the whole message, with the reason', () => {
  for (const ts of ['yesterday', '2024-05-01T12:00:00', -5, true, { s: 1 }, [1]]) {
    const s = sink();
    readObject({ ts, temp: 1, hum: 2 }, OPTS, false, s);
    assert.deepEqual(s.points, [], JSON.stringify(ts));
    assert.equal(s.deadLetters.length, 1);
    assert.equal(s.deadLetters[0]!.field, 'ts');
    assert.match(s.deadLetters[0]!.reason, /bad timestamp field 'ts', message not ingested: /);
  }
});

test('timestampField and timestampUnit options; a required ts that is missing dead-letters the message', () => {
  const s = sink();
  readObject({ time: 1714564800, temp: 1, ts: 5 }, { timestampField: 'time', timestampUnit: 's', prefix: '' }, true, s);
  assert.deepEqual(s.points, [
    { device: 'd1', metric: 'temp', ts: 1714564800000, value: 1 },
    { device: 'd1', metric: 'ts', ts: 1714564800000, value: 5 },
  ]);
  const m = sink();
  readObject({ temp: 1 }, OPTS, true, m);
  assert.deepEqual(m.points, []);
  assert.match(m.deadLetters[0]!.reason, /missing timestamp field 'ts'/);
});

test('nested objects flatten to dotted names; arrays take the index as a level', () => {
  const s = sink();
  readObject({ gps: { lat: 60.1, lon: 24.9, fix: { sats: 7 } }, readings: [1, 2, [3]], objs: [{ a: 1 }] }, OPTS, false, s);
  assert.deepEqual(metrics(s), { 'gps.lat': 60.1, 'gps.lon': 24.9, 'gps.fix.sats': 7, 'readings.0': 1, 'readings.1': 2, 'readings.2.0': 3, 'objs.0.a': 1 });
});

test('booleans become series with true/false values; null is skipped', () => {
  const s = sink();
  readObject({ door: true, alarm: false, gone: null, nested: { x: null } }, OPTS, false, s);
  assert.deepEqual(metrics(s), { door: true, alarm: false });
  assert.deepEqual(s.deadLetters, []);
});

test('strings are dead letters naming the field, and the numbers beside them are kept', () => {
  const s = sink();
  readObject({ temp: 20, status: 'ok', nested: { label: 'x', v: 1 } }, OPTS, false, s);
  assert.deepEqual(metrics(s), { temp: 20, 'nested.v': 1 });
  assert.deepEqual(
    s.deadLetters.map((d) => [d.field, d.device, d.topic]),
    [
      ['status', 'd1', 'devices/d1/telemetry'],
      ['nested.label', 'd1', 'devices/d1/telemetry'],
    ],
  );
  assert.match(s.deadLetters[0]!.reason, /string value/);
});

test("strings: 'ignore' skips them silently", () => {
  const s = sink(true);
  readObject({ temp: 20, status: 'ok' }, OPTS, false, s);
  assert.deepEqual(metrics(s), { temp: 20 });
  assert.deepEqual(s.deadLetters, []);
});

test('the prefix (metricPrefix + topic rest) is prepended to every metric', () => {
  const s = sink();
  readObject({ t: 1, g: { x: 2 } }, { ...OPTS, prefix: 'env.room1.' }, false, s);
  assert.deepEqual(metrics(s), { 'env.room1.t': 1, 'env.room1.g.x': 2 });
});

test('decoded CBOR values: NaN and ±Infinity kept, bigints as the nearest float64, bytes are strings, Dates and Sets unsupported', () => {
  const s = sink();
  readObject({ nan: NaN, inf: Infinity, ninf: -Infinity, negz: -0, big: 2n ** 64n, bytes: new Uint8Array([1]), when: new Date(0), set: new Set([1]), undef: undefined }, OPTS, false, s);
  const m = metrics(s);
  assert.ok(Number.isNaN(m.nan));
  assert.equal(m.inf, Infinity);
  assert.equal(m.ninf, -Infinity);
  assert.ok(Object.is(m.negz, -0));
  assert.equal(m.big, 18446744073709551616);
  assert.deepEqual(
    s.deadLetters.map((d) => [d.field, d.reason]),
    [
      ['bytes', 'byte string value: only numbers and booleans are metrics'],
      ['when', 'unsupported value (a Date)'],
      ['set', 'unsupported value (a Set)'],
    ],
  );
});

test('a Map (CBOR tag 259) reads like an object, including its ts; non-text keys are dead letters', () => {
  const s = sink();
  readObject(new Map<unknown, unknown>([['ts', 1000], ['a', 1], [2, 3], [[1], 4], ['m', new Map([['x', 5]])]]), OPTS, false, s);
  assert.deepEqual(
    s.points.map((p: TelemetryPoint) => [p.metric, p.value, p.ts]),
    [
      ['a', 1, 1000],
      ['2', 3, 1000],
      ['m.x', 5, 1000],
    ],
  );
  assert.equal(s.deadLetters.length, 1);
  assert.match(s.deadLetters[0]!.reason, /map key is an array/);
});

test('bad names: empty, too long; too deep nesting; each is its own dead letter', () => {
  const deep: Record<string, unknown> = { v: 1 };
  let cur = deep;
  for (let i = 0; i < MAX_DEPTH + 5; i++) {
    const next: Record<string, unknown> = { v: i };
    cur.n = next;
    cur = next;
  }
  const s = sink();
  readObject({ '': 1, ['x'.repeat(MAX_METRIC_LENGTH + 1)]: 2, ['y'.repeat(MAX_METRIC_LENGTH)]: 3, deep }, OPTS, false, s);
  const reasons = s.deadLetters.map((d) => d.reason);
  assert.deepEqual(reasons, ['empty metric name', `metric name longer than ${MAX_METRIC_LENGTH} characters`, `nested deeper than ${MAX_DEPTH} levels`]);
  assert.ok(s.points.some((p) => p.metric === 'y'.repeat(MAX_METRIC_LENGTH)));
  // Every level above the limit is kept: deep.v, deep.n.v, ... down to depth MAX_DEPTH.
  assert.equal(s.points.filter((p) => p.metric.startsWith('deep.')).length, MAX_DEPTH);
});

test('a field named like an Object.prototype member is an ordinary metric', () => {
  const s = sink();
  readObject(JSON.parse('{"__proto__": 1, "constructor": 2, "toString": {"x": 3}, "hasOwnProperty": 4}') as object, OPTS, false, s);
  assert.deepEqual(
    s.points.map((p) => [p.metric, p.value]),
    [
      ['__proto__', 1],
      ['constructor', 2],
      ['toString.x', 3],
      ['hasOwnProperty', 4],
    ],
  );
  const t = sink();
  readObject({ temp: 1 }, { ...OPTS, timestampField: 'constructor' }, false, t);
  assert.equal(t.points[0]!.ts, NOW, 'an inherited member is not a timestamp field');
});

// Nested objects of numbers with keys free of '.', so that unflattening is unambiguous.
const nested: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  obj: fc.dictionary(
    fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/).filter((k) => k !== 'ts' && k !== '__proto__'),
    fc.oneof({ depthSize: 'small' }, fc.double({ noNaN: true }), fc.integer(), tie('obj')),
    { minKeys: 1, maxKeys: 5, noNullPrototype: true },
  ),
})).obj as fc.Arbitrary<Record<string, unknown>>;

function unflatten(points: TelemetryPoint[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of points) {
    const parts = p.metric.split('.');
    let cur = root;
    for (const part of parts.slice(0, -1)) cur = (cur[part] ??= {}) as Record<string, unknown>;
    cur[parts[parts.length - 1]!] = p.value;
  }
  return root;
}

test('flattening round trip: unflattening the points gives the nested numeric object back (property)', () => {
  fc.assert(
    fc.property(nested, (obj) => {
      const s = sink();
      readObject(obj, OPTS, false, s);
      assert.deepEqual(s.deadLetters, []);
      assert.deepEqual(unflatten(s.points), obj);
      for (const p of s.points) assert.equal(p.ts, NOW);
    }),
    { numRuns: 300 },
  );
});
