// The embedded TwinStore on LMDB (lmdb-js), in the `twins` environment of the data folder
// (env.ts), so twin writes never queue behind the broker's per-turn commits.
//
// Sub-databases:
//   twins    <deviceId> 0x00 <shadowName>                  → JSON {r: revision, h: last history seq, d?: doc, t?: tombstone}
//   history  <deviceId> 0x00 <shadowName> 0x00 <seq u64BE> → JSON TwinHistoryEntry
//   meta     "revision"                                    → u64BE, the last revision handed out
// The classic shadow's name is '', so a device's keys all start with <deviceId> 0x00 (deleteDevice
// removes that range in both databases). Device and shadow names never contain 0x00.
//
// Compare-and-set without LMDB transactions on the event loop (lmdb-js `transaction()` never ran
// its callback in our tests, env.ts): the writes of one event-loop turn go to LMDB as one `batch`
// (one transaction on lmdb-js's writer thread, applied whole or not at all), and a write waits
// until the earlier write of the same key has settled before it reads the stored revision and
// decides. Check and enqueue happen in one synchronous step, so two writers of a key cannot both
// pass the check; a write that depends on one still in flight never builds on a write that failed.
// History entries of a twin are numbered by the seq kept in its record; a write also removes the
// entries older than the last `historySize`.
//
// Revisions come from one counter for the environment (persisted with each batch), so a key that
// was removed (deleteDevice) and written again never reuses a revision a writer may still hold.
import type { Database } from 'lmdb';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { ShadowDocument, ShadowTombstone } from '../../core/twin/index.js';
import {
  DEFAULT_TWIN_HISTORY_SIZE,
  type StoredTwin,
  type TwinDelete,
  type TwinHistoryEntry,
  type TwinPut,
  type TwinStore,
  type TwinWriteResult,
} from '../../ports/twin-store.js';
import { openDataEnv, type DataEnv } from './env.js';

type Db = Database<Buffer, Buffer>;

export interface LmdbTwinStoreOptions {
  /** Flush every commit to the disk (survives power loss) instead of to the OS (survives a kill). */
  fsync: boolean;
  /** History entries kept per twin (default 100); 0 keeps none. */
  historySize?: number;
}

interface Record {
  r: number;
  h: number;
  d?: ShadowDocument;
  t?: ShadowTombstone;
}

interface Turn {
  dbs: Db[];
  keys: Buffer[];
  values: Array<Buffer | undefined>;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const REVISION_KEY = Buffer.from('revision');
const noop = (): void => undefined;

/** Open (creating when missing) the twin store of the data folder `dir`. */
export async function openLmdbTwinStore(dir: string, opts: LmdbTwinStoreOptions): Promise<LmdbTwinStore> {
  return new LmdbTwinStore(await openDataEnv(dir, 'twins', { fsync: opts.fsync }), opts.historySize ?? DEFAULT_TWIN_HISTORY_SIZE);
}

export class LmdbTwinStore implements TwinStore {
  private readonly twins: Db;
  private readonly hist: Db;
  private readonly meta: Db;
  private revision: number;
  private turn: Turn | null = null;
  /** Per key (latin1 of the key bytes): settles when the key's last write has. Never rejects. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Devices being deleted: writes of theirs wait. */
  private readonly deleting = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly env: DataEnv,
    private readonly historySize: number,
  ) {
    this.twins = env.openDb('twins');
    this.hist = env.openDb('history');
    this.meta = env.openDb('meta');
    const r = this.meta.get(REVISION_KEY);
    this.revision = r === undefined ? 0 : Number(Buffer.from(r).readBigUInt64BE(0));
  }

  get path(): string {
    return this.env.path;
  }

  async get(deviceId: string, shadowName: string): Promise<StoredTwin | undefined> {
    const rec = this.read(twinKey(deviceId, shadowName));
    return rec === undefined ? undefined : toStored(rec);
  }

  put(deviceId: string, shadowName: string, write: TwinPut): Promise<TwinWriteResult> {
    return this.write(deviceId, shadowName, write.expectedRevision, write.history, write.doc, undefined);
  }

  delete(deviceId: string, shadowName: string, write: TwinDelete): Promise<TwinWriteResult> {
    return this.write(deviceId, shadowName, write.expectedRevision, write.history, undefined, write.tombstone);
  }

  private async write(
    deviceId: string,
    shadowName: string,
    expected: number,
    entry: TwinHistoryEntry,
    doc: ShadowDocument | undefined,
    tombstone: ShadowTombstone | undefined,
  ): Promise<TwinWriteResult> {
    const key = twinKey(deviceId, shadowName);
    const id = key.toString('latin1');
    for (;;) {
      // Wait until neither a device deletion nor an earlier write of this key is in flight.
      const barrier = this.deleting.get(deviceId) ?? this.inFlight.get(id);
      if (barrier === undefined) break;
      await barrier;
    }
    if (this.closed) throw new TwinhubError(Errors.STORE_WRITE_FAILED, 'the twin store is closed');
    // From here to enqueueing, synchronous: nobody else can check this key in between.
    let rec: Record | undefined;
    try {
      rec = this.read(key);
    } catch (err) {
      throw new TwinhubError(Errors.STORE_WRITE_FAILED, `twin store read failed: ${(err as Error).message}`, undefined, { cause: err });
    }
    const current = rec?.r ?? 0;
    if (current !== expected) return { ok: false, revision: current };
    const revision = ++this.revision;
    const seq = (rec?.h ?? 0) + 1;
    const next: Record = { r: revision, h: this.historySize > 0 ? seq : rec?.h ?? 0 };
    if (doc !== undefined) next.d = doc;
    if (tombstone !== undefined) next.t = tombstone;
    const turn = this.currentTurn();
    push(turn, this.twins, key, Buffer.from(JSON.stringify(next)));
    if (this.historySize > 0) {
      push(turn, this.hist, historyKey(key, seq), Buffer.from(JSON.stringify(entry)));
      // Everything older than the last historySize entries: earlier writes of this key have all
      // settled (waited above), so the committed keys are all there is.
      if (seq > this.historySize) {
        const prefix = historyPrefix(key);
        for (const k of this.hist.getKeys({ start: prefix, end: historyKey(key, seq - this.historySize + 1) })) push(turn, this.hist, k, undefined);
      }
    }
    const settled = turn.done.then(noop, noop);
    this.inFlight.set(id, settled);
    void settled.then(() => {
      if (this.inFlight.get(id) === settled) this.inFlight.delete(id);
    });
    await turn.done;
    return { ok: true, revision };
  }

  async list(deviceId: string): Promise<string[]> {
    const prefix = devicePrefix(deviceId);
    const names: string[] = [];
    for (const { key, value } of this.twins.getRange({ start: prefix, end: prefixEnd(prefix) })) {
      const rec = JSON.parse(Buffer.from(value).toString('utf8')) as Record;
      if (rec.d !== undefined) names.push(Buffer.from(key).subarray(prefix.length).toString('utf8'));
    }
    return names;
  }

  async history(deviceId: string, shadowName: string, limit?: number): Promise<TwinHistoryEntry[]> {
    const prefix = historyPrefix(twinKey(deviceId, shadowName));
    const out: TwinHistoryEntry[] = [];
    if (limit !== undefined && limit <= 0) return out;
    const range = { start: prefixEnd(prefix), end: prefix, reverse: true, ...(limit === undefined ? {} : { limit }) };
    for (const { value } of this.hist.getRange(range)) out.push(JSON.parse(Buffer.from(value).toString('utf8')) as TwinHistoryEntry);
    return out;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    if (this.closed) throw new TwinhubError(Errors.STORE_WRITE_FAILED, 'the twin store is closed');
    const prefix = devicePrefix(deviceId);
    const id = prefix.toString('latin1');
    let release!: () => void;
    const barrier = new Promise<void>((r) => (release = r));
    // Chain behind an earlier deletion of the same device.
    const before = this.deleting.get(deviceId);
    this.deleting.set(deviceId, barrier);
    try {
      if (before !== undefined) await before;
      // Let the device's writes already in flight settle, so the range below holds them.
      const pending: Promise<void>[] = [];
      for (const [k, p] of this.inFlight) if (k.startsWith(id)) pending.push(p);
      await Promise.all(pending);
      const turn = this.currentTurn();
      const range = { start: prefix, end: prefixEnd(prefix) };
      for (const k of this.twins.getKeys(range)) push(turn, this.twins, k, undefined);
      for (const k of this.hist.getKeys(range)) push(turn, this.hist, k, undefined);
      await turn.done;
    } finally {
      if (this.deleting.get(deviceId) === barrier) this.deleting.delete(deviceId);
      release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.inFlight.values(), ...this.deleting.values()]);
    if (this.turn !== null) await this.turn.done.catch(noop);
    await this.env.close();
  }

  private read(key: Buffer): Record | undefined {
    const v = this.twins.get(key);
    return v === undefined ? undefined : (JSON.parse(Buffer.from(v).toString('utf8')) as Record);
  }

  /** The batch of this event-loop turn, issued on the next setImmediate. */
  private currentTurn(): Turn {
    let t = this.turn;
    if (t !== null) return t;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Waiters attach their own handlers; this one only keeps an unobserved failure from ending the process.
    done.catch(noop);
    t = this.turn = { dbs: [], keys: [], values: [], done, resolve, reject };
    setImmediate(() => this.issue(t!));
    return t;
  }

  private issue(t: Turn): void {
    if (this.turn === t) this.turn = null;
    const rev = Buffer.allocUnsafe(8);
    rev.writeBigUInt64BE(BigInt(this.revision), 0);
    let written: Promise<boolean>;
    try {
      written = this.twins.batch(() => {
        for (let i = 0; i < t.dbs.length; i++) {
          const v = t.values[i];
          if (v === undefined) void t.dbs[i]!.remove(t.keys[i]!);
          else void t.dbs[i]!.put(t.keys[i]!, v);
        }
        void this.meta.put(REVISION_KEY, rev);
      });
    } catch (err) {
      t.reject(writeFailure(err));
      return;
    }
    written.then(
      () => t.resolve(),
      (err: unknown) => t.reject(writeFailure(err)),
    );
  }
}

function push(t: Turn, db: Db, key: Buffer, value: Buffer | undefined): void {
  t.dbs.push(db);
  t.keys.push(key);
  t.values.push(value);
}

function writeFailure(err: unknown): TwinhubError {
  return new TwinhubError(Errors.STORE_WRITE_FAILED, `twin store write failed: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err });
}

function toStored(rec: Record): StoredTwin {
  if (rec.d !== undefined) return { revision: rec.r, doc: rec.d };
  return { revision: rec.r, tombstone: rec.t! };
}

function checkName(s: string, what: string): void {
  if (s.includes('\u0000')) throw new TwinhubError(Errors.TWIN_INVALID, `${what} must not contain NUL`);
}

function devicePrefix(deviceId: string): Buffer {
  checkName(deviceId, 'device id');
  return Buffer.from(`${deviceId}\u0000`, 'utf8');
}

function twinKey(deviceId: string, shadowName: string): Buffer {
  checkName(deviceId, 'device id');
  checkName(shadowName, 'shadow name');
  return Buffer.from(`${deviceId}\u0000${shadowName}`, 'utf8');
}

function historyPrefix(key: Buffer): Buffer {
  const p = Buffer.allocUnsafe(key.length + 1);
  key.copy(p, 0);
  p[key.length] = 0;
  return p;
}

function historyKey(key: Buffer, seq: number): Buffer {
  const k = Buffer.allocUnsafe(key.length + 9);
  key.copy(k, 0);
  k[key.length] = 0;
  k.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), key.length + 1);
  k.writeUInt32BE(seq >>> 0, key.length + 5);
  return k;
}

/** The first key after every key starting with `prefix` (prefix ends with 0x00, so bump it). */
function prefixEnd(prefix: Buffer): Buffer {
  const e = Buffer.from(prefix);
  e[e.length - 1] = e[e.length - 1]! + 1;
  return e;
}
