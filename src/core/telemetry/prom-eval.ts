// Answers the PromQL subset of promql.ts over the telemetry store, in the shapes of the Prometheus
// HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/): vectors, matrices,
// scalars, series label sets, label names and values.
//
// Labels of a series: `__name__` = the Twinhub metric, `device` = the device id, and, from the
// registry when it is wired, `type`, `group` and the device's tags (a tag never replaces one of
// those four; an empty value is no label, as in Prometheus).
//
// Time semantics follow Prometheus 3: a range `[w]` evaluated at t covers (t − w, t] (left-open);
// an instant selector takes the newest sample in (t − 5 m, t] (the default lookback delta);
// query_range evaluates at start, start + step, … ≤ end. Sample values are written as strings
// with Go's shortest 'f' formatting ("+Inf", "-Inf", "NaN"), times as Unix seconds.
import type { QuerySpec, SeriesResult } from './query.js';
import { matchesAll, PromQLError, type CallExpr, type LabelMatcher, type PromExpr, type RangeFunction } from './promql.js';

/** Prometheus' default --query.lookback-delta. */
export const LOOKBACK_MS = 5 * 60_000;
/** Prometheus refuses a range query of more than 11,000 steps per series. */
export const MAX_STEPS = 11_000;
/** Most samples one query may read (Prometheus' --query.max-samples idea, smaller: one process holds them). */
export const MAX_SAMPLES = 5_000_000;

export type PromLabels = Record<string, string>;
export type PromSample = [number, string];

export interface PromVectorItem {
  metric: PromLabels;
  value: PromSample;
}
export interface PromMatrixItem {
  metric: PromLabels;
  values: PromSample[];
}

export type PromResult =
  | { resultType: 'vector'; result: PromVectorItem[] }
  | { resultType: 'matrix'; result: PromMatrixItem[] }
  | { resultType: 'scalar'; result: PromSample };

/** What the reader needs from the telemetry service. */
export interface PromSource {
  /** Every series' names, or only those of `device` when given (a selector naming one device reads no other). */
  catalog(device?: string): Array<{ device: string; metric: string }>;
  query(q: QuerySpec): AsyncIterable<SeriesResult>;
}

/** Registry facts of a device that become labels. */
export interface DeviceLabelSource {
  type?: string | undefined;
  group?: string | undefined;
  tags?: Readonly<Record<string, string>> | undefined;
}

export type DeviceLabelsLookup = (device: string) => Promise<DeviceLabelSource | undefined>;

interface SelectedSeries {
  device: string;
  metric: string;
  labels: PromLabels;
}

const RESERVED = new Set(['__name__', 'device', 'type', 'group']);

/** A sample value as Prometheus writes it: Go strconv.FormatFloat(v, 'f', -1, 64). */
export function formatPromValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  // Expand JavaScript's exponent form (1e+21, 1.5e-7) into plain decimals, digits unchanged.
  const neg = s.startsWith('-');
  const mant = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mant.indexOf('.');
  const digits = mant.replace('.', '');
  const point = (dot < 0 ? mant.length : dot) + exp; // position of the decimal point in `digits`
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${out}` : out;
}

/** Unix seconds of an epoch-ms time, as the API writes timestamps (a JSON number, ms precision). */
export function promTime(ms: number): number {
  return ms / 1000;
}

/** Prometheus labels.Compare: by sorted (name, value) pairs, then by length. */
export function compareLabels(a: PromLabels, b: PromLabels): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    const va = a[ka[i]!]!;
    const vb = b[kb[i]!]!;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

export function labelsOf(device: string, metric: string, info: DeviceLabelSource | undefined): PromLabels {
  const l: PromLabels = { __name__: metric, device };
  if (info?.type) l.type = info.type;
  if (info?.group) l.group = info.group;
  for (const [k, v] of Object.entries(info?.tags ?? {})) if (!RESERVED.has(k) && v !== '') l[k] = v;
  return l;
}

/** Folds one range function over the samples ts[lo..hi] (inclusive; hi ≥ lo) of the window (t − w, t]. */
export function rangeValue(fn: RangeFunction, ts: ArrayLike<number>, vs: ArrayLike<number>, lo: number, hi: number, t: number, w: number): number | undefined {
  const n = hi - lo + 1;
  switch (fn) {
    case 'count_over_time':
      return n;
    case 'last_over_time':
      return vs[hi]!;
    case 'max_over_time':
    case 'min_over_time': {
      // NaN only when every sample is NaN (Prometheus replaces a NaN running value).
      const max = fn === 'max_over_time';
      let r = vs[lo]!;
      for (let i = lo + 1; i <= hi; i++) {
        const v = vs[i]!;
        if ((max ? v > r : v < r) || Number.isNaN(r)) r = v;
      }
      return r;
    }
    case 'sum_over_time':
    case 'avg_over_time': {
      // Kahan–Babuška summation, as Prometheus sums over time.
      let sum = 0;
      let c = 0;
      for (let i = lo; i <= hi; i++) {
        const v = vs[i]!;
        const s = sum + v;
        c += Math.abs(sum) >= Math.abs(v) ? sum - s + v : v - s + sum;
        sum = s;
      }
      const total = Number.isFinite(sum) ? sum + c : sum;
      return fn === 'sum_over_time' ? total : total / n;
    }
    case 'rate':
      return extrapolatedRate(ts, vs, lo, hi, t, w);
  }
}

/**
 * Prometheus `rate`: the per-second increase of a counter over (t − w, t], with counter resets
 * (a value below the previous one) counted as restarts from zero, extrapolated toward the window's
 * edges when the first/last samples are within 1.1 average sample intervals of them (else by half
 * an interval), and not below zero at the start. Needs two samples.
 */
function extrapolatedRate(ts: ArrayLike<number>, vs: ArrayLike<number>, lo: number, hi: number, t: number, w: number): number | undefined {
  const n = hi - lo + 1;
  if (n < 2) return undefined;
  const first = vs[lo]!;
  let delta = vs[hi]! - first;
  for (let i = lo + 1; i <= hi; i++) if (vs[i]! < vs[i - 1]!) delta += vs[i - 1]!;
  const rangeStart = t - w;
  const sampled = (ts[hi]! - ts[lo]!) / 1000;
  if (sampled === 0) return undefined;
  let toStart = (ts[lo]! - rangeStart) / 1000;
  let toEnd = (t - ts[hi]!) / 1000;
  const avgGap = sampled / (n - 1);
  const threshold = avgGap * 1.1;
  if (toStart >= threshold) toStart = avgGap / 2;
  // A counter does not extrapolate below zero: stop where the line through the samples crosses it.
  if (delta > 0 && first >= 0) {
    const toZero = sampled * (first / delta);
    if (toZero < toStart) toStart = toZero;
  }
  if (toEnd >= threshold) toEnd = avgGap / 2;
  const interval = sampled + toStart + toEnd;
  return (delta * (interval / sampled)) / (w / 1000);
}

export class PromReader {
  constructor(
    private readonly source: PromSource,
    private readonly deviceLabels?: DeviceLabelsLookup,
  ) {}

  /** The series whose labels satisfy the matchers, sorted by labels. */
  async select(matchers: readonly LabelMatcher[]): Promise<SelectedSeries[]> {
    let metric: string | undefined;
    let device: string | undefined;
    for (const m of matchers) {
      if (m.op !== '=') continue;
      if (m.name === '__name__') metric = m.value;
      if (m.name === 'device') device = m.value;
    }
    const cache = new Map<string, Promise<DeviceLabelSource | undefined>>();
    const out: SelectedSeries[] = [];
    for (const s of this.source.catalog(device)) {
      if (metric !== undefined && s.metric !== metric) continue;
      let info: Promise<DeviceLabelSource | undefined> | undefined;
      if (this.deviceLabels !== undefined) {
        info = cache.get(s.device);
        if (info === undefined) {
          info = this.deviceLabels(s.device);
          cache.set(s.device, info);
        }
      }
      const labels = labelsOf(s.device, s.metric, info === undefined ? undefined : await info);
      if (matchesAll(matchers, labels)) out.push({ device: s.device, metric: s.metric, labels });
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  /** Union of the series of several selectors (match[]), each label set once. */
  async selectAll(selectors: ReadonlyArray<readonly LabelMatcher[]>): Promise<SelectedSeries[]> {
    const seen = new Map<string, SelectedSeries>();
    for (const sel of selectors) for (const s of await this.select(sel)) seen.set(`${s.device}\u0000${s.metric}`, s);
    return [...seen.values()].sort((a, b) => compareLabels(a.labels, b.labels));
  }

  async labelNames(selectors: ReadonlyArray<readonly LabelMatcher[]> | undefined): Promise<string[]> {
    const names = new Set<string>();
    for (const s of await this.allOr(selectors)) for (const k of Object.keys(s.labels)) names.add(k);
    return [...names].sort();
  }

  async labelValues(name: string, selectors: ReadonlyArray<readonly LabelMatcher[]> | undefined): Promise<string[]> {
    const values = new Set<string>();
    for (const s of await this.allOr(selectors)) {
      const v = s.labels[name];
      if (v !== undefined) values.add(v);
    }
    return [...values].sort();
  }

  private allOr(selectors: ReadonlyArray<readonly LabelMatcher[]> | undefined): Promise<SelectedSeries[]> {
    // Every series: a matcher no series fails (`__name__` is never empty).
    return selectors === undefined || selectors.length === 0 ? this.select([{ name: '__name__', op: '!=', value: '' }]) : this.selectAll(selectors);
  }

  /** An instant query at time t (ms). */
  async instant(expr: PromExpr, t: number): Promise<PromResult> {
    if (expr.kind === 'number') return { resultType: 'scalar', result: [promTime(t), formatPromValue(expr.value)] };
    if (expr.kind === 'selector' && expr.range !== undefined) {
      // A range vector at one instant: the raw samples of (t − range, t].
      const result: PromMatrixItem[] = [];
      const budget = { samples: 0 };
      for (const s of await this.select(expr.matchers)) {
        const { ts, vs } = await this.read(s, t - expr.range, t, budget);
        if (ts.length === 0) continue;
        const values: PromSample[] = new Array(ts.length);
        for (let i = 0; i < ts.length; i++) values[i] = [promTime(ts[i]!), formatPromValue(vs[i]!)];
        result.push({ metric: s.labels, values });
      }
      return { resultType: 'matrix', result };
    }
    const m = await this.evaluate(expr, t, t, 1);
    return { resultType: 'vector', result: m.map((x) => ({ metric: x.metric, value: x.values[0]! })) };
  }

  /** A range query: the expression at start, start + step, … ≤ end (ms). */
  async range(expr: PromExpr, start: number, end: number, step: number): Promise<PromResult> {
    if (expr.kind === 'selector' && expr.range !== undefined) {
      throw new PromQLError('invalid expression type "range vector" for range query, must be Scalar or instant Vector');
    }
    if (expr.kind === 'number') {
      const values: PromSample[] = [];
      for (let t = start; t <= end; t += step) values.push([promTime(t), formatPromValue(expr.value)]);
      return { resultType: 'matrix', result: [{ metric: {}, values }] };
    }
    return { resultType: 'matrix', result: await this.evaluate(expr, start, end, step) };
  }

  private async evaluate(expr: PromExpr & { kind: 'selector' | 'call' }, start: number, end: number, step: number): Promise<PromMatrixItem[]> {
    const call: CallExpr | undefined = expr.kind === 'call' ? expr : undefined;
    const selector = call?.selector ?? (expr as PromExpr & { kind: 'selector' });
    const window = call?.selector.range ?? LOOKBACK_MS;
    const keepName = call === undefined || call.fn === 'last_over_time';
    const out: PromMatrixItem[] = [];
    const budget = { samples: 0 };
    for (const s of await this.select(selector.matchers)) {
      const { ts, vs } = await this.read(s, start - window, end, budget);
      if (ts.length === 0) continue;
      const values: PromSample[] = [];
      let lo = 0;
      let hi = -1; // last index with ts ≤ t
      for (let t = start; t <= end; t += step) {
        while (hi + 1 < ts.length && ts[hi + 1]! <= t) hi++;
        while (lo < ts.length && ts[lo]! <= t - window) lo++;
        if (hi < lo) continue;
        const v = call === undefined ? vs[hi]! : rangeValue(call.fn, ts, vs, lo, hi, t, window);
        if (v !== undefined) values.push([promTime(t), formatPromValue(v)]);
      }
      if (values.length === 0) continue;
      let metric = s.labels;
      if (!keepName) {
        metric = { ...s.labels };
        delete metric.__name__;
      }
      out.push({ metric, values });
    }
    if (!keepName) out.sort((a, b) => compareLabels(a.metric, b.metric));
    return out;
  }

  /** Samples of a series with from < ts ≤ to, booleans as 1/0, within the query's sample budget. */
  private async read(s: SelectedSeries, from: number, to: number, budget: { samples: number }): Promise<{ ts: number[]; vs: number[] }> {
    const ts: number[] = [];
    const vs: number[] = [];
    const q: QuerySpec = { devices: [s.device], metrics: [s.metric], from: Math.floor(from), to: Math.floor(to) };
    if (q.from > q.to) return { ts, vs };
    for await (const r of this.source.query(q)) {
      for await (const page of r.pages()) {
        budget.samples += page.length;
        if (budget.samples > MAX_SAMPLES) {
          throw new PromQLError(`query processing would load more than ${MAX_SAMPLES} samples; narrow the selector or the time range`, 'execution');
        }
        for (const [t, v] of page) {
          if (t <= from || t > to) continue;
          ts.push(t);
          vs.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
        }
      }
    }
    return { ts, vs };
  }
}
