// Evaluation of the PromQL subset over a stand-in store: Prometheus 3 window semantics, the
// 5-minute lookback, rate's extrapolation and counter resets, labels from the registry, and the
// value strings of the HTTP API.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareLabels, formatPromValue, labelsOf, PromReader, rangeValue, type PromSource } from './prom-eval.js';
import { parsePromQL } from './promql.js';
import type { Point, QuerySpec, SeriesResult } from './query.js';

/** Series held in memory, answering query() as the telemetry service does (from ≤ ts ≤ to). */
function source(data: Record<string, Record<string, Point[]>>): PromSource & { queries: QuerySpec[]; listed: Array<string | undefined> } {
  const queries: QuerySpec[] = [];
  const listed: Array<string | undefined> = [];
  return {
    queries,
    listed,
    catalog: (device?: string) => {
      listed.push(device);
      return Object.entries(data)
        .filter(([d]) => device === undefined || d === device)
        .flatMap(([d, ms]) => Object.keys(ms).map((metric) => ({ device: d, metric })));
    },
    query(q: QuerySpec): AsyncIterable<SeriesResult> {
      queries.push(q);
      const out: SeriesResult[] = [];
      for (const device of q.devices ?? Object.keys(data)) {
        for (const metric of q.metrics ?? Object.keys(data[device] ?? {})) {
          const pts = data[device]?.[metric];
          if (pts === undefined) continue;
          const sel = pts.filter(([t]) => t >= q.from && t <= q.to);
          out.push({ device, metric, kind: 'float', pages: async function* () { yield sel; } });
        }
      }
      return (async function* () { yield* out; })();
    },
  };
}

const S = 1000;
const M = 60 * S;

describe('Prometheus value and label formats', () => {
  test('values are Go FormatFloat(v, \'f\', -1, 64): no exponent, +Inf/-Inf/NaN', () => {
    assert.equal(formatPromValue(21.5), '21.5');
    assert.equal(formatPromValue(1e21), '1000000000000000000000');
    assert.equal(formatPromValue(1.5e-7), '0.00000015');
    assert.equal(formatPromValue(-2.5e22), '-25000000000000000000000');
    assert.equal(formatPromValue(Infinity), '+Inf');
    assert.equal(formatPromValue(-Infinity), '-Inf');
    assert.equal(formatPromValue(NaN), 'NaN');
    assert.equal(formatPromValue(-0), '-0');
    assert.equal(formatPromValue(0.1 + 0.2), '0.30000000000000004');
  });

  test('labels: __name__, device, then type, group and tags; a tag never replaces those', () => {
    assert.deepEqual(labelsOf('d1', 'temp', { type: 'meter', group: 'g', tags: { site: 'paris', device: 'evil', __name__: 'x', empty: '' } }), {
      __name__: 'temp',
      device: 'd1',
      type: 'meter',
      group: 'g',
      site: 'paris',
    });
    assert.deepEqual(labelsOf('d1', 'temp', undefined), { __name__: 'temp', device: 'd1' });
  });

  test('label sets order as Prometheus labels.Compare', () => {
    assert.ok(compareLabels({ a: '1' }, { a: '2' }) < 0);
    assert.ok(compareLabels({ a: '1' }, { a: '1', b: '0' }) < 0);
    assert.ok(compareLabels({ b: '1' }, { a: '9', c: '1' }) > 0);
  });
});

describe('range functions', () => {
  const ts = [10 * S, 20 * S, 30 * S, 40 * S];
  test('avg, sum, min, max, count, last over a window', () => {
    const vs = [1, 5, 3, 2];
    assert.equal(rangeValue('avg_over_time', ts, vs, 0, 3, 40 * S, M), 2.75);
    assert.equal(rangeValue('sum_over_time', ts, vs, 1, 2, 40 * S, M), 8);
    assert.equal(rangeValue('min_over_time', ts, vs, 0, 3, 40 * S, M), 1);
    assert.equal(rangeValue('max_over_time', ts, vs, 0, 3, 40 * S, M), 5);
    assert.equal(rangeValue('count_over_time', ts, vs, 1, 3, 40 * S, M), 3);
    assert.equal(rangeValue('last_over_time', ts, vs, 0, 3, 40 * S, M), 2);
  });

  test('max/min_over_time ignore NaN unless every sample is NaN (Prometheus funcMaxOverTime)', () => {
    assert.equal(rangeValue('max_over_time', ts, [NaN, 1, NaN, 0], 0, 3, 40 * S, M), 1);
    assert.ok(Number.isNaN(rangeValue('min_over_time', ts, [NaN, NaN, NaN, NaN], 0, 3, 40 * S, M)!));
  });

  test('sum_over_time compensates rounding (Kahan): 0.1 ten times is 1', () => {
    const t10 = Array.from({ length: 10 }, (_, i) => i * S);
    assert.equal(rangeValue('sum_over_time', t10, new Array(10).fill(0.1), 0, 9, 10 * S, M), 1);
  });

  test('rate: a counter rising 1/s sampled every 15 s gives 1 (extrapolated to the window start)', () => {
    const t = [15, 30, 45, 60].map((x) => x * S);
    assert.equal(rangeValue('rate', t, [15, 30, 45, 60], 0, 3, 60 * S, M), 1);
  });

  test('rate: a counter reset (a drop) counts the previous value as reached before the restart', () => {
    // 10 → 20, reset to 5 → 15: increase 10 + 20 − 0 + ... = (15 − 10) + 20 = 25 over 45 s sampled
    const t = [15, 30, 45, 60].map((x) => x * S);
    const r = rangeValue('rate', t, [10, 20, 5, 15], 0, 3, 60 * S, M)!;
    // toStart 15 s < 1.1·15 s; toZero = 45·10/25 = 18 s is not smaller: interval 60 s.
    assert.equal(r, (25 * (60 / 45)) / 60);
  });

  test('rate: samples far from the window edges extrapolate by half an interval only; one sample gives nothing', () => {
    const t = [100, 110, 120].map((x) => x * S);
    // window (0, 300]: toStart 100 s and toEnd 180 s exceed 1.1·10 s → 5 s each: interval 30 s.
    assert.equal(rangeValue('rate', t, [50, 60, 70], 0, 2, 300 * S, 300 * S), (20 * (30 / 20)) / 300);
    assert.equal(rangeValue('rate', [1 * S], [5], 0, 0, 60 * S, M), undefined);
  });
});

describe('PromReader', () => {
  const data = {
    d1: { temp: [[0, 10], [30 * S, 20], [60 * S, 30], [90 * S, 40]] as Point[], on: [[0, true], [60 * S, false]] as Point[] },
    d2: { temp: [[0, 1]] as Point[] },
  };
  const labels = async (d: string) => (d === 'd1' ? { type: 'meter', tags: { site: 'paris' } } : { type: 'probe' });

  test('range query of a range function: windows (t − w, t] are left-open (Prometheus 3), __name__ dropped', async () => {
    const r = new PromReader(source(data), labels);
    const res = await r.range(parsePromQL('avg_over_time(temp{device="d1"}[1m])'), 60 * S, 120 * S, 30 * S);
    assert.equal(res.resultType, 'matrix');
    // t=60: (0, 60] → 20, 30 → 25; t=90: (30, 90] → 30, 40 → 35; t=120: (60, 120] → 40
    assert.deepEqual(res.result, [{ metric: { device: 'd1', type: 'meter', site: 'paris' }, values: [[60, '25'], [90, '35'], [120, '40']] }]);
  });

  test('last_over_time keeps the metric name, as Prometheus does', async () => {
    const r = new PromReader(source(data), labels);
    const res = await r.range(parsePromQL('last_over_time(temp{device="d1"}[1m])'), 60 * S, 60 * S, S);
    assert.deepEqual(res.result, [{ metric: { __name__: 'temp', device: 'd1', type: 'meter', site: 'paris' }, values: [[60, '30']] }]);
  });

  test('an instant selector takes the newest sample within the 5-minute lookback, none beyond it', async () => {
    const r = new PromReader(source(data), labels);
    const at100 = await r.instant(parsePromQL('temp'), 100 * S);
    assert.deepEqual(at100, {
      resultType: 'vector',
      result: [
        { metric: { __name__: 'temp', device: 'd1', type: 'meter', site: 'paris' }, value: [100, '40'] },
        { metric: { __name__: 'temp', device: 'd2', type: 'probe' }, value: [100, '1'] },
      ],
    });
    // d2's only sample (t=0) is exactly 5 m before t=300 s: outside the left-open lookback.
    const at300 = await r.instant(parsePromQL('temp'), 300 * S);
    assert.deepEqual(at300.result.map((x) => (x as { metric: Record<string, string> }).metric.device), ['d1']);
  });

  test('matchers on registry labels select series; booleans read as 1 and 0', async () => {
    const r = new PromReader(source(data), labels);
    const res = await r.instant(parsePromQL('{type="meter", __name__=~"o.*"}'), 60 * S);
    assert.deepEqual(res.result, [{ metric: { __name__: 'on', device: 'd1', type: 'meter', site: 'paris' }, value: [60, '0'] }]);
    const none = await r.instant(parsePromQL('temp{site="lyon"}'), 60 * S);
    assert.deepEqual(none.result, []);
  });

  test('a selector naming one device (device="…") lists only that device\'s series; a regex on device lists all', async () => {
    const src = source(data);
    const r = new PromReader(src, labels);
    const one = await r.instant(parsePromQL('temp{device="d2"}'), 60 * S);
    assert.deepEqual(one.result, [{ metric: { __name__: 'temp', device: 'd2', type: 'probe' }, value: [60, '1'] }]);
    const re = await r.instant(parsePromQL('temp{device=~"d.*"}'), 60 * S);
    assert.deepEqual(re.result.map((x) => (x as { metric: Record<string, string> }).metric.device), ['d1', 'd2']);
    assert.deepEqual(src.listed, ['d2', undefined]);
  });

  test('an instant range vector is the raw samples of (t − w, t]; a range query of one is refused', async () => {
    const r = new PromReader(source(data), labels);
    const res = await r.instant(parsePromQL('temp{device="d1"}[1m]'), 90 * S);
    assert.deepEqual(res, { resultType: 'matrix', result: [{ metric: { __name__: 'temp', device: 'd1', type: 'meter', site: 'paris' }, values: [[60, '30'], [90, '40']] }] });
    await assert.rejects(r.range(parsePromQL('temp[1m]'), 0, 60 * S, S), /invalid expression type "range vector" for range query/);
  });

  test('a number is a scalar for an instant query and a label-less series for a range query', async () => {
    const r = new PromReader(source(data));
    assert.deepEqual(await r.instant(parsePromQL('1+1'), 1500), { resultType: 'scalar', result: [1.5, '2'] });
    assert.deepEqual(await r.range(parsePromQL('3'), 0, 2 * S, S), { resultType: 'matrix', result: [{ metric: {}, values: [[0, '3'], [1, '3'], [2, '3']] }] });
  });

  test('an equality on __name__ and device reads only that series; label names and values', async () => {
    const src = source(data);
    const r = new PromReader(src, labels);
    await r.range(parsePromQL('rate(temp{device="d2"}[5m])'), 0, 60 * S, 15 * S);
    assert.deepEqual(src.queries.map((q) => [q.devices, q.metrics]), [[['d2'], ['temp']]]);
    assert.deepEqual(await r.labelNames(undefined), ['__name__', 'device', 'site', 'type']);
    assert.deepEqual(await r.labelValues('__name__', undefined), ['on', 'temp']);
    assert.deepEqual(await r.labelValues('device', [[{ name: 'type', op: '=', value: 'probe' }]]), ['d2']);
    const series = await r.selectAll([[{ name: '__name__', op: '=', value: 'temp' }], [{ name: 'device', op: '=', value: 'd1' }]]);
    assert.deepEqual(series.map((s) => `${s.device}/${s.metric}`), ['d1/on', 'd1/temp', 'd2/temp']);
  });
});
