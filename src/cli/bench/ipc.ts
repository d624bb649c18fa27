// Messages between the bench coordinator and its child processes (publishers, subscribers, idle
// connections). They cross the IPC channel a few times per second, never per MQTT message.
import type { BenchOptions } from './options.js';

export type Role = 'pub' | 'sub' | 'conns';

export interface InitMessage {
  t: 'init';
  role: Role;
  opts: BenchOptions;
  runId: string;
  /** First global index of this process's publishers, subscribers or idle connections. */
  offset: number;
  /** How many of them this process runs. */
  count: number;
}

export interface StepMessage {
  t: 'step';
  step: number;
  /** Total offered msg/s over all publishers of all processes. */
  rate: number;
  durationMs: number;
}

export interface QueryMessage {
  t: 'query';
  step: number;
  histogram: boolean;
}

export interface CloseMessage {
  t: 'close';
}

export type ToChild = InitMessage | StepMessage | QueryMessage | CloseMessage;

export interface ReadyMessage {
  t: 'ready';
}

export interface ProgressMessage {
  t: 'progress';
  /** Cumulative counts since the process started. */
  sent: number;
  received: number;
  connected: number;
  /** monoNowMs when the counts were read. */
  atMs: number;
}

export interface StepDoneMessage {
  t: 'stepDone';
  step: number;
  sent: number;
  /** Messages that were due but not sent: the in-flight window was full or the socket backed up. */
  unsent: number;
  /** Pacing ticks that held messages back for those reasons. */
  blockedTicks: number;
  startMs: number;
  endMs: number;
  cpuUs: number;
}

/** A publisher process's answer to `query`: what came back for the step so far. */
export interface PubStatsMessage {
  t: 'pubStats';
  step: number;
  /** QoS 1/2 acknowledgements received since the step started, and 5.0 refusals (reason >= 0x80). */
  acked: number;
  rejected: number;
}

export interface HistogramData {
  counts: number[];
  total: number;
  maxUs: number;
}

export interface StepStatsMessage {
  t: 'stepStats';
  step: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
  late: number;
  /** Arrival time (monoNowMs) of the step's last new message, 0 if none. */
  lastMs: number;
  /** Cumulative CPU time of the process. */
  cpuUs: number;
  histogram?: HistogramData;
}

export interface ConnsDoneMessage {
  t: 'connsDone';
  connected: number;
  failed: number;
  startMs: number;
  endMs: number;
  firstError: string;
}

export interface ConnsStatusMessage {
  t: 'connsStatus';
  open: number;
}

export interface ErrorMessage {
  t: 'error';
  message: string;
}

export type FromChild =
  | ReadyMessage
  | ProgressMessage
  | StepDoneMessage
  | PubStatsMessage
  | StepStatsMessage
  | ConnsDoneMessage
  | ConnsStatusMessage
  | ErrorMessage;

/** Client identifiers stay within 23 alphanumerics, which every 3.1.1 server accepts [MQTT-3.1.3-5]. */
export function clientId(runId: string, role: string, index: number): string {
  return `tb${runId}${role}${index}`;
}

export function topicOf(runId: string, publisher: number): string {
  return `tb/${runId}/${publisher}`;
}

export function filterOf(runId: string): string {
  return `tb/${runId}/+`;
}
