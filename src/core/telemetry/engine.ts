// The chunk engine of the telemetry store: per series an open chunk in memory, sealed chunks in the
// series store (src/ports/series-store.ts), rollups maintained as points arrive, and the
// write-ahead log that makes accepted points durable before they are acknowledged.
//
// Life of a point:
//   append()      checks it (kind, late window), applies it to memory at once (queries see it),
//                 and adds it to this event-loop turn's WAL entry; the turn's entry is written in
//                 one store call, whose promise (`durable`) the caller hands to the PUBACK.
//   seal          when an open chunk reaches chunkMaxPoints or spans chunkMaxSpanMs it is encoded
//                 (src/codec/tsdb) right away; the bytes stay in memory until a commit stored them.
//   late points   older than the series' sealed chunks but within lateWindowMs of its newest point
//                 wait in memory and are merged into the chunk they belong to (read, merged,
//                 re-encoded) by the next commit; older than the window they are rejected and
//                 counted.
//   commit        a background job writes sealed and re-encoded chunks, the heads (the open chunk
//                 encoded) of the series concerned, their changed rollup buckets and their
//                 `appliedSeq`, in one atomic store commit. A checkpoint is a commit of every
//                 series with points not yet in chunks or heads, which then drops the whole WAL
//                 up to it: the WAL stays bounded by the checkpoint interval, not the chunk size.
//   start-up      catalog, chunk index and heads are loaded, then the WAL entries after each
//                 series' appliedSeq are replayed.
//
// One background job runs at a time (commits, retention, deletes), so store writes never race.
import { decodeChunk, encodeChunk, MAX_ABS_TIMESTAMP } from '../../codec/tsdb/index.js';
import type { Logger } from '../../obs/log.js';
import {
  ROLLUP_1H,
  ROLLUP_1M,
  type ChunkRef,
  type RollupBucket,
  type RollupResolution,
  type SealBatch,
  type SeriesRecord,
  type SeriesStore,
  type ValueKind,
  type WalEntry,
} from '../../ports/series-store.js';
import { addPoint, copyAgg, newAgg, type Agg } from './rollups.js';

export interface EngineOptions {
  /** Points up to this much older than a series' newest point are accepted (ms). */
  lateWindowMs: number;
  /** An open chunk is sealed at this many points. */
  chunkMaxPoints: number;
  /** An open chunk is sealed once it spans this long (ms). */
  chunkMaxSpanMs: number;
  /** Chunks and rollups older than this are deleted (ms); 0 keeps everything. */
  retentionMs: number;
  /** Per-device retention (device type, mapping); undefined falls back to retentionMs. */
  retentionFor?: (device: string) => number | undefined;
  /** Checkpoint (heads written, WAL dropped) this often (ms). */
  checkpointIntervalMs: number;
  /** …or once this many WAL entries were written since the last one. */
  checkpointWalEntries: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  lateWindowMs: 3_600_000,
  chunkMaxPoints: 120,
  chunkMaxSpanMs: 2 * 3_600_000,
  retentionMs: 0,
  checkpointIntervalMs: 60_000,
  checkpointWalEntries: 20_000,
};

export interface PointInput {
  device: string;
  metric: string;
  ts: number;
  value: number | boolean;
}

export type RejectReason = 'late' | 'kind' | 'timestamp';

export interface AppendResult {
  accepted: number;
  /** Rejected points, by index into the input, with why. */
  rejected: Array<{ index: number; reason: RejectReason }>;
  /** Resolves when this turn's WAL entry is durable (the same promise for every call of a turn). */
  durable: Promise<void>;
}

export interface EngineCounters {
  pointsAccepted: number;
  lateRejected: number;
  kindRejected: number;
  timestampRejected: number;
  walWrites: number;
  walFailures: number;
  commits: number;
  commitFailures: number;
  checkpoints: number;
}

/** A run of points of one series in time order. */
export interface Block {
  timestamps: Float64Array;
  values: Float64Array;
}

const RESOLVED = Promise.resolve();
const RETENTION_EVERY_MS = 3_600_000;

export class Series {
  readonly id: number;
  readonly device: string;
  readonly metric: string;
  kind: ValueKind;
  appliedSeq: number;
  maxTs: number;
  /** Value at maxTs (NaN and lastKnown false until read back after a restart). */
  lastValue = NaN;
  lastKnown = false;
  /** The open chunk, sorted by time. */
  ots: Float64Array = new Float64Array(16);
  ovs: Float64Array = new Float64Array(16);
  on = 0;
  /** Sealed chunks, in time order (disjoint ranges). */
  chunks: ChunkRef[] = [];
  /** Bytes of sealed chunks not yet (or being) written, by start. */
  pending = new Map<number, Uint8Array>();
  /** Chunk starts whose pending bytes must be written by the next commit. */
  unwritten = new Set<number>();
  /** Stored chunk starts to delete with the next commit (re-keyed or past retention). */
  toDelete = new Set<number>();
  /** Late points waiting to be merged into sealed chunks: ts, value pairs. */
  late: number[] = [];
  /** Points not yet in chunks or head (must be part of the next checkpoint). */
  dirty = false;
  m1 = new Map<number, Agg>();
  h1 = new Map<number, Agg>();
  dirtyM1 = new Set<number>();
  dirtyH1 = new Set<number>();
  /** From these bucket starts on (1m, 1h) memory holds every bucket there is: no store read needed. */
  memFromM1 = -Infinity;
  memFromH1 = -Infinity;

  constructor(rec: SeriesRecord) {
    this.id = rec.id;
    this.device = rec.device;
    this.metric = rec.metric;
    this.kind = rec.kind;
    this.appliedSeq = rec.appliedSeq;
    this.maxTs = rec.maxTs;
  }

  record(): SeriesRecord {
    return { id: this.id, device: this.device, metric: this.metric, kind: this.kind, appliedSeq: this.appliedSeq, maxTs: this.maxTs };
  }

  insertOpen(ts: number, v: number): void {
    let n = this.on;
    if (n === this.ots.length) {
      const t = new Float64Array(n * 2);
      const w = new Float64Array(n * 2);
      t.set(this.ots);
      w.set(this.ovs);
      this.ots = t;
      this.ovs = w;
    }
    const ots = this.ots;
    const ovs = this.ovs;
    // Out of order within the open chunk: shift the later points up (rare, and bounded by the chunk size).
    while (n > 0 && ots[n - 1]! > ts) {
      ots[n] = ots[n - 1]!;
      ovs[n] = ovs[n - 1]!;
      n--;
    }
    ots[n] = ts;
    ovs[n] = v;
    this.on++;
  }

  /** Hold a sealed chunk's bytes until the next commit writes them (and keep its key from being deleted). */
  stage(start: number, bytes: Uint8Array): void {
    this.pending.set(start, bytes);
    this.unwritten.add(start);
    this.toDelete.delete(start);
  }

  /** Forget a chunk's bytes and delete its key with the next commit (harmless if never written). */
  drop(start: number): void {
    this.pending.delete(start);
    this.unwritten.delete(start);
    this.toDelete.add(start);
  }

  /** Index of the chunk a late point at `ts` belongs to: the last one starting at or before it, else the first. */
  chunkIndexFor(ts: number): number {
    const c = this.chunks;
    let lo = 0;
    let hi = c.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]!.start <= ts) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}

/** An int series holds integers exactly; -0 is not one (an int chunk would give back 0). */
function fitsInt(v: number): boolean {
  return Number.isInteger(v) && !Object.is(v, -0);
}

function kindOfValue(v: number | boolean): ValueKind {
  return typeof v === 'boolean' ? 'bool' : fitsInt(v) ? 'int' : 'float';
}

function bucketStart(ts: number, res: number): number {
  return Math.floor(ts / res) * res;
}

export class SeriesEngine {
  readonly options: EngineOptions;
  readonly counters: EngineCounters = {
    pointsAccepted: 0,
    lateRejected: 0,
    kindRejected: 0,
    timestampRejected: 0,
    walWrites: 0,
    walFailures: 0,
    commits: 0,
    commitFailures: 0,
    checkpoints: 0,
  };
  private readonly byDevice = new Map<string, Map<string, Series>>();
  private readonly byId = new Map<number, Series>();
  private nextId = 1;
  private lastSeq = 0;
  private walSinceCheckpoint = 0;
  /** Series with sealed chunks or late points to commit. */
  private readonly toCommit = new Set<Series>();
  /** This turn's WAL entry, as columns. */
  private walN = 0;
  private walSeries = new Uint32Array(1024);
  private walTs = new Float64Array(1024);
  private walVs = new Float64Array(1024);
  private walNew: SeriesRecord[] = [];
  private turnPromise: Promise<void> | null = null;
  private turnResolve: (() => void) | null = null;
  private turnReject: ((err: unknown) => void) | null = null;
  private jobs: Promise<void> = RESOLVED;
  private jobScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    readonly store: SeriesStore,
    private readonly log: Logger,
    options: Partial<EngineOptions>,
  ) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
  }

  /** Open the engine over a store: load the catalog, heads and chunk index, replay the WAL. */
  static async open(store: SeriesStore, log: Logger, options: Partial<EngineOptions> = {}): Promise<SeriesEngine> {
    const e = new SeriesEngine(store, log, options);
    await e.load();
    e.timer = setInterval(() => e.checkpointSoon(), e.options.checkpointIntervalMs);
    e.timer.unref();
    return e;
  }

  private async load(): Promise<void> {
    const cat = await this.store.loadCatalog();
    this.nextId = cat.nextSeriesId;
    this.lastSeq = cat.lastWalSeq;
    for (const rec of cat.series) this.addSeries(new Series(rec));
    for (const ref of await this.store.listChunks()) this.byId.get(ref.series)?.chunks.push(ref);
    for (const [id, bytes] of await this.store.loadHeads()) {
      const s = this.byId.get(id);
      if (s === undefined) continue;
      const d = decodeChunk(bytes);
      for (let i = 0; i < d.timestamps.length; i++) s.insertOpen(d.timestamps[i]!, d.values[i]!);
    }
    // Recent rollup buckets, which late and replayed points may still change.
    for (const s of this.byId.values()) {
      if (s.on > 0 && s.ots[s.on - 1] === s.maxTs) {
        s.lastValue = s.ovs[s.on - 1]!;
        s.lastKnown = true;
      }
      if (s.maxTs === -Infinity) continue;
      const from = s.maxTs - this.options.lateWindowMs;
      s.memFromM1 = bucketStart(from, ROLLUP_1M);
      s.memFromH1 = bucketStart(from, ROLLUP_1H);
      for (const res of [ROLLUP_1M, ROLLUP_1H] as const) {
        const map = res === ROLLUP_1M ? s.m1 : s.h1;
        for (const b of await this.store.readRollups(s.id, res, bucketStart(from, res), Number.MAX_SAFE_INTEGER)) map.set(b.start, copyAgg(b));
      }
    }
    let minApplied = Infinity;
    for (const s of this.byId.values()) if (s.appliedSeq < minApplied) minApplied = s.appliedSeq;
    if (minApplied === Infinity) minApplied = this.lastSeq;
    let replayed = 0;
    for await (const entry of this.store.replayWal(minApplied)) {
      replayed += this.replay(entry);
      if (entry.seq > this.lastSeq) this.lastSeq = entry.seq;
      this.walSinceCheckpoint++;
    }
    if (replayed > 0) this.log.info({ points: replayed, series: this.byId.size }, 'telemetry WAL replayed');
  }

  private replay(entry: WalEntry): number {
    let n = 0;
    for (let i = 0; i < entry.series.length; i++) {
      const s = this.byId.get(entry.series[i]!);
      // Unknown: the series was deleted after this entry was written.
      if (s === undefined || entry.seq <= s.appliedSeq) continue;
      const v = entry.values[i]!;
      if (s.kind === 'int' && !fitsInt(v)) s.kind = 'float';
      this.apply(s, entry.timestamps[i]!, v);
      n++;
    }
    return n;
  }

  private addSeries(s: Series): void {
    let m = this.byDevice.get(s.device);
    if (m === undefined) this.byDevice.set(s.device, (m = new Map()));
    m.set(s.metric, s);
    this.byId.set(s.id, s);
  }

  // ------------------------------------------------------------------ writes

  /** Accept points (see the file comment). Synchronous: memory is updated before it returns. */
  append(points: readonly PointInput[]): AppendResult {
    const rejected: AppendResult['rejected'] = [];
    let accepted = 0;
    const window = this.options.lateWindowMs;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const ts = p.ts;
      if (!Number.isInteger(ts) || Math.abs(ts) > MAX_ABS_TIMESTAMP) {
        this.counters.timestampRejected++;
        rejected.push({ index: i, reason: 'timestamp' });
        continue;
      }
      const raw = p.value;
      let s = this.byDevice.get(p.device)?.get(p.metric);
      if (s === undefined) {
        s = new Series({ id: this.nextId++, device: p.device, metric: p.metric, kind: kindOfValue(raw), appliedSeq: 0, maxTs: -Infinity });
        this.addSeries(s);
        this.walNew.push(s.record());
      }
      const isBool = typeof raw === 'boolean';
      if (isBool !== (s.kind === 'bool')) {
        this.counters.kindRejected++;
        rejected.push({ index: i, reason: 'kind' });
        continue;
      }
      if (ts < s.maxTs - window) {
        this.counters.lateRejected++;
        rejected.push({ index: i, reason: 'late' });
        continue;
      }
      const v = isBool ? (raw ? 1 : 0) : (raw as number);
      if (s.kind === 'int' && !fitsInt(v)) s.kind = 'float';
      this.apply(s, ts, v);
      this.walPush(s.id, ts, v);
      accepted++;
    }
    this.counters.pointsAccepted += accepted;
    return { accepted, rejected, durable: accepted > 0 || this.turnPromise !== null ? this.turnDurable() : RESOLVED };
  }

  private apply(s: Series, ts: number, v: number): void {
    s.dirty = true;
    if (ts >= s.maxTs) {
      s.maxTs = ts;
      s.lastValue = v;
      s.lastKnown = true;
    }
    addRollup(s.m1, s.dirtyM1, ROLLUP_1M, ts, v);
    addRollup(s.h1, s.dirtyH1, ROLLUP_1H, ts, v);
    // A chunk is keyed by its first timestamp, so the open chunk must not start where the last
    // sealed one does (a run of equal timestamps across a seal): such a point joins that chunk.
    const last = s.chunks.length === 0 ? undefined : s.chunks[s.chunks.length - 1]!;
    if (last === undefined || ts > last.end || (ts === last.end && last.start < ts)) {
      s.insertOpen(ts, v);
      const n = s.on;
      if (n >= this.options.chunkMaxPoints || s.ots[n - 1]! - s.ots[0]! >= this.options.chunkMaxSpanMs) this.seal(s);
    } else {
      s.late.push(ts, v);
      this.toCommit.add(s);
      this.scheduleJob();
    }
  }

  /** Encode the open chunk into a sealed chunk held in memory until the next commit writes it. */
  private seal(s: Series): void {
    const n = s.on;
    if (n === 0) return;
    const bytes = encodeChunk(s.ots.subarray(0, n), s.ovs.subarray(0, n), { valueType: s.kind });
    const start = s.ots[0]!;
    s.chunks.push({ series: s.id, start, end: s.ots[n - 1]!, points: n, size: bytes.length });
    s.stage(start, bytes);
    s.on = 0;
    this.toCommit.add(s);
    this.scheduleJob();
  }

  private walPush(id: number, ts: number, v: number): void {
    const n = this.walN;
    if (n === this.walTs.length) {
      const a = new Uint32Array(n * 2);
      const b = new Float64Array(n * 2);
      const c = new Float64Array(n * 2);
      a.set(this.walSeries);
      b.set(this.walTs);
      c.set(this.walVs);
      this.walSeries = a;
      this.walTs = b;
      this.walVs = c;
    }
    this.walSeries[n] = id;
    this.walTs[n] = ts;
    this.walVs[n] = v;
    this.walN = n + 1;
  }

  /** The promise of this turn's WAL write; the write is issued once, at the end of the turn. */
  private turnDurable(): Promise<void> {
    if (this.turnPromise === null) {
      this.turnPromise = new Promise<void>((resolve, reject) => {
        this.turnResolve = resolve;
        this.turnReject = reject;
      });
      // Nobody may be waiting (QoS 0 only): a failed write is logged and counted, not unhandled.
      this.turnPromise.catch(() => undefined);
      setImmediate(this.flushWalBound);
    }
    return this.turnPromise;
  }

  private readonly flushWalBound = (): void => this.flushWal();

  /** Issue this turn's WAL entry now (also called by close and tests). */
  flushWal(): void {
    const resolve = this.turnResolve;
    const reject = this.turnReject;
    this.turnPromise = this.turnResolve = this.turnReject = null;
    if (resolve === null || reject === null) return;
    const n = this.walN;
    if (n === 0 && this.walNew.length === 0) {
      resolve();
      return;
    }
    const entry: WalEntry = { seq: ++this.lastSeq, series: this.walSeries.slice(0, n), timestamps: this.walTs.slice(0, n), values: this.walVs.slice(0, n) };
    const fresh = this.walNew;
    this.walNew = [];
    this.walN = 0;
    this.counters.walWrites++;
    this.walSinceCheckpoint++;
    this.store.appendWal(entry, fresh).then(resolve, (err: unknown) => {
      this.counters.walFailures++;
      this.log.error({ err, points: n }, 'telemetry WAL write failed: these points are not acknowledged');
      reject(err);
    });
    if (this.walSinceCheckpoint >= this.options.checkpointWalEntries) this.checkpointSoon();
  }

  // ------------------------------------------------------------------ background jobs

  private scheduleJob(): void {
    if (this.jobScheduled || this.closed) return;
    this.jobScheduled = true;
    setImmediate(() => {
      this.jobScheduled = false;
      this.enqueue(() => this.commit(false));
    });
  }

  private checkpointPending = false;
  private lastRetentionAt = 0;

  private checkpointSoon(): void {
    if (this.checkpointPending || this.closed) return;
    this.checkpointPending = true;
    this.enqueue(async () => {
      this.checkpointPending = false;
      await this.commit(true);
    });
  }

  /** Run `job` after every job queued so far; a failing job is logged, the queue goes on. */
  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.jobs.then(job);
    this.jobs = run.catch((err: unknown) => {
      this.log.error({ err }, 'telemetry store job failed');
    });
    return run;
  }

  /**
   * Write what is sealed, merge late points, write heads and rollups of the series concerned;
   * with `checkpoint`, of every dirty series, then drop the WAL and apply retention.
   */
  private async commit(checkpoint: boolean): Promise<void> {
    // Read the chunks late points go into first (the only awaits), then build the batch in one
    // synchronous stretch so it matches memory exactly at `seq`.
    const fetched = new Map<Series, Map<number, Uint8Array>>();
    for (let round = 0; round < 5; round++) {
      const missing = this.missingLateChunks(fetched);
      if (missing.length === 0) break;
      for (const [s, start] of missing) {
        const bytes = await this.store.readChunk(s.id, start);
        let m = fetched.get(s);
        if (m === undefined) fetched.set(s, (m = new Map()));
        if (bytes !== undefined) m.set(start, bytes);
      }
    }
    if (this.walN > 0) this.flushWal();
    const seq = this.lastSeq;
    const batch: SealBatch = { series: [], putChunks: [], deleteChunks: [], heads: [], rollups: [], dropRollupsBefore: [] };
    const members: Series[] = [];
    const now = Date.now();
    const candidates = checkpoint ? this.byId.values() : [...this.toCommit];
    // Retention runs with a checkpoint at most once a minute… of the retention's own scale: hourly.
    const retain = checkpoint && now - this.lastRetentionAt >= RETENTION_EVERY_MS;
    if (retain) this.lastRetentionAt = now;
    let dropThrough = seq;
    for (const s of candidates) {
      const retention = retain ? (this.options.retentionFor?.(s.device) ?? this.options.retentionMs) : 0;
      if (!checkpoint || s.dirty || s.unwritten.size > 0 || s.late.length > 0 || s.toDelete.size > 0 || retention > 0) {
        if (s.late.length > 0) this.mergeLate(s, fetched.get(s));
        if (retention > 0) this.applyRetention(s, now - retention, batch);
        this.addToBatch(s, seq, batch);
        members.push(s);
        // Late points that could not be merged are still only in the WAL: keep it from their series on.
        if (s.late.length > 0 && s.appliedSeq < dropThrough) dropThrough = s.appliedSeq;
      }
    }
    this.toCommit.clear();
    for (const s of members) if (s.late.length > 0) this.toCommit.add(s);
    if (checkpoint && dropThrough > 0) batch.dropWalThrough = dropThrough;
    if (members.length === 0 && !checkpoint) return;
    const written = batch.putChunks.map((c) => [this.byId.get(c.series)!, c.start, c.bytes] as const);
    try {
      await this.store.commit(batch);
      this.counters.commits++;
      if (checkpoint) {
        this.counters.checkpoints++;
        this.walSinceCheckpoint = 0;
        this.evictRollups();
      }
    } catch (err) {
      this.counters.commitFailures++;
      this.log.error({ err }, 'telemetry commit failed; retrying with the next one');
      // Nothing of it was written: everything in it is owed again.
      for (const s of members) s.dirty = true;
      for (const [s, start] of written) if (s.pending.has(start)) s.unwritten.add(start);
      for (const d of batch.deleteChunks) this.byId.get(d.series)?.toDelete.add(d.start);
      for (const r of batch.rollups) {
        const s = this.byId.get(r.series);
        if (s !== undefined) (r.resolution === ROLLUP_1M ? s.dirtyM1 : s.dirtyH1).add(r.start);
      }
      for (const s of members) this.toCommit.add(s);
      return;
    }
    // Stored: queries read these chunks from the store from now on (unless re-encoded meanwhile).
    for (const [s, start, bytes] of written) if (s.pending.get(start) === bytes && !s.unwritten.has(start)) s.pending.delete(start);
  }

  private missingLateChunks(fetched: Map<Series, Map<number, Uint8Array>>): Array<[Series, number]> {
    const out: Array<[Series, number]> = [];
    for (const s of this.toCommit) {
      for (let i = 0; i < s.late.length; i += 2) {
        const c = s.chunks[s.chunkIndexFor(s.late[i]!)];
        if (c === undefined || s.pending.has(c.start) || fetched.get(s)?.has(c.start)) continue;
        out.push([s, c.start]);
      }
    }
    return out;
  }

  /** Merge a series' late points into the chunks they belong to (bytes pending or fetched). */
  private mergeLate(s: Series, fetched: Map<number, Uint8Array> | undefined): void {
    const groups = new Map<number, number[]>();
    const keep: number[] = [];
    for (let i = 0; i < s.late.length; i += 2) {
      const idx = s.chunkIndexFor(s.late[i]!);
      const c = s.chunks[idx];
      if (c === undefined || !(s.pending.has(c.start) || fetched?.has(c.start))) {
        keep.push(s.late[i]!, s.late[i + 1]!); // not readable this time: next commit
        continue;
      }
      let g = groups.get(idx);
      if (g === undefined) groups.set(idx, (g = []));
      g.push(s.late[i]!, s.late[i + 1]!);
    }
    s.late = keep;
    for (const [idx, pts] of groups) {
      const c = s.chunks[idx]!;
      const d = decodeChunk(s.pending.get(c.start) ?? fetched!.get(c.start)!);
      // Late points go after stored points with equal timestamps, in their order of arrival.
      const { timestamps: ts, values: vs } = mergeBlocks(d, sortLate(pts));
      const valueType = d.valueType === 'int' && s.kind === 'float' ? 'float' : d.valueType;
      const bytes = encodeChunk(ts, vs, { valueType });
      const start = ts[0]!;
      // The old key may have been written by an earlier commit: delete it.
      if (start !== c.start) s.drop(c.start);
      s.chunks[idx] = { series: s.id, start, end: ts[ts.length - 1]!, points: ts.length, size: bytes.length };
      s.stage(start, bytes);
    }
  }

  private applyRetention(s: Series, cutoff: number, batch: SealBatch): void {
    let drop = 0;
    while (drop < s.chunks.length && s.chunks[drop]!.end < cutoff) drop++;
    for (let i = 0; i < drop; i++) s.drop(s.chunks[i]!.start);
    if (drop > 0) s.chunks.splice(0, drop);
    const before = bucketStart(cutoff, ROLLUP_1H);
    batch.dropRollupsBefore.push({ series: s.id, before });
    for (const [map, dirty] of [[s.m1, s.dirtyM1], [s.h1, s.dirtyH1]] as const) {
      for (const start of map.keys()) if (start < before) {
        map.delete(start);
        dirty.delete(start);
      }
    }
  }

  private addToBatch(s: Series, seq: number, batch: SealBatch): void {
    for (const start of s.toDelete) batch.deleteChunks.push({ series: s.id, start });
    s.toDelete.clear();
    for (const start of s.unwritten) {
      const bytes = s.pending.get(start);
      let ref: ChunkRef | undefined;
      for (let i = s.chunks.length - 1; i >= 0 && ref === undefined; i--) if (s.chunks[i]!.start === start) ref = s.chunks[i];
      if (bytes !== undefined && ref !== undefined) batch.putChunks.push({ ...ref, bytes });
    }
    s.unwritten.clear();
    if (s.late.length === 0) {
      // Only when every point of the series is in chunks or the head may appliedSeq move on.
      batch.heads.push({ series: s.id, bytes: s.on === 0 ? null : encodeChunk(s.ots.subarray(0, s.on), s.ovs.subarray(0, s.on), { valueType: s.kind }) });
      s.appliedSeq = seq;
      s.dirty = false;
    }
    batch.series.push(s.record());
    for (const start of s.dirtyM1) batch.rollups.push(bucketRecord(s.id, ROLLUP_1M, start, s.m1.get(start)!));
    for (const start of s.dirtyH1) batch.rollups.push(bucketRecord(s.id, ROLLUP_1H, start, s.h1.get(start)!));
    s.dirtyM1.clear();
    s.dirtyH1.clear();
  }

  /** Forget stored rollup buckets that no accepted point can change any more. */
  private evictRollups(): void {
    for (const s of this.byId.values()) {
      const oldest = s.maxTs - this.options.lateWindowMs;
      for (const [map, dirty, res] of [[s.m1, s.dirtyM1, ROLLUP_1M], [s.h1, s.dirtyH1, ROLLUP_1H]] as const) {
        let evicted = false;
        for (const start of map.keys()) {
          if (start + res <= oldest && !dirty.has(start)) {
            map.delete(start);
            evicted = true;
          }
        }
        if (!evicted) continue;
        const horizon = bucketStart(oldest, res);
        if (res === ROLLUP_1M) s.memFromM1 = Math.max(s.memFromM1, horizon);
        else s.memFromH1 = Math.max(s.memFromH1, horizon);
      }
    }
  }

  /** Commit now and wait (tests, stop). */
  async sync(checkpoint = true): Promise<void> {
    this.flushWal();
    await this.enqueue(() => this.commit(checkpoint));
  }

  /** Run retention now (it also runs with every checkpoint). */
  retention(): Promise<void> {
    this.lastRetentionAt = 0;
    return this.sync(true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sync(true);
    this.closed = true;
    await this.jobs;
  }

  // ------------------------------------------------------------------ reads

  seriesOf(device: string): Series[] {
    return [...(this.byDevice.get(device)?.values() ?? [])];
  }

  get(device: string, metric: string): Series | undefined {
    return this.byDevice.get(device)?.get(metric);
  }

  allSeries(): IterableIterator<Series> {
    return this.byId.values();
  }

  devices(): IterableIterator<string> {
    return this.byDevice.keys();
  }

  /**
   * The points of a series with from ≤ ts ≤ to, in time order, in blocks (a chunk at a time).
   * What is in memory is captured when called, so points sealed meanwhile are neither lost nor
   * doubled.
   */
  async *readRaw(s: Series, from: number, to: number): AsyncGenerator<Block> {
    const refs = s.chunks.filter((c) => c.end >= from && c.start <= to);
    const pendingCopy = new Map<number, Uint8Array>();
    for (const r of refs) {
      const b = s.pending.get(r.start);
      if (b !== undefined) pendingCopy.set(r.start, b);
    }
    const { timestamps: lateT, values: lateV } = sortLate(s.late, from, to);
    const open = sliceRange(s.ots.subarray(0, s.on), s.ovs.subarray(0, s.on), from, to, true);
    let li = 0;
    for (let r = 0; r < refs.length; r++) {
      const ref = refs[r]!;
      const bytes = pendingCopy.get(ref.start) ?? (await this.store.readChunk(s.id, ref.start));
      if (bytes === undefined) continue; // re-keyed or deleted meanwhile
      const d = decodeChunk(bytes);
      const block = sliceRange(d.timestamps, d.values, from, to, false);
      const nextStart = r + 1 < refs.length ? refs[r + 1]!.start : open.timestamps.length > 0 ? open.timestamps[0]! : Infinity;
      let lj = li;
      while (lj < lateT.length && lateT[lj]! < nextStart) lj++;
      const merged = lj > li ? mergeBlocks(block, { timestamps: lateT.subarray(li, lj), values: lateV.subarray(li, lj) }) : block;
      li = lj;
      if (merged.timestamps.length > 0) yield merged;
    }
    const rest = li < lateT.length ? mergeBlocks(open, { timestamps: lateT.subarray(li), values: lateV.subarray(li) }) : open;
    if (rest.timestamps.length > 0) yield rest;
  }

  /**
   * Rollup buckets of a series with from ≤ start ≤ to, in order: stored ones, overridden by the
   * in-memory ones (which hold the whole, newest value).
   */
  async readRollups(s: Series, res: RollupResolution, from: number, to: number): Promise<Array<[number, Agg]>> {
    const mem = res === ROLLUP_1M ? s.m1 : s.h1;
    const memCopy: Array<[number, Agg]> = [];
    for (const [start, a] of mem) if (start >= from && start <= to) memCopy.push([start, copyAgg(a)]);
    const memFrom = res === ROLLUP_1M ? s.memFromM1 : s.memFromH1;
    const stored = from >= memFrom ? [] : await this.store.readRollups(s.id, res, from, to);
    const out = new Map<number, Agg>();
    for (const b of stored) out.set(b.start, copyAgg(b));
    for (const [start, a] of memCopy) out.set(start, a);
    return [...out].sort((a, b) => a[0] - b[0]);
  }

  /** The newest point of a series, reading its last chunk when it is not in memory. */
  async latest(s: Series): Promise<[number, number] | undefined> {
    if (s.maxTs === -Infinity) return undefined;
    if (!s.lastKnown) {
      for await (const b of this.readRaw(s, s.maxTs, s.maxTs)) {
        s.lastValue = b.values[b.values.length - 1]!;
        s.lastKnown = true;
      }
      if (!s.lastKnown) return undefined;
    }
    return [s.maxTs, s.lastValue];
  }

  /** Points and encoded bytes of sealed and open chunks (the open ones encoded on demand). */
  stats(): { series: number; points: number; bytes: number } {
    let points = 0;
    let bytes = 0;
    for (const s of this.byId.values()) {
      for (const c of s.chunks) {
        points += c.points;
        bytes += c.size;
      }
      points += s.late.length / 2;
      if (s.on > 0) {
        points += s.on;
        bytes += encodeChunk(s.ots.subarray(0, s.on), s.ovs.subarray(0, s.on), { valueType: s.kind }).length;
      }
    }
    return { series: this.byId.size, points, bytes };
  }

  /** Delete every series of a device; returns how many. */
  async deleteDevice(device: string): Promise<number> {
    const m = this.byDevice.get(device);
    if (m === undefined) return 0;
    const ids = [...m.values()].map((s) => s.id);
    this.byDevice.delete(device);
    for (const id of ids) {
      const s = this.byId.get(id);
      if (s !== undefined) this.toCommit.delete(s);
      this.byId.delete(id);
    }
    await this.enqueue(() => this.store.deleteSeries(ids));
    return ids.length;
  }
}

function addRollup(map: Map<number, Agg>, dirty: Set<number>, res: number, ts: number, v: number): void {
  const start = bucketStart(ts, res);
  const a = map.get(start);
  if (a === undefined) map.set(start, newAgg(ts, v));
  else addPoint(a, ts, v);
  dirty.add(start);
}

function bucketRecord(series: number, resolution: RollupResolution, start: number, a: Agg): RollupBucket {
  return { series, resolution, start, ...a };
}

/** The points of a sorted block within [from, to]; `copy` detaches them from the source arrays. */
function sliceRange(ts: Float64Array, vs: Float64Array, from: number, to: number, copy: boolean): Block {
  let i = 0;
  while (i < ts.length && ts[i]! < from) i++;
  let j = ts.length;
  while (j > i && ts[j - 1]! > to) j--;
  return copy ? { timestamps: ts.slice(i, j), values: vs.slice(i, j) } : { timestamps: ts.subarray(i, j), values: vs.subarray(i, j) };
}

/**
 * Late points (ts, value pairs) with from ≤ ts ≤ to as a block in time order; equal timestamps
 * keep their order in `pairs` (their order of arrival).
 */
function sortLate(pairs: readonly number[], from = -Infinity, to = Infinity): Block {
  const idx: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i]! >= from && pairs[i]! <= to) idx.push(i);
  idx.sort((a, b) => pairs[a]! - pairs[b]! || a - b);
  const timestamps = new Float64Array(idx.length);
  const values = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    timestamps[k] = pairs[idx[k]!]!;
    values[k] = pairs[idx[k]! + 1]!;
  }
  return { timestamps, values };
}

/** Merge two sorted blocks; on equal timestamps `a`'s points come first. */
function mergeBlocks(a: Block, b: Block): Block {
  const n = a.timestamps.length;
  const m = b.timestamps.length;
  const ts = new Float64Array(n + m);
  const vs = new Float64Array(n + m);
  let i = 0;
  let j = 0;
  for (let k = 0; k < n + m; k++) {
    if (j >= m || (i < n && a.timestamps[i]! <= b.timestamps[j]!)) {
      ts[k] = a.timestamps[i]!;
      vs[k] = a.values[i]!;
      i++;
    } else {
      ts[k] = b.timestamps[j]!;
      vs[k] = b.values[j]!;
      j++;
    }
  }
  return { timestamps: ts, values: vs };
}
