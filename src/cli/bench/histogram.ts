// Latency histogram over microseconds with bounded relative error: values below 256 µs have their
// own bucket; above, each power of two is split into 128 buckets (error under 0.8%). Fixed size,
// no allocation per recorded value, mergeable by adding counts.

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
/** Buckets up to 2^31 µs (about 36 minutes); larger values land in the last bucket. */
export const HISTOGRAM_BUCKETS = (31 - SUB_BITS + 1) * SUB;

export function bucketOf(us: number): number {
  if (us < 2 * SUB) return us < 0 ? 0 : Math.floor(us);
  if (us >= 2 ** 31) return HISTOGRAM_BUCKETS - 1;
  const v = Math.floor(us);
  const e = 31 - Math.clz32(v); // v in [2^e, 2^(e+1))
  const m = v >>> (e - SUB_BITS); // in [SUB, 2*SUB)
  return (e - SUB_BITS + 1) * SUB + (m - SUB);
}

/** Lowest value of a bucket, in µs. */
export function bucketLow(index: number): number {
  if (index < 2 * SUB) return index;
  const e = Math.floor(index / SUB) - 1 + SUB_BITS;
  const m = (index % SUB) + SUB;
  return m * 2 ** (e - SUB_BITS);
}

/** Middle of a bucket, in µs: what a percentile reports. */
export function bucketMid(index: number): number {
  if (index < 2 * SUB) return index + 0.5;
  return (bucketLow(index) + bucketLow(index + 1)) / 2;
}

export class Histogram {
  readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  total = 0;
  maxUs = 0;

  record(us: number): void {
    this.counts[bucketOf(us)]++;
    this.total++;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Adds counts sent by another process (a plain array, as IPC carries it). */
  merge(counts: ArrayLike<number>, total: number, maxUs: number): void {
    for (let i = 0; i < counts.length && i < HISTOGRAM_BUCKETS; i++) this.counts[i] += counts[i];
    this.total += total;
    if (maxUs > this.maxUs) this.maxUs = maxUs;
  }

  /** The value (µs) below which a fraction `q` of recorded values lie. */
  quantileUs(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(bucketMid(i), this.maxUs);
    }
    return this.maxUs;
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Percentiles in milliseconds, rounded to the microsecond. */
export function summarize(h: Histogram): LatencySummary | null {
  if (h.total === 0) return null;
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    count: h.total,
    p50: ms(h.quantileUs(0.5)),
    p90: ms(h.quantileUs(0.9)),
    p99: ms(h.quantileUs(0.99)),
    p999: ms(h.quantileUs(0.999)),
    max: ms(h.maxUs),
  };
}
