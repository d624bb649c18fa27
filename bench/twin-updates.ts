// Twin update bench: durable AWS Device Shadow updates per second over MQTT, and the latency from
// an update to its /update/delta. The hub (broker with LMDB persistence, TwinService, LMDB twin
// store, history on) runs in this process; the load generator runs in a child process (the same
// file with --load) so the two do not share an event loop.
//
// Load: BENCH_CONNECTIONS clients × BENCH_THINGS things each (default 20 × 500 = 10,000 devices).
// Setup: every thing gets desired {5 fields: -1}, and each client subscribes to the /update/delta
// topic of its things. Measured: each client cycles through its things publishing QoS 1
// updates of 5 reported fields (~200 bytes) with a clientToken, keeping BENCH_WINDOW updates
// awaiting PUBACK; a PUBACK means the update is durable (the hub holds it until the twin write
// committed). Every update leaves desired ≠ reported, so each one publishes a delta carrying its
// clientToken: update → delta latency is measured from the publish call to the delta's arrival.
//   BENCH_SECONDS      measuring time (default 10)
//   BENCH_CONNECTIONS  client connections (default 20)
//   BENCH_THINGS       things per connection (default 500)
//   BENCH_WINDOW       updates in flight per connection (default 10, AWS's in-flight limit)
//   BENCH_FSYNC        1 = flush every twin commit to the disk (default 0: to the OS)
// Prints one JSON line.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { buildConfig } from '../src/config/load.js';
import { AWS_SHADOW_LIMITS } from '../src/core/twin/index.js';
import { startHub } from '../src/main/hub.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const THINGS = Number(process.env.BENCH_THINGS ?? 500);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 10);
const FSYNC = process.env.BENCH_FSYNC === '1';
const FIELDS = ['temperature_c', 'humidity_pct', 'pressure_hpa', 'battery_volt', 'signal_dbm'];

interface LoadResult {
  updates: number;
  seconds: number;
  deltas: number;
  rejected: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  payloadBytes: number;
  setupSeconds: number;
  cpuSeconds: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------- the load generator (child)

async function load(url: string): Promise<LoadResult> {
  const clients: MqttClient[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const client = connect(url, { clientId: `bench-twin-${c}`, protocolVersion: 5, reconnectPeriod: 0, clean: true });
    await new Promise<void>((res, rej) => {
      client.once('connect', () => res());
      client.once('error', rej);
    });
    clients.push(client);
  }
  const thing = (c: number, i: number): string => `bench-${c}-${i}`;
  const setupStart = performance.now();
  // Subscribe to each thing's delta, then set desired so that every reported update has a delta.
  await Promise.all(
    clients.map(async (client, c) => {
      const filters = Array.from({ length: THINGS }, (_, i) => `$aws/things/${thing(c, i)}/shadow/update/delta`);
      for (let i = 0; i < filters.length; i += 100) await client.subscribeAsync(filters.slice(i, i + 100), { qos: 0 });
    }),
  );
  const desired = JSON.stringify({ state: { desired: Object.fromEntries(FIELDS.map((f) => [f, -1])) } });
  await Promise.all(
    clients.map(async (client, c) => {
      let next = 0;
      await new Promise<void>((done) => {
        let inFlight = 0;
        const pump = (): void => {
          while (inFlight < WINDOW && next < THINGS) {
            inFlight++;
            client.publish(`$aws/things/${thing(c, next++)}/shadow/update`, desired, { qos: 1 }, () => {
              inFlight--;
              if (next >= THINGS && inFlight === 0) done();
              else pump();
            });
          }
        };
        pump();
      });
    }),
  );
  const setupSeconds = (performance.now() - setupStart) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // let the setup deltas drain

  let seq = 0;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let deltas = 0;
  let rejected = 0;
  let updates = 0;
  let measuring = true;
  let payloadBytes = 0;
  for (const client of clients) {
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/rejected')) {
        rejected++;
        return;
      }
      const token = (JSON.parse(payload.toString()) as { clientToken?: string }).clientToken;
      if (token === undefined) return;
      const t0 = sentAt.get(token);
      if (t0 === undefined) return;
      sentAt.delete(token);
      deltas++;
      latencies.push(performance.now() - t0);
    });
    await client.subscribeAsync('$aws/things/+/shadow/update/rejected', { qos: 0 });
  }

  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    clients.map(
      (client, c) =>
        new Promise<void>((done) => {
          let i = 0;
          let inFlight = 0;
          const send = (): void => {
            const token = String(seq++);
            const reported: Record<string, number> = {};
            for (const f of FIELDS) reported[f] = Math.round(Math.random() * 100_000) / 100;
            const body = JSON.stringify({ state: { reported }, clientToken: `${token}-${'x'.repeat(40)}` });
            payloadBytes = body.length;
            sentAt.set(`${token}-${'x'.repeat(40)}`, performance.now());
            inFlight++;
            client.publish(`$aws/things/${thing(c, i)}/shadow/update`, body, { qos: 1 }, () => {
              inFlight--;
              if (measuring) updates++;
              if (performance.now() < end) send();
              else if (inFlight === 0) done();
            });
            i = (i + 1) % THINGS;
          };
          for (let w = 0; w < WINDOW; w++) send();
        }),
    ),
  );
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 300));
  for (const client of clients) client.end(true);
  const sorted = Float64Array.from(latencies).sort();
  return {
    updates,
    seconds,
    deltas,
    rejected,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
    payloadBytes,
    setupSeconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

// ---------------------------------------------------------------- the hub (parent)

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-bench-twins-'));
  const log = pino({ level: 'silent' });
  const config = buildConfig({
    objects: [
      {
        value: {
          data: dir,
          mqtt: '127.0.0.1:0',
          ws: 'off',
          http: 'off',
          persistence: { enabled: true, fsync: FSYNC },
          log: { level: 'silent' },
          twins: { maxInFlightPerConnection: Math.max(WINDOW, AWS_SHADOW_LIMITS.maxInFlightPerConnection), historySize: 100 },
        },
        label: 'bench',
      },
    ],
  }).config;
  // The hub's own twin service and LMDB twin store (<data>/twins), as `twinhub start` runs them.
  const hub = await startHub(config, { log, out: () => {} });
  const mqtt = hub.addresses.mqtt!;
  const cpu0 = process.cpuUsage();
  try {
    const child = fork(fileURLToPath(import.meta.url), ['--load', `mqtt://${mqtt.host}:${mqtt.port}`], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const r = await new Promise<LoadResult>((res, rej) => {
      child.once('message', (m) => res(m as LoadResult));
      child.once('exit', (code) => rej(new Error(`load generator exited with ${code}`)));
    });
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'twin-updates',
        devices: CONNECTIONS * THINGS,
        connections: CONNECTIONS,
        window: WINDOW,
        fields: FIELDS.length,
        payloadBytes: r.payloadBytes,
        fsync: FSYNC,
        seconds: round(r.seconds),
        updates: r.updates,
        updatesPerSec: Math.round(r.updates / r.seconds),
        deltas: r.deltas,
        rejected: r.rejected,
        deltaLatencyMs: { p50: round(r.p50), p90: round(r.p90), p99: round(r.p99), max: round(r.max) },
        setupSeconds: round(r.setupSeconds),
        hubCpuSeconds: round((cpu.user + cpu.system) / 1e6),
        loadCpuSecondsMeasuring: round(r.cpuSeconds),
        storeFailures: hub.twins.storeFailures,
      })}\n`,
    );
  } finally {
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--load') {
  load(process.argv[3]!).then(
    (r) => {
      process.send!(r, () => process.exit(0));
    },
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
