// Forks bench child processes and talks to them. A child runs worker.ts (worker.js once built);
// from a source checkout the child loads tsx itself, because the parent may have registered tsx
// through its API, which execArgv does not carry.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromChild, InitMessage, ProgressMessage, ToChild } from './ipc.js';

type Waiter = {
  match(m: FromChild): boolean;
  resolve(m: FromChild): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
};

export class WorkerHandle {
  private readonly waiters = new Set<Waiter>();
  progress: ProgressMessage = { t: 'progress', sent: 0, received: 0, connected: 0, atMs: 0 };
  /** The progress report before the last one, to turn counts into rates. */
  previous: ProgressMessage = this.progress;
  failure: Error | null = null;
  private exited = false;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (m: FromChild) => this.onMessage(m));
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.fail(new Error(`${name} process exited (${signal ?? `code ${code}`})`));
    });
  }

  private onMessage(m: FromChild): void {
    if (m.t === 'progress') {
      this.previous = this.progress;
      this.progress = m;
    }
    if (m.t === 'error') {
      this.fail(new Error(`${this.name}: ${m.message}`));
      return;
    }
    for (const w of this.waiters) {
      if (w.match(m)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(m);
        return;
      }
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(this.failure);
    }
    this.waiters.clear();
  }

  /** Messages per second sent and received between the last two progress reports. */
  rates(): { sent: number; received: number } {
    const dt = (this.progress.atMs - this.previous.atMs) / 1000;
    if (this.previous.atMs === 0 || dt <= 0) return { sent: 0, received: 0 };
    return {
      sent: (this.progress.sent - this.previous.sent) / dt,
      received: (this.progress.received - this.previous.received) / dt,
    };
  }

  send(m: ToChild): void {
    if (!this.exited && this.child.connected) this.child.send(m);
  }

  /** The next message of type `t` (and matching `pred`), or a rejection on failure or timeout. */
  next<T extends FromChild['t']>(
    t: T,
    timeoutMs: number,
    pred: (m: Extract<FromChild, { t: T }>) => boolean = () => true,
  ): Promise<Extract<FromChild, { t: T }>> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        match: (m) => m.t === t && pred(m as Extract<FromChild, { t: T }>),
        resolve: (m) => resolve(m as Extract<FromChild, { t: T }>),
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`${this.name}: no ${t} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /** Asks the child to disconnect and exit; kills it if it has not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.send({ t: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

function workerEntry(): { file: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url));
  // Only the loader is passed on: flags such as --test must not reach the child. Extra flags for
  // the children (e.g. --cpu-prof, to profile the generator) come from TWINHUB_BENCH_NODE_ARGS.
  const extra = (process.env.TWINHUB_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  return { file, execArgv: [...(fromSource ? ['--import', import.meta.resolve('tsx')] : []), ...extra] };
}

/** Forks one child, sends its init message, and resolves once it reports ready. */
export async function startWorker(name: string, init: InitMessage, timeoutMs = 60000): Promise<WorkerHandle> {
  const { file, execArgv } = workerEntry();
  // The child's stdout goes to our stderr: stdout carries only the one JSON result line.
  const child = fork(file, [], { execArgv, stdio: ['ignore', 2, 2, 'ipc'] });
  const handle = new WorkerHandle(name, child);
  const ready = handle.next('ready', timeoutMs);
  handle.send(init);
  try {
    await ready;
  } catch (err) {
    await handle.stop(1000);
    throw err;
  }
  return handle;
}
