// The twin service: the AWS IoT Device Shadow protocol over the broker's MQTT, durable through
// the twin-store port, and the operations the HTTP API and the rule engine call.
//
// - Listens on the `message.publish` event point for the shadow request topics (twin-topics.ts);
//   response topics (…/accepted, …/rejected, …/delta, …/documents) are not requests, so the
//   service's own publications pass by.
// - Requests of one twin run one at a time in arrival order (a queue per twin): each reads the
//   twin, applies the pure model (shadow-document.ts) and waits for the durable, compare-and-set
//   store write before the next one reads. Different twins run concurrently.
// - A QoS 1/2 request's PUBACK waits for its store write (committer.hold): an acknowledged update
//   is durable. A request the model rejects (400, 409…) is answered on /rejected and acknowledged
//   normally; a store failure answers 500 on /rejected and fails the ack (MQTT 5: 0x80).
// - Responses are published at QoS 1 (a subscriber's own subscription QoS caps it), and only when
//   someone subscribes to the topic: the delta and documents messages are not even built otherwise.
//
// The hot path (docs/TWINS.md "Performance"): each twin's stored record (document and store
// revision) stays in a bounded LRU cache of twin slots, so an update neither reads nor parses
// the stored record; the cached record is the one this service last read or wrote and is only
// replaced once a write is durable. It cannot make a write wrong: every write is still a
// compare-and-set on the cached revision, and a lost one (another writer, a deleted device)
// drops the cached record and reads the store again. A request whose twin is idle and cached
// runs to its store write inside the `message.publish` call (the payload is parsed there, once,
// so no copy of the socket buffer is kept); otherwise it waits in the twin's queue. Response
// topics are built once per slot, and which of them have subscribers, and the delta topic's route,
// are kept in the slot until the broker's subscriptions change (Broker.routesEpoch), so an update
// asks the route table nothing.
import type { Logger } from 'pino';
import { getOrMake } from '../../common/bounded-map.js';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { StoredTwin, TwinHistoryEntry, TwinStore, TwinWriteResult } from '../../ports/twin-store.js';
import type { Broker } from '../broker/broker.js';
import type { RouteEntry } from '../broker/route-table.js';
import type { Message, MessageOrigin } from '../message.js';
import { deleteShadow, type DeleteAcceptedDocument, type ShadowTombstone } from './delete-shadow.js';
import { DeltaJson } from './delta-json.js';
import { buildGetAccepted, type GetAcceptedDocument } from './get-accepted.js';
import { isJsonObject, own, setOwn, type JsonObject, type JsonValue } from './json-value.js';
import { validateShadowName, validateThingName, type ShadowLimits } from './limits.js';
import { errorDocument, reject, ShadowMessages, type ShadowRejection } from './shadow-error.js';
import { applyUpdate, type ShadowDocument, type UpdateAccepted, type UpdateAcceptedDocument } from './shadow-document.js';
import { isTopicLevel, parseShadowRequestTopic, SHADOW_TOPIC_START, shadowTopicPrefix, type ShadowOp, type ShadowRequestTopic } from './twin-topics.js';
import { requestClientToken } from './update-request.js';

export interface TwinServiceDeps {
  broker: Broker;
  store: TwinStore;
  limits: ShadowLimits;
  log: Logger;
  /** The writer id recorded for an MQTT request (history, version vector); default writerOfMessage. */
  writerOf?: (msg: Message) => string;
  /**
   * Devices whose twins stay cached (document, revision, topics; LRU, default 50,000). About
   * 2 KB of heap per cached twin of five fields (docs/TWINS.md "Performance"); 0 caches nothing
   * beyond the twins with requests in flight.
   */
  cacheDevices?: number;
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

/** Marks a slot whose stored record is not cached. */
const UNKNOWN = Symbol('unknown');

/** The topics an accepted update publishes to, built once per slot. */
interface UpdateTopics {
  readonly accepted: string;
  readonly delta: string;
  readonly documents: string;
}

// Which update topics have subscribers (UpdateTopics.subscribed, a bit set).
const ACCEPTED = 1;
const DELTA = 2;
const DOCUMENTS = 4;

/** The cached twins of one device (the LRU's unit, so that deleting a device finds them all). */
interface DeviceSlots {
  readonly id: string;
  classic: TwinSlot | undefined;
  named: Map<string, TwinSlot> | undefined;
  /** Slots of the device with requests queued (such a device is never evicted). */
  busy: number;
  /** The service's access clock when the device last moved to the LRU's young end. */
  touched: number;
}

/** One twin: its request queue and, when cached, its stored record. */
interface TwinSlot {
  readonly device: DeviceSlots;
  readonly deviceId: string;
  readonly name: string;
  /** The ShadowTopicPrefix; undefined when the names cannot be topic levels (API-only twins). */
  readonly prefix: string | undefined;
  topics: UpdateTopics | undefined;
  /** Which of `topics` have subscribers (ACCEPTED | DELTA | DOCUMENTS), as the broker's routes were at routesEpoch. */
  subscribed: number;
  /** The broker's routesEpoch when `subscribed` was read; -1: never. */
  routesEpoch: number;
  /** What the store held after this service's last read or durable write of the twin. */
  stored: StoredTwin | undefined | typeof UNKNOWN;
  /** Bumped when the cached record is dropped, so that a read issued before does not refill it. */
  gen: number;
  /** Whether the names passed the MQTT name rules (checked on the first MQTT request). */
  mqttValid: boolean;
  /** Requests in arrival order; the first one is running. */
  readonly jobs: Job[];
  /** Completion handlers of the running job's store write, made once per slot. */
  written: ((w: TwinWriteResult) => void) | undefined;
  /** The JSON of the twin's repeating /update/delta head, once it published one (delta-json.ts). */
  deltaJson: DeltaJson | undefined;
  /**
   * The broker's route of the /update/delta topic at routesEpoch (dropped with `subscribed`). Held
   * weakly: a route names sessions, and a slot kept after the subscriptions changed must not keep those.
   */
  deltaRoute: WeakRef<RouteEntry> | undefined;
  writeFailed: ((err: unknown) => void) | undefined;
}

interface Job {
  readonly op: ShadowOp;
  readonly slot: TwinSlot;
  /** The request: the parsed JSON of an MQTT payload (its bytes when not JSON), or an API body. */
  readonly payload: unknown;
  readonly writer: string;
  readonly opts: TwinUpdateOptions | undefined;
  /** Publish /rejected too (MQTT requests; API callers get the error instead). */
  readonly mqtt: boolean;
  /** The MQTT client whose in-flight count this request holds ('' none). */
  readonly client: string;
  /** Compare-and-set writes lost so far. */
  attempts: number;
  /** While its write is in flight: the outcome to report and the record once durable. */
  pending: Outcome | undefined;
  next: ShadowDocument | undefined;
  tombstone: ShadowTombstone | undefined;
  resolve: ((o: Outcome) => void) | undefined;
  reject: ((err: unknown) => void) | undefined;
}

type Outcome =
  | { readonly ok: true; readonly op: 'update'; readonly result: UpdateAccepted }
  | { readonly ok: true; readonly op: 'get'; readonly doc: GetAcceptedDocument }
  | { readonly ok: true; readonly op: 'delete'; readonly doc: DeleteAcceptedDocument }
  | ShadowRejection;

const ORIGIN: MessageOrigin = { protocol: 'sys', clientId: '' };
/** Store compare-and-set conflicts (another node wrote the twin) retried before answering 409. */
const CAS_RETRIES = 5;
const DEFAULT_CACHE_DEVICES = 50_000;
/** Idle devices looked at per eviction (busy ones are skipped; the cache may briefly exceed its bound by those). */
const EVICT_SCAN = 16;
const noop = (): void => undefined;
// Payloads must be UTF-8 (415, update-request.ts); decoded here once so the request is parsed once.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Default writer id of an MQTT request: 'device:<id>' for a registered device, else '<protocol>:<clientId>'. */
/**
 * Twinhub's multi-writer extension over MQTT 5 (docs/TWINS.md): an update may carry the writer's
 * version vector in the user property `twinhub-vector` (a JSON object) and, for a change made
 * earlier and synced now, `twinhub-changed-at` (epoch seconds). Plain AWS clients send neither and
 * get the AWS behaviour. The writer id is always the authenticated one (writerOfMessage): a
 * device cannot write in another writer's name. Malformed values are passed on for applyUpdate
 * to refuse with 400.
 */
function multiWriterOptions(msg: Message): Job['opts'] {
  const ups = msg.properties?.userProperties;
  if (ups === undefined) return undefined;
  let vector: unknown;
  let changedAt: number | undefined;
  for (const [k, v] of ups) {
    if (k === 'twinhub-vector') {
      try {
        vector = JSON.parse(v) as unknown;
      } catch {
        vector = v; // not JSON: applyUpdate answers 400
      }
    } else if (k === 'twinhub-changed-at') {
      const n = Number(v);
      if (Number.isFinite(n)) changedAt = n;
    }
  }
  if (vector === undefined && changedAt === undefined) return undefined;
  return { writer: '', ...(vector === undefined ? {} : { vector }), ...(changedAt === undefined ? {} : { changedAt }) };
}

export function writerOfMessage(msg: Message): string {
  const o = msg.origin;
  let w = writers.get(o);
  if (w === undefined) {
    w = o.deviceId !== undefined ? `device:${o.deviceId}` : `${o.protocol}:${o.clientId}`;
    writers.set(o, w);
  }
  return w;
}

/**
 * Writer ids by origin: a connection's messages share one origin object (handle-publish.ts), so
 * its writer id is one string, not a new one per request (it keys version vectors and metadata).
 */
const writers = new WeakMap<MessageOrigin, string>();

export class TwinService {
  private readonly broker: Broker;
  private readonly store: TwinStore;
  private readonly limits: ShadowLimits;
  private readonly log: Logger;
  private readonly writerOf: (msg: Message) => string;
  /** Cached twins by device, oldest first (LRU; see touch()). */
  private readonly devices = new Map<string, DeviceSlots>();
  /** Request topics parsed (requestTopic), at most cacheDevices. */
  private readonly parsedTopics = new Map<string, ShadowRequestTopic | null>();
  private readonly cacheDevices: number;
  /** Counts slot accesses; a device moves to the young end when it is this far behind (cheap LRU). */
  private clock = 0;
  private readonly touchEvery: number;
  /** Twins with requests queued, and who waits for that to reach 0 (stop). */
  private busyTwins = 0;
  private idleWaiters: Array<() => void> = [];
  /** MQTT requests in flight per client id (limits.maxInFlightPerConnection → 429). */
  private readonly inFlight = new Map<string, number>();
  private readonly listeners = new Map<string, Set<TwinChangeListener>>();
  private off: (() => void) | undefined;

  // Counters, read when metrics are scraped.
  requests = 0;
  rejected = 0;
  tooManyRequests = 0;
  storeFailures = 0;
  /** Store reads of a twin record (cache misses). */
  storeReads = 0;

  constructor(deps: TwinServiceDeps) {
    this.broker = deps.broker;
    this.store = deps.store;
    this.limits = deps.limits;
    this.log = deps.log;
    this.writerOf = deps.writerOf ?? writerOfMessage;
    this.cacheDevices = Math.max(0, deps.cacheDevices ?? DEFAULT_CACHE_DEVICES);
    this.touchEvery = Math.max(1, this.cacheDevices >> 2);
  }

  /** Devices whose twins are cached now. */
  get cachedDevices(): number {
    return this.devices.size;
  }

  start(): void {
    if (this.off === undefined) this.off = this.broker.hooks.on('message.publish', this.onPublish);
  }

  /** Stop taking MQTT requests and wait for those queued to finish. */
  async stop(): Promise<void> {
    this.off?.();
    this.off = undefined;
    while (this.busyTwins > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  // ---------------------------------------------------------------- MQTT

  private readonly onPublish = (msg: Message): void => {
    // The service's own responses are never requests (and need no topic parsing to know it).
    if (msg.origin === ORIGIN) return;
    const topic = msg.topic;
    if (!topic.startsWith(SHADOW_TOPIC_START)) return;
    const t = this.requestTopic(topic);
    if (t === null) return;
    this.requests++;
    let slot = this.findSlot(t.thing, t.shadow);
    if (slot === undefined || !slot.mqttValid) {
      const invalid = validateThingName(t.thing, this.limits) ?? (t.shadow === '' ? null : validateShadowName(t.shadow, this.limits));
      if (invalid !== null) {
        this.publishRejected(`${topic}/rejected`, reject(400, invalid, requestClientToken(msg.payload, this.limits)));
        return;
      }
      slot ??= this.addSlot(t.thing, t.shadow, t.prefix);
      slot.mqttValid = true;
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
    const job: Job = {
      op: t.op,
      slot,
      // Parsed now: the payload may be a view of a socket buffer that is reused after this turn.
      payload: decodeRequest(msg.payload),
      writer: this.writerOf(msg),
      opts: t.op === 'update' ? multiWriterOptions(msg) : undefined,
      mqtt: true,
      client,
      attempts: 0,
      pending: undefined,
      next: undefined,
      tombstone: undefined,
      resolve: undefined,
      reject: undefined,
    };
    if (msg.qos > 0) {
      // The PUBACK of a QoS 1/2 request waits for the durable write (its failure fails the ack).
      const done = new Promise<Outcome>((res, rej) => {
        job.resolve = res;
        job.reject = rej;
      });
      done.catch(noop);
      this.broker.committer.hold(done);
    }
    this.submit(job);
  };

  /**
   * The request a topic names (parseShadowRequestTopic), remembered per topic: a device sends its
   * requests on the same few topics, and the remembered names are the strings the slot cache is
   * keyed by, so finding the slot hashes no new string.
   */
  private requestTopic(topic: string): ShadowRequestTopic | null {
    return getOrMake(this.parsedTopics, this.cacheDevices, topic, parseShadowRequestTopic);
  }

  private release(client: string): void {
    const n = (this.inFlight.get(client) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(client);
    else this.inFlight.set(client, n);
  }

  // ---------------------------------------------------------------- operations (HTTP API, rules)

  /** The twin as /get/accepted shows it (state with delta, metadata, version), or undefined. */
  async get(deviceId: string, name: string): Promise<GetAcceptedDocument | undefined> {
    const slot = this.findSlot(deviceId, name);
    let stored: StoredTwin | undefined;
    if (slot !== undefined && slot.stored !== UNKNOWN) {
      stored = slot.stored;
    } else {
      this.storeReads++;
      stored = await this.store.get(deviceId, name);
    }
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
    const o = await this.enqueue('update', deviceId, name, doc, opts.writer, opts);
    if (!o.ok) throw rejectionError(o);
    if (o.op !== 'update') throw new TwinhubError(Errors.INTERNAL, 'unexpected outcome');
    const g = buildGetAccepted(o.result.next, { now: o.result.accepted.timestamp, shadowName: name });
    if (!g.ok) throw rejectionError(g);
    return { accepted: o.result.accepted, twin: g.accepted };
  }

  /** Delete a twin (its version continues if it is recreated within the window). Throws TWIN_NOT_FOUND, PRECONDITION_FAILED. */
  async delete(deviceId: string, name: string, expectedVersion?: number, writer = 'api'): Promise<DeleteAcceptedDocument> {
    const opts: TwinUpdateOptions = expectedVersion === undefined ? { writer } : { writer, expectedVersion };
    const o = await this.enqueue('delete', deviceId, name, undefined, writer, opts);
    if (!o.ok) throw rejectionError(o);
    if (o.op !== 'delete') throw new TwinhubError(Errors.INTERNAL, 'unexpected outcome');
    return o.doc;
  }

  /** The twin's last changes, newest first. */
  history(deviceId: string, name: string, limit?: number): Promise<TwinHistoryEntry[]> {
    return this.store.history(deviceId, name, limit);
  }

  /** Remove every twin of a deleted device (and drop what the cache held of them). */
  async deleteDevice(deviceId: string): Promise<void> {
    try {
      await this.store.deleteDevice(deviceId);
    } finally {
      // After the deletion: a write that raced it and committed first has refilled its slot by now.
      const d = this.devices.get(deviceId);
      if (d !== undefined) {
        if (d.classic !== undefined) forget(d.classic);
        if (d.named !== undefined) for (const s of d.named.values()) forget(s);
        if (d.busy === 0) this.devices.delete(deviceId);
      }
    }
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

  // ---------------------------------------------------------------- the slot cache

  private findSlot(deviceId: string, name: string): TwinSlot | undefined {
    const d = this.devices.get(deviceId);
    if (d === undefined) return undefined;
    const slot = name === '' ? d.classic : d.named?.get(name);
    if (slot !== undefined) this.touch(d);
    return slot;
  }

  /** Moves the device to the LRU's young end, unless it moved there recently (saves a delete+set per request). */
  private touch(d: DeviceSlots): void {
    const now = ++this.clock;
    if (now - d.touched < this.touchEvery) return;
    d.touched = now;
    this.devices.delete(d.id);
    this.devices.set(d.id, d);
  }

  /** The twin's slot, created (not cached yet) when missing. `prefix`: its topic prefix when known. */
  private slotFor(deviceId: string, name: string, prefix?: string): TwinSlot {
    return this.findSlot(deviceId, name) ?? this.addSlot(deviceId, name, prefix);
  }

  private addSlot(deviceId: string, name: string, prefix = this.prefixOf(deviceId, name)): TwinSlot {
    let d = this.devices.get(deviceId);
    if (d === undefined) {
      d = { id: deviceId, classic: undefined, named: undefined, busy: 0, touched: ++this.clock };
      this.devices.set(deviceId, d);
      if (this.devices.size > this.cacheDevices) this.evict();
    }
    const slot: TwinSlot = {
      device: d,
      deviceId,
      name,
      prefix,
      topics: undefined,
      subscribed: 0,
      routesEpoch: -1,
      stored: UNKNOWN,
      gen: 0,
      mqttValid: false,
      jobs: [],
      written: undefined,
      writeFailed: undefined,
      deltaJson: undefined,
      deltaRoute: undefined,
    };
    if (name === '') d.classic = slot;
    else (d.named ??= new Map()).set(name, slot);
    return slot;
  }

  /** Drops the oldest idle devices until the cache is within its bound (looks at EVICT_SCAN at most). */
  private evict(): void {
    let scanned = 0;
    for (const d of this.devices.values()) {
      if (this.devices.size <= this.cacheDevices || scanned++ >= EVICT_SCAN) return;
      if (d.busy === 0) this.devices.delete(d.id);
    }
  }

  // ---------------------------------------------------------------- the per-twin queue

  private enqueue(op: ShadowOp, deviceId: string, name: string, payload: unknown, writer: string, opts: TwinUpdateOptions | undefined): Promise<Outcome> {
    return new Promise<Outcome>((resolve, rejectJob) => {
      const job: Job = {
        op,
        slot: this.slotFor(deviceId, name),
        payload,
        writer,
        opts,
        mqtt: false,
        client: '',
        attempts: 0,
        pending: undefined,
        next: undefined,
        tombstone: undefined,
        resolve,
        reject: rejectJob,
      };
      this.submit(job);
    });
  }

  private submit(job: Job): void {
    const slot = job.slot;
    slot.jobs.push(job);
    if (slot.jobs.length > 1) return; // runs when those before it have
    slot.device.busy++;
    this.busyTwins++;
    this.run(slot);
  }

  /** Runs the slot's jobs in order until one waits for the store (a read or a write) or none is left. */
  private run(slot: TwinSlot): void {
    const jobs = slot.jobs;
    while (jobs.length > 0) {
      const stored = slot.stored;
      if (stored === UNKNOWN) {
        this.load(slot);
        return;
      }
      const job = jobs[0]!;
      try {
        if (this.step(slot, job, stored)) return;
      } catch (err) {
        this.fail(job, err);
      }
      jobs.shift();
    }
    slot.device.busy--;
    if (--this.busyTwins === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Reads the twin's record into the slot, then runs its jobs (a failed read fails the first job). */
  private load(slot: TwinSlot): void {
    const gen = slot.gen;
    this.storeReads++;
    let read: Promise<StoredTwin | undefined>;
    try {
      read = this.store.get(slot.deviceId, slot.name);
    } catch (err) {
      read = Promise.reject(err);
    }
    read.then(
      (stored) => {
        if (slot.gen === gen) slot.stored = stored;
        else slot.stored = UNKNOWN;
        if (slot.stored === UNKNOWN) this.load(slot);
        else this.run(slot);
      },
      (err: unknown) => {
        this.fail(slot.jobs.shift()!, err);
        this.run(slot);
      },
    );
  }

  /**
   * Runs `job` on the cached record: answers it at once (true: done), or starts its store write
   * (false: the slot waits for written/writeFailed).
   */
  private step(slot: TwinSlot, job: Job, stored: StoredTwin | undefined): boolean {
    const now = this.nowSeconds();
    let outcome: Outcome;
    switch (job.op) {
      case 'get': {
        const g = buildGetAccepted(stored?.doc, { now, shadowName: shadowNameOf(slot), ...token(this.tokenOf(job)) });
        outcome = g.ok ? { ok: true, op: 'get', doc: g.accepted } : g;
        break;
      }
      case 'update': {
        const o = this.startUpdate(slot, job, stored, now);
        if (o === undefined) return true;
        outcome = o;
        break;
      }
      case 'delete': {
        const o = this.startDelete(slot, job, stored, now);
        if (o === undefined) return true;
        outcome = o;
        break;
      }
    }
    this.complete(job, outcome);
    return false;
  }

  /** A rejection to answer now, or undefined once the write is started. */
  private startUpdate(slot: TwinSlot, job: Job, stored: StoredTwin | undefined, now: number): Outcome | undefined {
    const current = stored?.doc;
    const opts = job.opts;
    if (opts?.expectedVersion !== undefined && current?.version !== opts.expectedVersion) {
      return reject(412, `Precondition failed: the twin is at version ${current?.version ?? 'none'}, not ${opts.expectedVersion}`);
    }
    const request = opts?.mode === 'replace' ? replacementRequest(current, job.payload) : job.payload;
    const subscribed = this.subscribed(slot);
    const r = applyUpdate(current, request, {
      now,
      writer: job.writer,
      limits: this.limits,
      // Absent options are passed as undefined (applyUpdate reads them so) rather than spread in.
      tombstone: stored?.tombstone,
      vector: opts?.vector,
      changedAt: opts?.changedAt,
      // The /update/delta bytes are made from the new document when it is answered (respond, DeltaJson).
      buildDelta: false,
      buildDocuments: (subscribed & DOCUMENTS) !== 0,
      // API callers get the accepted document; MQTT requests only when /accepted has subscribers.
      buildAcceptedMetadata: !job.mqtt || (subscribed & ACCEPTED) !== 0,
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
    job.pending = { ok: true, op: 'update', result: r };
    job.next = r.next;
    this.write(slot, this.store.put(slot.deviceId, slot.name, { expectedRevision: stored?.revision ?? 0, doc: r.next, history }));
    return undefined;
  }

  private startDelete(slot: TwinSlot, job: Job, stored: StoredTwin | undefined, now: number): Outcome | undefined {
    const current = stored?.doc;
    const expected = job.opts?.expectedVersion;
    if (expected !== undefined && current !== undefined && current.version !== expected) {
      return reject(412, `Precondition failed: the twin is at version ${current.version}, not ${expected}`);
    }
    const d = deleteShadow(current, { now, shadowName: shadowNameOf(slot), ...token(this.tokenOf(job)) });
    if (!d.ok) return d;
    const history: TwinHistoryEntry = { op: 'delete', version: d.accepted.version, at: this.broker.now(), writer: job.writer };
    job.pending = { ok: true, op: 'delete', doc: d.accepted };
    job.tombstone = d.tombstone;
    this.write(slot, this.store.delete(slot.deviceId, slot.name, { expectedRevision: stored!.revision, tombstone: d.tombstone, history }));
    return undefined;
  }

  private write(slot: TwinSlot, w: Promise<TwinWriteResult>): void {
    slot.written ??= (result) => this.written(slot, result);
    slot.writeFailed ??= (err) => this.writeFailed(slot, err);
    w.then(slot.written, slot.writeFailed);
  }

  private written(slot: TwinSlot, w: TwinWriteResult): void {
    const job = slot.jobs[0]!;
    const outcome = job.pending!;
    job.pending = undefined;
    if (!w.ok) {
      // Lost a compare-and-set: the cached record is not the stored one. Read again and retry.
      forget(slot);
      if (++job.attempts > CAS_RETRIES) {
        this.complete(job, reject(409, ShadowMessages.VERSION_CONFLICT, this.tokenOf(job)));
        slot.jobs.shift();
      }
      this.run(slot);
      return;
    }
    slot.stored = job.op === 'delete' ? { revision: w.revision, tombstone: job.tombstone! } : { revision: w.revision, doc: job.next! };
    this.complete(job, outcome);
    slot.jobs.shift();
    this.run(slot);
  }

  private writeFailed(slot: TwinSlot, err: unknown): void {
    const job = slot.jobs.shift()!;
    job.pending = undefined;
    // What the store holds after a failed write is for the store to say: read it again.
    forget(slot);
    this.fail(job, err);
    this.run(slot);
  }

  /** Answers the job (MQTT responses, events), then settles it. */
  private complete(job: Job, o: Outcome): void {
    try {
      this.respond(job, o);
    } catch (err) {
      this.log.error({ err, deviceId: job.slot.deviceId, shadow: job.slot.name, op: job.op }, 'twin response failed');
    }
    if (job.client !== '') this.release(job.client);
    job.resolve?.(o);
  }

  /** A store failure (or a bug): 500 on /rejected for MQTT, the error for the caller, a failed PUBACK. */
  private fail(job: Job, err: unknown): void {
    this.storeFailures++;
    this.log.error({ err, deviceId: job.slot.deviceId, shadow: job.slot.name, op: job.op }, 'twin request failed');
    if (job.mqtt && job.slot.prefix !== undefined) {
      try {
        this.publishRejected(`${job.slot.prefix}/${job.op}/rejected`, reject(500, 'Internal service failure', this.tokenOf(job)));
      } catch (e) {
        this.log.error({ err: e }, 'twin response failed');
      }
    }
    if (job.client !== '') this.release(job.client);
    job.reject?.(err);
  }

  private tokenOf(job: Job): string | undefined {
    return job.payload === undefined ? undefined : requestClientToken(job.payload, this.limits);
  }

  // ---------------------------------------------------------------- responses and events

  private respond(job: Job, o: Outcome): void {
    const slot = job.slot;
    const prefix = slot.prefix;
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
        const subscribed = this.subscribed(slot);
        if (subscribed !== 0) {
          const topics = slot.topics!;
          if ((subscribed & ACCEPTED) !== 0) this.publishNow(topics.accepted, r.accepted);
          if (r.documents !== undefined && (subscribed & DOCUMENTS) !== 0) this.publishNow(topics.documents, r.documents);
          // "/update/delta: … published when it accepts a change … and the request state
          // document contains different values for desired and reported" (Device Shadow MQTT topics).
          if ((subscribed & DELTA) !== 0) {
            const delta = (slot.deltaJson ??= new DeltaJson()).encode(r.next, r.accepted.timestamp, r.accepted.clientToken);
            if (delta !== undefined) this.broker.publishInternal(topics.delta, delta, 1, false, ORIGIN, 0, this.deltaRoute(slot, topics.delta));
          }
        }
        if (this.listeners.has(slot.deviceId)) {
          this.emit(slot.deviceId, {
            op: 'update',
            deviceId: slot.deviceId,
            name: slot.name,
            version: r.next.version,
            timestamp: r.accepted.timestamp,
            writer: job.writer,
            changed: r.accepted.state,
            state: r.next.state,
          });
        }
        return;
      }
      case 'delete':
        if (prefix !== undefined) this.publishJson(`${prefix}/delete/accepted`, o.doc);
        if (this.listeners.has(slot.deviceId)) {
          this.emit(slot.deviceId, { op: 'delete', deviceId: slot.deviceId, name: slot.name, version: o.doc.version, timestamp: o.doc.timestamp, writer: job.writer });
        }
        return;
    }
  }

  private emit(deviceId: string, change: TwinChange): void {
    const set = this.listeners.get(deviceId);
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
    if (this.broker.hasSubscribers(topic)) this.publishNow(topic, doc);
  }

  private publishNow(topic: string, doc: object): void {
    this.broker.publishInternal(topic, Buffer.from(JSON.stringify(doc)), 1, false, ORIGIN);
  }

  /**
   * Which of the slot's update topics have subscribers (0 when it has no topics). Route lookups
   * are asked again only after the broker's subscriptions changed (routesEpoch), not per update.
   */
  private subscribed(slot: TwinSlot): number {
    const epoch = this.broker.routesEpoch;
    if (slot.routesEpoch === epoch) return slot.subscribed;
    const topics = this.updateTopics(slot);
    let bits = 0;
    if (topics !== undefined) {
      if (this.broker.hasSubscribers(topics.accepted)) bits |= ACCEPTED;
      if (this.broker.hasSubscribers(topics.delta)) bits |= DELTA;
      if (this.broker.hasSubscribers(topics.documents)) bits |= DOCUMENTS;
    }
    slot.subscribed = bits;
    slot.routesEpoch = epoch;
    slot.deltaRoute = undefined;
    return bits;
  }

  /**
   * The route of the slot's /update/delta topic, looked up once per subscription change: call
   * after subscribed(slot), which drops the route kept at an older routesEpoch.
   */
  private deltaRoute(slot: TwinSlot, topic: string): RouteEntry {
    let route = slot.deltaRoute?.deref();
    if (route === undefined) {
      route = this.broker.routeOf(topic);
      slot.deltaRoute = new WeakRef(route);
    }
    return route;
  }

  private updateTopics(slot: TwinSlot): UpdateTopics | undefined {
    const prefix = slot.prefix;
    if (prefix === undefined) return undefined;
    return (slot.topics ??= { accepted: `${prefix}/update/accepted`, delta: `${prefix}/update/delta`, documents: `${prefix}/update/documents` });
  }

  private prefixOf(deviceId: string, name: string): string | undefined {
    return isTopicLevel(deviceId) && (name === '' || isTopicLevel(name)) ? shadowTopicPrefix(deviceId, name) : undefined;
  }

  private nowSeconds(): number {
    return Math.floor(this.broker.now() / 1000);
  }
}

/** Drops the slot's cached record (the next job reads the store). */
function forget(slot: TwinSlot): void {
  slot.stored = UNKNOWN;
  slot.gen++;
}

/** For 404 messages: the shadow name, or the thing name for a classic shadow. */
function shadowNameOf(slot: TwinSlot): string {
  return slot.name === '' ? slot.deviceId : slot.name;
}

/**
 * An MQTT request payload as the model takes it: its parsed JSON, or (not UTF-8, not JSON, or a
 * bare JSON string the model would parse a second time) a copy of its bytes, which the model
 * rejects with the right code (415, 400).
 */
function decodeRequest(payload: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return Buffer.from(payload);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return Buffer.from(payload);
  }
  return typeof v === 'string' ? Buffer.from(payload) : v;
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
