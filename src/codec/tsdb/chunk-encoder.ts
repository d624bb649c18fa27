// The open chunk of a series: points are appended one at a time and sealed into a chunk.
//
// Gorilla (§4.1) compresses its open block as points arrive. Here the open chunk keeps its points
// raw (16 bytes each, bounded by the chunk size) because the best encoding depends on the whole
// chunk: the decimal scale, the GCD of deltas, the bucket base and the time unit are chunk-wide
// choices, and re-encoding on every append would cost O(n²). The write-ahead log holds the same
// points durably, so nothing is lost by deferring the encoding to seal().
import { encodeChunk, MAX_CHUNK_POINTS } from './chunk.js';
import type { EncodeOptions, ValueType } from './chunk.js';
import { TsdbCodecError, badPoint } from './errors.js';
import { MAX_ABS_TIMESTAMP } from './timestamps.js';

export class ChunkEncoder {
  readonly valueType: ValueType;
  private ts: Float64Array;
  private vs: Float64Array;
  private n = 0;
  private sizeCache = -1;

  constructor(valueType: ValueType = 'float', capacity = 128) {
    if (valueType !== 'float' && valueType !== 'int' && valueType !== 'bool') throw badPoint(`unknown value type ${String(valueType)}`);
    this.valueType = valueType;
    const cap = Math.max(1, Math.min(capacity, MAX_CHUNK_POINTS));
    this.ts = new Float64Array(cap);
    this.vs = new Float64Array(cap);
  }

  get count(): number {
    return this.n;
  }

  /** Timestamp of the first point, NaN when empty. */
  get firstTimestamp(): number {
    return this.n > 0 ? this.ts[0]! : NaN;
  }

  /** Timestamp of the last point, NaN when empty. */
  get lastTimestamp(): number {
    return this.n > 0 ? this.ts[this.n - 1]! : NaN;
  }

  /**
   * Adds a point at or after the last one. Rejects, with the same codes as encodeChunk, a point the
   * chunk cannot hold, leaving the encoder unchanged; a late point means re-encoding the chunk with
   * the point merged in (sortPoints).
   */
  append(timestamp: number, value: number): void {
    const n = this.n;
    if (!Number.isInteger(timestamp) || Math.abs(timestamp) > MAX_ABS_TIMESTAMP) throw badPoint(`timestamp ${timestamp} is not an integer millisecond within ±2^52`);
    if (n > 0 && timestamp < this.ts[n - 1]!) {
      throw new TsdbCodecError('TSDB_UNSORTED', `timestamp ${timestamp} is before the chunk's last one (${this.ts[n - 1]})`);
    }
    if (this.valueType === 'int' ? !Number.isInteger(value) : this.valueType === 'bool' && value !== 0 && value !== 1) {
      throw badPoint(`value ${value} does not fit a ${this.valueType} series`);
    }
    if (n === MAX_CHUNK_POINTS) throw badPoint(`a chunk holds at most ${MAX_CHUNK_POINTS} points`);
    if (n === this.ts.length) this.grow();
    this.ts[n] = timestamp;
    this.vs[n] = value;
    this.n = n + 1;
    this.sizeCache = -1;
  }

  /** Views of the points so far, valid until the next append, seal or reset (for queries of the open chunk). */
  view(): { timestamps: Float64Array; values: Float64Array } {
    return { timestamps: this.ts.subarray(0, this.n), values: this.vs.subarray(0, this.n) };
  }

  /** Bytes seal() would return now (computed on demand, cached until the next append). */
  encodedSize(): number {
    if (this.sizeCache < 0) this.sizeCache = this.encode().length;
    return this.sizeCache;
  }

  /** Encodes the points into a chunk and empties the encoder for the next one. */
  seal(options: Omit<EncodeOptions, 'valueType'> = {}): Uint8Array {
    const bytes = this.encode(options);
    this.reset();
    return bytes;
  }

  reset(): void {
    this.n = 0;
    this.sizeCache = -1;
  }

  private encode(options: Omit<EncodeOptions, 'valueType'> = {}): Uint8Array {
    return encodeChunk(this.ts.subarray(0, this.n), this.vs.subarray(0, this.n), { ...options, valueType: this.valueType });
  }

  private grow(): void {
    const cap = Math.min(this.ts.length * 2, MAX_CHUNK_POINTS);
    const ts = new Float64Array(cap);
    const vs = new Float64Array(cap);
    ts.set(this.ts);
    vs.set(this.vs);
    this.ts = ts;
    this.vs = vs;
  }
}
