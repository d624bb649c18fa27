// The embedded TwinStore on LMDB (lmdb-js), in the `twins` environment of the data folder
// (env.ts), so twin writes never queue behind the broker's per-turn commits.
//
// Sub-databases:
//   twins    <deviceId> 0x00 <shadowName>                  → JSON {r: revision, h: last history seq, d?: doc, t?: tombstone},
//                                                            the doc's metadata compact (format 2, twin-migrations.ts)
//   history  <deviceId> 0x00 <shadowName> 0x00 <seq u64BE> → JSON TwinHistoryEntry
//   meta     "revision"                                    → u64BE, the last revision handed out
// The classic shadow's name is '', so a device's keys all start with <deviceId> 0x00 (deleteDevice
// removes that range in both databases). Device and shadow names never contain 0x00.
//
// Compare-and-set without LMDB transactions on the event loop (lmdb-js `transaction()` never ran
// its callback in our tests, env.ts): writes go to LMDB in `batch`es (one transaction on lmdb-js's
// writer thread, applied whole or not at all) of up to writesPerBatch twin writes, issued when full
// or at the end of the event-loop turn (DEFAULT_WRITES_PER_BATCH says why), and a write waits
// until the earlier write of the same key has settled before it reads the stored revision and
// decides. Check and enqueue happen in one synchronous step, so two writers of a key cannot both
// pass the check; a write that depends on one still in flight never builds on a write that failed.
// History entries of a twin are numbered by the seq kept in its record; a write also removes the
// entries older than the last `historySize`.
//
// Revisions come from one counter for the environment (persisted with each batch), so a key that
// was removed (deleteDevice) and written again never reuses a revision a writer may still hold.
//
// The hot path (docs/TWINS.md "Performance"): this process is the environment's only writer, so
// the committed revision and history seq of recently written keys stay in a bounded LRU (`keys`)
// and a write's check reads neither LMDB nor JSON. An entry is set only once its batch committed
// (before that batch's writers resume), so it always shows what is committed. The record's JSON
// is assembled from fragments: the sections of state and metadata a write left unchanged are
// shared objects (merge-state.ts), so the key's entry keeps their JSON from the last write and
// only changed sections are serialised again. Metadata is stored compact (each change's writer,
// change number and timestamp once per section, not per field: core/twin/compact-metadata.ts),
// and a history entry whose reported state is the document's reported section (a report that
// replaced every field) reuses that section's JSON.
import type { Database } from 'lmdb';
import { getOrMake } from '../../common/bounded-map.js';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { ShadowDocument, ShadowTombstone } from '../../core/twin/index.js';
import { compactMetadataJson } from '../../core/twin/compact-metadata.js';
import { isJsonObject, sameFields, type JsonObject } from '../../core/twin/json-value.js';
import type { MetaNode } from '../../core/twin/metadata.js';
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
import { ByteSlab } from './byte-slab.js';
import { docJsonV2, jsonOfBytes, onlyKeys, parseRecordV2, recordJsonV2, SECTION_KEYS, writeRecordV2, type TwinRecord } from './twin-migrations.js';

type Db = Database<Buffer, Buffer>;

export interface LmdbTwinStoreOptions {
  /** Flush every commit to the disk (survives power loss) instead of to the OS (survives a kill). */
  fsync: boolean;
  /** History entries kept per twin (default 100); 0 keeps none. */
  historySize?: number;
  /** Keys whose revision, history seq and last JSON sections stay cached (LRU, default 50,000). */
  cachedKeys?: number;
  /** Twin writes per LMDB transaction before it is issued without waiting for the end of the turn (default 16). */
  writesPerBatch?: number;
}


/** What the cache knows of a committed key. */
interface KeyState {
  /** The key's bytes in the twins database. */
  key: Buffer;
  /** Revision (0: the key holds nothing). */
  r: number;
  /** Last history seq. */
  h: number;
  /** Whether this process already removed the key's history beyond historySize (then one remove per write suffices). */
  trimmed: boolean;
  /** The sections of the last document written, with the JSON of those that were unchanged ('' otherwise; see fragmentsOf). */
  frags: Fragments | undefined;
}

/** The four sections of a document and their JSON ('' when not kept or absent). */
interface Fragments {
  desired: object | undefined;
  desiredJson: string;
  reported: object | undefined;
  reportedJson: string;
  metaDesired: object | undefined;
  metaDesiredJson: string;
  metaReported: object | undefined;
  metaReportedJson: string;
}

interface Turn {
  dbs: Db[];
  keys: Buffer[];
  values: Array<Buffer | undefined>;
  /** Cache entries to set once the batch committed (the key's id and its new state). */
  ids: string[];
  states: KeyState[];
  done: Promise<void>;
  /** Settles with `done` and never rejects: the barrier of the keys written in this turn. */
  settled: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Handed to LMDB (when full, or at the end of the turn). */
  issued: boolean;
}

/**
 * Twin writes per LMDB transaction (docs/TWINS.md "Performance"). A turn's writes used to wait for
 * the end of the turn and go as one transaction; under load that put the event loop and LMDB's
 * writer thread in lockstep (the updates in flight all joined one transaction, whose commit the
 * event loop then only waited for, and the next one began only after their acknowledgements came
 * back), leaving each of them idle for much of the time. Issuing every 16 writes lets the writer
 * commit one transaction while the event loop prepares the next: 27–30 k → 34–38 k updates/s in
 * `npm run bench:twins` (4: 30 k, 8: 33 k, 32: 35 k, one run each).
 */
const DEFAULT_WRITES_PER_BATCH = 16;

/** Keys whose state stays cached (docs/TWINS.md "Performance": about 1 KB each beside the service's cache). */
const DEFAULT_CACHED_KEYS = 50_000;

const REVISION_KEY = Buffer.from('revision');
const noop = (): void => undefined;

/** Open (creating when missing) the twin store of the data folder `dir`. */
export async function openLmdbTwinStore(dir: string, opts: LmdbTwinStoreOptions): Promise<LmdbTwinStore> {
  return new LmdbTwinStore(await openDataEnv(dir, 'twins', { fsync: opts.fsync }), opts.historySize ?? DEFAULT_TWIN_HISTORY_SIZE, opts.cachedKeys, opts.writesPerBatch);
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
  /** Committed state of recently written keys (by id), oldest first. */
  private readonly keys = new Map<string, KeyState>();
  private readonly cachedKeys: number;
  private readonly writesPerBatch: number;
  /** Where record and history values are written (byte-slab.ts). */
  private readonly slab = new ByteSlab();
  private closed = false;
  /** Reads of a key's record a write needed (cache misses). */
  recordReads = 0;

  constructor(
    private readonly env: DataEnv,
    private readonly historySize: number,
    cachedKeys = DEFAULT_CACHED_KEYS,
    writesPerBatch = DEFAULT_WRITES_PER_BATCH,
  ) {
    this.cachedKeys = Math.max(0, cachedKeys);
    this.writesPerBatch = Math.max(1, writesPerBatch);
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

  private write(
    deviceId: string,
    shadowName: string,
    expected: number,
    entry: TwinHistoryEntry,
    doc: ShadowDocument | undefined,
    tombstone: ShadowTombstone | undefined,
  ): Promise<TwinWriteResult> {
    const id = keyId(deviceId, shadowName);
    let state = this.keys.get(id);
    let key: Buffer;
    try {
      key = state !== undefined ? state.key : twinKey(deviceId, shadowName);
    } catch (err) {
      return Promise.reject(err);
    }
    // Wait until neither a device deletion nor an earlier write of this key is in flight.
    const barrier = this.deleting.get(deviceId) ?? this.inFlight.get(id);
    if (barrier !== undefined) return barrier.then(() => this.write(deviceId, shadowName, expected, entry, doc, tombstone));
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'the twin store is closed'));
    // From here to enqueueing, synchronous: nobody else can check this key in between.
    if (state === undefined) {
      let rec: TwinRecord | undefined;
      try {
        this.recordReads++;
        rec = this.read(key);
      } catch (err) {
        return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, `twin store read failed: ${(err as Error).message}`, undefined, { cause: err }));
      }
      state = { key, r: rec?.r ?? 0, h: rec?.h ?? 0, trimmed: false, frags: undefined };
    }
    const current = state.r;
    if (current !== expected) return Promise.resolve({ ok: false, revision: current });
    const revision = ++this.revision;
    const seq = state.h + 1;
    const next: KeyState = { key, r: revision, h: this.historySize > 0 ? seq : state.h, trimmed: state.trimmed, frags: undefined };
    let record: Buffer;
    let reportedJson = '';
    if (doc !== undefined) {
      const frags = fragmentsOf(doc, state.frags);
      next.frags = frags.keep;
      reportedJson = frags.json.reportedJson;
      record = writeRecordV2(this.slab, revision, next.h, doc, frags.json) ?? Buffer.from(recordJsonV2(revision, next.h, docJsonV2(doc, frags.json), undefined));
    } else {
      record = Buffer.from(recordJsonV2(revision, next.h, undefined, tombstone));
    }
    const turn = this.currentTurn();
    push(turn, this.twins, key, record);
    if (this.historySize > 0) {
      push(turn, this.hist, historyKey(key, seq), historyBytes(this.slab, entry, doc, reportedJson));
      // Everything older than the last historySize entries. Once this process has trimmed the
      // key, each write only has the one entry that just fell out to remove; the first time, the
      // committed keys are scanned (earlier writes of this key have all settled: waited above).
      const oldest = seq - this.historySize + 1;
      if (oldest > 1) {
        if (state.trimmed) {
          push(turn, this.hist, historyKey(key, oldest - 1), undefined);
        } else {
          const prefix = historyPrefix(key);
          for (const k of this.hist.getKeys({ start: prefix, end: historyKey(key, oldest) })) push(turn, this.hist, k, undefined);
          next.trimmed = true;
        }
      }
    }
    turn.ids.push(id);
    turn.states.push(next);
    this.inFlight.set(id, turn.settled);
    const result = turn.done.then(() => ({ ok: true, revision }));
    // A full batch goes to LMDB now rather than at the end of the turn (see currentTurn).
    if (turn.ids.length >= this.writesPerBatch) this.issue(turn);
    return result;
  }

  async list(deviceId: string): Promise<string[]> {
    const prefix = devicePrefix(deviceId);
    const names: string[] = [];
    for (const { key, value } of this.twins.getRange({ start: prefix, end: prefixEnd(prefix) })) {
      // Only whether it is live: the document is not decoded.
      const rec = jsonOfBytes(value) as { d?: unknown };
      if (rec.d !== undefined) names.push(Buffer.from(key).subarray(prefix.length).toString('utf8'));
    }
    return names;
  }

  async history(deviceId: string, shadowName: string, limit?: number): Promise<TwinHistoryEntry[]> {
    const prefix = historyPrefix(twinKey(deviceId, shadowName));
    const out: TwinHistoryEntry[] = [];
    if (limit !== undefined && limit <= 0) return out;
    const range = { start: prefixEnd(prefix), end: prefix, reverse: true, ...(limit === undefined ? {} : { limit }) };
    for (const { value } of this.hist.getRange(range)) out.push(jsonOfBytes(value) as TwinHistoryEntry);
    return out;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    if (this.closed) throw new TwinhubError(Errors.STORE_WRITE_FAILED, 'the twin store is closed');
    const prefix = devicePrefix(deviceId);
    const named = `${deviceId}\u0000`;
    let release!: () => void;
    const barrier = new Promise<void>((r) => (release = r));
    // Chain behind an earlier deletion of the same device.
    const before = this.deleting.get(deviceId);
    this.deleting.set(deviceId, barrier);
    try {
      if (before !== undefined) await before;
      // Let the device's writes already in flight settle, so the range below holds them.
      const pending: Promise<void>[] = [];
      for (const [k, p] of this.inFlight) if (k === deviceId || k.startsWith(named)) pending.push(p);
      await Promise.all(pending);
      const turn = this.currentTurn();
      const range = { start: prefix, end: prefixEnd(prefix) };
      const ids: string[] = [];
      for (const k of this.twins.getKeys(range)) {
        push(turn, this.twins, k, undefined);
        ids.push(keyId(deviceId, Buffer.from(k).subarray(prefix.length).toString('utf8')));
      }
      for (const k of this.hist.getKeys(range)) push(turn, this.hist, k, undefined);
      await turn.done;
      // The keys hold nothing now (writes of the device waited for this).
      for (const k of ids) this.keys.delete(k);
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

  private read(key: Buffer): TwinRecord | undefined {
    const v = this.twins.get(key);
    return v === undefined ? undefined : parseRecordV2(v);
  }

  /** The batch being filled: issued when it holds writesPerBatch twin writes, else on the next setImmediate. */
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
    const settled = done.then(noop, noop);
    t = this.turn = { dbs: [], keys: [], values: [], ids: [], states: [], done, settled, resolve, reject, issued: false };
    // The keys' barriers end with the batch (cache entries were set before, in commit()).
    void settled.then(() => {
      for (const id of t!.ids) if (this.inFlight.get(id) === settled) this.inFlight.delete(id);
    });
    setImmediate(() => this.issue(t!));
    return t;
  }

  private issue(t: Turn): void {
    if (t.issued) return;
    t.issued = true;
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
      () => {
        this.commit(t);
        t.resolve();
      },
      (err: unknown) => t.reject(writeFailure(err)),
    );
  }

  /** The batch is durable: its keys' states become the cached ones (LRU: a written key moves to the young end). */
  private commit(t: Turn): void {
    if (this.cachedKeys === 0) return;
    const keys = this.keys;
    for (let i = 0; i < t.ids.length; i++) {
      const id = t.ids[i]!;
      keys.delete(id);
      keys.set(id, t.states[i]!);
    }
    if (keys.size > this.cachedKeys) {
      let excess = keys.size - this.cachedKeys;
      for (const id of keys.keys()) {
        if (excess-- <= 0) break;
        keys.delete(id);
      }
    }
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

function toStored(rec: TwinRecord): StoredTwin {
  if (rec.d !== undefined) return { revision: rec.r, doc: rec.d };
  return { revision: rec.r, tombstone: rec.t! };
}

/**
 * The cache id of a twin key: the device id for the classic shadow (most twins: the caller's own
 * string, whose hash V8 has already computed, rather than a new one per write), else
 * `<deviceId> NUL <shadowName>`. Names never contain NUL (checked when the key is not cached), so
 * ids of distinct keys differ.
 */
function keyId(deviceId: string, shadowName: string): string {
  // A device id with NUL is refused by twinKey; its id must not be that of a named shadow meanwhile.
  if (shadowName === '' && !deviceId.includes('\u0000')) return deviceId;
  return `${deviceId}\u0000${shadowName}`;
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

/**
 * The JSON of the document's four sections, reusing `prev`'s for those it shares by identity.
 * Kept for the next write (in the key's cache entry) only where the section was the same object
 * as in the previous write: a section that changed is likely to change again (the reported state
 * of a device that reports), so its JSON is not worth the memory; `json` holds what to write now.
 */
function fragmentsOf(doc: ShadowDocument, prev: Fragments | undefined): { keep: Fragments; json: Fragments } {
  const { desired, reported } = doc.state;
  const md = doc.metadata.desired;
  const mr = doc.metadata.reported;
  const sameD = prev !== undefined && prev.desired === desired;
  const sameR = prev !== undefined && prev.reported === reported;
  const sameMdOnly = prev !== undefined && prev.metaDesired === md;
  const sameMrOnly = prev !== undefined && prev.metaReported === mr;
  const desiredJson = sameD && prev.desiredJson !== '' ? prev.desiredJson : shared(encode(desired));
  const reportedJson = sameR && prev.reportedJson !== '' ? prev.reportedJson : encode(reported);
  // The compact metadata of a section depends on the state section too (compact-metadata.ts).
  const sameMd = sameMdOnly && sameD;
  const sameMr = sameMrOnly && sameR;
  const metaDesiredJson = sameMd && prev.metaDesiredJson !== '' ? prev.metaDesiredJson : shared(encodeMeta(md, desired));
  const metaReportedJson = sameMr && prev.metaReportedJson !== '' ? prev.metaReportedJson : encodeMeta(mr, reported);
  const json: Fragments = { desired, desiredJson, reported, reportedJson, metaDesired: md, metaDesiredJson, metaReported: mr, metaReportedJson };
  // Nothing changed since the previous write: what to keep is what to write (one object, not two).
  if (sameD && sameR && sameMd && sameMr) return { keep: json, json };
  const keep: Fragments = {
    desired,
    desiredJson: sameD ? desiredJson : '',
    reported,
    reportedJson: sameR ? reportedJson : '',
    metaDesired: md,
    metaDesiredJson: sameMd ? metaDesiredJson : '',
    metaReported: mr,
    metaReportedJson: sameMr ? metaReportedJson : '',
  };
  return { keep, json };
}

/**
 * One string for equal desired JSON across twins (desired state is often set for a whole group at
 * once): the kept sections of many keys then share memory, and writing them reads memory that
 * other twins' writes keep in the CPU's caches. Bounded; cleared when full.
 */
const SHARED_SECTIONS = new Map<string, string>();
const MAX_SHARED_SECTIONS = 4096;
const itself = (json: string): string => json;
function shared(json: string): string {
  return getOrMake(SHARED_SECTIONS, MAX_SHARED_SECTIONS, json, itself);
}

/** JSON of a section, '' when absent. */
function encode(v: object | undefined): string {
  return v === undefined ? '' : JSON.stringify(v);
}

/** Compact JSON of a metadata section, '' when absent. */
function encodeMeta(v: MetaNode | undefined, state: JsonObject | undefined): string {
  return v === undefined ? '' : compactMetadataJson(v, state);
}

/**
 * The stored bytes of a history entry, written into `slab`: its JSON (what JSON.stringify gives,
 * up to the order of fields). When the
 * entry's reported state has the same fields with the same values, in the same order, as the
 * document's reported section (a report that replaced every field), that section's JSON is
 * reused rather than serialised again.
 */
function historyBytes(slab: ByteSlab, e: TwinHistoryEntry, doc: ShadowDocument | undefined, reportedJson: string): Buffer {
  if (!onlyKeys(e, HISTORY_KEYS)) {
    const all = JSON.stringify(e);
    return slab.begin(3 * all.length).str(all).end();
  }
  let head = `{"op":${JSON.stringify(e.op)},"version":${JSON.stringify(e.version)},"at":${JSON.stringify(e.at)},"writer":${JSON.stringify(e.writer)}`;
  const tail = e.lost === undefined ? '}' : `,"lost":${JSON.stringify(e.lost)}}`;
  const st = e.state;
  if (st !== undefined) {
    const reported = st.reported;
    const docReported = doc?.state.reported;
    if (reportedJson !== '' && docReported !== undefined && onlyKeys(st, SECTION_KEYS) && isJsonObject(reported) && sameFields(reported, docReported)) {
      const desired = st.desired;
      head += desired === undefined ? ',"state":{"reported":' : `,"state":{"desired":${JSON.stringify(desired)},"reported":`;
      return slab
        .begin(3 * (head.length + reportedJson.length + tail.length) + 3)
        .str(head)
        .str(reportedJson)
        .str('}')
        .str(tail)
        .end();
    }
    head += `,"state":${JSON.stringify(st)}`;
  }
  return slab.begin(3 * (head.length + tail.length)).str(head).str(tail).end();
}

const HISTORY_KEYS: ReadonlySet<string> = new Set(['op', 'version', 'at', 'writer', 'state', 'lost']);
