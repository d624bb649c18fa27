// The durable side of the telemetry time-series store. The chunk engine (core/telemetry/engine.ts)
// keeps each series' open chunk, recent rollup buckets and the chunk index in memory and uses this
// port for everything that must survive a restart. Adapters: adapters/memory (tests,
// `persistence: false`), adapters/lmdb (the embedded default, its own `telemetry` environment so
// telemetry writes never queue behind the broker's). Every adapter passes
// test/contracts/series-store.contract.ts.
//
// The write-ahead log. Every batch of accepted points is appended as one WAL entry with a sequence
// number before it is acknowledged; the open chunks are rebuilt from it at start-up. A series
// record carries `appliedSeq`: every point of that series from WAL entries up to it is already in
// its sealed chunks or its head (the encoded open chunk written at a checkpoint), so replay skips
// those. A `commit` writes sealed chunks, heads, rollups and series records, and may drop the WAL
// through a sequence number, in one atomic transaction: replay after a crash never sees a point
// both in a chunk and in the WAL, nor in neither.
//
// Ordering: writes (appendWal, commit, deleteSeries) settle in the order they were called and a
// read issued after a write resolved sees it.

export type ValueKind = 'float' | 'int' | 'bool';

/** Rollup resolutions, in milliseconds. */
export const ROLLUP_1M = 60_000;
export const ROLLUP_1H = 3_600_000;
export type RollupResolution = typeof ROLLUP_1M | typeof ROLLUP_1H;

export interface SeriesRecord {
  /** Engine-assigned id, never reused (see SeriesCatalog.nextSeriesId). */
  id: number;
  device: string;
  metric: string;
  /** float, int (exact integers) or bool (0/1, returned as booleans). An int series widens to float. */
  kind: ValueKind;
  /** Points of WAL entries with seq ≤ appliedSeq are in this series' chunks or head. */
  appliedSeq: number;
  /** Greatest timestamp seen (epoch ms), -Infinity when none: the late window counts back from it. */
  maxTs: number;
}

export interface SeriesCatalog {
  series: SeriesRecord[];
  /** Smallest id never handed out: ids are not reused, so a stale WAL point never joins a new series. */
  nextSeriesId: number;
  /** Greatest WAL sequence number ever appended (0 when none), also after the WAL was dropped. */
  lastWalSeq: number;
}

/** One WAL entry: the points accepted in one event-loop turn, as columns. */
export interface WalEntry {
  seq: number;
  series: Uint32Array;
  timestamps: Float64Array;
  values: Float64Array;
}

/** Where a sealed chunk is and what it covers, without its bytes. */
export interface ChunkRef {
  series: number;
  /** First and last timestamp of the chunk (epoch ms). A chunk is keyed by (series, start). */
  start: number;
  end: number;
  points: number;
  /** Encoded size in bytes (src/codec/tsdb chunk format). */
  size: number;
}

export interface ChunkRecord extends ChunkRef {
  bytes: Uint8Array;
}

/** The aggregates of one series over [start, start + resolution). */
export interface RollupBucket {
  series: number;
  resolution: RollupResolution;
  start: number;
  count: number;
  min: number;
  max: number;
  sum: number;
  /** Value at the smallest timestamp (the first to arrive among equal ones), and that timestamp. */
  first: number;
  firstTs: number;
  /** Value at the greatest timestamp (the last to arrive among equal ones), and that timestamp. */
  last: number;
  lastTs: number;
}

export interface SealBatch {
  /** Series records to write (their appliedSeq/maxTs/kind move on with this commit). */
  series: SeriesRecord[];
  putChunks: ChunkRecord[];
  /** Chunks to remove (re-keyed after a late point moved their start, or past retention). */
  deleteChunks: Array<{ series: number; start: number }>;
  /** The encoded open chunk of a series at this commit, or null for an empty open chunk. */
  heads: Array<{ series: number; bytes: Uint8Array | null }>;
  /** Rollup buckets to write (whole values: they replace what is stored). */
  rollups: RollupBucket[];
  /** Retention: remove a series' rollup buckets that start before `before`. */
  dropRollupsBefore: Array<{ series: number; before: number }>;
  /** Remove WAL entries with seq ≤ this (a checkpoint), when set. */
  dropWalThrough?: number;
}

export interface SeriesStoreStats {
  /** Bytes the store occupies on its medium (pages in use for LMDB; payload bytes for memory). */
  diskBytes: number;
  chunks: number;
  /** Encoded bytes of the sealed chunks. */
  chunkBytes: number;
  walEntries: number;
}

export interface SeriesStore {
  /**
   * Append a WAL entry (and register the series it introduces) in one transaction. Resolves when
   * durable; rejects with TwinhubError STORE_WRITE_FAILED when nothing of it was written.
   */
  appendWal(entry: WalEntry, newSeries: readonly SeriesRecord[]): Promise<void>;
  /** Apply a seal/checkpoint/retention batch atomically. Resolves when durable. */
  commit(batch: SealBatch): Promise<void>;
  /** Remove series with everything they own: record, chunks, head, rollups. */
  deleteSeries(ids: readonly number[]): Promise<void>;

  loadCatalog(): Promise<SeriesCatalog>;
  /** Heads by series id. */
  loadHeads(): Promise<Map<number, Uint8Array>>;
  /** WAL entries with seq > afterSeq, in seq order. */
  replayWal(afterSeq: number): AsyncIterable<WalEntry>;
  /** Chunk refs of one series (all series when undefined), in (series, start) order. */
  listChunks(series?: number): Promise<ChunkRef[]>;
  /** One chunk's bytes, or undefined. */
  readChunk(series: number, start: number): Promise<Uint8Array | undefined>;
  /** Rollup buckets of a series with from ≤ start ≤ to, in start order. */
  readRollups(series: number, resolution: RollupResolution, from: number, to: number): Promise<RollupBucket[]>;
  stats(): Promise<SeriesStoreStats>;
  close(): Promise<void>;
}
