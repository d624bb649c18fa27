// V8 CPU profiles and heap snapshots of the running hub, for operators diagnosing a slow or
// growing process in place (the debug API, `twinhub start --cpu-prof`). One profiling job at a
// time per process: a second one is refused rather than queued, since both stall or slow the
// event loop that carries the broker.
import { Session } from 'node:inspector/promises';
import type { Readable } from 'node:stream';
import { getHeapSnapshot } from 'node:v8';

/** A V8 CPU profile, as Chrome DevTools and speedscope open it (`.cpuprofile`). */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; hitCount?: number; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

let busy: string | undefined;

/** What is running now ('cpu-profile', 'heap-snapshot'), or undefined. */
export function profilerBusy(): string | undefined {
  return busy;
}

/** Thrown when a profiling job is already running. */
export class ProfilerBusyError extends Error {
  constructor(readonly running: string) {
    super(`a ${running} is already running; try again when it has finished`);
    this.name = 'ProfilerBusyError';
  }
}

function claim(what: string): void {
  if (busy !== undefined) throw new ProfilerBusyError(busy);
  busy = what;
}

/** A CPU profile being recorded; stop() ends it and returns the profile. */
export interface CpuProfiler {
  stop(): Promise<CpuProfile>;
}

/**
 * Start recording a CPU profile of this process. Throws ProfilerBusyError when another profiling
 * job runs. `intervalUs` is the sampling interval (V8's default is 1000 µs).
 */
export async function startCpuProfile(intervalUs?: number): Promise<CpuProfiler> {
  claim('cpu-profile');
  const session = new Session();
  try {
    session.connect();
    await session.post('Profiler.enable');
    if (intervalUs !== undefined) await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
  } catch (err) {
    session.disconnect();
    busy = undefined;
    throw err;
  }
  let stopped: Promise<CpuProfile> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        try {
          const { profile } = await session.post('Profiler.stop');
          return profile as CpuProfile;
        } finally {
          session.disconnect();
          busy = undefined;
        }
      })();
      return stopped;
    },
  };
}

/** Record a CPU profile for `ms` milliseconds (or until `signal` aborts) and return it. */
export async function cpuProfileFor(ms: number, signal?: AbortSignal): Promise<CpuProfile> {
  const p = await startCpuProfile();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    if (signal?.aborted === true) done();
    else signal?.addEventListener('abort', done, { once: true });
  });
  return p.stop();
}

/**
 * A heap snapshot as a stream of its JSON (`.heapsnapshot`). Taking it pauses the process for
 * about a second per few hundred MB of heap; the job counts as running until the stream ends or
 * is destroyed.
 */
export function heapSnapshot(): Readable {
  claim('heap-snapshot');
  let stream: Readable;
  try {
    stream = getHeapSnapshot();
  } catch (err) {
    busy = undefined;
    throw err;
  }
  stream.once('close', () => (busy = undefined));
  return stream;
}
