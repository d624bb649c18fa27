// Runs one bench scenario and builds its single JSON result object.
import { randomBytes } from 'node:crypto';
import { runConns } from './conns.js';
import type { BenchOptions } from './options.js';
import { readProcMemory } from './proc-status.js';
import { sweep, ThroughputRun, type Logger, type StepResult } from './throughput.js';

export interface BenchResult {
  scenario: string;
  label?: string;
  target: string;
  date: string;
  params: Record<string, unknown>;
  error?: string;
  [key: string]: unknown;
}

function params(o: BenchOptions): Record<string, unknown> {
  const common = { version: o.version, qos: o.qos, keepAlive: o.keepAlive };
  if (o.scenario === 'conns') return { ...common, conns: o.conns, connsPerProc: o.connsPerProc, settle: o.settle };
  return {
    ...common,
    payload: o.payload,
    publishers: o.publishers,
    subscribers: o.subscribers,
    inflight: o.qos > 0 ? o.inflight : undefined,
    clean: o.clean,
    sessionExpiry: o.version === 5 ? o.sessionExpiry : undefined,
    procs: o.procs,
    subProcs: o.subProcs,
    duration: o.duration,
    warmup: o.warmup,
    slice: o.slice,
    readInterval: o.readInterval,
    sweep: o.sweep || undefined,
  };
}

/** Fields of the measured step at the top level of the result. */
function stepFields(r: StepResult, o: BenchOptions): Record<string, unknown> {
  return {
    offeredRate: r.offeredRate,
    sent: r.sent,
    sentRate: r.sentRate,
    received: r.received,
    duplicates: r.duplicates,
    outOfOrder: r.outOfOrder,
    lost: r.lost,
    deliveredRatio: r.deliveredRatio,
    deliveredRate: r.deliveredRate,
    sustained: r.sustained,
    latencyMs: r.latencyMs,
    unsent: r.unsent,
    ...(o.qos > 0 ? { acked: r.acked, rejected: r.rejected } : {}),
    generatorCpu: r.generatorCpu,
    brokerCpu: r.brokerCpu,
  };
}

export async function runBench(o: BenchOptions, log: Logger): Promise<BenchResult> {
  const runId = randomBytes(4).readUInt32BE(0).toString(36).padStart(7, '0').slice(0, 7);
  const result: BenchResult = {
    scenario: o.scenario,
    target: `${o.host}:${o.port}`,
    date: new Date().toISOString(),
    params: params(o),
  };
  if (o.label !== '') result.label = o.label;
  try {
    if (o.scenario === 'conns') {
      Object.assign(result, await runConns(o, runId, log));
      return result;
    }
    const memBefore = o.pid > 0 ? readProcMemory(o.pid) : null;
    const run = new ThroughputRun(o, runId, log);
    try {
      await run.start();
      let step = 0;
      if (o.warmup > 0) await run.runStep(step, o.sweep ? o.startRate : o.rate, o.warmup, false);
      step++;
      if (o.sweep) {
        const s = await sweep(run, o, step);
        result.sustainedRate = s.sustainedRate;
        if (s.best !== null) Object.assign(result, stepFields(s.best, o));
        result.steps = s.steps.map((r) => ({
          rate: r.offeredRate,
          sentRate: r.sentRate,
          deliveredRate: r.deliveredRate,
          deliveredRatio: r.deliveredRatio,
          sustained: r.sustained,
          p99Ms: r.latencyMs?.p99 ?? null,
          generatorCpu: r.generatorCpu,
          brokerCpu: r.brokerCpu,
        }));
        if (s.error !== undefined) result.error = s.error;
      } else {
        Object.assign(result, stepFields(await run.runStep(step, o.rate, o.duration, true), o));
      }
    } finally {
      await run.stop();
    }
    const memAfter = o.pid > 0 ? readProcMemory(o.pid) : null;
    if (memBefore !== null && memAfter !== null) {
      result.broker = { pid: o.pid, rssBeforeKB: memBefore.rssKB, rssAfterKB: memAfter.rssKB, peakKB: memAfter.peakKB };
    }
  } catch (err) {
    result.error = (err as Error).message;
  }
  return result;
}
