// The rule engine runtime: rules from `<folder>/*.yaml`, evaluated on every published message,
// their actions run in priority lanes.
//
// - Loading: the folder is read at start, watched (fs.watch, debounced) and rescanned
//   periodically (fs.watch misses events on some filesystems). A changed file is parsed and
//   compiled; when it is refused the previous version of that rule keeps running and the errors
//   are kept for the API. Each scan that changed something swaps in a new RuleSet generation.
// - The message path (`message.publish`): a rule set lookup by topic (cached per topic per
//   generation), so a message no rule wants costs one Map lookup. JSON is parsed at most once per
//   message and only when a matched rule reads it. Rules that read the device record or twin wait
//   for an async fetch, in order, per rule.
// - Actions are jobs in priority lanes (lanes.ts) drained once per turn: under overload the
//   higher priority runs first; lane depths and drops are counters. A failure is recorded in the
//   rule's bounded error log with the message; it never stops other actions or rules.
// - Loops: a message a rule publishes carries hops + 1; one that would pass maxHops is dropped
//   and counted instead of being published and re-entering the rules.
// - The dry run (test()) parses and prepares a rule here, with the broker's limits, and evaluates
//   it in dry-run.ts.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Message } from '../message.js';
import type { Registry } from '../registry/registry.js';
import { topicMatches, validateTopicFilter } from '../router/topic.js';
import type { TelemetryService } from '../telemetry/service.js';
import type { TwinService } from '../twin/service.js';
import { AlertStore } from './actions/alert-store.js';
import { ActionError, planAction, type ActionPlan } from './actions/plan.js';
import { DEFAULT_WEBHOOK_OPTIONS, WebhookClient, type WebhookOptions, type WebhookStats } from './actions/webhook.js';
import { PriorityLanes, type LaneStats } from './lanes.js';
import { prepareRule, type Compile, type PreparedRule } from './prepare.js';
import { fileError, parseRuleFile, parseRuleObject, RULE_ID, ruleYaml, setRuleKeys, type ActionSpec, type RuleFileError, type RuleFileResult } from './rule-file.js';
import { dryRun, type RuleTestMessage, type RuleTestResult } from './dry-run.js';
import { MessageContext, newCounters, rowContext, RuleRuntime, twinInput, windowContext, type PendingMessage, type RuleCounters, type RuleErrorEntry, type RuleStats, type RuleTracing, type TraceSpan } from './rule-runtime.js';
import { RuleSet } from './rule-set.js';
import { compileRule, type RuleInput } from './sql/index.js';
import { setBounded } from '../../common/bounded-map.js';

export interface RuleEngineOptions {
  /** Rule hops a message may carry (a rule's output of a rule's output…); default 8. */
  maxHops: number;
  webhook: Partial<WebhookOptions> & { queueSize: number; concurrency: number };
  /** Entries kept in each rule's error log; default 50. */
  errorLogSize: number;
  /** Jobs one priority lane holds; default 10,000. */
  laneQueueSize?: number;
  /** Jobs run per drain (one drain per event-loop turn); default 1,000. */
  laneBatch?: number;
  /** Async actions (twin updates) in flight at most; default 64. */
  maxAsyncActions?: number;
  /** Messages a rule holds while it fetches device/twin context; default 10,000. */
  maxPendingPerRule?: number;
  /** Periodic rescan of the folder (ms, 0 = none); default 5,000. */
  rescanMs?: number;
  /** Debounce of fs.watch events (ms); default 100. */
  debounceMs?: number;
  /** Window timer (ms); default 250. */
  windowTickMs?: number;
}

export interface RuleEngineDeps {
  broker: Broker;
  log: Logger;
  folder: string;
  twins?: TwinService;
  telemetry?: TelemetryService;
  registry?: Registry;
  options: RuleEngineOptions;
  /** Traces of the message path (obs/tracing.ts): rule and action spans under the message's span. */
  tracing?: RuleTracing;
  /** The SQL compiler; default compileRule. */
  compile?: Compile;
  now?: () => number;
}

export type RuleStatusName = 'active' | 'disabled' | 'invalid';

/** A rule as the API shows it. */
export interface RuleStatus {
  id: string;
  file: string;
  /** active/disabled: the rule (its last good version) runs or not; invalid: the file never loaded. */
  status: RuleStatusName;
  sql?: string;
  priority?: number;
  enabled?: boolean;
  actions?: unknown[];
  /** Errors of the file on disk when it was refused; the previous version (if any) still runs. */
  loadErrors?: RuleFileError[];
  loadErrorAt?: string;
  counters: RuleCounters;
  windows?: { keys: number; memoryBytes: number };
  /** Messages waiting for device/twin context. */
  pending: number;
}

export type RuleWriteResult = { ok: true; rule: RuleStatus; created: boolean } | { ok: false; errors: RuleFileError[] };

export interface RuleEngineStats {
  rules: number;
  active: number;
  invalid: number;
  messagesMatched: number;
  /** Messages (would-be rule outputs) dropped at the hop limit. */
  loopDropped: number;
  lanes: LaneStats[];
  asyncInFlight: number;
  webhook: WebhookStats;
  alerts: { open: number; raised: number; cleared: number };
  windows: { keys: number; memoryBytes: number };
  reloads: number;
  reloadErrors: number;
}

/** One rule evaluation in this many is timed for the evaluation-time metric. */
const EVAL_SAMPLE = 16;

interface Job {
  rule: RuleRuntime;
  action: ActionSpec;
  row: Record<string, unknown>;
  ctx: MessageContext;
  /** The rule's span for this message (traced messages only). */
  span?: TraceSpan | undefined;
  /** A clear job: the alert's clear condition held. */
  clear: boolean;
}

interface FileState {
  name: string;
  text: string;
  rule: RuleRuntime | undefined;
  errors: RuleFileError[] | undefined;
  errorAt: number;
}

const RULE_FILE = /^[^.].*\.ya?ml$/;
const DEVICE_CACHE_MS = 2000;
const DEVICE_CACHE_MAX = 10_000;
const EMPTY_PROPS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export class RuleEngine {
  readonly alerts: AlertStore;
  readonly webhook: WebhookClient;
  private readonly broker: Broker;
  private readonly log: Logger;
  private readonly folder: string;
  private readonly compile: Compile;
  private readonly now: () => number;
  private readonly o: Required<Omit<RuleEngineOptions, 'webhook'>>;
  private set = new RuleSet([]);
  private readonly files = new Map<string, FileState>();
  /** Counters and error logs by rule id, kept across edits. */
  private readonly statsById = new Map<string, RuleStats>();
  private readonly lanes: PriorityLanes<Job>;
  private drainScheduled = false;
  private asyncInFlight = 0;
  private readonly deviceCache = new Map<string, { at: number; value: Promise<RuleInput['device']> }>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private windowTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private scanQueued = false;
  private readonly unhook: Array<() => void> = [];
  private started = false;
  private stopped = false;
  private readonly c = { messagesMatched: 0, loopDropped: 0, reloads: 0, reloadErrors: 0 };

  constructor(private readonly deps: RuleEngineDeps) {
    this.broker = deps.broker;
    this.log = deps.log;
    this.folder = deps.folder;
    this.compile = deps.compile ?? compileRule;
    this.now = deps.now ?? Date.now;
    const o = deps.options;
    this.o = {
      maxHops: o.maxHops,
      errorLogSize: o.errorLogSize,
      laneQueueSize: o.laneQueueSize ?? 10_000,
      laneBatch: o.laneBatch ?? 1000,
      maxAsyncActions: o.maxAsyncActions ?? 64,
      maxPendingPerRule: o.maxPendingPerRule ?? 10_000,
      rescanMs: o.rescanMs ?? 5000,
      debounceMs: o.debounceMs ?? 100,
      windowTickMs: o.windowTickMs ?? 250,
    };
    this.lanes = new PriorityLanes<Job>(this.o.laneQueueSize);
    this.webhook = new WebhookClient({ ...DEFAULT_WEBHOOK_OPTIONS, ...o.webhook });
    this.alerts = new AlertStore(this.folder, this.log);
  }

  // ------------------------------------------------------------------ lifecycle

  /** Create the folder if needed, load the rules and open alerts, start watching and listening. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await mkdir(this.folder, { recursive: true });
    await this.alerts.load();
    await this.rescan();
    const hooks = this.broker.hooks;
    this.unhook.push(hooks.on('message.publish', this.onPublish));
    // Presence events ($events/...) are published by the broker's sys topics only when wanted:
    // ask for the ones a rule reads, so they arrive on message.publish like any message.
    this.unhook.push(this.broker.wantEvents((topic) => this.set.match(topic).rules.length > 0));
    try {
      this.watcher = watch(this.folder, { persistent: false }, () => this.scheduleRescan());
      this.watcher.on('error', (err) => {
        this.log.warn({ err, folder: this.folder }, 'rules folder watch failed; relying on the periodic rescan');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.log.warn({ err, folder: this.folder }, 'cannot watch the rules folder; relying on the periodic rescan');
    }
    if (this.o.rescanMs > 0) {
      this.rescanTimer = setInterval(() => void this.rescan(), this.o.rescanMs);
      this.rescanTimer.unref();
    }
    this.windowTimer = setInterval(() => this.tickWindows(), this.o.windowTickMs);
    this.windowTimer.unref();
  }

  /** Stop listening and timers; queued actions are abandoned, alerts flushed to disk. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const off of this.unhook.splice(0)) off();
    this.watcher?.close();
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    if (this.rescanTimer !== undefined) clearInterval(this.rescanTimer);
    if (this.windowTimer !== undefined) clearInterval(this.windowTimer);
    this.webhook.stop();
    await this.scanning;
    await this.alerts.flush();
  }

  private scheduleRescan(): void {
    if (this.stopped) return;
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.rescan();
    }, this.o.debounceMs);
    this.debounce.unref();
  }

  /** Read the folder now; resolves when a scan that started after this call has finished. */
  rescan(): Promise<void> {
    if (this.scanQueued) return this.scanning;
    this.scanQueued = true;
    this.scanning = this.scanning.then(async () => {
      this.scanQueued = false;
      try {
        await this.scanOnce();
      } catch (err) {
        this.log.error({ err, folder: this.folder }, 'rules folder scan failed');
      }
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.folder)).filter((n) => RULE_FILE.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else throw err;
    }
    let changed = false;
    const present = new Set<string>();
    const ids = new Map<string, string>();
    for (const name of names) {
      let text: string;
      try {
        text = await readFile(join(this.folder, name), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      present.add(name);
      const id = name.replace(/\.ya?ml$/, '');
      const other = ids.get(id);
      ids.set(id, name);
      const prev = this.files.get(name);
      if (prev !== undefined && prev.text === text) continue;
      changed = true;
      this.c.reloads++;
      let errors: RuleFileError[] | undefined;
      let prepared: PreparedRule | undefined;
      if (other !== undefined) errors = [fileError(name, 'id', `rule ${id} is already defined by ${other}`)];
      else {
        const r = this.prepare(parseRuleFile(text, name, id), name);
        if (r.ok) prepared = r.rule;
        else errors = r.errors;
      }
      if (prepared !== undefined) {
        this.files.set(name, { name, text, rule: this.runtimeFor(prepared, prev?.rule), errors: undefined, errorAt: 0 });
        this.log.info({ rule: id, file: name }, 'rule loaded');
      } else {
        this.c.reloadErrors++;
        // The previous version of the rule (if any) keeps running.
        this.files.set(name, { name, text, rule: prev?.rule, errors, errorAt: this.now() });
        this.log.warn({ file: name, errors }, prev?.rule ? 'rule file refused; the previous version keeps running' : 'rule file refused');
      }
    }
    for (const name of [...this.files.keys()]) {
      if (present.has(name)) continue;
      this.files.delete(name);
      changed = true;
      this.log.info({ file: name }, 'rule removed');
    }
    if (changed) this.swap();
  }

  private prepare(r: RuleFileResult, file: string | undefined): { ok: true; rule: PreparedRule } | { ok: false; errors: RuleFileError[] } {
    if (!r.ok) return r;
    const p = prepareRule(r.spec, file, this.compile);
    if (!p.ok) return p;
    for (const f of p.rule.compiled.from) {
      const bad = validateTopicFilter(f, this.broker.config.limits.maxTopicLevels);
      // The compiler checked the filters ($share/ refused); this adds the broker's maxTopicLevels.
      if (bad !== null) return { ok: false, errors: [fileError(file, 'sql', `FROM '${f}': ${bad}`)] };
    }
    return p;
  }

  private runtimeFor(prepared: PreparedRule, previous: RuleRuntime | undefined): RuleRuntime {
    const id = prepared.spec.id;
    let stats = this.statsById.get(id);
    if (stats === undefined) {
      stats = { counters: newCounters(), errors: [] };
      this.statsById.set(id, stats);
    }
    const rt = new RuleRuntime(prepared, stats);
    if (rt.compiled.windowed && rt.enabled) {
      // An edit of the actions only keeps the open windows.
      const same = previous !== undefined && previous.prepared.spec.sql === prepared.spec.sql && previous.windows !== undefined;
      rt.windows = same ? previous.windows : rt.compiled.createWindows();
    }
    return rt;
  }

  /** Install the rules of the current files as one new generation. */
  private swap(): void {
    const rules: RuleRuntime[] = [];
    const keep = new Set<RuleRuntime>();
    for (const f of this.files.values()) {
      if (f.rule === undefined) continue;
      keep.add(f.rule);
      if (f.rule.enabled) rules.push(f.rule);
    }
    for (const r of this.set.active) if (!keep.has(r) || !r.enabled) r.live = false;
    const keepIds = new Set<string>();
    for (const r of keep) keepIds.add(r.id);
    for (const id of [...this.statsById.keys()]) if (!keepIds.has(id)) this.statsById.delete(id);
    const next = new RuleSet(rules);
    this.set = next;
  }

  // ------------------------------------------------------------------ the message path

  /** The span of the message being evaluated (set around each evaluation; traced messages only). */
  private msgSpan: TraceSpan | undefined = undefined;

  private readonly onPublish = (msg: Message): void => {
    const set = this.set;
    if (set.empty) return;
    const tr = set.match(msg.topic);
    const rules = tr.rules;
    if (rules.length === 0) return;
    if (msg.hops > this.o.maxHops) {
      this.c.loopDropped++;
      return;
    }
    this.c.messagesMatched++;
    let json: unknown;
    if (tr.needsJson) {
      try {
        json = JSON.parse(msg.payload.toString('utf8'));
      } catch {
        json = undefined;
      }
    }
    const up = msg.properties?.userProperties;
    let userProperties = EMPTY_PROPS;
    if (up !== undefined && up.length > 0) {
      userProperties = {};
      for (const [k, v] of up) userProperties[k] = v;
    }
    const input: RuleInput = {
      topic: msg.topic,
      payload: msg.payload,
      json,
      qos: msg.qos,
      retain: msg.retain,
      clientId: msg.origin.clientId,
      deviceId: msg.origin.deviceId,
      timestamp: msg.receivedAt,
      userProperties,
    };
    let pending: PendingMessage | undefined;
    let ctx: MessageContext | undefined;
    const tracing = this.deps.tracing;
    this.msgSpan = tracing !== undefined && tracing.enabled ? tracing.spanOf(msg) : undefined;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      rule.counters.matched++;
      const n = rule.compiled.needs;
      if (n.device || n.twin) {
        // The payload may be a view of a reused socket buffer: the deferred copy owns its bytes.
        pending ??= { input: { ...input, payload: Buffer.from(input.payload) }, hops: msg.hops, fetched: undefined, needsDevice: tr.needsDevice, needsTwin: tr.needsTwin, span: this.msgSpan };
        this.defer(rule, pending);
        continue;
      }
      ctx = this.evaluate(rule, input, msg.hops, ctx);
    }
    this.msgSpan = undefined;
  };

  private evaluate(rule: RuleRuntime, input: RuleInput, hops: number, ctx: MessageContext | undefined): MessageContext | undefined {
    const counters = rule.counters;
    // Clear conditions first: their jobs queue in the same lane as the raises, so order holds.
    if (rule.prepared.clears.length > 0) ctx = this.checkClears(rule, input, hops, ctx);
    // Evaluation time is sampled (one evaluation in EVAL_SAMPLE, scaled up): reading the clock
    // twice per rule and message cost as much as evaluating a typical rule.
    const timed = counters.evalCount % EVAL_SAMPLE === 0;
    const t0 = timed ? performance.now() : 0;
    let rows: Record<string, unknown>[] | undefined;
    let row: Record<string, unknown> | undefined;
    try {
      if (rule.windows !== undefined) rows = rule.windows.add(input, this.now());
      else row = rule.compiled.evaluate(input);
    } catch (err) {
      counters.evalErrors++;
      ctx ??= this.contextOf(input, hops);
      this.recordError(rule, 'evaluate', err, ctx, undefined);
      return ctx;
    } finally {
      counters.evalCount++;
      if (timed) {
        const us = (performance.now() - t0) * 1000;
        counters.evalTimeSumUs += us * EVAL_SAMPLE;
        if (us > counters.evalTimeMaxUs) counters.evalTimeMaxUs = us;
      }
    }
    if (row !== undefined) {
      counters.passedWhere++;
      ctx ??= this.contextOf(input, hops);
      this.queueActions(rule, row, ctx);
    } else if (rows !== undefined && rows.length > 0) {
      ctx ??= this.contextOf(input, hops);
      for (const r of rows) {
        counters.passedWhere++;
        this.queueActions(rule, r, rowContext(rule.compiled, r, ctx, hops));
      }
    }
    return ctx;
  }

  private checkClears(rule: RuleRuntime, input: RuleInput, hops: number, ctx: MessageContext | undefined): MessageContext | undefined {
    for (const { action, conditions } of rule.prepared.clears) {
      const from = rule.compiled.from;
      for (let i = 0; i < conditions.length; i++) {
        if (!topicMatches(from[i]!, input.topic)) continue;
        let row: Record<string, unknown> | undefined;
        try {
          row = conditions[i]!.evaluate(input);
        } catch (err) {
          ctx ??= this.contextOf(input, hops);
          this.recordError(rule, `alert#${action.index} clear`, err, ctx, undefined);
        }
        if (row !== undefined) {
          ctx ??= this.contextOf(input, hops);
          this.push({ rule, action, row, ctx, clear: true });
        }
        break;
      }
    }
    return ctx;
  }

  private contextOf(input: RuleInput, hops: number): MessageContext {
    const ctx = new MessageContext(input, hops, input.timestamp);
    ctx.span = this.msgSpan;
    return ctx;
  }

  private queueActions(rule: RuleRuntime, row: Record<string, unknown>, ctx: MessageContext): void {
    const actions = rule.actions;
    // One span per rule that passed WHERE for a traced message; its actions are its children.
    const span = ctx.span === undefined ? undefined : this.deps.tracing?.child(`rule ${rule.id}`, ctx.span, { 'twinhub.rule.id': rule.id, 'twinhub.rule.priority': rule.priority });
    for (let i = 0; i < actions.length; i++) this.push({ rule, action: actions[i]!, row, ctx, clear: false, span });
    span?.end();
  }

  private push(job: Job): void {
    if (!this.lanes.push(job.rule.priority, job)) {
      job.rule.counters.actionsDropped++;
      return;
    }
    this.scheduleDrain();
  }

  // ------------------------------------------------------------------ device / twin context

  private defer(rule: RuleRuntime, p: PendingMessage): void {
    if (rule.pending.length >= this.o.maxPendingPerRule) {
      rule.counters.pendingDropped++;
      return;
    }
    rule.pending.push(p);
    if (!rule.busy) void this.drainPending(rule);
  }

  private async drainPending(rule: RuleRuntime): Promise<void> {
    rule.busy = true;
    try {
      while (rule.pending.length > 0 && rule.live) {
        const p = rule.pending[0]!;
        p.fetched ??= this.fetchContext(p);
        try {
          await p.fetched;
        } catch (err) {
          this.recordError(rule, 'fetch', err, new MessageContext(p.input, p.hops, this.now()), undefined);
        }
        rule.pending.shift();
        this.msgSpan = p.span;
        if (rule.live) this.evaluate(rule, p.input, p.hops, undefined);
        this.msgSpan = undefined;
      }
    } finally {
      rule.busy = false;
      if (!rule.live) rule.pending.length = 0;
    }
  }

  private async fetchContext(p: PendingMessage): Promise<void> {
    const id = p.input.deviceId;
    if (id === undefined) return;
    const device = p.needsDevice ? this.deviceOf(id) : undefined;
    const twin = p.needsTwin && this.deps.twins !== undefined ? this.deps.twins.get(id, '') : undefined;
    const [d, t] = await Promise.all([device, twin]);
    if (d !== undefined) p.input.device = d;
    if (t !== undefined) p.input.twin = twinInput(t.state);
  }

  /** A device's registry attributes, cached a moment (a burst of one device's messages reads it once). */
  private deviceOf(id: string): Promise<RuleInput['device']> {
    const reg = this.deps.registry;
    if (reg === undefined) return Promise.resolve(undefined);
    const now = this.now();
    const hit = this.deviceCache.get(id);
    if (hit !== undefined && now - hit.at < DEVICE_CACHE_MS) return hit.value;
    const value = reg.store.getDevice(id).then((d) => {
      if (d === undefined) return undefined;
      const out: NonNullable<RuleInput['device']> = { id: d.id, tags: d.tags };
      if (d.type !== undefined) out.type = d.type;
      if (d.group !== undefined) out.group = d.group;
      return out;
    });
    setBounded(this.deviceCache, DEVICE_CACHE_MAX, id, { at: now, value });
    return value;
  }

  // ------------------------------------------------------------------ windows

  private tickWindows(): void {
    const now = this.now();
    for (const rule of this.set.active) {
      const w = rule.windows;
      if (w === undefined) continue;
      let rows: Record<string, unknown>[];
      try {
        rows = w.tick(now);
      } catch (err) {
        rule.counters.evalErrors++;
        this.recordError(rule, 'window', err, undefined, undefined);
        continue;
      }
      if (rows.length === 0) continue;
      const ctx = new MessageContext(undefined, 0, now);
      for (const r of rows) {
        rule.counters.passedWhere++;
        this.queueActions(rule, r, windowContext(r, ctx));
      }
    }
  }

  // ------------------------------------------------------------------ actions

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.drainScheduled = false;
    const batch = this.o.laneBatch;
    for (let n = 0; n < batch && this.asyncInFlight < this.o.maxAsyncActions; n++) {
      const job = this.lanes.shift();
      if (job === undefined) break;
      this.runAction(job);
    }
    if (this.lanes.size > 0 && this.asyncInFlight < this.o.maxAsyncActions) this.scheduleDrain();
  };

  private endSpan(span: TraceSpan | undefined, err: unknown): void {
    if (span === undefined) return;
    if (err !== undefined) span.setStatus({ code: 2, message: err instanceof Error ? err.message : String(err) });
    span.end();
  }

  private runAction(job: Job): void {
    const { rule, action } = job;
    const stage = `${action.kind}#${action.index}`;
    const span = job.span === undefined ? undefined : this.deps.tracing?.child(`action ${action.kind}`, job.span, { 'twinhub.rule.id': rule.id, 'twinhub.action.kind': action.kind, 'twinhub.action.index': action.index });
    // A span ends when its action settles: at once, or when an async action (twin, webhook) does.
    let settlesLater = false;
    try {
      this.runActionBody(job, stage, span, () => {
        settlesLater = true;
      });
    } finally {
      if (!settlesLater) this.endSpan(span, undefined);
    }
  }

  private runActionBody(job: Job, stage: string, span: TraceSpan | undefined, async: () => void): void {
    const { rule, action, row, ctx } = job;
    let plan: ActionPlan;
    try {
      plan = planAction(action, row, ctx);
    } catch (err) {
      this.failed(rule, stage, err, ctx, row);
      return;
    }
    try {
      switch (plan.kind) {
        case 'republish':
          this.republish(rule, plan, ctx, row, stage);
          return;
        case 'log':
          this.log[plan.level]({ rule: rule.id, topic: ctx.topic, clientId: ctx.clientId, deviceId: ctx.deviceId, row }, 'rule log action');
          break;
        case 'alert':
          if (job.clear) this.alerts.clear(plan.key, `rule:${rule.id}`);
          else this.alerts.raise(plan.key, rule.id, plan.severity, plan.message, this.now());
          break;
        case 'telemetry': {
          const t = this.deps.telemetry;
          if (t === undefined) throw new ActionError('telemetry: the telemetry service is not enabled');
          const a = t.appendPoints(plan.points);
          if (a.accepted === 0) throw new ActionError(`telemetry: every point refused (${a.rejected.map((r) => r.reason).join(', ')})`);
          break;
        }
        case 'twin': {
          const twins = this.deps.twins;
          if (twins === undefined) throw new ActionError('twin: the twin service is not available');
          this.asyncInFlight++;
          async();
          twins.update(plan.device, plan.name, { state: plan.state }, { writer: `rule:${rule.id}` }).then(
            () => {
              this.endSpan(span, undefined);
              this.succeeded(rule);
            },
            (err: unknown) => {
              this.endSpan(span, err);
              this.failed(rule, stage, err, ctx, row);
            },
          ).finally(() => {
            this.asyncInFlight--;
            if (this.lanes.size > 0) this.scheduleDrain();
          });
          return;
        }
        case 'webhook': {
          // The W3C traceparent header continues the message's trace at the receiver.
          const traceparent = this.deps.tracing?.traceparent(span);
          const queued = this.webhook.send({
            ...plan,
            headers: traceparent === undefined ? plan.headers : { ...plan.headers, traceparent },
            priority: rule.priority,
            done: (err) => {
              this.endSpan(span, err);
              if (err === undefined) this.succeeded(rule);
              else this.failed(rule, stage, err, ctx, row);
            },
          });
          if (!queued) throw new ActionError('webhook: queue full (call dropped)');
          async();
          return;
        }
      }
      this.succeeded(rule);
    } catch (err) {
      this.failed(rule, stage, err, ctx, row);
    }
  }

  private republish(rule: RuleRuntime, plan: Extract<ActionPlan, { kind: 'republish' }>, ctx: MessageContext, row: Record<string, unknown>, stage: string): void {
    const hops = ctx.hops + 1;
    if (hops > this.o.maxHops) {
      this.c.loopDropped++;
      this.failed(rule, stage, new ActionError(`republish to ${plan.topic} dropped: the message would carry ${hops} rule hops, over rules.maxHops (${this.o.maxHops}) — a loop?`), ctx, row);
      return;
    }
    const bad = this.broker.validateTopic(plan.topic);
    if (bad !== null) throw new ActionError(`republish: topic ${JSON.stringify(plan.topic)}: ${bad}`);
    const origin: Message['origin'] = { protocol: 'rule', clientId: `rule:${rule.id}` };
    if (ctx.deviceId !== undefined) origin.deviceId = ctx.deviceId;
    this.broker.publishInternal(plan.topic, Buffer.from(plan.payload), plan.qos, plan.retain, origin, hops);
    this.succeeded(rule);
  }

  private succeeded(rule: RuleRuntime): void {
    rule.counters.actionsOk++;
  }

  private failed(rule: RuleRuntime, stage: string, err: unknown, ctx: MessageContext | undefined, row: Record<string, unknown> | undefined): void {
    rule.counters.actionsFailed++;
    this.recordError(rule, stage, err, ctx, row);
  }

  private recordError(rule: RuleRuntime, stage: string, err: unknown, ctx: MessageContext | undefined, row: Record<string, unknown> | undefined): void {
    const e: RuleErrorEntry = { at: new Date(this.now()).toISOString(), stage, error: err instanceof Error ? err.message : String(err) };
    const m = ctx?.describe();
    if (m !== undefined) e.message = m;
    if (row !== undefined) e.row = row;
    rule.recordError(e, this.o.errorLogSize);
    this.log.debug({ rule: rule.id, stage, err }, 'rule error');
  }

  // ------------------------------------------------------------------ API operations

  list(): RuleStatus[] {
    return [...this.files.values()].map((f) => this.statusOf(f)).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  get(id: string): RuleStatus | undefined {
    const f = this.fileOf(id);
    return f === undefined ? undefined : this.statusOf(f);
  }

  /** The rule's error log (oldest first); undefined for an unknown rule. */
  errors(id: string): RuleErrorEntry[] | undefined {
    const f = this.fileOf(id);
    if (f === undefined) return undefined;
    return [...(this.statsById.get(id)?.errors ?? [])];
  }

  /** The text of a rule's file, as on disk. */
  source(id: string): string | undefined {
    return this.fileOf(id)?.text;
  }

  /**
   * Create or replace a rule: validated and compiled first (refused with errors, nothing
   * written), then written to `<folder>/<id>.yaml` (the folder stays the one source of truth) and
   * loaded from there.
   */
  async put(id: string, body: { yaml: string } | { json: unknown }): Promise<RuleWriteResult> {
    if (!RULE_ID.test(id)) return { ok: false, errors: [{ path: 'id', message: `id ${JSON.stringify(id)} must be 1-64 characters of A-Z a-z 0-9 _ . -` }] };
    const existing = this.fileOf(id);
    const name = existing?.name ?? `${id}.yaml`;
    let text: string;
    let parsed: RuleFileResult;
    if ('yaml' in body) {
      text = body.yaml;
      parsed = parseRuleFile(text, name, id);
    } else {
      const v = body.json;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, errors: [{ path: '', message: 'expected a rule object {sql, priority?, enabled?, actions}' }] };
      const doc = { id, ...(v as Record<string, unknown>) };
      parsed = parseRuleObject(doc, id);
      if (!parsed.ok) return parsed;
      const d = parsed.spec.document;
      const ordered: Record<string, unknown> = { id };
      for (const k of ['sql', 'priority', 'enabled', 'actions']) if (k in d) ordered[k] = d[k];
      text = ruleYaml(ordered);
    }
    const r = this.prepare(parsed, name);
    if (!r.ok) return r;
    await this.writeRuleFile(name, text);
    await this.rescan();
    const f = this.files.get(name);
    if (f?.rule === undefined || f.errors !== undefined) return { ok: false, errors: f?.errors ?? [{ path: '', message: 'the rule file changed while it was written; retry' }] };
    return { ok: true, rule: this.statusOf(f), created: existing === undefined };
  }

  /** Delete a rule's file; false when there is no such rule. */
  async remove(id: string): Promise<boolean> {
    const f = this.fileOf(id);
    if (f === undefined) return false;
    try {
      await unlink(join(this.folder, f.name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await this.rescan();
    return true;
  }

  /** Set `enabled` in the rule's file (comments and layout kept). */
  async setEnabled(id: string, enabled: boolean): Promise<RuleStatus | undefined> {
    const f = this.fileOf(id);
    if (f === undefined) return undefined;
    await this.writeRuleFile(f.name, setRuleKeys(f.text, { enabled }));
    await this.rescan();
    const after = this.files.get(f.name);
    return after === undefined ? undefined : this.statusOf(after);
  }

  /** Dry run: what a rule does with one message; nothing is executed (dry-run.ts). */
  async test(req: { sql?: string; rule?: unknown; message: RuleTestMessage }): Promise<{ ok: true; result: RuleTestResult } | { ok: false; errors: RuleFileError[] }> {
    let parsed: RuleFileResult;
    if (typeof req.rule === 'string') parsed = parseRuleFile(req.rule, undefined);
    else if (req.rule !== undefined) parsed = parseRuleObject({ id: 'test', ...(req.rule as Record<string, unknown>) });
    else if (typeof req.sql === 'string') parsed = parseRuleObject({ id: 'test', sql: req.sql, actions: [] });
    else return { ok: false, errors: [{ path: '', message: 'give `sql` or `rule`' }] };
    const p = this.prepare(parsed, undefined);
    if (!p.ok) return p;
    const twins = this.deps.twins;
    return dryRun(p.rule, req.message, this.now(), {
      device: (id) => this.deviceOf(id),
      twin: async (id) => {
        const t = twins === undefined ? undefined : await twins.get(id, '');
        return t === undefined ? undefined : twinInput(t.state);
      },
    });
  }

  stats(): RuleEngineStats {
    let keys = 0;
    let memoryBytes = 0;
    for (const r of this.set.active) {
      if (r.windows === undefined) continue;
      keys += r.windows.keys;
      memoryBytes += r.windows.memoryBytes;
    }
    let invalid = 0;
    for (const f of this.files.values()) if (f.rule === undefined) invalid++;
    return {
      rules: this.files.size,
      active: this.set.active.length,
      invalid,
      messagesMatched: this.c.messagesMatched,
      loopDropped: this.c.loopDropped,
      lanes: this.lanes.stats(),
      asyncInFlight: this.asyncInFlight,
      webhook: this.webhook.stats(),
      alerts: { open: this.alerts.size, raised: this.alerts.counters.raised, cleared: this.alerts.counters.cleared },
      windows: { keys, memoryBytes },
      reloads: this.c.reloads,
      reloadErrors: this.c.reloadErrors,
    };
  }

  private fileOf(id: string): FileState | undefined {
    return this.files.get(`${id}.yaml`) ?? this.files.get(`${id}.yml`);
  }

  private statusOf(f: FileState): RuleStatus {
    const id = f.name.replace(/\.ya?ml$/, '');
    const r = f.rule;
    const stats = this.statsById.get(id);
    const s: RuleStatus = {
      id,
      file: f.name,
      status: r === undefined ? 'invalid' : r.enabled ? 'active' : 'disabled',
      counters: { ...(stats?.counters ?? newCounters()) },
      pending: r?.pending.length ?? 0,
    };
    if (r !== undefined) {
      const spec = r.prepared.spec;
      s.sql = spec.sql;
      s.priority = spec.priority;
      s.enabled = spec.enabled;
      s.actions = (spec.document.actions as unknown[] | undefined) ?? [];
      if (r.windows !== undefined) s.windows = { keys: r.windows.keys, memoryBytes: r.windows.memoryBytes };
    }
    if (f.errors !== undefined) {
      s.loadErrors = f.errors;
      s.loadErrorAt = new Date(f.errorAt).toISOString();
    }
    return s;
  }

  private async writeRuleFile(name: string, text: string): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    // The temp name starts with '.', so a scan never reads a half-written rule.
    const tmp = join(this.folder, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, text);
    await rename(tmp, join(this.folder, name));
  }
}
