// The simulate coordinator: splits the fleet over worker processes (or runs it in this process
// when one is enough), runs the command client, adds up the samples, reports progress each second
// and builds the report. Everything is bounded: the fleets stop at the deadline, drain for at most
// `drain` seconds, and a worker that has not finished well after that is killed.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { split } from '../bench/util.js';
import { Commander } from './commander.js';
import { Fleet, type FleetConfig } from './fleet.js';
import type { FromWorker, ToWorker } from './ipc.js';
import type { SimOptions } from './options.js';
import { Aggregator, buildReport, type SimReport } from './report.js';
import type { SecondSample } from './stats.js';
import { errorCount } from './stats.js';

export interface Progress {
  elapsedS: number;
  durationS: number;
  phase: 'connecting' | 'running' | 'draining';
  connected: number;
  devices: number;
  sentPerSecond: number;
  ackedPerSecond: number;
  errors: number;
  /** Percentiles over the last five seconds, ms. */
  pubAck: { p50: number; p99: number } | null;
  command: { p50: number; p99: number } | null;
}

export interface RunHooks {
  progress?(p: Progress): void;
}

/** How long after the start the coordinator lets workers load before second 0 begins. */
const START_DELAY_MS = 300;

interface FleetRunner {
  done: Promise<void>;
  kill(): void;
}

function workerEntry(): { file: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url));
  // Only the loader is passed on, as the bench does: flags such as --test must not reach a child.
  return { file, execArgv: fromSource ? ['--import', import.meta.resolve('tsx')] : [] };
}

class WorkerProcess {
  readonly ready: Promise<void>;
  readonly done: Promise<void>;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    onSample: (s: SecondSample) => void,
    onErrors: (e: [string, number][]) => void,
  ) {
    const { file, execArgv } = workerEntry();
    this.child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let readyResolve!: () => void;
    let fail!: (e: Error) => void;
    let doneResolve!: () => void;
    this.ready = new Promise((resolve, reject) => {
      readyResolve = resolve;
      fail = reject;
    });
    this.done = new Promise((resolve, reject) => {
      doneResolve = resolve;
      const prev = fail;
      fail = (e) => {
        prev(e);
        reject(e);
      };
    });
    // Awaited later (or never, when another worker failed first): not an unhandled rejection.
    this.ready.catch(() => undefined);
    this.done.catch(() => undefined);
    this.child.on('message', (m: FromWorker) => {
      if (m.t === 'ready') readyResolve();
      else if (m.t === 'sample') onSample(m.sample);
      else if (m.t === 'done') {
        onErrors(m.errors);
        doneResolve();
      } else if (m.t === 'error') fail(new Error(`${name}: ${m.message}`));
    });
    this.child.on('exit', (code, signal) => fail(new Error(`${name} exited (${signal ?? `code ${code}`}) before it finished`)));
  }

  send(m: ToWorker): void {
    if (this.child.connected) this.child.send(m);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export async function runSimulation(o: SimOptions, hooks: RunHooks = {}): Promise<SimReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const slices = split(o.devices, o.workers);
  const agg = new Aggregator(slices.length);
  const runners: FleetRunner[] = [];
  let startAt: number;

  if (slices.length === 1) {
    startAt = Date.now() + START_DELAY_MS;
    const fleet = new Fleet({ opts: o, offset: 0, count: o.devices, startAt }, { sample: (s) => agg.add(s, true) });
    runners.push({
      done: fleet.run().then(() => agg.errors.merge([...fleet.errors.byMessage.entries()])),
      kill: () => undefined,
    });
  } else {
    const procs = slices.map(
      (_, i) =>
        new WorkerProcess(
          `worker ${i + 1}`,
          (s) => agg.add(s, true),
          (e) => agg.errors.merge(e),
        ),
    );
    try {
      await Promise.all(procs.map((p) => p.ready));
    } catch (err) {
      for (const p of procs) p.kill();
      throw err;
    }
    startAt = Date.now() + START_DELAY_MS;
    slices.forEach(([offset, count], i) => {
      const cfg: FleetConfig = { opts: o, offset, count, startAt };
      procs[i]!.send({ t: 'init', cfg });
      runners.push({ done: procs[i]!.done, kill: () => procs[i]!.kill() });
    });
  }

  // The command client: connects now, issues once the ramp is over, stops at the deadline.
  const commander = new Commander(o);
  let commanderUp = false;
  const timers: NodeJS.Timeout[] = [];
  if (commander.active) {
    try {
      await commander.connect();
      commanderUp = true;
      // The last requests go a little before the end, so their devices are still there to answer.
      const stopAt = startAt + o.duration * 1000 - Math.min(500, o.duration * 100);
      timers.push(setTimeout(() => commander.stopIssuing(), Math.max(0, stopAt - Date.now())));
    } catch (err) {
      agg.errors.add('commander', (err as Error).message);
    }
  }

  // Once a second: the commander's second, and a progress report of the last complete second.
  let sec = 0;
  let issuing = false;
  const tickSecond = (): void => {
    if (commanderUp) agg.add(commander.take(sec), false);
    // Commands start once every device is up (a command to a device not yet connected goes
    // nowhere), or two seconds after the ramp when some never come up (refusals, a storm).
    const last = agg.lastComplete();
    const allUp = last >= 0 && (agg.second(last)?.connected ?? 0) >= o.devices;
    if (commanderUp && !issuing && (Date.now() - startAt) / 1000 < o.duration - 1 && (allUp || sec >= o.ramp + 2)) {
      issuing = true;
      commander.start();
    }
    sec++;
    if (hooks.progress) hooks.progress(progressOf(o, agg, startAt));
    timers.push(setTimeout(tickSecond, Math.max(0, startAt + (sec + 1) * 1000 + 150 - Date.now())));
  };
  timers.push(setTimeout(tickSecond, Math.max(0, startAt + 1000 + 150 - Date.now())));

  // Hard bound: a worker that has not finished long after the drain is killed.
  const hardMs = startAt - Date.now() + (o.duration + o.drain + 20) * 1000;
  let hardTimer: NodeJS.Timeout | undefined;
  const hard = new Promise<never>((_, reject) => {
    hardTimer = setTimeout(() => reject(new Error(`the fleet did not stop within ${o.drain + 20} s after the end`)), hardMs);
  });
  try {
    await Promise.race([Promise.all(runners.map((r) => r.done)), hard]);
  } catch (err) {
    agg.errors.add('run', (err as Error).message);
    for (const r of runners) r.kill();
  } finally {
    clearTimeout(hardTimer);
    for (const t of timers) clearTimeout(t);
  }
  if (commanderUp) {
    await commander.close();
    agg.add(commander.take(Math.max(0, agg.lastComplete())), false);
    agg.errors.merge([...commander.errors.byMessage.entries()]);
  }
  return buildReport(o, agg, {
    startedAt,
    elapsedS: (performance.now() - t0) / 1000,
    commanderSent: commander.sent,
    unanswered: commander.unanswered,
  });
}

function progressOf(o: SimOptions, agg: Aggregator, startAt: number): Progress {
  const last = agg.lastComplete();
  const b = last >= 0 ? agg.second(last) : undefined;
  const elapsedS = Math.max(0, (Date.now() - startAt) / 1000);
  const pct = (name: 'pubAck' | 'command'): { p50: number; p99: number } | null => {
    const h = agg.window(name, last - 5, last);
    return h.total === 0 ? null : { p50: Math.round(h.quantileUs(0.5)) / 1000, p99: Math.round(h.quantileUs(0.99)) / 1000 };
  };
  return {
    elapsedS,
    durationS: o.duration,
    phase: elapsedS >= o.duration ? 'draining' : elapsedS < o.ramp ? 'connecting' : 'running',
    connected: b?.connected ?? 0,
    devices: o.devices,
    sentPerSecond: b?.counters.sent ?? 0,
    ackedPerSecond: b?.counters.acked ?? 0,
    errors: errorCount(agg.totals),
    pubAck: pct('pubAck'),
    command: pct('command'),
  };
}
