// A child process for the LMDB durability tests: commits numbered batches of outbound records
// for client "c" and prints "ack <n>" once batch n's commit resolved, "fail <n> <code> <message>"
// when it rejected. Its parent kills it or lets it fill a size-limited file, reopens the store and
// checks what was acknowledged. Not a test file itself.
//
//   node --import tsx lmdb-commit-child.ts <dir> <fsync 0|1> <mode> <batchSize> <payloadBytes> <maxBatches>
//   mode "pipelined": a new commit every event-loop turn, up to 4 in flight (as the core may);
//   mode "serial":    one commit at a time; after the first failure, one small commit (inbound
//                     QoS 2 id 1 of client "probe"), then exit.
import { openLmdbBrokerStore } from '../../src/adapters/lmdb/broker-store.js';
import type { StoreOp } from '../../src/ports/broker-store.js';
import { batchPayload } from './lmdb-batches.js';

const [dir, fsyncArg, mode, batchArg, payloadArg, maxArg] = process.argv.slice(2);
if (dir === undefined || maxArg === undefined) throw new Error('usage: <dir> <fsync> <mode> <batchSize> <payloadBytes> <maxBatches>');
const batchSize = Number(batchArg);
const payloadBytes = Number(payloadArg);
const maxBatches = Number(maxArg);

const store = await openLmdbBrokerStore(dir, { fsync: fsyncArg === '1' });

function batch(b: number): StoreOp[] {
  const ops: StoreOp[] = [];
  for (let i = 0; i < batchSize; i++) {
    ops.push({
      op: 'putOutbound',
      clientId: 'c',
      record: {
        seq: b * batchSize + i,
        message: {
          topic: `t/${b}`,
          payload: batchPayload(b, i, payloadBytes),
          qos: 1,
          retain: false,
          receivedAt: Date.now(),
          expiresAt: 0,
          priority: 0,
          originClientId: 'p',
        },
        qos: 1,
        packetId: 0,
        state: 'queued',
      },
    });
  }
  return ops;
}

function say(line: string): void {
  process.stdout.write(line + '\n'); // synchronous on pipes (Linux): written before the next commit
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return `${e.code ?? 'NO_CODE'} ${e.message ?? String(err)}`;
}

if (mode === 'pipelined') {
  let next = 0;
  let inFlight = 0;
  // One commit per event-loop turn, as the core's committer does, up to 4 in flight.
  const pump = (): void => {
    if (inFlight < 4 && next < maxBatches) {
      const b = next++;
      inFlight++;
      store.commit(batch(b)).then(
        () => {
          inFlight--;
          say(`ack ${b}`);
        },
        (err: unknown) => {
          inFlight--;
          say(`fail ${b} ${describeError(err)}`);
        },
      );
    }
    if (next < maxBatches || inFlight > 0) setImmediate(pump);
    else void store.close().then(() => say('done'));
  };
  pump();
} else {
  for (let b = 0; b < maxBatches; b++) {
    try {
      await store.commit(batch(b));
      say(`ack ${b}`);
    } catch (err) {
      say(`fail ${b} ${describeError(err)}`);
      try {
        await store.commit([{ op: 'putInboundQos2', clientId: 'probe', packetId: 1 }]);
        say('after-fail ok');
      } catch (err2) {
        say(`after-fail fail ${describeError(err2)}`);
      }
      break;
    }
  }
  await store.close().catch(() => undefined);
  say('done');
}
