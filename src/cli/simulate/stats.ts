// Counters and latency histograms of a simulation. Each fleet (one per worker process) counts in
// plain numbers and sends a sample once a second: the counters' increase over that second, the
// number of connected devices, and the histogram buckets filled in that second (sparse). The
// coordinator adds the samples of all fleets by second into the run's timeline and totals.
import { HISTOGRAM_BUCKETS, Histogram } from '../bench/histogram.js';

export const COUNTER_NAMES = [
  'connectAttempts',
  'connects',
  'connectFailures',
  'subscribeFailures',
  'disconnectsChurn',
  'disconnectsChaos',
  'disconnectsBroker',
  'sent',
  /** Of `sent`, the QoS 1/2 publishes, which an acknowledgement ends. */
  'sentNeedsAck',
  'sentTelemetry',
  'sentHeartbeat',
  'sentBurst',
  'sentTwin',
  'sentReply',
  'duplicates',
  'reordered',
  'acked',
  'rejected',
  'skipped',
  'bytesSent',
  'commandsReceived',
  'commandsIssued',
  'commandsAnswered',
  'commandsFailed',
  'commandsTimedOut',
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export function zeroCounters(): Counters {
  const c = {} as Counters;
  for (const n of COUNTER_NAMES) c[n] = 0;
  return c;
}

export function addCounters(into: Counters, from: Partial<Counters>): void {
  for (const n of COUNTER_NAMES) into[n] += from[n] ?? 0;
}

export function diffCounters(a: Counters, b: Counters): Counters {
  const c = zeroCounters();
  for (const n of COUNTER_NAMES) c[n] = a[n] - b[n];
  return c;
}

/** Errors counted in the summary: everything that went wrong that the profile did not ask for. */
export function errorCount(c: Counters): number {
  return c.connectFailures + c.subscribeFailures + c.disconnectsBroker + c.rejected + c.commandsTimedOut;
}

/** Histogram buckets as [index, count, index, count, …] plus total and max: what IPC carries. */
export interface SparseHistogram {
  c: number[];
  total: number;
  maxUs: number;
}

export const HISTOGRAMS = ['pubAck', 'connect', 'command'] as const;
export type HistogramName = (typeof HISTOGRAMS)[number];

export function toSparse(h: Histogram): SparseHistogram {
  const c: number[] = [];
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) if (h.counts[i] !== 0) c.push(i, h.counts[i]!);
  return { c, total: h.total, maxUs: h.maxUs };
}

export function mergeSparse(into: Histogram, s: SparseHistogram): void {
  for (let i = 0; i + 1 < s.c.length; i += 2) into.counts[s.c[i]!]! += s.c[i + 1]!;
  into.total += s.total;
  if (s.maxUs > into.maxUs) into.maxUs = s.maxUs;
}

export function newHistograms(): Record<HistogramName, Histogram> {
  return { pubAck: new Histogram(), connect: new Histogram(), command: new Histogram() };
}

/** One fleet's second. */
export interface SecondSample {
  /** Seconds since the run started (0 is the first second). */
  sec: number;
  counters: Counters;
  /** Devices connected at the end of the second. */
  connected: number;
  histograms: Record<HistogramName, SparseHistogram>;
}

/** A fleet's first error messages, for the report (bounded). */
export class ErrorLog {
  readonly byMessage = new Map<string, number>();

  add(kind: string, message: string): void {
    // Group by message with the device id masked, so 10,000 refusals make one line.
    const key = `${kind}: ${message.replace(/\b(for|of) \S+/g, '$1 …')}`;
    const n = this.byMessage.get(key);
    if (n !== undefined) this.byMessage.set(key, n + 1);
    else if (this.byMessage.size < 50) this.byMessage.set(key, 1);
  }

  merge(entries: [string, number][]): void {
    for (const [k, n] of entries) {
      const m = this.byMessage.get(k);
      if (m !== undefined) this.byMessage.set(k, m + n);
      else if (this.byMessage.size < 50) this.byMessage.set(k, n);
    }
  }
}
