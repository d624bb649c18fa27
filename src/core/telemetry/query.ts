// Telemetry queries: raw points or aggregates over steps, one series at a time, streamed in pages.
//
// With a step, buckets are aligned to the epoch: bucket k covers [k·step, (k+1)·step), a point
// is reported at its bucket's start, `from` is rounded down to its bucket and the bucket holding
// `to` is whole; empty buckets are left out. Aligned buckets let the aggregates that rollups can
// give (avg, min, max, sum, count, first, last) read the 1-hour rollups when the step is a
// multiple of an hour and the 1-minute rollups when it is a multiple of a minute, not the raw
// points; percentiles (nearest rank) always read raw points.
import { Errors, TwinhubError } from '../../common/errors.js';
import { ROLLUP_1H, ROLLUP_1M, type RollupResolution, type ValueKind } from '../../ports/series-store.js';
import type { Series, SeriesEngine } from './engine.js';
import { addPoint, aggValue, isRollupAgg, mergeAgg, newAgg, percentile, type Agg, type Aggregation } from './rollups.js';

export type { Aggregation } from './rollups.js';

export interface SeriesSelector {
  /** Device ids; undefined = every device. */
  devices?: readonly string[];
  /** Metric names; undefined = every metric. */
  metrics?: readonly string[];
}

export interface QuerySpec extends SeriesSelector {
  from: number;
  to: number;
  /** Bucket width (ms); without it, raw points. */
  step?: number;
  /** Aggregation over each step (default avg). */
  agg?: Aggregation;
}

export type PointValue = number | boolean;
export type Point = [number, PointValue];

export interface SeriesResult {
  device: string;
  metric: string;
  kind: ValueKind;
  /** The points in time order, a page at a time (raw: a chunk at a time). */
  pages(): AsyncGenerator<Point[]>;
}

/** Most series one query may touch, and most step buckets per series. */
export const MAX_QUERY_SERIES = 100_000;
export const MAX_STEP_BUCKETS = 1_000_000;
const PAGE = 1024;

export function invalidQuery(message: string, details?: Record<string, unknown>): TwinhubError {
  return new TwinhubError(Errors.TELEMETRY_QUERY_INVALID, message, details);
}

export function checkQuery(q: QuerySpec): void {
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to)) throw invalidQuery('from and to must be times');
  if (q.from > q.to) throw invalidQuery(`from (${q.from}) is after to (${q.to})`);
  if (q.step !== undefined) {
    if (!Number.isInteger(q.step) || q.step <= 0) throw invalidQuery(`step must be a positive whole number of milliseconds, got ${q.step}`);
    const buckets = Math.floor(q.to / q.step) - Math.floor(q.from / q.step) + 1;
    if (buckets > MAX_STEP_BUCKETS) throw invalidQuery(`from–to spans ${buckets} steps; at most ${MAX_STEP_BUCKETS}: use a larger step`);
  } else if (q.agg !== undefined) {
    throw invalidQuery('agg needs a step');
  }
}

/** The series a selector names, in (device, metric) order. */
export function selectSeries(engine: SeriesEngine, sel: SeriesSelector): Series[] {
  const out: Series[] = [];
  const devices = sel.devices ?? [...engine.devices()];
  const metrics = sel.metrics === undefined ? undefined : new Set(sel.metrics);
  for (const d of devices) {
    for (const s of engine.seriesOf(d)) if (metrics === undefined || metrics.has(s.metric)) out.push(s);
  }
  out.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
  if (out.length > MAX_QUERY_SERIES) throw invalidQuery(`the query selects ${out.length} series; at most ${MAX_QUERY_SERIES}`);
  return out;
}

/**
 * The (device, metric) names of every series, or of one device's: the label listing behind the
 * Prometheus API's series selection. Not a query, so not held to MAX_QUERY_SERIES (what is then
 * read of the selected series is bounded by the reader's sample budget); unordered.
 */
export function listSeries(engine: SeriesEngine, device?: string): Array<{ device: string; metric: string }> {
  const out: Array<{ device: string; metric: string }> = [];
  for (const d of device === undefined ? engine.devices() : [device]) for (const s of engine.seriesOf(d)) out.push({ device: s.device, metric: s.metric });
  return out;
}

/** The rollup resolution that answers `agg` over `step`, or undefined for raw points. */
export function rollupFor(step: number, agg: Aggregation): RollupResolution | undefined {
  if (!isRollupAgg(agg)) return undefined;
  if (step % ROLLUP_1H === 0) return ROLLUP_1H;
  if (step % ROLLUP_1M === 0) return ROLLUP_1M;
  return undefined;
}

export function querySeries(engine: SeriesEngine, s: Series, q: QuerySpec): SeriesResult {
  const base = { device: s.device, metric: s.metric, kind: s.kind };
  if (q.step === undefined) return { ...base, pages: () => rawPages(engine, s, q.from, q.to) };
  const step = q.step;
  const agg = q.agg ?? 'avg';
  const from = Math.floor(q.from / step) * step;
  const to = Math.floor(q.to / step) * step + step - 1;
  const res = rollupFor(step, agg);
  if (res !== undefined && isRollupAgg(agg)) return { ...base, pages: () => rollupPages(engine, s, res, from, to, step, agg) };
  return { ...base, pages: () => rawAggPages(engine, s, from, to, step, agg) };
}

async function* rawPages(engine: SeriesEngine, s: Series, from: number, to: number): AsyncGenerator<Point[]> {
  const bool = s.kind === 'bool';
  for await (const b of engine.readRaw(s, from, to)) {
    const page: Point[] = new Array(b.timestamps.length);
    for (let i = 0; i < page.length; i++) page[i] = [b.timestamps[i]!, bool ? b.values[i] === 1 : b.values[i]!];
    yield page;
  }
}

async function* rollupPages(
  engine: SeriesEngine,
  s: Series,
  res: RollupResolution,
  from: number,
  to: number,
  step: number,
  agg: Parameters<typeof aggValue>[1],
): AsyncGenerator<Point[]> {
  // Read a slice of buckets at a time so a long range is not held whole.
  const slice = Math.max(step, res * 10_000);
  let page: Point[] = [];
  let cur: Agg | undefined;
  let curStart = NaN;
  for (let lo = from; lo <= to; lo += slice) {
    const hi = Math.min(to, lo + slice - 1);
    for (const [start, a] of await engine.readRollups(s, res, lo, hi)) {
      const k = Math.floor(start / step) * step;
      if (cur !== undefined && k === curStart) {
        mergeAgg(cur, a);
        continue;
      }
      if (cur !== undefined) page.push([curStart, aggValue(cur, agg)]);
      cur = a;
      curStart = k;
      if (page.length >= PAGE) {
        yield page;
        page = [];
      }
    }
  }
  if (cur !== undefined) page.push([curStart, aggValue(cur, agg)]);
  if (page.length > 0) yield page;
}

async function* rawAggPages(engine: SeriesEngine, s: Series, from: number, to: number, step: number, agg: Aggregation): AsyncGenerator<Point[]> {
  const pct = agg === 'p50' ? 0.5 : agg === 'p90' ? 0.9 : agg === 'p99' ? 0.99 : 0;
  let page: Point[] = [];
  let curStart = NaN;
  let cur: Agg | undefined;
  let values: number[] = [];
  const emit = (): void => {
    if (pct > 0) {
      if (values.length > 0) page.push([curStart, percentile(Float64Array.from(values).sort(), pct)]);
      values = [];
    } else if (cur !== undefined) {
      page.push([curStart, aggValue(cur, agg as Parameters<typeof aggValue>[1])]);
      cur = undefined;
    }
  };
  for await (const b of engine.readRaw(s, from, to)) {
    for (let i = 0; i < b.timestamps.length; i++) {
      const ts = b.timestamps[i]!;
      const v = b.values[i]!;
      const k = Math.floor(ts / step) * step;
      if (k !== curStart) {
        emit();
        curStart = k;
      }
      if (pct > 0) values.push(v);
      else if (cur === undefined) cur = newAgg(ts, v);
      else addPoint(cur, ts, v);
    }
    if (page.length >= PAGE) {
      yield page;
      page = [];
    }
  }
  emit();
  if (page.length > 0) yield page;
}
