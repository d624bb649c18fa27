// The running state of one rule: its prepared definition, counters and bounded error log (both
// kept across edits of the rule, by id), its window state, and the queue of messages waiting for
// a device/twin fetch (so such a rule still sees its messages in order); and the template contexts
// and inputs the message path and the dry run (dry-run.ts) both build.
import type { PreparedRule } from './prepare.js';
import type { ActionSpec } from './rule-file.js';
import type { CompiledRule, RuleInput, WindowState } from './sql/index.js';
import type { TemplateContext } from './template.js';

export interface RuleCounters {
  /** Messages whose topic matched a FROM filter. */
  matched: number;
  /** Output rows (messages past WHERE; windows closed for windowed rules). */
  passedWhere: number;
  actionsOk: number;
  actionsFailed: number;
  /** Actions refused by a full priority lane. */
  actionsDropped: number;
  /** Messages dropped because the rule's device/twin fetch queue was full. */
  pendingDropped: number;
  /** Evaluation errors (the SQL threw at run time). */
  evalErrors: number;
  evalCount: number;
  evalTimeSumUs: number;
  evalTimeMaxUs: number;
}

export function newCounters(): RuleCounters {
  return { matched: 0, passedWhere: 0, actionsOk: 0, actionsFailed: 0, actionsDropped: 0, pendingDropped: 0, evalErrors: 0, evalCount: 0, evalTimeSumUs: 0, evalTimeMaxUs: 0 };
}

/** One entry of a rule's error log, with the message that caused it. */
export interface RuleErrorEntry {
  /** ISO 8601. */
  at: string;
  /** 'evaluate', 'fetch' or the action kind with its index (`webhook#1`). */
  stage: string;
  error: string;
  message?: {
    topic: string;
    clientId: string;
    deviceId?: string;
    /** The payload as UTF-8 text, or base64 when it is not text; at most 1 KiB of it. */
    payload: string;
    payloadEncoding: 'utf8' | 'base64';
    payloadBytes: number;
  };
  row?: Record<string, unknown>;
}

/** What the actions of one message see of it, copied out of the (reusable) receive buffer. */
/** The little of an OpenTelemetry span the rules use (core does not import obs). */
export interface TraceSpan {
  end(): void;
  setStatus(status: { code: number; message?: string }): unknown;
}

/** Tracing as the rule engine sees it: child spans of a message's span, and their traceparent. */
export interface RuleTracing {
  readonly enabled: boolean;
  spanOf(msg: import('../message.js').Message): TraceSpan | undefined;
  child(name: string, parent: TraceSpan | undefined, attributes?: Record<string, string | number | boolean>): TraceSpan | undefined;
  traceparent(span: TraceSpan | undefined): string | undefined;
}

export class MessageContext implements TemplateContext {
  readonly topic: string;
  readonly clientId: string;
  readonly deviceId: string | undefined;
  readonly timestamp: number;
  readonly hops: number;
  /** At most 1 KiB of the payload, for the error log. */
  readonly sample: Buffer | undefined;
  readonly payloadBytes: number;
  /** The message's trace span (obs/tracing.ts), when the message is traced. */
  span: TraceSpan | undefined = undefined;

  constructor(input: Pick<RuleInput, 'topic' | 'clientId' | 'deviceId' | 'timestamp' | 'payload'> | undefined, hops: number, now: number) {
    this.topic = input?.topic ?? '';
    this.clientId = input?.clientId ?? '';
    this.deviceId = input?.deviceId;
    this.timestamp = input?.timestamp ?? now;
    this.hops = hops;
    this.payloadBytes = input?.payload.length ?? 0;
    // A window's row has no message (topic ''): nothing to show in the error log.
    this.sample = input === undefined || input.topic === '' ? undefined : Buffer.from(input.payload.subarray(0, 1024));
  }

  describe(): RuleErrorEntry['message'] | undefined {
    if (this.sample === undefined) return undefined;
    const text = this.sample.toString('utf8');
    const isText = Buffer.from(text, 'utf8').equals(this.sample);
    const m: NonNullable<RuleErrorEntry['message']> = {
      topic: this.topic,
      clientId: this.clientId,
      payload: isText ? text : this.sample.toString('base64'),
      payloadEncoding: isText ? 'utf8' : 'base64',
      payloadBytes: this.payloadBytes,
    };
    if (this.deviceId !== undefined) m.deviceId = this.deviceId;
    return m;
  }
}

/** A matched message waiting for its device/twin context (shared by the rules it matched). */
export interface PendingMessage {
  input: RuleInput;
  hops: number;
  fetched: Promise<void> | undefined;
  needsDevice: boolean;
  needsTwin: boolean;
  /** The message's trace span, when traced. */
  span?: TraceSpan | undefined;
}

export interface RuleStats {
  counters: RuleCounters;
  errors: RuleErrorEntry[];
}

export class RuleRuntime {
  readonly id: string;
  readonly compiled: CompiledRule;
  readonly actions: readonly ActionSpec[];
  readonly clearsNeedJson: boolean;
  windows: WindowState | undefined;
  readonly pending: PendingMessage[] = [];
  busy = false;
  /** False once a newer generation replaced or removed this rule: its queues stop. */
  live = true;

  constructor(
    readonly prepared: PreparedRule,
    readonly stats: RuleStats,
  ) {
    this.id = prepared.spec.id;
    this.compiled = prepared.compiled;
    this.actions = prepared.spec.actions;
    let j = false;
    for (const { conditions } of prepared.clears) for (const c of conditions) j ||= c.needs.json;
    this.clearsNeedJson = j;
  }

  get priority(): number {
    return this.prepared.spec.priority;
  }

  get enabled(): boolean {
    return this.prepared.spec.enabled;
  }

  get counters(): RuleCounters {
    return this.stats.counters;
  }

  recordError(entry: RuleErrorEntry, max: number): void {
    const log = this.stats.errors;
    log.push(entry);
    if (log.length > max) log.splice(0, log.length - max);
  }
}

/** Templates of a window's output row: `${deviceid}` is the row's deviceid field when it has one. */
export function windowContext(row: Record<string, unknown>, base: TemplateContext, hops = 0): MessageContext {
  const d = row.deviceid ?? row.deviceId;
  return new MessageContext({ topic: '', clientId: '', deviceId: typeof d === 'string' ? d : undefined, timestamp: base.timestamp, payload: NO_PAYLOAD }, hops, base.timestamp);
}

/**
 * The templates context of a row a message closed. A time window (TUMBLING, SLIDING) closes at
 * its end, and with it the windows of every key, whichever message comes first after it: its rows
 * get the window's context, as when the timer closes them (the message's client, topic and device
 * are not theirs). A COUNT window closes with its own key's message, whose context it keeps.
 */
export function rowContext(compiled: CompiledRule, row: Record<string, unknown>, msg: MessageContext, hops: number): MessageContext {
  return compiled.window === 'count' ? msg : windowContext(row, msg, hops);
}

const NO_PAYLOAD = Buffer.alloc(0);

/** What a rule sees of a twin: its desired and reported sections, those it has. */
export function twinInput(state: { desired?: Record<string, unknown>; reported?: Record<string, unknown> }): NonNullable<RuleInput['twin']> {
  const tw: NonNullable<RuleInput['twin']> = {};
  if (state.desired !== undefined) tw.desired = state.desired;
  if (state.reported !== undefined) tw.reported = state.reported;
  return tw;
}
