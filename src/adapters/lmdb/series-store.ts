// The time-series store port on LMDB, in the `telemetry` environment of the data folder (env.ts):
// an environment of its own, so telemetry writes never queue behind the broker's per-tick commits.
//
// Sub-databases and keys (big-endian, so LMDB's byte order is numeric order):
//   series   u32 id                          → JSON {device, metric, kind, appliedSeq, maxTs}
//   tmeta    "nextSeriesId" | "lastWalSeq"   → f64
//   wal      u64 seq                         → u32 n, u32[n] series, f64[n] timestamps, f64[n] values
//   heads    u32 series                      → chunk bytes (the open chunk at the last checkpoint)
//   chunks   u32 series, u64 start+2^52      → f64 end, u32 points, chunk bytes
//   rollups  u32 series, u8 res, u64 start+2^52 → f64 ×8 (count min max sum first firstTs last lastTs)
//
// Every write is one lmdb-js `batch` (one LMDB transaction on lmdb-js's writer thread; see
// broker-store.ts for why not `transaction()`); batches settle in call order. Values handed to
// lmdb-js are fresh buffers never written again (lmdb-js reads them on its writer thread).
// Durability as the broker store: with fsync=false a commit resolves once its pages reached the OS
// (survives a kill), with fsync=true once flushed.
import type { Database } from 'lmdb';
import { Errors, TwinhubError } from '../../common/errors.js';
import type {
  ChunkRecord,
  ChunkRef,
  RollupBucket,
  RollupResolution,
  SealBatch,
  SeriesCatalog,
  SeriesRecord,
  SeriesStore,
  SeriesStoreStats,
  ValueKind,
  WalEntry,
} from '../../ports/series-store.js';
import { ROLLUP_1H, ROLLUP_1M } from '../../ports/series-store.js';
import { checkWalEntry } from '../check-wal-entry.js';
import { asBuffer } from './binary.js';
// seqOfKey reads the big-endian u64 a key ends with: a WAL seq, a chunk's or bucket's start + TS_OFFSET.
import { seqOfKey } from './keys.js';
import { openDataEnv, type DataEnv } from './env.js';

type Db = Database<Buffer, Buffer>;

// Timestamps are within ±2^52 ms (the chunk codec's range), so ts + 2^52 is an exact integer in [0, 2^53].
const TS_OFFSET = 2 ** 52;
const TWO32 = 2 ** 32;
const NEXT_ID = Buffer.from('nextSeriesId');
const LAST_SEQ = Buffer.from('lastWalSeq');
const RES_CODE: Record<RollupResolution, number> = { [ROLLUP_1M]: 0, [ROLLUP_1H]: 1 };
const ROLLUP_VALUE_BYTES = 64;

export interface LmdbSeriesStoreOptions {
  fsync: boolean;
}

/** Open (creating when missing) the telemetry store of the data folder `dir`. */
export async function openLmdbSeriesStore(dir: string, opts: LmdbSeriesStoreOptions): Promise<LmdbSeriesStore> {
  return new LmdbSeriesStore(await openDataEnv(dir, 'telemetry', { fsync: opts.fsync }));
}

function put64(b: Buffer, p: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / TWO32), p);
  b.writeUInt32BE(v % TWO32, p + 4);
}

function u32Key(id: number): Buffer {
  const k = Buffer.allocUnsafe(4);
  k.writeUInt32BE(id, 0);
  return k;
}

function seqKey(seq: number): Buffer {
  const k = Buffer.allocUnsafe(8);
  put64(k, 0, seq);
  return k;
}

function chunkKey(series: number, start: number): Buffer {
  const k = Buffer.allocUnsafe(12);
  k.writeUInt32BE(series, 0);
  put64(k, 4, start + TS_OFFSET);
  return k;
}

function rollupKey(series: number, res: RollupResolution, start: number): Buffer {
  const k = Buffer.alloc(13);
  k.writeUInt32BE(series, 0);
  k[4] = RES_CODE[res];
  put64(k, 5, start + TS_OFFSET);
  return k;
}

function f64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(n, 0);
  return b;
}

function encodeSeries(s: SeriesRecord): Buffer {
  // maxTs may be -Infinity, which JSON cannot hold.
  return Buffer.from(JSON.stringify({ device: s.device, metric: s.metric, kind: s.kind, appliedSeq: s.appliedSeq, maxTs: Number.isFinite(s.maxTs) ? s.maxTs : null }));
}

function decodeSeries(key: Uint8Array, value: Uint8Array): SeriesRecord {
  const o = JSON.parse(Buffer.from(value).toString('utf8')) as { device: string; metric: string; kind: ValueKind; appliedSeq: number; maxTs: number | null };
  return { id: Buffer.from(key).readUInt32BE(0), device: o.device, metric: o.metric, kind: o.kind, appliedSeq: o.appliedSeq, maxTs: o.maxTs ?? -Infinity };
}

function encodeWal(e: WalEntry): Buffer {
  const n = e.timestamps.length;
  const b = Buffer.allocUnsafe(4 + n * 20);
  b.writeUInt32BE(n, 0);
  // Native byte order for the columns: one copy each way (the file is read by this machine class;
  // LMDB files are not portable across endianness anyway).
  Buffer.from(e.series.buffer, e.series.byteOffset, n * 4).copy(b, 4);
  Buffer.from(e.timestamps.buffer, e.timestamps.byteOffset, n * 8).copy(b, 4 + n * 4);
  Buffer.from(e.values.buffer, e.values.byteOffset, n * 8).copy(b, 4 + n * 12);
  return b;
}

function decodeWal(key: Uint8Array, value: Uint8Array): WalEntry {
  const v = asBuffer(value);
  const n = v.readUInt32BE(0);
  if (v.length !== 4 + n * 20) throw new Error(`WAL entry of ${v.length} bytes does not hold ${n} points`);
  const series = new Uint32Array(n);
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  v.copy(Buffer.from(series.buffer), 0, 4, 4 + n * 4);
  v.copy(Buffer.from(timestamps.buffer), 0, 4 + n * 4, 4 + n * 12);
  v.copy(Buffer.from(values.buffer), 0, 4 + n * 12, 4 + n * 20);
  return { seq: seqOfKey(key), series, timestamps, values };
}

function encodeChunkValue(c: ChunkRecord): Buffer {
  const b = Buffer.allocUnsafe(12 + c.bytes.length);
  b.writeDoubleBE(c.end, 0);
  b.writeUInt32BE(c.points, 8);
  b.set(c.bytes, 12);
  return b;
}

function chunkRefOf(key: Uint8Array, value: Uint8Array): ChunkRef {
  const k = asBuffer(key);
  const v = asBuffer(value);
  return { series: k.readUInt32BE(0), start: seqOfKey(k) - TS_OFFSET, end: v.readDoubleBE(0), points: v.readUInt32BE(8), size: v.length - 12 };
}

function encodeRollup(r: RollupBucket): Buffer {
  const b = Buffer.allocUnsafe(ROLLUP_VALUE_BYTES);
  const fields = [r.count, r.min, r.max, r.sum, r.first, r.firstTs, r.last, r.lastTs];
  for (let i = 0; i < 8; i++) b.writeDoubleBE(fields[i]!, i * 8);
  return b;
}

function decodeRollup(series: number, resolution: RollupResolution, key: Uint8Array, value: Uint8Array): RollupBucket {
  const v = asBuffer(value);
  const d = (i: number): number => v.readDoubleBE(i * 8);
  return {
    series,
    resolution,
    start: seqOfKey(key) - TS_OFFSET,
    count: d(0),
    min: d(1),
    max: d(2),
    sum: d(3),
    first: d(4),
    firstTs: d(5),
    last: d(6),
    lastTs: d(7),
  };
}

/** The end key (exclusive) of every key starting with `prefix`. */
function after(prefix: Buffer): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 255) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.alloc(b.length + 1, 255);
}

type Write = [Db, Buffer, Buffer | undefined];

export class LmdbSeriesStore implements SeriesStore {
  private readonly series: Db;
  private readonly meta: Db;
  private readonly wal: Db;
  private readonly heads: Db;
  private readonly chunks: Db;
  private readonly rollups: Db;
  private closed = false;
  /** Writes of the batches not yet settled, oldest first: range removals must see their keys too. */
  private readonly inFlight: Write[][] = [];
  private nextSeriesId = 1;
  private lastWalSeq = 0;

  constructor(private readonly env: DataEnv) {
    this.series = env.openDb('series');
    this.meta = env.openDb('tmeta');
    this.wal = env.openDb('wal');
    this.heads = env.openDb('heads');
    this.chunks = env.openDb('chunks');
    this.rollups = env.openDb('rollups');
    const next = this.meta.get(NEXT_ID);
    if (next !== undefined) this.nextSeriesId = Buffer.from(next).readDoubleBE(0);
    const last = this.meta.get(LAST_SEQ);
    if (last !== undefined) this.lastWalSeq = Buffer.from(last).readDoubleBE(0);
  }

  get path(): string {
    return this.env.path;
  }

  /** Issue the writes as one batch (one transaction); settle as a STORE_WRITE_FAILED on failure. */
  private run(what: string, build: (w: Write[]) => void): Promise<void> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'the series store is closed'));
    const writes: Write[] = [];
    try {
      build(writes);
    } catch (err) {
      return Promise.reject(err instanceof TwinhubError ? err : writeFailed(what, err));
    }
    this.inFlight.push(writes);
    return this.series
      .batch(() => {
        for (const [db, key, value] of writes) {
          if (value === undefined) void db.remove(key);
          else void db.put(key, value);
        }
      })
      .then(
        () => {
          this.inFlight.shift();
        },
        (err: unknown) => {
          this.inFlight.shift();
          // lmdb-js rejects with a generic error whose `commitError` promise rejects with the
          // reason; left unhandled, that rejection would end the process.
          (err as { commitError?: Promise<unknown> } | undefined)?.commitError?.catch(() => undefined);
          throw writeFailed(what, err);
        },
      );
  }

  /**
   * Keys of `db` in [start, end): those committed (a read snapshot) and those put by batches still
   * in flight, which the snapshot cannot see yet. Removing a key that turns out absent is harmless.
   */
  private keysIn(db: Db, start: Buffer | undefined, end: Buffer): Buffer[] {
    const out: Buffer[] = [];
    for (const key of db.getKeys(start === undefined ? { end } : { start, end })) out.push(Buffer.from(key));
    for (const writes of this.inFlight) {
      for (const [d, key, value] of writes) {
        if (d === db && value !== undefined && (start === undefined || Buffer.compare(key, start) >= 0) && Buffer.compare(key, end) < 0) out.push(key);
      }
    }
    return out;
  }

  appendWal(entry: WalEntry, newSeries: readonly SeriesRecord[]): Promise<void> {
    try {
      checkWalEntry(entry);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.run('WAL append', (w) => {
      let next = this.nextSeriesId;
      for (const s of newSeries) {
        w.push([this.series, u32Key(s.id), encodeSeries(s)]);
        if (s.id >= next) next = s.id + 1;
      }
      if (next !== this.nextSeriesId) {
        this.nextSeriesId = next;
        w.push([this.meta, NEXT_ID, f64(next)]);
      }
      w.push([this.wal, seqKey(entry.seq), encodeWal(entry)]);
      if (entry.seq > this.lastWalSeq) {
        this.lastWalSeq = entry.seq;
        w.push([this.meta, LAST_SEQ, f64(entry.seq)]);
      }
    });
  }

  commit(batch: SealBatch): Promise<void> {
    return this.run('series commit', (w) => {
      for (const s of batch.series) w.push([this.series, u32Key(s.id), encodeSeries(s)]);
      for (const c of batch.deleteChunks) w.push([this.chunks, chunkKey(c.series, c.start), undefined]);
      for (const c of batch.putChunks) w.push([this.chunks, chunkKey(c.series, c.start), encodeChunkValue(c)]);
      for (const h of batch.heads) w.push([this.heads, u32Key(h.series), h.bytes === null ? undefined : Buffer.from(h.bytes)]);
      for (const r of batch.dropRollupsBefore) {
        for (const res of [ROLLUP_1M, ROLLUP_1H] as const) {
          const start = rollupKey(r.series, res, -TS_OFFSET);
          const before = Math.max(-TS_OFFSET, Math.min(r.before, TS_OFFSET - 1));
          for (const key of this.keysIn(this.rollups, start, rollupKey(r.series, res, before))) w.push([this.rollups, key, undefined]);
        }
      }
      for (const r of batch.rollups) w.push([this.rollups, rollupKey(r.series, r.resolution, r.start), encodeRollup(r)]);
      if (batch.dropWalThrough !== undefined) {
        for (const key of this.keysIn(this.wal, undefined, seqKey(batch.dropWalThrough + 1))) w.push([this.wal, key, undefined]);
      }
    });
  }

  deleteSeries(ids: readonly number[]): Promise<void> {
    return this.run('series delete', (w) => {
      for (const id of ids) {
        const prefix = u32Key(id);
        w.push([this.series, prefix, undefined]);
        w.push([this.heads, prefix, undefined]);
        for (const db of [this.chunks, this.rollups]) {
          for (const key of this.keysIn(db, prefix, after(prefix))) w.push([db, key, undefined]);
        }
      }
    });
  }

  private read<T>(what: string, fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_OPEN_FAILED, 'the series store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(
        new TwinhubError(Errors.STORE_OPEN_FAILED, `cannot read the ${what} of ${this.env.path}: ${(err as Error).message}`, undefined, { cause: err }),
      );
    }
  }

  loadCatalog(): Promise<SeriesCatalog> {
    return this.read('series catalog', () => {
      const series: SeriesRecord[] = [];
      for (const { key, value } of this.series.getRange({})) series.push(decodeSeries(key, value));
      return { series, nextSeriesId: this.nextSeriesId, lastWalSeq: this.lastWalSeq };
    });
  }

  loadHeads(): Promise<Map<number, Uint8Array>> {
    return this.read('heads', () => {
      const out = new Map<number, Uint8Array>();
      for (const { key, value } of this.heads.getRange({})) out.set(Buffer.from(key).readUInt32BE(0), Uint8Array.from(value));
      return out;
    });
  }

  async *replayWal(afterSeq: number): AsyncIterable<WalEntry> {
    // One entry at a time, so replaying a long WAL does not hold it all in memory.
    let from = seqKey(afterSeq + 1);
    for (;;) {
      const next = await this.read('write-ahead log', () => {
        for (const { key, value } of this.wal.getRange({ start: from, limit: 1 })) return decodeWal(key, value);
        return undefined;
      });
      if (next === undefined) return;
      yield next;
      from = seqKey(next.seq + 1);
    }
  }

  listChunks(series?: number): Promise<ChunkRef[]> {
    return this.read('chunk index', () => {
      const out: ChunkRef[] = [];
      const range = series === undefined ? {} : { start: u32Key(series), end: after(u32Key(series)) };
      for (const { key, value } of this.chunks.getRange(range)) out.push(chunkRefOf(key, value));
      return out;
    });
  }

  readChunk(series: number, start: number): Promise<Uint8Array | undefined> {
    return this.read('chunk', () => {
      const v = this.chunks.get(chunkKey(series, start));
      return v === undefined ? undefined : Uint8Array.from(v.subarray(12));
    });
  }

  readRollups(series: number, resolution: RollupResolution, from: number, to: number): Promise<RollupBucket[]> {
    return this.read('rollups', () => {
      const out: RollupBucket[] = [];
      if (!(from <= to)) return out;
      const lo = Math.max(from, -TS_OFFSET);
      const hi = Math.min(to, TS_OFFSET - 1);
      for (const { key, value } of this.rollups.getRange({ start: rollupKey(series, resolution, lo), end: rollupKey(series, resolution, hi + 1) })) {
        out.push(decodeRollup(series, resolution, key, value));
      }
      return out;
    });
  }

  stats(): Promise<SeriesStoreStats> {
    return this.read('statistics', () => {
      let diskBytes = 0;
      for (const db of [this.series, this.meta, this.wal, this.heads, this.chunks, this.rollups]) {
        const s = db.getStats() as { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
        diskBytes += s.pageSize * (s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages);
      }
      let chunks = 0;
      let chunkBytes = 0;
      for (const { value } of this.chunks.getRange({})) {
        chunks++;
        chunkBytes += value.length - 12;
      }
      const walEntries = (this.wal.getStats() as { entryCount: number }).entryCount;
      return { diskBytes, chunks, chunkBytes, walEntries };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
  }
}

function writeFailed(what: string, err: unknown): TwinhubError {
  return new TwinhubError(Errors.STORE_WRITE_FAILED, `${what} failed, nothing of it written: ${err instanceof Error ? err.message : String(err)}`, undefined, {
    cause: err,
  });
}
