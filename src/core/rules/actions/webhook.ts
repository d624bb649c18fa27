// Webhook delivery: a bounded queue (priority lanes, so a high-priority rule's calls start first),
// a fixed number of concurrent requests, a timeout per request (AbortSignal.timeout), retries with
// exponential backoff and jitter, and a circuit breaker per endpoint (URL origin):
//
//   closed ──N consecutive failures──► open ──cool-down──► half-open (one trial request)
//     ▲                                  ▲                      │
//     └──────────── trial succeeds ──────┼──── trial fails ─────┘
//
// While open, calls to that endpoint fail at once ("circuit open") without a request. A failure is
// a network error, a timeout, 5xx, 408 or 429 (retried); another 4xx is a failed call that is not
// retried and does not count against the endpoint (it answered). Requests waiting for their retry
// count against the queue bound, so retries cannot grow memory past it.
import { PriorityLanes } from '../lanes.js';

export interface WebhookOptions {
  /** Calls queued or waiting for a retry at most; beyond, a call is refused and counted. */
  queueSize: number;
  /** Requests in flight at most. */
  concurrency: number;
  /** Consecutive failures that open an endpoint's circuit. */
  breakerThreshold: number;
  /** How long a circuit stays open before a trial request. */
  breakerCoolDownMs: number;
  /** First retry delay; doubles per attempt up to backoffMaxMs, with jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  queueSize: 10_000,
  concurrency: 16,
  breakerThreshold: 5,
  breakerCoolDownMs: 30_000,
  backoffBaseMs: 200,
  backoffMaxMs: 10_000,
};

export interface WebhookCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
  retries: number;
  priority: number;
  /** Called once: undefined on success, else the last error. */
  done: (err: Error | undefined) => void;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface EndpointStats {
  endpoint: string;
  state: BreakerState;
  consecutiveFailures: number;
  /** How often the circuit opened. */
  opened: number;
  /** Calls failed at once because the circuit was open. */
  rejected: number;
  requests: number;
  failures: number;
}

export interface WebhookStats {
  queued: number;
  waitingRetry: number;
  inFlight: number;
  /** Calls refused because the queue was full. */
  overflow: number;
  sent: number;
  succeeded: number;
  failed: number;
  retries: number;
  endpoints: EndpointStats[];
}

interface Job {
  call: WebhookCall;
  endpoint: string;
  attempt: number;
}

class Breaker {
  state: BreakerState = 'closed';
  consecutiveFailures = 0;
  openedAt = 0;
  trialInFlight = false;
  opened = 0;
  rejected = 0;
  requests = 0;
  failures = 0;
}

export class WebhookClient {
  private readonly queue: PriorityLanes<Job>;
  private readonly breakers = new Map<string, Breaker>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private waitingRetry = 0;
  private stopped = false;
  private readonly c = { overflow: 0, sent: 0, succeeded: 0, failed: 0, retries: 0 };

  constructor(
    readonly options: WebhookOptions,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.queue = new PriorityLanes<Job>(options.queueSize);
  }

  /** Queue a call; false when the queue is full (the call's `done` is not called then). */
  send(call: WebhookCall): boolean {
    if (this.stopped || this.queue.size + this.waitingRetry >= this.options.queueSize) {
      this.c.overflow++;
      return false;
    }
    let endpoint: string;
    try {
      endpoint = new URL(call.url).origin;
    } catch {
      endpoint = call.url;
    }
    this.queue.push(call.priority, { call, endpoint, attempt: 0 });
    this.pump();
    return true;
  }

  stats(): WebhookStats {
    const endpoints: EndpointStats[] = [];
    for (const [endpoint, b] of this.breakers) {
      endpoints.push({ endpoint, state: this.stateOf(b), consecutiveFailures: b.consecutiveFailures, opened: b.opened, rejected: b.rejected, requests: b.requests, failures: b.failures });
    }
    return { queued: this.queue.size, waitingRetry: this.waitingRetry, inFlight: this.inFlight, ...this.c, endpoints };
  }

  breakerState(url: string): BreakerState | undefined {
    let endpoint: string;
    try {
      endpoint = new URL(url).origin;
    } catch {
      endpoint = url;
    }
    const b = this.breakers.get(endpoint);
    return b === undefined ? undefined : this.stateOf(b);
  }

  /** Stop: pending retries are dropped; calls in flight finish. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private stateOf(b: Breaker): BreakerState {
    if (b.state === 'open' && this.now() - b.openedAt >= this.options.breakerCoolDownMs) return 'half-open';
    return b.state;
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.queue.size > 0) {
      const job = this.queue.shift()!;
      this.start(job);
    }
  }

  private start(job: Job): void {
    let b = this.breakers.get(job.endpoint);
    if (b === undefined) {
      b = new Breaker();
      this.breakers.set(job.endpoint, b);
    }
    const state = this.stateOf(b);
    if (state === 'open' || (state === 'half-open' && b.trialInFlight)) {
      b.rejected++;
      this.finish(job, new Error(`circuit open for ${job.endpoint} after ${b.consecutiveFailures} consecutive failures`));
      return;
    }
    const trial = state === 'half-open';
    if (trial) {
      b.state = 'half-open';
      b.trialInFlight = true;
    }
    this.inFlight++;
    b.requests++;
    this.c.sent++;
    void this.request(job).then((outcome) => {
      this.inFlight--;
      if (trial) b.trialInFlight = false;
      if (outcome.endpointOk) {
        b.consecutiveFailures = 0;
        b.state = 'closed';
      } else {
        b.failures++;
        b.consecutiveFailures++;
        if (trial || (b.state === 'closed' && b.consecutiveFailures >= this.options.breakerThreshold)) {
          b.state = 'open';
          b.openedAt = this.now();
          b.opened++;
        }
      }
      if (outcome.error === undefined) this.finish(job, undefined);
      else if (outcome.retry && job.attempt < job.call.retries && !this.stopped) this.retryLater(job);
      else this.finish(job, outcome.error);
      this.pump();
    });
  }

  private async request(job: Job): Promise<{ error: Error | undefined; retry: boolean; endpointOk: boolean }> {
    const { call } = job;
    try {
      const init: RequestInit = { method: call.method, headers: call.headers, signal: AbortSignal.timeout(call.timeoutMs), redirect: 'manual' };
      if (call.body !== undefined && call.method !== 'GET') init.body = call.body;
      const res = await fetch(call.url, init);
      // Drain the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 400) return { error: undefined, retry: false, endpointOk: true };
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      return { error: new Error(`HTTP ${res.status} from ${call.method} ${call.url}`), retry, endpointOk: !retry };
    } catch (err) {
      const e = err as Error;
      const what = e.name === 'TimeoutError' ? `timed out after ${call.timeoutMs} ms` : (e.cause as Error | undefined)?.message ?? e.message;
      return { error: new Error(`${call.method} ${call.url}: ${what}`), retry: true, endpointOk: false };
    }
  }

  /** Exponential backoff with "equal jitter": half the delay fixed, half random. */
  private retryLater(job: Job): void {
    const o = this.options;
    const full = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** job.attempt);
    const delay = full / 2 + this.random() * (full / 2);
    job.attempt++;
    this.c.retries++;
    this.waitingRetry++;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.waitingRetry--;
      this.queue.push(job.call.priority, job);
      this.pump();
    }, delay);
    t.unref();
    this.timers.add(t);
  }

  private finish(job: Job, err: Error | undefined): void {
    if (err === undefined) this.c.succeeded++;
    else this.c.failed++;
    try {
      job.call.done(err);
    } catch {
      // A listener's failure is not the webhook's.
    }
  }
}
