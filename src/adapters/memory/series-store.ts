// The time-series store port in memory (tests, `persistence: false`). It behaves like a durable
// adapter within one process: `reopen()` gives a new store over the same data, as a restart would,
// and `failNextWrites` injects write failures (nothing of a failed write applies).
import { Errors, TwinhubError } from '../../common/errors.js';
import { checkWalEntry } from '../check-wal-entry.js';
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
  WalEntry,
} from '../../ports/series-store.js';
import { ROLLUP_1H, ROLLUP_1M } from '../../ports/series-store.js';

interface Data {
  series: Map<number, SeriesRecord>;
  nextSeriesId: number;
  lastWalSeq: number;
  wal: Map<number, WalEntry>;
  heads: Map<number, Uint8Array>;
  /** Per series, chunks by start. */
  chunks: Map<number, Map<number, ChunkRecord>>;
  /** Per series and resolution, buckets by start. */
  rollups: Map<string, Map<number, RollupBucket>>;
}

const rollupKey = (series: number, resolution: number): string => `${series}/${resolution}`;

function copyEntry(e: WalEntry): WalEntry {
  return { seq: e.seq, series: e.series.slice(), timestamps: e.timestamps.slice(), values: e.values.slice() };
}

export class MemorySeriesStore implements SeriesStore {
  private closed = false;
  private failures = 0;
  private failure: unknown;

  constructor(private readonly data: Data = emptyData()) {}

  /** A new store over the same data, as after a restart (this one should be closed first). */
  reopen(): MemorySeriesStore {
    return new MemorySeriesStore(this.data);
  }

  /** Fail the next `n` writes with STORE_WRITE_FAILED (cause `cause`), applying nothing. */
  failNextWrites(n: number, cause: unknown = new Error('injected failure')): void {
    this.failures = n;
    this.failure = cause;
  }

  private write(what: string, apply: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'the series store is closed'));
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, `${what} failed, nothing written`, undefined, { cause: this.failure }));
    }
    apply();
    return Promise.resolve();
  }

  appendWal(entry: WalEntry, newSeries: readonly SeriesRecord[]): Promise<void> {
    try {
      checkWalEntry(entry);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.write('WAL append', () => {
      const d = this.data;
      for (const s of newSeries) {
        d.series.set(s.id, { ...s });
        if (s.id >= d.nextSeriesId) d.nextSeriesId = s.id + 1;
      }
      d.wal.set(entry.seq, copyEntry(entry));
      if (entry.seq > d.lastWalSeq) d.lastWalSeq = entry.seq;
    });
  }

  commit(batch: SealBatch): Promise<void> {
    return this.write('series commit', () => {
      const d = this.data;
      for (const s of batch.series) d.series.set(s.id, { ...s });
      for (const c of batch.deleteChunks) d.chunks.get(c.series)?.delete(c.start);
      for (const c of batch.putChunks) {
        let m = d.chunks.get(c.series);
        if (m === undefined) d.chunks.set(c.series, (m = new Map()));
        m.set(c.start, { ...c, bytes: c.bytes.slice() });
      }
      for (const h of batch.heads) {
        if (h.bytes === null) d.heads.delete(h.series);
        else d.heads.set(h.series, h.bytes.slice());
      }
      for (const r of batch.dropRollupsBefore) {
        for (const key of [rollupKey(r.series, ROLLUP_1M), rollupKey(r.series, ROLLUP_1H)]) {
          const m = d.rollups.get(key);
          if (m !== undefined) for (const start of [...m.keys()]) if (start < r.before) m.delete(start);
        }
      }
      for (const b of batch.rollups) {
        const key = rollupKey(b.series, b.resolution);
        let m = d.rollups.get(key);
        if (m === undefined) d.rollups.set(key, (m = new Map()));
        m.set(b.start, { ...b });
      }
      if (batch.dropWalThrough !== undefined) {
        for (const seq of [...d.wal.keys()]) if (seq <= batch.dropWalThrough) d.wal.delete(seq);
      }
    });
  }

  deleteSeries(ids: readonly number[]): Promise<void> {
    return this.write('series delete', () => {
      const d = this.data;
      for (const id of ids) {
        d.series.delete(id);
        d.heads.delete(id);
        d.chunks.delete(id);
        d.rollups.delete(rollupKey(id, ROLLUP_1M));
        d.rollups.delete(rollupKey(id, ROLLUP_1H));
      }
    });
  }

  private read<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_OPEN_FAILED, 'the series store is closed'));
    return Promise.resolve(fn());
  }

  loadCatalog(): Promise<SeriesCatalog> {
    return this.read(() => {
      const d = this.data;
      const series = [...d.series.values()].sort((a, b) => a.id - b.id).map((s) => ({ ...s }));
      return { series, nextSeriesId: d.nextSeriesId, lastWalSeq: d.lastWalSeq };
    });
  }

  loadHeads(): Promise<Map<number, Uint8Array>> {
    return this.read(() => new Map([...this.data.heads].map(([k, v]) => [k, v.slice()])));
  }

  async *replayWal(afterSeq: number): AsyncIterable<WalEntry> {
    const seqs = await this.read(() => [...this.data.wal.keys()].filter((s) => s > afterSeq).sort((a, b) => a - b));
    for (const seq of seqs) {
      const e = this.data.wal.get(seq);
      if (e !== undefined) yield copyEntry(e);
    }
  }

  listChunks(series?: number): Promise<ChunkRef[]> {
    return this.read(() => {
      const out: ChunkRef[] = [];
      const ids = series === undefined ? [...this.data.chunks.keys()].sort((a, b) => a - b) : [series];
      for (const id of ids) {
        const m = this.data.chunks.get(id);
        if (m === undefined) continue;
        for (const c of [...m.values()].sort((a, b) => a.start - b.start)) {
          out.push({ series: c.series, start: c.start, end: c.end, points: c.points, size: c.size });
        }
      }
      return out;
    });
  }

  readChunk(series: number, start: number): Promise<Uint8Array | undefined> {
    return this.read(() => this.data.chunks.get(series)?.get(start)?.bytes.slice());
  }

  readRollups(series: number, resolution: RollupResolution, from: number, to: number): Promise<RollupBucket[]> {
    return this.read(() => {
      const m = this.data.rollups.get(rollupKey(series, resolution));
      if (m === undefined) return [];
      return [...m.values()].filter((b) => b.start >= from && b.start <= to).sort((a, b) => a.start - b.start).map((b) => ({ ...b }));
    });
  }

  stats(): Promise<SeriesStoreStats> {
    return this.read(() => {
      const d = this.data;
      let chunks = 0;
      let chunkBytes = 0;
      for (const m of d.chunks.values()) for (const c of m.values()) {
        chunks++;
        chunkBytes += c.bytes.length;
      }
      let walBytes = 0;
      for (const e of d.wal.values()) walBytes += e.series.length * 20;
      let other = 0;
      for (const h of d.heads.values()) other += h.length;
      for (const m of d.rollups.values()) other += m.size * 64;
      return { diskBytes: chunkBytes + walBytes + other, chunks, chunkBytes, walEntries: d.wal.size };
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function emptyData(): Data {
  return { series: new Map(), nextSeriesId: 1, lastWalSeq: 0, wal: new Map(), heads: new Map(), chunks: new Map(), rollups: new Map() };
}
