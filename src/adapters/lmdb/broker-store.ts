// The embedded BrokerStore on LMDB (lmdb-js), in the `broker` environment of the data folder
// (env.ts; keys in keys.ts, values in record-codec.ts).
//
// How a commit is written: every op is checked and encoded first (a bad op refuses the whole
// commit before anything is queued), then each becomes one lmdb-js `put`/`remove`, all inside one
// `batch`: lmdb-js applies a batch in one LMDB transaction on its writer thread, so the B-tree
// work and the commit's I/O happen off the event loop, the ops apply in order, and the commit
// applies whole or not at all. The batch has one promise; its writes have none. (lmdb-js's
// `transaction(callback)` would run the ops on the event loop instead, and with lmdb 3.5.6 on
// Node 20 its callbacks never ran in our tests. Why the environment groups writes only by
// explicit batches: env.ts.)
//
// deleteSession removes a session's whole outbound and inbound range, which needs the keys:
// those already committed come from a read snapshot; those of commits still in flight (not yet
// in the snapshot) from the ops of those commits, kept until they settle; those of the same commit
// from its earlier ops. Removing a key that turns out to be absent is harmless.
//
// Durability: with fsync=false the environment runs with MDB_NOSYNC, so a commit resolves once its
// pages are written to the OS (it survives a kill of the process: test/integration/lmdb-kill.test.ts);
// with fsync=true LMDB flushes each transaction before the commit resolves.
import type { Database } from 'lmdb';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { BrokerStore, OutboundRecord, SessionRecord, StoredMessage, StoreOp } from '../../ports/broker-store.js';
import { checkStoreOp, malformedOpError } from '../check-store-op.js';
import { asBuffer, put16, put64, putRaw, Slab } from './binary.js';
import { commitFailure } from './commit-error.js';
import { openDataEnv, type DataEnv } from './env.js';
import { clientKeyBound, packetIdOfKey, prefixEnd, putClientKey, putRetainedKey, retainedKeyBound, seqOfKey } from './keys.js';
import { decodeOutbound, decodeRetained, decodeSession, encodeOutbound, encodeRetained, encodeSession } from './record-codec.js';

type Db = Database<Buffer, Buffer>;

/** The value of an inbound QoS 2 entry: the key says everything. Shared, never written to. */
const PRESENT = Buffer.from([1]);
const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => undefined;
/** Message prefix of a failed commit's error. */
const COMMIT_FAILED = 'store write failed, nothing of the commit written';

export interface LmdbBrokerStoreOptions {
  /** Flush every commit to the disk (survives power loss) instead of to the OS (survives a kill). */
  fsync: boolean;
}

/** Open (creating when missing) the broker store of the data folder `dir`. */
export async function openLmdbBrokerStore(dir: string, opts: LmdbBrokerStoreOptions): Promise<LmdbBrokerStore> {
  return new LmdbBrokerStore(await openDataEnv(dir, 'broker', { fsync: opts.fsync }));
}

export class LmdbBrokerStore implements BrokerStore {
  private readonly sessions: Db;
  private readonly outbound: Db;
  private readonly inbound: Db;
  private readonly retained: Db;
  private readonly w = new Slab();
  /** The writes of the commit being encoded: database, key, value (undefined = remove). */
  private readonly dbs: Db[] = [];
  private readonly keys: Uint8Array[] = [];
  private readonly values: Array<Buffer | undefined> = [];
  /** Ops of the commits in flight, oldest first (lmdb-js settles transactions in order). */
  private readonly inFlight: Array<readonly StoreOp[]> = [];
  private tail: Promise<void> = RESOLVED;
  private lastClientId: string | undefined;
  private lastClientKey: Buffer | undefined;
  private closed = false;

  constructor(private readonly env: DataEnv) {
    this.sessions = env.openDb('sessions');
    this.outbound = env.openDb('outbound');
    this.inbound = env.openDb('inbound-qos2');
    this.retained = env.openDb('retained');
  }

  /** The environment's directory. */
  get path(): string {
    return this.env.path;
  }

  commit(ops: readonly StoreOp[]): Promise<void> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'the broker store is closed'));
    const n = ops.length;
    // Nothing to write: settle right after the commit before it.
    if (n === 0) return this.tail === RESOLVED ? RESOLVED : (this.tail = this.tail.then(noop, noop));
    const { dbs, keys, values } = this;
    try {
      for (let i = 0; i < n; i++) {
        try {
          checkStoreOp(ops[i]!);
          this.encode(ops[i]!, i, ops);
        } catch (err) {
          return Promise.reject(malformedOpError(i, err));
        }
      }
      const written = this.sessions.batch(this.issue);
      this.inFlight.push(ops.slice());
      return (this.tail = this.settle(written, this.tail));
    } catch (err) {
      return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, `store write failed: ${(err as Error).message}`, undefined, { cause: err }));
    } finally {
      dbs.length = 0;
      keys.length = 0;
      values.length = 0;
    }
  }

  /**
   * The promise of one commit: settles once its transaction has, and never before the commit
   * issued before it (a failure takes a moment longer to name its reason), so commits settle in
   * call order and the core can release acknowledgements in order.
   */
  private settle(written: Promise<boolean>, previous: Promise<void>): Promise<void> {
    const after = previous === RESOLVED ? RESOLVED : previous.then(noop, noop);
    return written.then(
      () => {
        this.inFlight.shift();
        return after;
      },
      (err: unknown) => {
        this.inFlight.shift();
        const failure = commitFailure(COMMIT_FAILED, err); // now: it handles lmdb-js's reason promise
        return after.then(() => failure).then(rethrow);
      },
    );
  }

  /** Queue the encoded writes as one lmdb-js batch: one transaction, no promise per write. */
  private readonly issue = (): void => {
    const { dbs, keys, values } = this;
    for (let j = 0; j < dbs.length; j++) {
      const v = values[j];
      if (v === undefined) void dbs[j]!.remove(keys[j] as Buffer);
      else void dbs[j]!.put(keys[j] as Buffer, v);
    }
  };

  private write(db: Db, key: Uint8Array, value: Buffer | undefined): void {
    this.dbs.push(db);
    this.keys.push(key);
    this.values.push(value);
  }

  private encode(op: StoreOp, index: number, ops: readonly StoreOp[]): void {
    const w = this.w;
    switch (op.op) {
      case 'putSession':
        this.write(this.sessions, this.clientKey(op.session.clientId), encodeSession(w, op.session));
        return;
      case 'deleteSession':
        this.encodeDeleteSession(op.clientId, index, ops);
        return;
      case 'putOutbound':
        this.write(this.outbound, this.outboundKey(op.clientId, op.record.seq), encodeOutbound(w, op.record));
        return;
      case 'deleteOutbound':
        this.write(this.outbound, this.outboundKey(op.clientId, op.seq), undefined);
        return;
      case 'putInboundQos2':
        this.write(this.inbound, this.inboundKey(op.clientId, op.packetId), PRESENT);
        return;
      case 'deleteInboundQos2':
        this.write(this.inbound, this.inboundKey(op.clientId, op.packetId), undefined);
        return;
      case 'putRetained':
        this.write(this.retained, this.retainedKey(op.message.topic), encodeRetained(w, op.message));
        return;
      case 'deleteRetained':
        this.write(this.retained, this.retainedKey(op.topic), undefined);
        return;
    }
  }

  private encodeDeleteSession(clientId: string, index: number, ops: readonly StoreOp[]): void {
    const prefix = this.clientKey(clientId);
    this.write(this.sessions, prefix, undefined);
    const range = { start: prefix, end: prefixEnd(prefix) };
    for (const key of this.outbound.getKeys(range)) this.write(this.outbound, key, undefined);
    for (const key of this.inbound.getKeys(range)) this.write(this.inbound, key, undefined);
    for (let c = 0; c < this.inFlight.length; c++) {
      const earlier = this.inFlight[c]!;
      this.removePuts(clientId, earlier, earlier.length);
    }
    this.removePuts(clientId, ops, index);
  }

  /** Remove what the first `upto` ops of `ops` put for `clientId`. */
  private removePuts(clientId: string, ops: readonly StoreOp[], upto: number): void {
    for (let i = 0; i < upto; i++) {
      const op = ops[i]!;
      if (op.op === 'putOutbound' && op.clientId === clientId) {
        this.write(this.outbound, this.outboundKey(clientId, op.record.seq), undefined);
      } else if (op.op === 'putInboundQos2' && op.clientId === clientId) {
        this.write(this.inbound, this.inboundKey(clientId, op.packetId), undefined);
      }
    }
  }

  /**
   * Begin a key record: the client key of `clientId` and room for `extra` more bytes. Consecutive
   * ops mostly concern one client (a subscriber's queue), so the last client key is copied, not
   * encoded again. Returns the write position; `w.buf` holds the record.
   */
  private beginClientKey(clientId: string, extra: number): number {
    const w = this.w;
    w.begin();
    const cached = clientId === this.lastClientId ? this.lastClientKey : undefined;
    w.reserve((cached !== undefined ? cached.length : clientKeyBound(clientId)) + extra);
    const b = w.buf;
    if (cached !== undefined) return putRaw(b, w.pos, cached);
    const at = w.pos;
    const p = putClientKey(b, at, clientId);
    this.lastClientKey = b.subarray(at, p);
    this.lastClientId = clientId;
    return p;
  }

  private clientKey(clientId: string): Buffer {
    this.w.pos = this.beginClientKey(clientId, 0);
    return this.w.end();
  }

  private outboundKey(clientId: string, seq: number): Buffer {
    const p = this.beginClientKey(clientId, 8);
    this.w.pos = put64(this.w.buf, p, seq);
    return this.w.end();
  }

  private inboundKey(clientId: string, packetId: number): Buffer {
    const p = this.beginClientKey(clientId, 2);
    this.w.pos = put16(this.w.buf, p, packetId);
    return this.w.end();
  }

  private retainedKey(topic: string): Buffer {
    const w = this.w;
    w.begin();
    w.reserve(retainedKeyBound(topic));
    w.pos = putRetainedKey(w.buf, w.pos, topic);
    return w.end();
  }

  loadSessions(): Promise<SessionRecord[]> {
    return this.read('sessions', () => {
      const out: SessionRecord[] = [];
      for (const { value } of this.sessions.getRange({})) out.push(decodeSession(asBuffer(value)));
      return out;
    });
  }

  loadOutbound(clientId: string): Promise<OutboundRecord[]> {
    return this.read('outbound messages', () => {
      const prefix = this.clientKey(clientId);
      const out: OutboundRecord[] = [];
      for (const { key, value } of this.outbound.getRange({ start: prefix, end: prefixEnd(prefix) })) {
        out.push(decodeOutbound(asBuffer(value), seqOfKey(key)));
      }
      return out;
    });
  }

  loadInboundQos2(clientId: string): Promise<number[]> {
    return this.read('inbound QoS 2 state', () => {
      const prefix = this.clientKey(clientId);
      const out: number[] = [];
      for (const key of this.inbound.getKeys({ start: prefix, end: prefixEnd(prefix) })) out.push(packetIdOfKey(key));
      return out;
    });
  }

  loadRetained(): Promise<StoredMessage[]> {
    return this.read('retained messages', () => {
      const out: StoredMessage[] = [];
      for (const { value } of this.retained.getRange({})) out.push(decodeRetained(asBuffer(value)));
      return out;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
  }

  private read<T>(what: string, fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_OPEN_FAILED, 'the broker store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(
        new TwinhubError(Errors.STORE_OPEN_FAILED, `cannot read the ${what} of ${this.env.path}: ${(err as Error).message}`, undefined, {
          cause: err,
        }),
      );
    }
  }
}

function rethrow(err: TwinhubError): never {
  throw err;
}
