// fanin, fanout and latency: publishers offer a paced rate for a step, then the coordinator waits
// for the deliveries to drain and judges the step. A sweep searches the highest sustained rate.
import { monoNowMs } from './clock.js';
import { Histogram, summarize, type LatencySummary } from './histogram.js';
import type { PubStatsMessage, StepStatsMessage } from './ipc.js';
import type { BenchOptions } from './options.js';
import { readProcCpuSec } from './proc-status.js';
import { fmt, round, sleep, split, sum } from './util.js';
import { startWorker, type WorkerHandle } from './workers.js';

/** "Sustained": at least 99.9% of sent messages delivered... */
export const MIN_DELIVERED_RATIO = 0.999;
/** ...and the delivered rate at least 97% of the offered rate. */
export const MIN_RATE_RATIO = 0.97;
/** A drain ends early when no new delivery arrived for this long. */
const DRAIN_IDLE_MS = 1000;
const MAX_SWEEP_STEPS = 40;

export interface StepResult {
  step: number;
  offeredRate: number;
  sent: number;
  sentRate: number;
  /** Due but never sent (window full or socket backed up), and the ticks that held messages back. */
  unsent: number;
  blockedTicks: number;
  /** QoS 1/2: acknowledgements the publishers got during the step, and 5.0 refusals. */
  acked: number;
  rejected: number;
  /** Unique deliveries over all subscribers. */
  received: number;
  duplicates: number;
  outOfOrder: number;
  lost: number;
  deliveredRatio: number;
  /** Deliveries per second over all subscribers, from the first send to the last delivery. */
  deliveredRate: number;
  elapsedSec: number;
  sustained: boolean;
  latencyMs: LatencySummary | null;
  /** CPU of the load generator's processes during the step, in cores. */
  generatorCpu: { publishers: number; subscribers: number };
  /** CPU of the broker (--pid) from the step's start to the end of its drain, in cores. */
  brokerCpu?: number;
}

export interface Logger {
  progress(line: string): void;
}

export class ThroughputRun {
  private subs: WorkerHandle[] = [];
  private pubs: WorkerHandle[] = [];
  private progressTimer: NodeJS.Timeout | null = null;
  private label = '';
  private stepStartMs = 0;

  constructor(
    private readonly o: BenchOptions,
    private readonly runId: string,
    private readonly log: Logger,
  ) {}

  /** Subscribers first (they must be subscribed before anything is published), then publishers. */
  async start(): Promise<void> {
    const o = this.o;
    this.subs = await Promise.all(
      split(o.subscribers, o.subProcs).map(([offset, count], i) =>
        startWorker(`subscriber ${i}`, { t: 'init', role: 'sub', opts: o, runId: this.runId, offset, count }),
      ),
    );
    this.pubs = await Promise.all(
      split(o.publishers, o.procs).map(([offset, count], i) =>
        startWorker(`publisher ${i}`, { t: 'init', role: 'pub', opts: o, runId: this.runId, offset, count }),
      ),
    );
    this.progressTimer = setInterval(() => this.printProgress(), 1000);
  }

  private printProgress(): void {
    let sent = 0;
    let received = 0;
    for (const p of this.pubs) sent += p.rates().sent;
    for (const s of this.subs) received += s.rates().received;
    const t = ((monoNowMs() - this.stepStartMs) / 1000).toFixed(1);
    this.log.progress(`${this.label} t=${t}s  sent ${fmt(sent)}/s  received ${fmt(received)}/s`);
  }

  failure(): Error | null {
    for (const w of [...this.subs, ...this.pubs]) if (w.failure !== null) return w.failure;
    return null;
  }

  /** Offers `rate` msg/s for `durationSec`, waits for the drain, and judges the step. */
  async runStep(step: number, rate: number, durationSec: number, withLatency: boolean): Promise<StepResult> {
    const o = this.o;
    const durationMs = durationSec * 1000;
    this.label = `[${o.scenario} step ${step} @ ${fmt(rate)}/s]`;
    const subCpu0 = sum(await this.querySubs(step, false), (m) => m.cpuUs);
    const brokerCpu0 = o.pid > 0 ? readProcCpuSec(o.pid) : null;
    const t0 = monoNowMs();
    this.stepStartMs = t0;
    for (const p of this.pubs) p.send({ t: 'step', step, rate, durationMs });
    const done = await Promise.all(this.pubs.map((p) => p.next('stepDone', durationMs + 60000, (m) => m.step === step)));
    const sent = sum(done, (m) => m.sent);
    const startMs = Math.min(...done.map((m) => m.startMs));
    const expected = sent * o.subscribers;

    // Drain: wait until everything arrived (and, at QoS 1/2, every publish was acknowledged),
    // nothing arrived for a while, or the drain time is up.
    const drainEnd = monoNowMs() + o.drain * 1000;
    let progress = -1;
    let changedAt = monoNowMs();
    for (;;) {
      const now = monoNowMs();
      const got = sum(await this.querySubs(step, false), (m) => m.received);
      const acks = o.qos === 0 ? sent : sum(await this.queryPubs(step), (m) => m.acked + m.rejected);
      if ((got >= expected && acks >= sent) || now >= drainEnd) break;
      if (got + acks !== progress) {
        progress = got + acks;
        changedAt = now;
      } else if (now - changedAt >= DRAIN_IDLE_MS) break;
      await sleep(20);
    }
    const acks = o.qos === 0 ? [] : await this.queryPubs(step);
    const stats = await this.querySubs(step, withLatency);
    const got = sum(stats, (m) => m.received);
    const lastMs = Math.max(...stats.map((m) => m.lastMs));
    const elapsedSec = Math.max(durationMs, lastMs - startMs) / 1000;
    const deliveredRate = got / elapsedSec;
    const deliveredRatio = expected === 0 ? 0 : got / expected;
    let latencyMs: LatencySummary | null = null;
    if (withLatency) {
      const h = new Histogram();
      for (const m of stats) if (m.histogram) h.merge(m.histogram.counts, m.histogram.total, m.histogram.maxUs);
      latencyMs = summarize(h);
    }
    const stepWall = (monoNowMs() - t0) * 1000;
    const brokerCpu1 = o.pid > 0 ? readProcCpuSec(o.pid) : null;
    const result: StepResult = {
      step,
      offeredRate: rate,
      sent,
      sentRate: Math.round(sent / durationSec),
      unsent: sum(done, (m) => m.unsent),
      blockedTicks: sum(done, (m) => m.blockedTicks),
      acked: sum(acks, (m) => m.acked),
      rejected: sum(acks, (m) => m.rejected),
      received: got,
      duplicates: sum(stats, (m) => m.duplicates),
      outOfOrder: sum(stats, (m) => m.outOfOrder),
      lost: Math.max(0, expected - got),
      deliveredRatio: round(deliveredRatio, 6),
      deliveredRate: Math.round(deliveredRate),
      elapsedSec: round(elapsedSec, 3),
      sustained:
        expected > 0 &&
        deliveredRatio >= MIN_DELIVERED_RATIO &&
        deliveredRate >= MIN_RATE_RATIO * rate * o.subscribers,
      latencyMs,
      generatorCpu: {
        publishers: round(sum(done, (m) => m.cpuUs) / (durationMs * 1000), 3),
        subscribers: round((sum(stats, (m) => m.cpuUs) - subCpu0) / stepWall, 3),
      },
    };
    if (brokerCpu0 !== null && brokerCpu1 !== null) result.brokerCpu = round(((brokerCpu1 - brokerCpu0) * 1e6) / stepWall, 3);
    return result;
  }

  private querySubs(step: number, histogram: boolean): Promise<StepStatsMessage[]> {
    return Promise.all(
      this.subs.map((s) => {
        const reply = s.next('stepStats', 10000, (m) => m.step === step);
        s.send({ t: 'query', step, histogram });
        return reply;
      }),
    );
  }

  private queryPubs(step: number): Promise<PubStatsMessage[]> {
    return Promise.all(
      this.pubs.map((p) => {
        const reply = p.next('pubStats', 10000, (m) => m.step === step);
        p.send({ t: 'query', step, histogram: false });
        return reply;
      }),
    );
  }

  async stop(): Promise<void> {
    if (this.progressTimer !== null) clearInterval(this.progressTimer);
    await Promise.all([...this.pubs, ...this.subs].map((w) => w.stop()));
  }
}

export interface SweepResult {
  sustainedRate: number;
  best: StepResult | null;
  steps: StepResult[];
  error?: string;
}

/**
 * Doubles the rate from --start-rate while steps are sustained, then bisects (geometrically)
 * between the best sustained and the lowest failing rate until they are within --precision.
 */
export async function sweep(run: ThroughputRun, o: BenchOptions, firstStep: number): Promise<SweepResult> {
  const steps: StepResult[] = [];
  let lo = 0;
  let hi = Infinity;
  let best: StepResult | null = null;
  let rate = Math.min(o.startRate, o.maxRate);
  let step = firstStep;
  try {
    while (steps.length < MAX_SWEEP_STEPS) {
      const r = await run.runStep(step++, rate, o.duration, true);
      steps.push(r);
      if (r.sustained) {
        if (rate > lo) {
          lo = rate;
          best = r;
        }
      } else hi = Math.min(hi, rate);
      let next: number;
      if (hi === Infinity) {
        if (lo >= o.maxRate) break;
        next = Math.min(rate * 2, o.maxRate);
      } else if (lo === 0) {
        next = roundRate(hi / 2);
        if (next < 100) break;
      } else {
        if (hi / lo <= 1 + o.precision) break;
        next = roundRate(Math.sqrt(lo * hi));
        if (next <= lo || next >= hi) break;
      }
      rate = next;
    }
  } catch (err) {
    return { sustainedRate: lo, best, steps, error: (err as Error).message };
  }
  return { sustainedRate: lo, best, steps };
}

/** Three significant digits: rates in a report read better, and the search loses nothing. */
export function roundRate(r: number): number {
  const p = 10 ** Math.max(0, Math.floor(Math.log10(r)) - 2);
  return Math.round(r / p) * p;
}
