// The twin service: the AWS IoT Device Shadow protocol over the broker's MQTT, durable through
// the twin-store port, and the operations the HTTP API and the rule engine call.
//
// - Listens on the `message.publish` event point for the shadow request topics (twin-topics.ts);
//   response topics (…/accepted, …/rejected, …/delta, …/documents) are not requests, so the
//   service's own publications pass by.
// - Requests of one twin run one at a time in arrival order (a queue per twin), because each
//   reads the twin, applies the pure model (shadow-document.ts) and waits for the durable,
//   compare-and-set store write before the next one reads. Different twins run concurrently.
// - A QoS 1/2 request's PUBACK waits for its store write (committer.hold): an acknowledged update
//   is durable. A request the model rejects (400, 409…) is answered on /rejected and acknowledged
//   normally; a store failure answers 500 on /rejected and fails the ack (MQTT 5: 0x80).
// - Responses are published at QoS 1 (a subscriber's own subscription QoS caps it), and only when
//   someone subscribes to the topic: the delta and documents messages are not even built otherwise.
import type { Logger } from 'pino';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { StoredTwin, TwinHistoryEntry, TwinStore } from '../../ports/twin-store.js';
import type { Broker } from '../broker/broker.js';
import type { Message, MessageOrigin } from '../message.js';
import { deleteShadow, type DeleteAcceptedDocument } from './delete-shadow.js';
import { buildGetAccepted, type GetAcceptedDocument } from './get-accepted.js';
import { isJsonObject, own, setOwn, type JsonObject, type JsonValue } from './json-value.js';
import { validateShadowName, validateThingName, type ShadowLimits } from './limits.js';
import { errorDocument, reject, ShadowMessages, type ShadowRejection } from './shadow-error.js';
import { applyUpdate, type ShadowDocument, type UpdateAccepted, type UpdateAcceptedDocument } from './shadow-document.js';
import { isTopicLevel, parseShadowRequestTopic, SHADOW_TOPIC_START, shadowTopicPrefix, type ShadowOp } from './twin-topics.js';
import { requestClientToken } from './update-request.js';

export interface TwinServiceDeps {
  broker: Broker;
  store: TwinStore;
  limits: ShadowLimits;
  log: Logger;
  /** The writer id recorded for an MQTT request (history, version vector); default writerOfMessage. */
  writerOf?: (msg: Message) => string;
}

/** One accepted change of a twin, for subscribers (the SSE stream, rules). */
export interface TwinChange {
  readonly op: 'update' | 'delete';
  readonly deviceId: string;
  /** '' for the classic shadow. */
  readonly name: string;
  /** The version after the update; for a delete, the version deleted. */
  readonly version: number;
  /** Epoch seconds. */
  readonly timestamp: number;
  readonly writer: string;
  /** update: the state the update sent (nulls included). */
  readonly changed?: JsonObject;
  /** update: desired and reported after the change. */
  readonly state?: { readonly desired?: JsonObject; readonly reported?: JsonObject };
}

export type TwinChangeListener = (change: TwinChange) => void;

export interface TwinUpdateOptions {
  /** Who makes the change: 'api:<key id>', 'rule:<id>', 'edge:<node>'… */
  writer: string;
  /** Apply only if the twin is at this version (HTTP If-Match); else PRECONDITION_FAILED. */
  expectedVersion?: number;
  /** 'merge' (default): the MQTT update / JSON merge patch. 'replace': the sections sent replace the stored ones. */
  mode?: 'merge' | 'replace';
  /** Multi-writer: the writer's version vector and when it made the change (docs/TWINS.md). */
  vector?: unknown;
  changedAt?: number;
}

export interface TwinUpdateResult {
  /** What /update/accepted carried. */
  readonly accepted: UpdateAcceptedDocument;
  /** The twin after the update, as /get/accepted shows it. */
  readonly twin: GetAcceptedDocument;
}

interface Job {
  readonly op: ShadowOp;
  readonly deviceId: string;
  readonly name: string;
  /** Request payload: the bytes of an MQTT request (a copy) or an API body. */
  readonly payload: unknown;
  readonly writer: string;
  readonly opts: TwinUpdateOptions | undefined;
  /** The ShadowTopicPrefix to publish responses under; undefined when the id is no topic level. */
  readonly prefix: string | undefined;
  /** Publish /rejected too (MQTT requests; API callers get the error instead). */
  readonly mqtt: boolean;
  resolve: (o: Outcome) => void;
  reject: (err: unknown) => void;
}

type Outcome =
  | { readonly ok: true; readonly op: 'update'; readonly result: UpdateAccepted }
  | { readonly ok: true; readonly op: 'get'; readonly doc: GetAcceptedDocument }
  | { readonly ok: true; readonly op: 'delete'; readonly doc: DeleteAcceptedDocument }
  | ShadowRejection;

const ORIGIN: MessageOrigin = { protocol: 'sys', clientId: '' };
/** Store compare-and-set conflicts (another node wrote the twin) retried before answering 409. */
const CAS_RETRIES = 5;
const noop = (): void => undefined;

/** Default writer id of an MQTT request: 'device:<id>' for a registered device, else '<protocol>:<clientId>'. */
export function writerOfMessage(msg: Message): string {
  const o = msg.origin;
  if (o.deviceId !== undefined) return `device:${o.deviceId}`;
  return `${o.protocol}:${o.clientId}`;
}

export class TwinService {
  private readonly broker: Broker;
  private readonly store: TwinStore;
  private readonly limits: ShadowLimits;
  private readonly log: Logger;
  private readonly writerOf: (msg: Message) => string;
  /** Per twin key: the jobs waiting, the first one running. */
  private readonly queues = new Map<string, Job[]>();
  private readonly drains = new Set<Promise<void>>();
  /** MQTT requests in flight per client id (limits.maxInFlightPerConnection → 429). */
  private readonly inFlight = new Map<string, number>();
  private readonly listeners = new Map<string, Set<TwinChangeListener>>();
  private off: (() => void) | undefined;

  // Counters, read when metrics are scraped.
  requests = 0;
  rejected = 0;
  tooManyRequests = 0;
  storeFailures = 0;

  constructor(deps: TwinServiceDeps) {
    this.broker = deps.broker;
    this.store = deps.store;
    this.limits = deps.limits;
    this.log = deps.log;
    this.writerOf = deps.writerOf ?? writerOfMessage;
  }

  start(): void {
    if (this.off === undefined) this.off = this.broker.hooks.on('message.publish', this.onPublish);
  }

  /** Stop taking MQTT requests and wait for those queued to finish. */
  async stop(): Promise<void> {
    this.off?.();
    this.off = undefined;
    while (this.drains.size > 0) await Promise.all(this.drains);
  }

  // ---------------------------------------------------------------- MQTT

  private readonly onPublish = (msg: Message): void => {
    const topic = msg.topic;
    if (!topic.startsWith(SHADOW_TOPIC_START)) return;
    const t = parseShadowRequestTopic(topic);
    if (t === null) return;
    this.requests++;
    const invalid = validateThingName(t.thing, this.limits) ?? (t.shadow === '' ? null : validateShadowName(t.shadow, this.limits));
    if (invalid !== null) {
      this.publishRejected(`${topic}/rejected`, reject(400, invalid, requestClientToken(msg.payload, this.limits)));
      return;
    }
    const client = msg.origin.clientId;
    if (client !== '') {
      const n = this.inFlight.get(client) ?? 0;
      // "429 Too many requests: the Device Shadow service will generate this error message when
      // there are more than 10 in-flight requests on a single connection" (Device Shadow error messages).
      if (n >= this.limits.maxInFlightPerConnection) {
        this.tooManyRequests++;
        this.publishRejected(`${topic}/rejected`, reject(429, ShadowMessages.TOO_MANY_REQUESTS, requestClientToken(msg.payload, this.limits)));
        return;
      }
      this.inFlight.set(client, n + 1);
    }
    // A copy: the payload may be a view of a socket buffer that is reused after this turn.
    const payload = Buffer.from(msg.payload);
    const done = this.enqueue(t.op, t.thing, t.shadow, payload, this.writerOf(msg), undefined, t.prefix, true);
    const finished = client === '' ? done : done.finally(() => this.release(client));
    // The PUBACK of a QoS 1/2 request waits for the durable write (its failure fails the ack).
    if (msg.qos > 0) this.broker.committer.hold(finished);
    finished.catch(noop);
  };

  private release(client: string): void {
    const n = (this.inFlight.get(client) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(client);
    else this.inFlight.set(client, n);
  }

  // ---------------------------------------------------------------- operations (HTTP API, rules)

  /** The twin as /get/accepted shows it (state with delta, metadata, version), or undefined. */
  async get(deviceId: string, name: string): Promise<GetAcceptedDocument | undefined> {
    const stored = await this.store.get(deviceId, name);
    if (stored?.doc === undefined) return undefined;
    const g = buildGetAccepted(stored.doc, { now: this.nowSeconds(), shadowName: name });
    return g.ok ? g.accepted : undefined;
  }

  /** The names of the device's twins ('' is the classic one). */
  list(deviceId: string): Promise<string[]> {
    return this.store.list(deviceId);
  }

  /**
   * Update a twin with an AWS update request document (`{state: {desired, reported}, version?,
   * clientToken?}`), in the twin's queue like an MQTT request; publishes the MQTT responses
   * (/update/accepted, /delta, /documents) to their subscribers. Throws TwinhubError: TWIN_INVALID
   * (400/415), VERSION_CONFLICT (409, a `version` in the document or a stale multi-writer change),
   * PRECONDITION_FAILED (expectedVersion), PAYLOAD_TOO_LARGE (413), STORE_WRITE_FAILED.
   */
  async update(deviceId: string, name: string, doc: unknown, opts: TwinUpdateOptions): Promise<TwinUpdateResult> {
    const o = await this.enqueue('update', deviceId, name, doc, opts.writer, opts, this.prefixOf(deviceId, name), false);
    if (!o.ok) throw rejectionError(o);
    if (o.op !== 'update') throw new TwinhubError(Errors.INTERNAL, 'unexpected outcome');
    const g = buildGetAccepted(o.result.next, { now: o.result.accepted.timestamp, shadowName: name });
    if (!g.ok) throw rejectionError(g);
    return { accepted: o.result.accepted, twin: g.accepted };
  }

  /** Delete a twin (its version continues if it is recreated within the window). Throws TWIN_NOT_FOUND, PRECONDITION_FAILED. */
  async delete(deviceId: string, name: string, expectedVersion?: number, writer = 'api'): Promise<DeleteAcceptedDocument> {
    const opts: TwinUpdateOptions = expectedVersion === undefined ? { writer } : { writer, expectedVersion };
    const o = await this.enqueue('delete', deviceId, name, undefined, writer, opts, this.prefixOf(deviceId, name), false);
    if (!o.ok) throw rejectionError(o);
    if (o.op !== 'delete') throw new TwinhubError(Errors.INTERNAL, 'unexpected outcome');
    return o.doc;
  }

  /** The twin's last changes, newest first. */
  history(deviceId: string, name: string, limit?: number): Promise<TwinHistoryEntry[]> {
    return this.store.history(deviceId, name, limit);
  }

  /** Remove every twin of a deleted device. */
  deleteDevice(deviceId: string): Promise<void> {
    return this.store.deleteDevice(deviceId);
  }

  /** Calls `listener` for every accepted change of the device's twins; returns the unsubscribe function. */
  subscribe(deviceId: string, listener: TwinChangeListener): () => void {
    let set = this.listeners.get(deviceId);
    if (set === undefined) this.listeners.set(deviceId, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.listeners.get(deviceId);
      if (s === undefined) return;
      s.delete(listener);
      if (s.size === 0) this.listeners.delete(deviceId);
    };
  }

  // ---------------------------------------------------------------- the per-twin queue

  private enqueue(
    op: ShadowOp,
    deviceId: string,
    name: string,
    payload: unknown,
    writer: string,
    opts: TwinUpdateOptions | undefined,
    prefix: string | undefined,
    mqtt: boolean,
  ): Promise<Outcome> {
    let resolve!: (o: Outcome) => void;
    let rejectJob!: (err: unknown) => void;
    const p = new Promise<Outcome>((res, rej) => {
      resolve = res;
      rejectJob = rej;
    });
    const job: Job = { op, deviceId, name, payload, writer, opts, prefix, mqtt, resolve, reject: rejectJob };
    const key = `${deviceId}\u0000${name}`;
    const q = this.queues.get(key);
    if (q !== undefined) {
      q.push(job);
    } else {
      const fresh = [job];
      this.queues.set(key, fresh);
      const d = this.drain(key, fresh);
      this.drains.add(d);
      void d.then(() => this.drains.delete(d));
    }
    return p;
  }

  private async drain(key: string, q: Job[]): Promise<void> {
    while (q.length > 0) {
      const job = q[0]!;
      try {
        job.resolve(await this.run(job));
      } catch (err) {
        this.storeFailures++;
        this.log.error({ err, deviceId: job.deviceId, shadow: job.name, op: job.op }, 'twin request failed');
        if (job.mqtt && job.prefix !== undefined) {
          this.publishRejected(`${job.prefix}/${job.op}/rejected`, reject(500, 'Internal service failure', this.tokenOf(job)));
        }
        job.reject(err);
      }
      q.shift();
    }
    this.queues.delete(key);
  }

  private tokenOf(job: Job): string | undefined {
    return job.payload === undefined ? undefined : requestClientToken(job.payload, this.limits);
  }

  private async run(job: Job): Promise<Outcome> {
    const shadowName = job.name === '' ? job.deviceId : job.name;
    for (let attempt = 0; attempt <= CAS_RETRIES; attempt++) {
      const stored = await this.store.get(job.deviceId, job.name);
      const now = this.nowSeconds();
      let outcome: Outcome | undefined;
      switch (job.op) {
        case 'get': {
          const g = buildGetAccepted(stored?.doc, { now, shadowName, ...token(this.tokenOf(job)) });
          outcome = g.ok ? { ok: true, op: 'get', doc: g.accepted } : g;
          break;
        }
        case 'update':
          outcome = await this.runUpdate(job, stored, now);
          break;
        case 'delete':
          outcome = await this.runDelete(job, stored, now, shadowName);
          break;
      }
      if (outcome === undefined) continue; // lost a compare-and-set: read again
      this.respond(job, outcome);
      return outcome;
    }
    const conflict = reject(409, ShadowMessages.VERSION_CONFLICT, this.tokenOf(job));
    this.respond(job, conflict);
    return conflict;
  }

  /** The outcome, or undefined when the store's compare-and-set failed (retry). */
  private async runUpdate(job: Job, stored: StoredTwin | undefined, now: number): Promise<Outcome | undefined> {
    const current = stored?.doc;
    const opts = job.opts;
    if (opts?.expectedVersion !== undefined && current?.version !== opts.expectedVersion) {
      return reject(412, `Precondition failed: the twin is at version ${current?.version ?? 'none'}, not ${opts.expectedVersion}`);
    }
    const request = opts?.mode === 'replace' ? replacementRequest(current, job.payload) : job.payload;
    const prefix = job.prefix;
    const r = applyUpdate(current, request, {
      now,
      writer: job.writer,
      limits: this.limits,
      ...(stored?.tombstone === undefined ? {} : { tombstone: stored.tombstone }),
      ...(opts?.vector === undefined ? {} : { vector: opts.vector }),
      ...(opts?.changedAt === undefined ? {} : { changedAt: opts.changedAt }),
      buildDelta: prefix !== undefined && this.broker.hasSubscribers(`${prefix}/update/delta`),
      buildDocuments: prefix !== undefined && this.broker.hasSubscribers(`${prefix}/update/documents`),
    });
    if (!r.ok) return r;
    const history: TwinHistoryEntry = {
      op: 'update',
      version: r.next.version,
      at: this.broker.now(),
      writer: job.writer,
      state: r.accepted.state,
      ...(r.lost.length === 0 ? {} : { lost: r.lost }),
    };
    const w = await this.store.put(job.deviceId, job.name, { expectedRevision: stored?.revision ?? 0, doc: r.next, history });
    if (!w.ok) return undefined;
    return { ok: true, op: 'update', result: r };
  }

  private async runDelete(job: Job, stored: StoredTwin | undefined, now: number, shadowName: string): Promise<Outcome | undefined> {
    const current = stored?.doc;
    const expected = job.opts?.expectedVersion;
    if (expected !== undefined && current !== undefined && current.version !== expected) {
      return reject(412, `Precondition failed: the twin is at version ${current.version}, not ${expected}`);
    }
    const d = deleteShadow(current, { now, shadowName, ...token(this.tokenOf(job)) });
    if (!d.ok) return d;
    const history: TwinHistoryEntry = { op: 'delete', version: d.accepted.version, at: this.broker.now(), writer: job.writer };
    const w = await this.store.delete(job.deviceId, job.name, { expectedRevision: stored!.revision, tombstone: d.tombstone, history });
    if (!w.ok) return undefined;
    return { ok: true, op: 'delete', doc: d.accepted };
  }

  // ---------------------------------------------------------------- responses and events

  private respond(job: Job, o: Outcome): void {
    const prefix = job.prefix;
    if (!o.ok) {
      this.rejected++;
      if (job.mqtt && prefix !== undefined) this.publishRejected(`${prefix}/${job.op}/rejected`, o);
      return;
    }
    switch (o.op) {
      case 'get':
        if (prefix !== undefined) this.publishJson(`${prefix}/get/accepted`, o.doc);
        return;
      case 'update': {
        const r = o.result;
        if (prefix !== undefined) {
          this.publishJson(`${prefix}/update/accepted`, r.accepted);
          if (r.documents !== undefined) this.publishJson(`${prefix}/update/documents`, r.documents);
          // "/update/delta: … published when it accepts a change … and the request state
          // document contains different values for desired and reported" (Device Shadow MQTT topics).
          if (r.delta !== undefined) this.publishJson(`${prefix}/update/delta`, r.delta);
        }
        this.emit(job, {
          op: 'update',
          deviceId: job.deviceId,
          name: job.name,
          version: r.next.version,
          timestamp: r.accepted.timestamp,
          writer: job.writer,
          changed: r.accepted.state,
          state: r.next.state,
        });
        return;
      }
      case 'delete':
        if (prefix !== undefined) this.publishJson(`${prefix}/delete/accepted`, o.doc);
        this.emit(job, { op: 'delete', deviceId: job.deviceId, name: job.name, version: o.doc.version, timestamp: o.doc.timestamp, writer: job.writer });
        return;
    }
  }

  private emit(job: Job, change: TwinChange): void {
    const set = this.listeners.get(job.deviceId);
    if (set === undefined) return;
    for (const l of set) {
      try {
        l(change);
      } catch (err) {
        this.log.warn({ err }, 'twin change listener failed');
      }
    }
  }

  private publishRejected(topic: string, r: ShadowRejection): void {
    this.publishJson(topic, errorDocument(r, this.nowSeconds()));
  }

  /** Publish at QoS 1 when someone subscribes; the document is serialised only then. */
  private publishJson(topic: string, doc: object): void {
    if (!this.broker.hasSubscribers(topic)) return;
    this.broker.publishInternal(topic, Buffer.from(JSON.stringify(doc)), 1, false, ORIGIN);
  }

  private prefixOf(deviceId: string, name: string): string | undefined {
    return isTopicLevel(deviceId) && (name === '' || isTopicLevel(name)) ? shadowTopicPrefix(deviceId, name) : undefined;
  }

  private nowSeconds(): number {
    return Math.floor(this.broker.now() / 1000);
  }
}

function token(t: string | undefined): { clientToken?: string } {
  return t === undefined ? {} : { clientToken: t };
}

/** The AWS code of a rejection as a TwinhubError for API callers. */
export function rejectionError(r: ShadowRejection): TwinhubError {
  const details = { awsCode: r.code };
  switch (r.code) {
    case 404:
      return new TwinhubError(Errors.TWIN_NOT_FOUND, r.message, details);
    case 409:
      return new TwinhubError(Errors.VERSION_CONFLICT, r.message, details);
    case 412:
      return new TwinhubError(Errors.PRECONDITION_FAILED, r.message, details);
    case 413:
      return new TwinhubError(Errors.PAYLOAD_TOO_LARGE, r.message, details);
    case 400:
    case 415:
      return new TwinhubError(Errors.TWIN_INVALID, r.message, details);
    default:
      return new TwinhubError(Errors.INTERNAL, r.message, details);
  }
}

/**
 * A replace (HTTP PUT) as an update request: each section sent replaces the stored one, so every
 * stored field the new section lacks is deleted with null, at every nesting level. One update,
 * one version. Anything that is not a well-formed request is passed on for the model to reject.
 */
export function replacementRequest(current: ShadowDocument | undefined, request: unknown): unknown {
  if (!isJsonObject(request as JsonValue)) return request;
  const req = request as JsonObject;
  const state = own(req, 'state');
  if (!isJsonObject(state)) return request;
  const out: JsonObject = {};
  for (const k in req) if (Object.prototype.hasOwnProperty.call(req, k)) setOwn(out, k, req[k]!);
  const nextState: JsonObject = {};
  for (const k in state) {
    if (!Object.prototype.hasOwnProperty.call(state, k)) continue;
    const section = state[k]!;
    const stored = k === 'desired' ? current?.state.desired : k === 'reported' ? current?.state.reported : undefined;
    setOwn(nextState, k, isJsonObject(section) && stored !== undefined ? replaceObject(stored, section) : section);
  }
  setOwn(out, 'state', nextState);
  return out;
}

function replaceObject(stored: JsonObject, next: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k in next) if (Object.prototype.hasOwnProperty.call(next, k)) setOwn(out, k, next[k]!);
  for (const k in stored) {
    if (!Object.prototype.hasOwnProperty.call(stored, k)) continue;
    const n = own(next, k);
    const s = stored[k]!;
    if (n === undefined) setOwn(out, k, null);
    else if (isJsonObject(n) && isJsonObject(s)) setOwn(out, k, replaceObject(s, n));
  }
  return out;
}
