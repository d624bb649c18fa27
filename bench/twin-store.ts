// The LMDB twin store alone: event-loop time of TwinStore.put for the updates of
// bench/twin-updates.ts (10,000 twins with a desired section, each update 5 reported fields), with
// BENCH_IN_FLIGHT puts awaiting their commit. No sockets and no MQTT, so its figures move less
// between runs than the end-to-end bench's and show what a change to the store does (docs/TWINS.md
// "Performance"; docs/BENCHMARKS.md "Device twins").
//   BENCH_PUTS       puts measured (default 300,000, after 20,000 of warm-up)
//   BENCH_TWINS      twins (default 10,000)
//   BENCH_IN_FLIGHT  puts awaiting their commit (default 200)
// Prints one JSON line: putCallUs is the event loop's time inside put() per call (encoding, the
// compare-and-set, handing the write to LMDB); processCpuUsPerPut adds the model's update, the
// LMDB writer thread and the garbage collector.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbTwinStore } from '../src/adapters/lmdb/twin-store.js';
import { applyUpdate, AWS_SHADOW_LIMITS, type ShadowDocument } from '../src/core/twin/index.js';
import type { JsonObject } from '../src/core/twin/json-value.js';

const PUTS = Number(process.env.BENCH_PUTS ?? 300_000);
const WARMUP = 20_000;
const TWINS = Number(process.env.BENCH_TWINS ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 200);
const FIELDS = ['temperature_c', 'humidity_pct', 'pressure_hpa', 'battery_volt', 'signal_dbm'];

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-bench-twin-store-'));
  const store = await openLmdbTwinStore(dir, { fsync: false });
  try {
    const desired: JsonObject = Object.fromEntries(FIELDS.map((f) => [f, -1]));
    const docs: ShadowDocument[] = [];
    const revisions: number[] = [];
    for (let i = 0; i < TWINS; i++) {
      const r = applyUpdate(undefined, { state: { desired } }, { now: 1_700_000_000, writer: 'api:bench', limits: AWS_SHADOW_LIMITS });
      if (!r.ok) throw new Error(r.message);
      docs.push(r.next);
      const w = await store.put(`bench-${i}`, '', { expectedRevision: 0, doc: r.next, history: { op: 'update', version: 1, at: Date.now(), writer: 'api:bench', state: { desired } } });
      revisions.push(w.revision);
    }

    let issued = 0;
    let settled = 0;
    let putNs = 0n;
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    const total = WARMUP + PUTS;
    await new Promise<void>((resolve, reject) => {
      const next = (): void => {
        const n = issued++;
        const i = n % TWINS;
        const reported: JsonObject = {};
        for (const f of FIELDS) reported[f] = Math.round(Math.random() * 100_000) / 100;
        const device = `bench-${i}`;
        const r = applyUpdate(docs[i], { state: { reported }, clientToken: `${n}-${'x'.repeat(40)}` }, {
          now: 1_700_000_000 + Math.floor(n / 1000),
          writer: `device:${device}`,
          limits: AWS_SHADOW_LIMITS,
          buildDelta: false,
          buildDocuments: false,
          buildAcceptedMetadata: false,
        });
        if (!r.ok) return reject(new Error(r.message));
        const t = process.hrtime.bigint();
        const w = store.put(device, '', { expectedRevision: revisions[i]!, doc: r.next, history: { op: 'update', version: r.next.version, at: Date.now(), writer: `device:${device}`, state: r.accepted.state } });
        if (n >= WARMUP) putNs += process.hrtime.bigint() - t;
        docs[i] = r.next;
        w.then((res) => {
          if (!res.ok) return reject(new Error('compare-and-set lost'));
          revisions[i] = res.revision;
          if (++settled === WARMUP) {
            cpu0 = process.cpuUsage();
            t0 = performance.now();
          }
          if (settled === total) resolve();
          else if (issued < total) next();
        }, reject);
      };
      for (let k = 0; k < Math.min(IN_FLIGHT, total); k++) next();
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const round = (v: number, d: number): number => Math.round(v * 10 ** d) / 10 ** d;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'twin-store',
        twins: TWINS,
        inFlight: IN_FLIGHT,
        puts: PUTS,
        nodeFlags: process.execArgv.filter((a) => !a.startsWith('--import') && a !== 'tsx').join(' '),
        putsPerSec: Math.round(PUTS / seconds),
        putCallUs: round(Number(putNs) / PUTS / 1000, 2),
        processCpuUsPerPut: round((cpu.user + cpu.system) / PUTS, 2),
      })}\n`,
    );
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
