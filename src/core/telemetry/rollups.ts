// Rollup aggregates (count, min, max, sum, first, last) of a series over a time bucket, maintained
// as points arrive, so long-range queries read buckets instead of raw points.
//
// NaN is counted and poisons the sum (as in IEEE arithmetic) but is ignored by min and max, so
// one NaN reading does not hide the range of the others. `first`/`last` are the values at the
// smallest/greatest timestamp; among equal timestamps the first/last to arrive.

import type { RollupBucket } from '../../ports/series-store.js';

/** The aggregates of a bucket, as the store keeps them without their series, resolution and start. */
export type Agg = Omit<RollupBucket, 'series' | 'resolution' | 'start'>;

export function newAgg(ts: number, v: number): Agg {
  return { count: 1, min: v === v ? v : Infinity, max: v === v ? v : -Infinity, sum: v, first: v, firstTs: ts, last: v, lastTs: ts };
}

export function addPoint(a: Agg, ts: number, v: number): void {
  a.count++;
  if (v < a.min) a.min = v;
  if (v > a.max) a.max = v;
  a.sum += v;
  if (ts < a.firstTs) {
    a.first = v;
    a.firstTs = ts;
  }
  if (ts >= a.lastTs) {
    a.last = v;
    a.lastTs = ts;
  }
}

/** Fold `b` into `a` (b's points arrived after a's when timestamps tie). */
export function mergeAgg(a: Agg, b: Agg): void {
  a.count += b.count;
  if (b.min < a.min) a.min = b.min;
  if (b.max > a.max) a.max = b.max;
  a.sum += b.sum;
  if (b.firstTs < a.firstTs) {
    a.first = b.first;
    a.firstTs = b.firstTs;
  }
  if (b.lastTs >= a.lastTs) {
    a.last = b.last;
    a.lastTs = b.lastTs;
  }
}

export function copyAgg(a: Agg): Agg {
  return { count: a.count, min: a.min, max: a.max, sum: a.sum, first: a.first, firstTs: a.firstTs, last: a.last, lastTs: a.lastTs };
}

export const ROLLUP_AGGS = ['avg', 'min', 'max', 'sum', 'count', 'last', 'first'] as const;
export const PERCENTILE_AGGS = ['p50', 'p90', 'p99'] as const;
export type Aggregation = (typeof ROLLUP_AGGS)[number] | (typeof PERCENTILE_AGGS)[number];

export function isRollupAgg(agg: Aggregation): agg is (typeof ROLLUP_AGGS)[number] {
  return (ROLLUP_AGGS as readonly string[]).includes(agg);
}

/** The value of a rollup-derivable aggregation. min/max of a bucket holding only NaN are NaN. */
export function aggValue(a: Agg, agg: (typeof ROLLUP_AGGS)[number]): number {
  switch (agg) {
    case 'avg':
      return a.sum / a.count;
    case 'min':
      return a.min === Infinity && a.max === -Infinity ? NaN : a.min;
    case 'max':
      return a.min === Infinity && a.max === -Infinity ? NaN : a.max;
    case 'sum':
      return a.sum;
    case 'count':
      return a.count;
    case 'last':
      return a.last;
    case 'first':
      return a.first;
  }
}

/** Nearest-rank percentile of sorted values (p in (0, 1]). */
export function percentile(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(p * n)));
  return sorted[rank - 1]!;
}
