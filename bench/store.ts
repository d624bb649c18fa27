// Broker store bench: commit throughput of the LMDB store under the load of a QoS 1 fan-in with
// one persistent subscriber. Each commit (one event-loop turn of the broker) stores the messages
// that arrived in that turn for the subscriber (putOutbound) and removes the ones it acknowledged
// since the previous turn (deleteOutbound), so the queue stays short and each message costs two
// ops. Also times the commit of 1,000 putOutbound ops of 100-byte messages on its own. Prints one
// JSON line.
//   BENCH_SECONDS   measuring time (default 3)
//   BENCH_BATCH     messages per commit (default 500, i.e. 1,000 ops)
//   BENCH_PAYLOAD   payload bytes (default 64)
//   BENCH_FSYNC     1 = flush every commit to the disk (default 0: to the OS)
//   BENCH_PIPELINE  commits in flight (default 1: the next turn's commit waits for this one)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbBrokerStore, type LmdbBrokerStore } from '../src/adapters/lmdb/broker-store.js';
import type { StoredMessage, StoreOp } from '../src/ports/broker-store.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const PAYLOAD = Number(process.env.BENCH_PAYLOAD ?? 64);
const FSYNC = process.env.BENCH_FSYNC === '1';
const PIPELINE = Math.max(1, Number(process.env.BENCH_PIPELINE ?? 1));
const CLIENT = 'bench-subscriber';

function storedMessage(i: number, payloadBytes: number): StoredMessage {
  return {
    topic: `bench/${i % 10}/telemetry`,
    payload: Buffer.alloc(payloadBytes, i & 0xff),
    qos: 1,
    retain: false,
    receivedAt: Date.now(),
    expiresAt: 0,
    priority: 0,
    originClientId: `bench-publisher-${i % 10}`,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** The fan-in load for SECONDS; returns commits, ops, messages, main-thread time and latencies. */
async function fanIn(store: LmdbBrokerStore): Promise<Record<string, number>> {
  // Messages are made ahead (a broker receives them); only the store's work is timed.
  const pool = Array.from({ length: 4 * BATCH }, (_, i) => storedMessage(i, PAYLOAD));
  let seq = 0;
  let commits = 0;
  let ops = 0;
  let mainMs = 0;
  const latencies: number[] = [];
  let previous: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let inFlight = 0;
  await new Promise<void>((done) => {
    const turn = (): void => {
      const now = performance.now();
      if (now >= end) {
        if (inFlight === 0) done();
        else setImmediate(turn);
        return;
      }
      if (inFlight < PIPELINE) {
        const batch: StoreOp[] = [];
        for (const s of previous) batch.push({ op: 'deleteOutbound', clientId: CLIENT, seq: s });
        previous = [];
        for (let i = 0; i < BATCH; i++) {
          const s = seq++;
          previous.push(s);
          batch.push({
            op: 'putOutbound',
            clientId: CLIENT,
            record: { seq: s, message: pool[s % pool.length]!, qos: 1, packetId: 0, state: 'queued' },
          });
        }
        const t0 = performance.now();
        const p = store.commit(batch);
        mainMs += performance.now() - t0;
        inFlight++;
        p.then(() => {
          inFlight--;
          commits++;
          ops += batch.length;
          latencies.push(performance.now() - t0);
        }, (err: unknown) => {
          console.error(err);
          process.exit(1);
        });
      }
      setImmediate(turn);
    };
    turn();
  });
  latencies.sort((a, b) => a - b);
  const elapsed = SECONDS;
  return {
    commitsPerSec: Math.round(commits / elapsed),
    opsPerSec: Math.round(ops / elapsed),
    messagesPerSec: Math.round((commits * BATCH) / elapsed),
    mainUsPerOp: round3((mainMs * 1000) / Math.max(1, ops)),
    commitP50Ms: round3(percentile(latencies, 50)),
    commitP99Ms: round3(percentile(latencies, 99)),
  };
}

/** Commits of 1,000 putOutbound ops of 100-byte messages, one after the other. */
async function put1000(store: LmdbBrokerStore): Promise<Record<string, number>> {
  const messages = Array.from({ length: 1000 }, (_, i) => storedMessage(i, 100));
  const latencies: number[] = [];
  const mains: number[] = [];
  let seq = 1e9;
  for (let r = 0; r < 60; r++) {
    const batch: StoreOp[] = messages.map((message) => ({
      op: 'putOutbound',
      clientId: 'bench-put1000',
      record: { seq: seq++, message, qos: 1, packetId: 0, state: 'queued' },
    }));
    const t0 = performance.now();
    const p = store.commit(batch);
    mains.push(performance.now() - t0);
    await p;
    latencies.push(performance.now() - t0);
  }
  // The first rounds warm up the JIT and grow the file.
  latencies.splice(0, 10);
  mains.splice(0, 10);
  latencies.sort((a, b) => a - b);
  mains.sort((a, b) => a - b);
  return {
    p50Ms: round3(percentile(latencies, 50)),
    p99Ms: round3(percentile(latencies, 99)),
    mainP50Ms: round3(percentile(mains, 50)),
  };
}

const dir = await mkdtemp(join(tmpdir(), 'twinhub-bench-store-'));
try {
  const store = await openLmdbBrokerStore(dir, { fsync: FSYNC });
  const single = await put1000(store);
  const load = await fanIn(store);
  await store.close();
  console.log(
    JSON.stringify({
      bench: 'store',
      adapter: 'lmdb',
      fsync: FSYNC,
      messagesPerCommit: BATCH,
      opsPerCommit: 2 * BATCH,
      payloadBytes: PAYLOAD,
      pipeline: PIPELINE,
      seconds: SECONDS,
      ...load,
      put1000OpsCommit: single,
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
