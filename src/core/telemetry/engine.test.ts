// The chunk engine's round trip: every accepted point comes back bit for bit (NaN payloads aside,
// which JS numbers passed as values do not promise to keep), whatever the order of arrival within
// the late window, across seals, late merges into sealed chunks, checkpoints, a clean restart and
// a crash (WAL replay). Issue 5 "Proof": property tests for every float (NaN, ±Inf, -0,
// subnormals), irregular gaps and out-of-order arrivals within the window.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemorySeriesStore } from '../../adapters/memory/series-store.js';
import { silentLogger } from '../../obs/log.js';
import { SeriesEngine, type PointInput } from './engine.js';

const log = silentLogger();

function bits(v: number): string {
  const f = new Float64Array([v]);
  const w = new Uint32Array(f.buffer);
  return Number.isNaN(v) ? 'NaN' : `${w[1]}:${w[0]}`;
}

type Row = [device: string, metric: string, ts: number, value: string];

async function readAll(engine: SeriesEngine): Promise<Row[]> {
  const rows: Row[] = [];
  for (const s of engine.allSeries()) {
    let prev = -Infinity;
    for await (const b of engine.readRaw(s, -(2 ** 52), 2 ** 52)) {
      for (let i = 0; i < b.timestamps.length; i++) {
        assert.ok(b.timestamps[i]! >= prev, 'points come back in time order');
        prev = b.timestamps[i]!;
        rows.push([s.device, s.metric, b.timestamps[i]!, s.kind === 'bool' ? String(b.values[i] === 1) : bits(b.values[i]!)]);
      }
    }
  }
  return rows.sort(cmpRow);
}

function cmpRow(a: Row, b: Row): number {
  return a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]) || a[2] - b[2] || (a[3] < b[3] ? -1 : a[3] > b[3] ? 1 : 0);
}

const value = fc.oneof(
  fc.double(),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 5e-324, -2.2250738585072014e-308, 21.5, 1013.25, 2 ** 53, -(2 ** 60)),
);

const scenario = fc.record({
  chunkMaxPoints: fc.integer({ min: 1, max: 12 }),
  lateWindowMs: fc.integer({ min: 0, max: 5000 }),
  // Batches (turns) of points: a device, a metric, a time offset that may go backwards, a value.
  turns: fc.array(
    fc.array(fc.record({ d: fc.integer({ min: 0, max: 2 }), m: fc.integer({ min: 0, max: 1 }), dt: fc.integer({ min: -3000, max: 10_000 }), v: value }), {
      minLength: 1,
      maxLength: 30,
    }),
    { minLength: 1, maxLength: 12 },
  ),
  syncEvery: fc.integer({ min: 1, max: 5 }),
  crash: fc.boolean(),
});

describe('SeriesEngine round trip (property)', () => {
  it('returns exactly the accepted points after seals, late merges, checkpoints and a restart or a crash', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        const store = new MemorySeriesStore();
        const opts = { chunkMaxPoints: sc.chunkMaxPoints, lateWindowMs: sc.lateWindowMs, chunkMaxSpanMs: 1e12, checkpointIntervalMs: 1e9 };
        const engine = await SeriesEngine.open(store, log, opts);
        const expected: Row[] = [];
        const maxTs = new Map<string, number>();
        const clock = new Map<string, number>();
        let turn = 0;
        for (const batch of sc.turns) {
          const pts: PointInput[] = [];
          for (const p of batch) {
            const key = `${p.d}/${p.m}`;
            const t = (clock.get(key) ?? 1_700_000_000_000) + p.dt;
            clock.set(key, Math.max(t, clock.get(key) ?? 0));
            pts.push({ device: `d${p.d}`, metric: `m${p.m}`, ts: t, value: p.v });
          }
          const r = engine.append(pts);
          const rejected = new Set(r.rejected.map((x) => x.index));
          pts.forEach((p, i) => {
            const key = `${p.device}/${p.metric}`;
            const late = p.ts < (maxTs.get(key) ?? -Infinity) - sc.lateWindowMs;
            assert.equal(rejected.has(i), late, `point ${i} rejected iff older than the window`);
            if (late) return;
            maxTs.set(key, Math.max(p.ts, maxTs.get(key) ?? -Infinity));
            expected.push([p.device, p.metric, p.ts, bits(p.value as number)]);
          });
          await r.durable;
          if (++turn % sc.syncEvery === 0) await engine.sync(turn % 2 === 0);
        }
        expected.sort(cmpRow);
        assert.deepEqual(await readAll(engine), expected, 'before restart');
        let reopened: SeriesEngine;
        if (sc.crash) {
          // No close: what is durable is what the WAL and earlier commits hold.
          reopened = await SeriesEngine.open(store.reopen(), log, opts);
        } else {
          await engine.close();
          reopened = await SeriesEngine.open(store.reopen(), log, opts);
        }
        assert.deepEqual(await readAll(reopened), expected, sc.crash ? 'after a crash' : 'after a restart');
        await reopened.sync(true);
        assert.deepEqual(await readAll(reopened), expected, 'after a checkpoint of the replayed state');
        const st = reopened.stats();
        assert.equal(st.points, expected.length);
        await reopened.close();
        if (sc.crash) await engine.close().catch(() => undefined);
      }),
      { numRuns: 150 },
    );
  });
});

describe('SeriesEngine', () => {
  it('rejects and counts points older than the late window, accepts those within it (issue 5: late points)', async () => {
    const engine = await SeriesEngine.open(new MemorySeriesStore(), log, { lateWindowMs: 1000, chunkMaxPoints: 2 });
    const r = engine.append([
      { device: 'a', metric: 't', ts: 10_000, value: 1 },
      { device: 'a', metric: 't', ts: 11_000, value: 2 },
      { device: 'a', metric: 't', ts: 12_000, value: 3 },
      { device: 'a', metric: 't', ts: 11_000, value: 4 }, // exactly at the window's edge: accepted
      { device: 'a', metric: 't', ts: 10_999, value: 5 }, // older than the window: rejected
    ]);
    assert.deepEqual(r.rejected, [{ index: 4, reason: 'late' }]);
    assert.equal(engine.counters.lateRejected, 1);
    await engine.close();
  });

  it('keeps booleans and integers exact and refuses a boolean in a numeric series (and back)', async () => {
    const store = new MemorySeriesStore();
    const engine = await SeriesEngine.open(store, log, { chunkMaxPoints: 2 });
    const r = engine.append([
      { device: 'a', metric: 'on', ts: 1, value: true },
      { device: 'a', metric: 'on', ts: 2, value: false },
      { device: 'a', metric: 'on', ts: 3, value: 1 },
      { device: 'a', metric: 'n', ts: 1, value: 2 ** 53 - 1 },
      { device: 'a', metric: 'n', ts: 2, value: true },
    ]);
    assert.deepEqual(r.rejected, [{ index: 2, reason: 'kind' }, { index: 4, reason: 'kind' }]);
    await engine.close();
    const again = await SeriesEngine.open(store.reopen(), log);
    assert.equal(again.get('a', 'on')!.kind, 'bool');
    assert.equal(again.get('a', 'n')!.kind, 'int');
    assert.deepEqual(await again.latest(again.get('a', 'n')!), [1, 2 ** 53 - 1]);
    await again.close();
  });

  it('an int series widens to float when a fraction arrives, and keeps both kinds of chunk readable', async () => {
    const engine = await SeriesEngine.open(new MemorySeriesStore(), log, { chunkMaxPoints: 2 });
    engine.append([1, 2, 3].map((v, i) => ({ device: 'a', metric: 'x', ts: i, value: v })));
    engine.append([{ device: 'a', metric: 'x', ts: 5, value: 2.5 }]);
    assert.equal(engine.get('a', 'x')!.kind, 'float');
    await engine.sync();
    const all: number[] = [];
    for await (const b of engine.readRaw(engine.get('a', 'x')!, 0, 10)) all.push(...b.values);
    assert.deepEqual(all, [1, 2, 3, 2.5]);
    await engine.close();
  });

  it('deleteDevice removes its series from memory and the store, and they stay gone after a restart', async () => {
    const store = new MemorySeriesStore();
    const engine = await SeriesEngine.open(store, log, { chunkMaxPoints: 2 });
    await engine.append([1, 2, 3].map((v, i) => ({ device: 'gone', metric: 'x', ts: i, value: v }))).durable;
    await engine.append([{ device: 'kept', metric: 'x', ts: 1, value: 1 }]).durable;
    assert.equal(await engine.deleteDevice('gone'), 3 - 2);
    const crashed = await SeriesEngine.open(store.reopen(), log);
    assert.deepEqual([...crashed.devices()], ['kept'], 'the WAL does not bring deleted series back');
    await crashed.close();
    await engine.close();
  });

  it('retention deletes chunks that ended before now − retention', async () => {
    const store = new MemorySeriesStore();
    const now = Date.now();
    const engine = await SeriesEngine.open(store, log, { chunkMaxPoints: 2, retentionMs: 86_400_000, lateWindowMs: 1e12 });
    engine.append([0, 1, 2, 3].map((i) => ({ device: 'a', metric: 'x', ts: now - 3 * 86_400_000 + i, value: i })));
    engine.append([0, 1].map((i) => ({ device: 'a', metric: 'x', ts: now - 1000 + i, value: i })));
    await engine.retention();
    const s = engine.get('a', 'x')!;
    assert.equal(s.chunks.length, 1);
    assert.equal((await store.listChunks()).length, 1);
    await engine.close();
  });
});
