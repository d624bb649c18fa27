// Telemetry ingest end to end (issue 5 / DESIGN.md target: ≥ 128,000 values/s, durable): the hub
// in this process with its own telemetry service on its LMDB series store (WAL written before each
// PUBACK), and a load generator in a worker thread: BENCH_DEVICES devices spread over
// BENCH_CONNS MQTT connections, each publishing QoS 1 JSON messages of 10 values on
// devices/{id}/telemetry, BENCH_WINDOW messages in flight per connection. Only acknowledged
// messages count. Prints one JSON line.
//   BENCH_SECONDS (10)  BENCH_DEVICES (1000)  BENCH_CONNS (16)  BENCH_WINDOW (256)  BENCH_FSYNC (0)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const CONNS = Number(process.env.BENCH_CONNS ?? 16);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 256);
const FSYNC = process.env.BENCH_FSYNC === '1';
const VALUES = 10;

interface GenData {
  url: string;
  seconds: number;
  devices: number;
  conns: number;
  window: number;
}

async function generator(d: GenData): Promise<void> {
  const { connectAsync } = await import('mqtt');
  const clients = await Promise.all(Array.from({ length: d.conns }, (_, i) => connectAsync(d.url, { clientId: `bench-ingest-${i}`, clean: true, reconnectPeriod: 0 })));
  let acked = 0;
  let stop = false;
  const start = performance.now();
  await Promise.all(
    clients.map(async (c, ci) => {
      const mine: string[] = [];
      for (let dev = ci; dev < d.devices; dev += d.conns) mine.push(`devices/dev${dev}/telemetry`);
      let k = 0;
      let inFlight = 0;
      await new Promise<void>((resolve) => {
        const pump = (): void => {
          while (!stop && inFlight < d.window) {
            const topic = mine[k++ % mine.length]!;
            // Ten readings with the decimals sensors send; the hub stamps the receive time.
            const j = k;
            const payload = `{"t":${(20 + (j % 50) / 10).toFixed(1)},"h":${40 + (j % 30)},"p":${(1000 + (j % 100) / 10).toFixed(1)},"co2":${400 + (j % 200)},"pm25":${(j % 80) / 2},"pm10":${j % 90},"no2":${(j % 40) / 4},"o3":${j % 70},"v":${(3 + (j % 10) / 100).toFixed(2)},"rssi":${-60 - (j % 30)}}`;
            inFlight++;
            c.publishAsync(topic, payload, { qos: 1 }).then(
              () => {
                inFlight--;
                acked++;
                if (stop && inFlight === 0) resolve();
                else pump();
              },
              () => {
                inFlight--;
                if (stop && inFlight === 0) resolve();
              },
            );
          }
        };
        pump();
        setTimeout(() => {
          stop = true;
          if (inFlight === 0) resolve();
        }, d.seconds * 1000);
      });
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(clients.map((c) => c.endAsync()));
  parentPort!.postMessage({ acked, elapsed });
}

async function main(): Promise<void> {
  const { buildConfig } = await import('../src/config/load.js');
  const { startHub } = await import('../src/main/hub.js');
  const { silentLogger } = await import('../src/obs/log.js');
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-bench-telemetry-'));
  const log = silentLogger();
  const config = buildConfig({
    objects: [{ value: { data: dir, mqtt: '127.0.0.1:0', http: null, ws: null, persistence: { enabled: true, fsync: FSYNC }, log: { level: 'silent' } }, label: 'bench' }],
  }).config;
  // The hub's own telemetry service and LMDB series store (<data>/telemetry), as `twinhub start`
  // runs them with the default mappings.
  const hub = await startHub(config, { log, out: () => {} });
  const service = hub.telemetry!;
  const a = hub.addresses.mqtt!;
  const url = `mqtt://${a.host}:${a.port}`;
  // A worker cannot start from a .ts file on Node 20: register tsx in it first, then load this file.
  const self = JSON.stringify(import.meta.url);
  const worker = new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${self}); })`, {
    eval: true,
    workerData: { url, seconds: SECONDS, devices: DEVICES, conns: CONNS, window: WINDOW } satisfies GenData,
  });
  const result = await new Promise<{ acked: number; elapsed: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  const counters = service.counters();
  const stats = await service.stats();
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'telemetry-ingest',
      devices: DEVICES,
      connections: CONNS,
      window: WINDOW,
      fsync: FSYNC,
      seconds: Number(result.elapsed.toFixed(2)),
      messagesAcked: result.acked,
      valuesPerSecond: Math.round((result.acked * VALUES) / result.elapsed),
      pointsStored: counters.points,
      deadLetters: counters.deadLetters,
      series: stats.series,
      bytesPerPoint: Number(stats.bytesPerPoint.toFixed(3)),
      durable: true,
    }),
  );
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  generator(workerData as GenData).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
