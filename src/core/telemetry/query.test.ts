// Aggregates read from the 1-minute and 1-hour rollups equal the same aggregates computed from
// the raw points (issue 5: rollups maintained as data arrives, long-range queries read them),
// before and after a restart and a checkpoint that evicts buckets from memory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemorySeriesStore } from '../../adapters/memory/series-store.js';
import { silentLogger } from '../../obs/log.js';
import { SeriesEngine } from './engine.js';
import { Errors, type TwinhubError } from '../../common/errors.js';
import { checkQuery, listSeries, MAX_QUERY_SERIES, querySeries, rollupFor, selectSeries, type Point, type QuerySpec } from './query.js';

const log = silentLogger();
const BASE = Date.UTC(2026, 0, 1);

async function points(engine: SeriesEngine, q: QuerySpec): Promise<Point[]> {
  const s = engine.get('d', 'm')!;
  const out: Point[] = [];
  for await (const page of querySeries(engine, s, q).pages()) out.push(...page);
  return out;
}

/** The aggregate computed by hand from raw points. */
function expected(raw: Point[], step: number, agg: string): Point[] {
  const groups = new Map<number, number[]>();
  for (const [ts, v] of raw) {
    const k = Math.floor(ts / step) * step;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(v as number);
  }
  return [...groups].map(([k, vs]): Point => {
    switch (agg) {
      case 'sum':
        return [k, vs.reduce((a, b) => a + b, 0)];
      case 'count':
        return [k, vs.length];
      case 'min':
        return [k, Math.min(...vs)];
      case 'max':
        return [k, Math.max(...vs)];
      case 'first':
        return [k, vs[0]!];
      case 'last':
        return [k, vs[vs.length - 1]!];
      default:
        return [k, vs.reduce((a, b) => a + b, 0) / vs.length];
    }
  });
}

describe('telemetry queries', () => {
  it('rollup aggregates (1m, 1h) equal the raw aggregates, before and after a restart', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 7_200_000 }), v: fc.integer({ min: -1000, max: 1000 }) }), { minLength: 1, maxLength: 80 }),
        fc.constantFrom(60_000, 300_000, 3_600_000, 7_200_000),
        fc.constantFrom('avg', 'min', 'max', 'sum', 'count', 'first', 'last'),
        async (pts, step, agg) => {
          const store = new MemorySeriesStore();
          // A late window of 5 minutes: older rollup buckets are evicted from memory at checkpoints.
          const opts = { chunkMaxPoints: 7, lateWindowMs: 300_000, checkpointIntervalMs: 1e9 };
          let engine = await SeriesEngine.open(store, log, opts);
          const sorted = pts.map((p) => ({ ts: BASE + p.dt, v: p.v })).sort((a, b) => a.ts - b.ts);
          // In order (one point per distinct timestamp, so first/last are unambiguous).
          const seen = new Set<number>();
          for (const p of sorted) if (!seen.has(p.ts)) {
            seen.add(p.ts);
            engine.append([{ device: 'd', metric: 'm', ts: p.ts, value: p.v }]);
          }
          await engine.sync(true);
          const q: QuerySpec = { from: BASE, to: BASE + 7_300_000, step, agg: agg as QuerySpec['agg'] };
          assert.ok(rollupFor(step, q.agg!) !== undefined);
          const raw = await points(engine, { from: q.from, to: q.to });
          const want = expected(raw, step, agg);
          assert.deepEqual(await points(engine, q), want);
          await engine.close();
          engine = await SeriesEngine.open(store.reopen(), log, opts);
          assert.deepEqual(await points(engine, q), want, 'after a restart');
          await engine.close();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('percentiles are nearest-rank over raw points', async () => {
    const engine = await SeriesEngine.open(new MemorySeriesStore(), log);
    engine.append(Array.from({ length: 100 }, (_, i) => ({ device: 'd', metric: 'm', ts: BASE + i * 1000, value: 100 - i })));
    const at = async (agg: 'p50' | 'p90' | 'p99') => (await points(engine, { from: BASE, to: BASE + 99_000, step: 3_600_000, agg }))[0]![1];
    assert.equal(await at('p50'), 50);
    assert.equal(await at('p90'), 90);
    assert.equal(await at('p99'), 99);
    await engine.close();
  });

  it('the series listing (Prometheus label source) is not held to the query limit of MAX_QUERY_SERIES series; one device lists its own', async () => {
    const engine = await SeriesEngine.open(new MemorySeriesStore(), log);
    // 10 metrics per device, one series more than a query may select.
    const n = MAX_QUERY_SERIES + 1;
    const metrics = Array.from({ length: 10 }, (_, m) => `m${m}`);
    engine.append(Array.from({ length: n }, (_, i) => ({ device: `d${Math.floor(i / 10)}`, metric: metrics[i % 10]!, ts: BASE, value: i })));
    assert.throws(() => selectSeries(engine, {}), (err: TwinhubError) => err.code === Errors.TELEMETRY_QUERY_INVALID.code);
    const all = listSeries(engine);
    assert.equal(all.length, n);
    assert.equal(new Set(all.map((s) => `${s.device}/${s.metric}`)).size, n);
    assert.deepEqual(listSeries(engine, 'd7').map((s) => s.metric).sort(), metrics);
    assert.deepEqual(listSeries(engine, 'no-such-device'), []);
    await engine.close();
  });

  it('refuses bad ranges, steps and an aggregation without a step (TH_TELEMETRY_QUERY_INVALID)', () => {
    for (const q of [
      { from: 10, to: 5 },
      { from: NaN, to: 5 },
      { from: 0, to: 5, step: 0 },
      { from: 0, to: 5, step: 1.5 },
      { from: 0, to: 5, agg: 'avg' as const },
      { from: 0, to: 1e13, step: 1 },
    ]) {
      assert.throws(() => checkQuery(q), (e: unknown) => (e as { code?: string }).code === 'TH_TELEMETRY_QUERY_INVALID', JSON.stringify(q));
    }
  });
});
