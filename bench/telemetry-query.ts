// Telemetry query latency on the LMDB series store (issue 5): (1) one day of one series at
// 1-second resolution (86,400 points), raw and as 1-minute averages; (2) an aggregate over 1,000
// devices (one metric each, one hour at 10 s: 360,000 points), 5-minute averages (from the
// 1-minute rollups) and 5-minute p90 (raw points). The data is loaded through the engine (WAL,
// seals, rollups) and checkpointed first; each query runs BENCH_ROUNDS times, median reported.
// Prints one JSON line.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore } from '../src/adapters/lmdb/series-store.js';
import { SeriesEngine, type PointInput } from '../src/core/telemetry/engine.js';
import { querySeries, selectSeries, type QuerySpec } from '../src/core/telemetry/query.js';
import { silentLogger } from '../src/obs/log.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DAY = 86_400_000;
const BASE = Date.UTC(2026, 0, 1);

async function run(engine: SeriesEngine, q: QuerySpec): Promise<{ ms: number; points: number; series: number }> {
  const times: number[] = [];
  let points = 0;
  let series = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    points = 0;
    series = 0;
    for (const s of selectSeries(engine, q)) {
      series++;
      for await (const page of querySeries(engine, s, q).pages()) points += page.length;
    }
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: Number(times[times.length >> 1]!.toFixed(2)), points, series };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-bench-tq-'));
  const store = await openLmdbSeriesStore(dir, { fsync: false });
  const engine = await SeriesEngine.open(store, silentLogger(), { chunkMaxPoints: 120, lateWindowMs: 3_600_000, checkpointIntervalMs: 1e9, checkpointWalEntries: 1e9 });
  // One series, one day at 1 s: temperatures with one decimal.
  for (let t = 0; t < DAY; t += 1000 * 1000) {
    const batch: PointInput[] = [];
    for (let i = t; i < t + 1000 * 1000 && i < DAY; i += 1000) batch.push({ device: 'one', metric: 'temp', ts: BASE + i, value: Math.round(200 + 50 * Math.sin(i / 3_600_000)) / 10 });
    await engine.append(batch).durable;
  }
  // 1,000 devices, one hour at 10 s.
  for (let i = 0; i < 3_600_000; i += 10_000) {
    const batch: PointInput[] = [];
    for (let d = 0; d < 1000; d++) batch.push({ device: `dev${String(d).padStart(4, '0')}`, metric: 'pm25', ts: BASE + i, value: ((d * 7 + i / 10_000) % 500) / 10 });
    await engine.append(batch).durable;
  }
  await engine.sync(true);
  const devices = Array.from({ length: 1000 }, (_, d) => `dev${String(d).padStart(4, '0')}`);
  const oneRaw = await run(engine, { devices: ['one'], metrics: ['temp'], from: BASE, to: BASE + DAY - 1 });
  const oneAvg = await run(engine, { devices: ['one'], metrics: ['temp'], from: BASE, to: BASE + DAY - 1, step: 60_000, agg: 'avg' });
  const fleetAvg = await run(engine, { devices, metrics: ['pm25'], from: BASE, to: BASE + 3_599_999, step: 300_000, agg: 'avg' });
  const fleetP90 = await run(engine, { devices, metrics: ['pm25'], from: BASE, to: BASE + 3_599_999, step: 300_000, agg: 'p90' });
  const st = engine.stats();
  await engine.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'telemetry-query',
      rounds: ROUNDS,
      oneSeriesDayRaw: oneRaw,
      oneSeriesDay1mAvg: oneAvg,
      fleet1000Devices5mAvg: fleetAvg,
      fleet1000Devices5mP90: fleetP90,
      storedPoints: st.points,
      bytesPerPoint: Number((st.bytes / st.points).toFixed(3)),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
