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
//   BENCH_FSYNC        1 (or the --fsync flag) = flush every twin commit to the disk (default 0: to the OS)
// Run it as `npm run bench:twins`, which starts Node with the `twinhub` command's flags
// (bin/twinhub.js: --max-semi-space-size=8); the young generation's size changes the result.
// Prints one JSON line.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { pino } from 'pino';
import { buildConfig } from '../src/config/load.js';
import { AWS_SHADOW_LIMITS } from '../src/core/twin/index.js';
import { startHub } from '../src/main/hub.js';
import { monoNowMs } from '../src/cli/bench/clock.js';
import { openConnection, type BenchConnection, type PacketHandler } from '../src/cli/bench/connection.js';
import { PacketType, readVarint, varintSize, writeVarint } from '../src/cli/bench/wire.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const THINGS = Number(process.env.BENCH_THINGS ?? 500);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 10);
const FSYNC = process.env.BENCH_FSYNC === '1' || process.argv.includes('--fsync');
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

// The load generator speaks MQTT with the bench's own lean client (src/cli/bench: raw sockets, a
// frame scanner, no per-packet objects), so that it costs the shared machine little next to the
// hub it measures (mqtt.js took ~26 µs of CPU per update and its reply parsing, which capped the
// bench below the hub's rate on 2 cores).

const TOKEN_PAD = 'x'.repeat(40);
const TOKEN_MARK = Buffer.from('"clientToken":"');
/** Send times by update number (the number leads the clientToken), a ring far larger than the updates in flight. */
const RING = 1 << 20;

class LoadClient implements PacketHandler {
  conn!: BenchConnection;
  /** Updates awaiting PUBACK. */
  inFlight = 0;
  private nextPacketId = 1;
  private nextThing = 0;
  private out: Buffer[] = [];
  private flushQueued = false;
  /** Called after each PUBACK (successful or not). */
  onAck: (ok: boolean) => void = () => undefined;
  onDelta: (seq: number, atMs: number) => void = () => undefined;
  onRejected: () => void = () => undefined;
  onClosed: (err: Error | null) => void = () => undefined;

  constructor(
    readonly index: number,
    private readonly things: string[],
  ) {}

  /** Publishes one update (QoS 1) to the next thing in turn. */
  publish(body: string): void {
    const thing = this.things[this.nextThing]!;
    this.nextThing = (this.nextThing + 1) % this.things.length;
    const topic = `$aws/things/${thing}/shadow/update`;
    const topicLen = Buffer.byteLength(topic);
    const payloadLen = Buffer.byteLength(body);
    // Topic Name, Packet Identifier, Property Length 0 (MQTT 5.0 §3.3.2), payload.
    const remaining = 2 + topicLen + 2 + 1 + payloadLen;
    const buf = Buffer.allocUnsafe(1 + varintSize(remaining) + remaining);
    buf[0] = 0x32; // PUBLISH, QoS 1 (MQTT 5.0 §3.3.1)
    let off = writeVarint(buf, 1, remaining);
    buf.writeUInt16BE(topicLen, off);
    off += 2 + buf.write(topic, off + 2, 'latin1');
    const id = this.nextPacketId;
    this.nextPacketId = id === 65535 ? 1 : id + 1;
    buf.writeUInt16BE(id, off);
    buf[off + 2] = 0;
    buf.write(body, off + 3, 'latin1');
    this.inFlight++;
    this.out.push(buf);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    const out = this.out;
    this.out = [];
    if (out.length === 1) this.conn.write(out[0]!);
    else if (out.length > 1) this.conn.write(Buffer.concat(out));
  };

  onPacket(_conn: BenchConnection, type: number, _flags: number, buf: Buffer, start: number, end: number): void {
    if (type === PacketType.PUBACK) {
      this.inFlight--;
      // MQTT 5.0 §3.4.2.1: no Reason Code means 0x00 Success; 0x80 and above are failures.
      this.onAck(end - start < 3 || buf[start + 2]! < 0x80);
      return;
    }
    if (type !== PacketType.PUBLISH) return;
    // Deltas and rejections arrive at QoS 0 (subscribed so): Topic Name, Property Length, payload.
    const topicLen = buf.readUInt16BE(start);
    const topicEnd = start + 2 + topicLen;
    if (buf[topicEnd - 1] === 0x64 /* 'd': …/rejected */) {
      this.onRejected();
      return;
    }
    const [propLen, p] = readVarint(buf, topicEnd);
    const at = buf.indexOf(TOKEN_MARK, p + propLen);
    if (at < 0 || at >= end) return;
    let seq = 0;
    for (let i = at + TOKEN_MARK.length; i < end; i++) {
      const c = buf[i]!;
      if (c < 0x30 || c > 0x39) break;
      seq = seq * 10 + (c - 0x30);
    }
    this.onDelta(seq, this.conn.nowMs);
  }

  onClose(_conn: BenchConnection, err: Error | null): void {
    this.onClosed(err);
  }
}

async function load(url: string): Promise<LoadResult> {
  const { hostname, port } = new URL(url);
  const clients: LoadClient[] = [];
  const thing = (c: number, i: number): string => `bench-${c}-${i}`;
  let failure: Error | null = null;
  for (let c = 0; c < CONNECTIONS; c++) {
    const client = new LoadClient(c, Array.from({ length: THINGS }, (_, i) => thing(c, i)));
    client.onClosed = (err) => {
      failure ??= err;
    };
    client.conn = await openConnection({
      host: hostname,
      port: Number(port),
      version: 5,
      clientId: `bench-twin-${c}`,
      clean: true,
      keepAlive: 0,
      sessionExpiry: 0,
      index: c,
      handler: client,
    });
    clients.push(client);
  }
  const setupStart = performance.now();
  // Subscribe to each thing's delta, then set desired so that every reported update has a delta.
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; i < THINGS; i++) await client.conn.subscribe(`$aws/things/${thing(c, i)}/shadow/update/delta`, 0);
    }),
  );
  const desired = JSON.stringify({ state: { desired: Object.fromEntries(FIELDS.map((f) => [f, -1])) } });
  let failedAcks = 0;
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((done) => {
          let sent = 0;
          client.onAck = (ok) => {
            if (!ok) failedAcks++;
            if (sent < THINGS) {
              sent++;
              client.publish(desired);
            } else if (client.inFlight === 0) done();
          };
          for (; sent < Math.min(WINDOW, THINGS); sent++) client.publish(desired);
        }),
    ),
  );
  const setupSeconds = (performance.now() - setupStart) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // let the setup deltas drain
  for (const client of clients) await client.conn.subscribe('$aws/things/+/shadow/update/rejected', 0);

  const sentAt = new Float64Array(RING);
  const latencies = new Float64Array(RING);
  let deltas = 0;
  let rejected = 0;
  let updates = 0;
  let seq = 0;
  let payloadBytes = 0;
  const body = (): string => {
    const token = seq++;
    sentAt[token % RING] = monoNowMs();
    let reported = '';
    for (let f = 0; f < FIELDS.length; f++) reported += `${f === 0 ? '' : ','}"${FIELDS[f]}":${Math.round(Math.random() * 100_000) / 100}`;
    const s = `{"state":{"reported":{${reported}}},"clientToken":"${token}-${TOKEN_PAD}"}`;
    payloadBytes = s.length;
    return s;
  };

  const cpu0 = process.cpuUsage();
  process.send!('measuring');
  const start = monoNowMs();
  const end = start + SECONDS * 1000;
  let measuring = true;
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((done) => {
          client.onDelta = (token, atMs) => {
            const t0 = sentAt[token % RING]!;
            if (t0 === 0) return;
            sentAt[token % RING] = 0;
            if (deltas < RING) latencies[deltas] = atMs - t0;
            deltas++;
          };
          client.onRejected = () => {
            rejected++;
          };
          client.onAck = (ok) => {
            if (!ok) failedAcks++;
            else if (measuring) updates++;
            if (client.conn.nowMs < end && failure === null) client.publish(body());
            else if (client.inFlight === 0) done();
          };
          for (let w = 0; w < WINDOW; w++) client.publish(body());
        }),
    ),
  );
  measuring = false;
  const seconds = (monoNowMs() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  process.send!('measured');
  await new Promise((r) => setTimeout(r, 300));
  for (const client of clients) await client.conn.close();
  if (failure !== null) throw failure;
  if (failedAcks > 0) throw new Error(`${failedAcks} updates were not acknowledged as durable`);
  const sorted = latencies.slice(0, Math.min(deltas, RING)).sort();
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

/**
 * CPU time of the hub's main thread (its event loop) in µs, from /proc (Linux; undefined
 * elsewhere): utime and stime of the thread whose id is the pid, in clock ticks (USER_HZ, 100 on
 * Linux). The rest of process.cpuUsage() is the other threads: the LMDB writer, libuv's pool, the
 * garbage collector's helpers.
 */
function mainThreadCpuUs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** Mean value sizes of the twins environment's `twins` and `history` databases (the hub stopped). */
async function storedBytes(path: string): Promise<{ record: number; history: number }> {
  const root = open<Buffer, Buffer>(path, { maxDbs: 32, keyEncoding: 'binary', encoding: 'binary', readOnly: true });
  try {
    const mean = (name: string): number => {
      let n = 0;
      let sum = 0;
      for (const { value } of root.openDB<Buffer, Buffer>(name, { keyEncoding: 'binary', encoding: 'binary' }).getRange()) {
        n++;
        sum += value.length;
      }
      return n === 0 ? 0 : Math.round(sum / n);
    };
    return { record: mean('twins'), history: mean('history') };
  } finally {
    await root.close();
  }
}

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
  let measureCpu0 = cpu0;
  let measureCpu = { user: 0, system: 0 };
  let mainCpu0: number | undefined;
  let mainCpu: number | undefined;
  let stopped = false;
  try {
    const child = fork(fileURLToPath(import.meta.url), ['--load', `mqtt://${mqtt.host}:${mqtt.port}`], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const r = await new Promise<LoadResult>((res, rej) => {
      child.on('message', (m) => {
        // The hub's CPU time while the updates are measured (setup excluded).
        if (m === 'measuring') {
          measureCpu0 = process.cpuUsage();
          mainCpu0 = mainThreadCpuUs();
        } else if (m === 'measured') {
          measureCpu = process.cpuUsage(measureCpu0);
          const now = mainThreadCpuUs();
          mainCpu = now === undefined || mainCpu0 === undefined ? undefined : now - mainCpu0;
        } else res(m as LoadResult);
      });
      child.once('exit', (code) => rej(new Error(`load generator exited with ${code}`)));
    });
    const cpu = process.cpuUsage(cpu0);
    await hub.stop();
    stopped = true;
    const bytes = await storedBytes(join(dir, 'twins'));
    process.stdout.write(
      `${JSON.stringify({
        bench: 'twin-updates',
        devices: CONNECTIONS * THINGS,
        connections: CONNECTIONS,
        window: WINDOW,
        fields: FIELDS.length,
        payloadBytes: r.payloadBytes,
        fsync: FSYNC,
        // The hub's Node flags (npm run bench:twins passes the young-generation size the twinhub command uses).
        nodeFlags: process.execArgv.filter((a) => !a.startsWith('--import') && a !== 'tsx').join(' '),
        seconds: round(r.seconds),
        updates: r.updates,
        updatesPerSec: Math.round(r.updates / r.seconds),
        deltas: r.deltas,
        rejected: r.rejected,
        deltaLatencyMs: { p50: round(r.p50), p90: round(r.p90), p99: round(r.p99), max: round(r.max) },
        setupSeconds: round(r.setupSeconds),
        hubCpuSeconds: round((cpu.user + cpu.system) / 1e6),
        hubCpuUsPerUpdate: round((measureCpu.user + measureCpu.system) / Math.max(1, r.updates), 1),
        // Of which the event loop (the rest: LMDB writer, libuv pool, GC helper threads); Linux only, 10 ms ticks.
        ...(mainCpu === undefined ? {} : { hubMainThreadCpuUsPerUpdate: round(mainCpu / Math.max(1, r.updates), 1) }),
        loadCpuSecondsMeasuring: round(r.cpuSeconds),
        storeFailures: hub.twins.storeFailures,
        hubRssMB: round(process.memoryUsage().rss / 2 ** 20, 1),
        hubHeapUsedMB: round(process.memoryUsage().heapUsed / 2 ** 20, 1),
        // Mean stored sizes after the run: a twin record, a history entry (values only).
        recordBytes: bytes.record,
        historyEntryBytes: bytes.history,
      })}\n`,
    );
  } finally {
    if (!stopped) await hub.stop();
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
