// The `conns` scenario: open many idle connections (one subscription each) from several processes,
// wait for the broker to settle, and report its resident memory per connection.
import { monoNowMs } from './clock.js';
import type { BenchOptions } from './options.js';
import { readProcMemory, type ProcMemory } from './proc-status.js';
import type { Logger } from './throughput.js';
import { fmt, sleep, split } from './util.js';
import { startWorker, type WorkerHandle } from './workers.js';

export interface ConnsResult {
  requested: number;
  connected: number;
  failed: number;
  /** Still open after the settle time. */
  openAfterSettle: number;
  connectSec: number;
  connectRate: number;
  settleSec: number;
  firstError?: string;
  broker?: {
    pid: number;
    rssBeforeKB: number;
    rssAfterKB: number;
    peakKB: number;
    /** (RSS after settling − RSS before connecting) / connections still open. */
    rssPerConnKB: number;
  };
}

export async function runConns(o: BenchOptions, runId: string, log: Logger): Promise<ConnsResult> {
  const before: ProcMemory | null = o.pid > 0 ? readProcMemory(o.pid) : null;
  if (o.pid > 0 && before === null) throw new Error(`cannot read /proc/${o.pid}/status`);
  const parts = split(o.conns, Math.ceil(o.conns / o.connsPerProc));
  const workers: WorkerHandle[] = [];
  try {
    // Processes start one after another, each opening its share; the burst is all of them at once.
    const started = await Promise.all(
      parts.map(([offset, count], i) =>
        startWorker(`connections ${i}`, { t: 'init', role: 'conns', opts: o, runId, offset, count }),
      ),
    );
    workers.push(...started);
    const timer = setInterval(() => {
      let n = 0;
      for (const w of workers) n += w.progress.connected;
      log.progress(`[conns] connected ${fmt(n)} of ${fmt(o.conns)}`);
    }, 1000);
    const done = await Promise.all(workers.map((w) => w.next('connsDone', 600000))).finally(() => clearInterval(timer));
    const connected = done.reduce((s, m) => s + m.connected, 0);
    const failed = done.reduce((s, m) => s + m.failed, 0);
    const connectSec = (Math.max(...done.map((m) => m.endMs)) - Math.min(...done.map((m) => m.startMs))) / 1000;
    log.progress(`[conns] ${fmt(connected)} connected in ${connectSec.toFixed(2)} s, ${failed} failed; settling ${o.settle} s`);
    const settleStart = monoNowMs();
    while (monoNowMs() - settleStart < o.settle * 1000) {
      await sleep(Math.min(1000, o.settle * 1000 - (monoNowMs() - settleStart)));
      log.progress(`[conns] settling ${((monoNowMs() - settleStart) / 1000).toFixed(0)}/${o.settle} s`);
    }
    const after: ProcMemory | null = o.pid > 0 ? readProcMemory(o.pid) : null;
    const status = await Promise.all(
      workers.map((w) => {
        const reply = w.next('connsStatus', 10000);
        w.send({ t: 'query', step: 0, histogram: false });
        return reply;
      }),
    );
    const open = status.reduce((s, m) => s + m.open, 0);
    const result: ConnsResult = {
      requested: o.conns,
      connected,
      failed,
      openAfterSettle: open,
      connectSec: Math.round(connectSec * 1000) / 1000,
      connectRate: connectSec > 0 ? Math.round(connected / connectSec) : 0,
      settleSec: o.settle,
    };
    const firstError = done.find((m) => m.firstError !== '')?.firstError;
    if (firstError !== undefined) result.firstError = firstError;
    if (before !== null && after !== null) {
      result.broker = {
        pid: o.pid,
        rssBeforeKB: before.rssKB,
        rssAfterKB: after.rssKB,
        peakKB: after.peakKB,
        rssPerConnKB: open > 0 ? Math.round(((after.rssKB - before.rssKB) / open) * 100) / 100 : NaN,
      };
    }
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
