// The run's totals and timeline, the JSON report, and the readable summary.
import { Histogram, summarize, type LatencySummary } from '../bench/histogram.js';
import type { SimOptions } from './options.js';
import { ErrorLog, HISTOGRAMS, addCounters, errorCount, mergeSparse, newHistograms, zeroCounters, type Counters, type HistogramName, type SecondSample } from './stats.js';

export interface TimelinePoint {
  /** Seconds since the start (end of this second). */
  t: number;
  connected: number;
  /** Messages sent by devices in this second. */
  sent: number;
  acked: number;
  errors: number;
  connects: number;
  disconnects: number;
  commandsAnswered: number;
  /** Latency percentiles of this second, ms (null when nothing was measured). */
  pubAckP50: number | null;
  pubAckP99: number | null;
  commandP50: number | null;
  commandP99: number | null;
}

export interface SimReport {
  tool: 'twinhub simulate';
  reportVersion: 1;
  runId: string;
  target: string;
  profile: string;
  protocol: 4 | 5;
  devices: number;
  workers: number;
  seed: number;
  startedAt: string;
  durationS: number;
  elapsedS: number;
  settings: { ramp: number; churn: SimOptions['churn']; chaos: boolean; commandRate: number; drain: number };
  connections: {
    peak: number;
    attempts: number;
    connects: number;
    failures: number;
    subscribeFailures: number;
    disconnects: { churn: number; chaos: number; broker: number };
    connectMs: LatencySummary | null;
  };
  messages: {
    /** PUBLISH packets the devices wrote to their sockets (replies and duplicates included). */
    sent: number;
    byKind: { telemetry: number; heartbeat: number; burst: number; twin: number; reply: number };
    duplicates: number;
    reordered: number;
    /** QoS 1/2 publishes: acknowledged, refused (reason >= 0x80), and neither when the run ended. */
    needingAck: number;
    acked: number;
    rejected: number;
    unacked: number;
    /** Due but not sent: Receive Maximum reached or the socket backed up. */
    skipped: number;
    bytesSent: number;
    ratePerSecond: { mean: number; peak: number };
  };
  publishAckMs: LatencySummary | null;
  commands: {
    /** Commands the devices received (the simulator's and anyone else's) and replies they sent. */
    received: number;
    replied: number;
    /** Commands the simulator issued, answered (round trip measured), failed, timed out, still open at the end. */
    issued: number;
    answered: number;
    failed: number;
    timedOut: number;
    unanswered: number;
    roundTripMs: LatencySummary | null;
    /** PUBLISH packets the simulator's command client sent (the broker counts them too). */
    commanderSent: number;
  };
  errors: { total: number; byKind: { connect: number; subscribe: number; disconnect: number; publish: number; command: number }; messages: { message: string; count: number }[] };
  timeline: TimelinePoint[];
}

interface Bucket {
  counters: Counters;
  connected: number;
  hist: Record<HistogramName, Histogram>;
}

/** Adds the per-second samples of every fleet (and the commander) into totals and a timeline. */
export class Aggregator {
  readonly totals: Counters = zeroCounters();
  readonly hist = newHistograms();
  readonly errors = new ErrorLog();
  private readonly seconds = new Map<number, Bucket>();
  private readonly fleetSeconds = new Map<number, number>();
  peak = 0;

  constructor(private readonly fleets: number) {}

  add(s: SecondSample, fromFleet: boolean): void {
    let b = this.seconds.get(s.sec);
    if (b === undefined) {
      b = { counters: zeroCounters(), connected: 0, hist: newHistograms() };
      this.seconds.set(s.sec, b);
    }
    addCounters(b.counters, s.counters);
    addCounters(this.totals, s.counters);
    for (const name of HISTOGRAMS) {
      mergeSparse(b.hist[name], s.histograms[name]);
      mergeSparse(this.hist[name], s.histograms[name]);
    }
    if (fromFleet) {
      b.connected += s.connected;
      const n = (this.fleetSeconds.get(s.sec) ?? 0) + 1;
      this.fleetSeconds.set(s.sec, n);
      if (n === this.fleets && b.connected > this.peak) this.peak = b.connected;
    }
  }

  /** The latest second every fleet has reported, or -1. */
  lastComplete(): number {
    let best = -1;
    for (const [sec, n] of this.fleetSeconds) if (n >= this.fleets && sec > best) best = sec;
    return best;
  }

  second(sec: number): Bucket | undefined {
    return this.seconds.get(sec);
  }

  /** Merged histogram of seconds (from, to]. */
  window(name: HistogramName, from: number, to: number): Histogram {
    const h = new Histogram();
    for (let s = from + 1; s <= to; s++) {
      const b = this.seconds.get(s);
      if (b !== undefined) h.merge(b.hist[name].counts, b.hist[name].total, b.hist[name].maxUs);
    }
    return h;
  }

  timeline(): TimelinePoint[] {
    const secs = [...this.seconds.keys()].sort((a, b) => a - b);
    const q = (h: Histogram, p: number): number | null => (h.total === 0 ? null : Math.round(h.quantileUs(p)) / 1000);
    return secs.map((sec) => {
      const b = this.seconds.get(sec)!;
      const c = b.counters;
      return {
        t: sec + 1,
        connected: b.connected,
        sent: c.sent,
        acked: c.acked,
        errors: errorCount(c),
        connects: c.connects,
        disconnects: c.disconnectsBroker + c.disconnectsChaos + c.disconnectsChurn,
        commandsAnswered: c.commandsAnswered,
        pubAckP50: q(b.hist.pubAck, 0.5),
        pubAckP99: q(b.hist.pubAck, 0.99),
        commandP50: q(b.hist.command, 0.5),
        commandP99: q(b.hist.command, 0.99),
      };
    });
  }
}

export function buildReport(o: SimOptions, agg: Aggregator, meta: { startedAt: Date; elapsedS: number; commanderSent: number; unanswered: number }): SimReport {
  const c = agg.totals;
  const timeline = agg.timeline();
  const inRun = timeline.filter((p) => p.t <= Math.ceil(o.duration));
  const peakRate = inRun.reduce((m, p) => Math.max(m, p.sent), 0);
  const errors = [...agg.errors.byMessage.entries()].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count);
  return {
    tool: 'twinhub simulate',
    reportVersion: 1,
    runId: o.runId,
    target: o.url,
    profile: o.profile.name,
    protocol: o.protocol,
    devices: o.devices,
    workers: o.workers,
    seed: o.seed,
    startedAt: meta.startedAt.toISOString(),
    durationS: o.duration,
    elapsedS: Math.round(meta.elapsedS * 1000) / 1000,
    settings: { ramp: o.ramp, churn: o.churn, chaos: o.chaos, commandRate: o.commandRate, drain: o.drain },
    connections: {
      peak: agg.peak,
      attempts: c.connectAttempts,
      connects: c.connects,
      failures: c.connectFailures,
      subscribeFailures: c.subscribeFailures,
      disconnects: { churn: c.disconnectsChurn, chaos: c.disconnectsChaos, broker: c.disconnectsBroker },
      connectMs: summarize(agg.hist.connect),
    },
    messages: {
      sent: c.sent,
      byKind: { telemetry: c.sentTelemetry, heartbeat: c.sentHeartbeat, burst: c.sentBurst, twin: c.sentTwin, reply: c.sentReply },
      duplicates: c.duplicates,
      reordered: c.reordered,
      needingAck: c.sentNeedsAck,
      acked: c.acked,
      rejected: c.rejected,
      unacked: Math.max(0, c.sentNeedsAck - c.acked - c.rejected),
      skipped: c.skipped,
      bytesSent: c.bytesSent,
      ratePerSecond: { mean: Math.round((c.sent / o.duration) * 10) / 10, peak: peakRate },
    },
    publishAckMs: summarize(agg.hist.pubAck),
    commands: {
      received: c.commandsReceived,
      replied: c.sentReply,
      issued: c.commandsIssued,
      answered: c.commandsAnswered,
      failed: c.commandsFailed,
      timedOut: c.commandsTimedOut,
      unanswered: meta.unanswered,
      roundTripMs: summarize(agg.hist.command),
      commanderSent: meta.commanderSent,
    },
    errors: {
      total: errorCount(c),
      byKind: { connect: c.connectFailures, subscribe: c.subscribeFailures, disconnect: c.disconnectsBroker, publish: c.rejected, command: c.commandsTimedOut },
      messages: errors.slice(0, 20),
    },
    timeline,
  };
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

function lat(s: LatencySummary | null): string {
  return s === null ? 'none measured' : `p50 ${s.p50} ms  p90 ${s.p90} ms  p99 ${s.p99} ms  max ${s.max} ms  (${n(s.count)})`;
}

/** The readable summary printed at the end of a run. */
export function formatSummary(r: SimReport): string {
  const m = r.messages;
  const c = r.commands;
  const k = m.byKind;
  const lines = [
    `twinhub simulate: ${n(r.devices)} devices, profile ${r.profile}, MQTT ${r.protocol === 5 ? '5.0' : '3.1.1'} → ${r.target}, ${r.durationS} s (${r.elapsedS} s with drain), ${r.workers} process${r.workers === 1 ? '' : 'es'}`,
    `  connections  peak ${n(r.connections.peak)}  connects ${n(r.connections.connects)}/${n(r.connections.attempts)} attempts  failed ${n(r.connections.failures)}  disconnects churn ${n(r.connections.disconnects.churn)} chaos ${n(r.connections.disconnects.chaos)} by broker ${n(r.connections.disconnects.broker)}`,
    `  connect      ${lat(r.connections.connectMs)}`,
    `  messages     sent ${n(m.sent)} (telemetry ${n(k.telemetry)}, heartbeat ${n(k.heartbeat)}, burst ${n(k.burst)}, twin ${n(k.twin)}, reply ${n(k.reply)})  ${n(m.ratePerSecond.mean)} msg/s mean, ${n(m.ratePerSecond.peak)} peak`,
    `               QoS 1/2 ${n(m.needingAck)}: acked ${n(m.acked)}  refused ${n(m.rejected)}  unacked ${n(m.unacked)}  skipped ${n(m.skipped)}${r.settings.chaos ? `  duplicates ${n(m.duplicates)}  reordered ${n(m.reordered)}` : ''}`,
    `  publish ack  ${lat(r.publishAckMs)}`,
    `  commands     received ${n(c.received)}  replied ${n(c.replied)}  issued ${n(c.issued)}  answered ${n(c.answered)}  failed ${n(c.failed)}  timed out ${n(c.timedOut)}  open at end ${n(c.unanswered)}`,
    `  round trip   ${lat(c.roundTripMs)}`,
    `  errors       ${n(r.errors.total)}${r.errors.total > 0 ? ` (connect ${r.errors.byKind.connect}, subscribe ${r.errors.byKind.subscribe}, disconnect ${r.errors.byKind.disconnect}, publish ${r.errors.byKind.publish}, command ${r.errors.byKind.command})` : ''}`,
  ];
  for (const e of r.errors.messages.slice(0, 5)) lines.push(`    ${n(e.count)} × ${e.message}`);
  return lines.join('\n');
}
