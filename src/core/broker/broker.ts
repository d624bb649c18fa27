// The broker core: sessions, routing, retained messages, wills and the per-turn store commit.
// Protocol-neutral about the wire: MQTT connections (src/channel/mqtt) talk to it through
// `SessionLink` and the methods below; the composition root passes the channel's acceptor in.
import type { Logger } from 'pino';
import type { ProtocolVersion, QoS } from '../../codec/mqtt/packets.js';
import type { TwinhubConfig } from '../../config/types.js';
import type { BrokerStore, OutboundRecord, SessionRecord, StoredMessage, StoredSubscription, StoredWill } from '../../ports/broker-store.js';
import type { AcceptedConnection } from '../../transport/types.js';
import type { ClientInfo, DisconnectReason, DropCause, Hooks } from '../hooks.js';
import type { Message } from '../message.js';
import { RetainedIndex } from '../router/retained-index.js';
import { validateTopicFilter, validateTopicName } from '../router/topic.js';
import type { Delivery, SessionLink } from '../session/session.js';
import { Session } from '../session/session.js';
import { Committer } from './committer.js';
import { PriorityClassifier } from './priorities.js';
import type { RouteTarget, SubEntry } from './route-table.js';
import { RouteTable } from './route-table.js';
import { SysTopics } from './sys-topics.js';
import { fromStoredMessage, toOutboundRecord, toStoredMessage } from './records.js';

export interface BrokerDeps {
  config: TwinhubConfig;
  /** Persistence; the memory adapter when persistence is disabled. */
  store: BrokerStore;
  hooks: Hooks;
  log: Logger;
  /** Creates the protocol channel for an accepted connection (the MQTT channel). */
  channel?: (broker: Broker, conn: AcceptedConnection) => void;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  /** Hub version, for $SYS/broker/version. */
  version?: string;
}

export interface BrokerHealth {
  /** False after a store commit failed, until one succeeds again. */
  storeWritable: boolean;
  lastStoreError: string | undefined;
}

export interface BrokerStats {
  clientsConnected: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: Record<DropCause, number>;
  uptimeSeconds: number;
}

/** Connections the core keeps for keep-alive sweeps, shutdown and counts. */
export interface Channel {
  /** Called every sweep with the coarse clock (ms). */
  tick(now: number): void;
  /** Server shutdown: disconnect (5.0: 0x8B) and close. */
  shutdown(): void;
}

const NEVER_EXPIRES = 0xffffffff;
const SWEEP_MS = 250;
/** setTimeout's longest delay; longer session expiries re-arm. */
const MAX_TIMER_MS = 2_147_000_000;

export class Broker {
  readonly config: TwinhubConfig;
  readonly hooks: Hooks;
  readonly log: Logger;
  readonly store: BrokerStore;
  readonly committer: Committer;
  readonly routes: RouteTable;
  readonly retained = new RetainedIndex<Message>();
  readonly sessions = new Map<string, Session>();
  readonly channels = new Set<Channel>();
  /** Coarse clock, updated every sweep and on demand; good enough for keep-alive and expiry. */
  clock: number;
  readonly startedAt: number;
  private readonly nowFn: () => number;
  private readonly channelFactory: ((broker: Broker, conn: AcceptedConnection) => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly sys: SysTopics;

  // Counters read when stats or $SYS are asked for; plain numbers on the hot path.
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  connected = 0;
  readonly dropped: Record<DropCause, number> = {
    'queue-full': 0,
    expired: 0,
    'slow-consumer': 0,
    'too-large': 0,
    'no-subscribers': 0,
  };

  constructor(readonly deps: BrokerDeps) {
    this.config = deps.config;
    this.hooks = deps.hooks;
    this.log = deps.log;
    this.store = deps.store;
    this.nowFn = deps.now ?? Date.now;
    this.clock = this.nowFn();
    this.startedAt = this.clock;
    this.channelFactory = deps.channel;
    this.routes = new RouteTable(new PriorityClassifier(deps.config.priorities));
    this.committer = new Committer(deps.store, (writable, error) => {
      if (writable) this.log.info('store writable again');
      else this.log.error({ err: error }, 'store commit failed: acknowledgements withheld until it recovers');
    });
    this.sys = new SysTopics(this, deps.version ?? '0.0.0');
  }

  now(): number {
    return (this.clock = this.nowFn());
  }

  /** Load persisted sessions and retained messages; start timers. */
  async start(): Promise<void> {
    const now = this.now();
    for (const m of await this.store.loadRetained()) {
      if (m.expiresAt !== 0 && m.expiresAt <= now) {
        this.committer.add({ op: 'deleteRetained', topic: m.topic });
        continue;
      }
      this.retained.set(m.topic, fromStoredMessage(m, this.routes.lookup(m.topic).priority));
    }
    for (const rec of await this.store.loadSessions()) await this.restoreSession(rec, now);
    await this.committer.flush();
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    this.sys.start();
  }

  accept(conn: AcceptedConnection): void {
    if (this.stopping || this.channelFactory === undefined) {
      conn.stream.destroy();
      return;
    }
    this.channelFactory(this, conn);
  }

  health(): BrokerHealth {
    return { storeWritable: this.committer.storeWritable, lastStoreError: this.committer.lastError };
  }

  stats(): BrokerStats {
    return {
      clientsConnected: this.connected,
      sessions: this.sessions.size,
      subscriptions: this.routes.subscriptionCount,
      retained: this.retained.size,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      dropped: { ...this.dropped },
      uptimeSeconds: Math.floor((this.now() - this.startedAt) / 1000),
    };
  }

  /**
   * Graceful stop: disconnect clients (5.0: DISCONNECT 0x8B Server shutting down) — their wills
   * are published as for any connection the server closes [MQTT-3.1.2-8] — then flush the store.
   */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sys.stop();
    for (const ch of [...this.channels]) ch.shutdown();
    for (const s of this.sessions.values()) {
      if (s.willTimer !== undefined) clearTimeout(s.willTimer);
      if (s.expiryTimer !== undefined) clearTimeout(s.expiryTimer);
    }
    // The composition root closes the store after the listeners and HTTP are down.
    await this.committer.flush();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  // ---------------------------------------------------------------- connections and sessions

  registerChannel(ch: Channel): void {
    this.channels.add(ch);
  }

  unregisterChannel(ch: Channel): void {
    this.channels.delete(ch);
  }

  /** Whether another connection may be admitted (config.limits.maxConnections). */
  canAdmit(): boolean {
    return this.connected < this.config.limits.maxConnections;
  }

  /**
   * Attach a freshly accepted client to its session (MQTT 5.0 §3.1.2.4, §4.1): take over a
   * connected one [MQTT-3.1.4-3], discard it on Clean Start [MQTT-3.1.2-4], or resume it
   * [MQTT-3.1.2-5]. Returns the session and the Session Present flag [MQTT-3.2.2-2..3]. The
   * caller sends CONNACK, then calls `resume`.
   */
  openSession(
    clientId: string,
    version: ProtocolVersion,
    clean: boolean,
    expiryInterval: number,
    link: SessionLink,
    deviceId: string | undefined,
  ): { session: Session; present: boolean } {
    let session = this.sessions.get(clientId);
    if (session !== undefined && session.link !== null) {
      const old = session.link;
      // The old connection's will goes out unless the new one resumes the session and the will
      // has a delay (MQTT 5.0 §3.1.3.2.2); the channel reports it through `connectionClosed`.
      session.link = null;
      this.connected--;
      old.disconnect(0x8e, 'takeover');
    }
    if (session !== undefined) {
      if (session.willTimer !== undefined) {
        clearTimeout(session.willTimer);
        session.willTimer = undefined;
        const will = session.pendingWill;
        session.pendingWill = undefined;
        // Reconnected within the Will Delay Interval: the will is not sent [MQTT-3.1.3-9] —
        // unless Clean Start ends the old session, which makes it due now (§3.1.3.2.2).
        if (will !== undefined && clean) this.publishWill(clientId, session.version, will);
      }
      if (session.expiryTimer !== undefined) {
        clearTimeout(session.expiryTimer);
        session.expiryTimer = undefined;
      }
    }
    let present = false;
    if (session !== undefined && !clean) {
      present = true;
      session.version = version;
      session.expiryInterval = expiryInterval;
      session.disconnectedAt = 0;
    } else {
      if (session !== undefined) this.discardSession(session);
      session = new Session(clientId, version, expiryInterval);
      this.sessions.set(clientId, session);
    }
    session.deviceId = deviceId;
    session.link = link;
    this.connected++;
    if (session.persistent) this.persistSession(session);
    return { session, present };
  }

  /**
   * After CONNACK: resend unacknowledged deliveries with their packet ids (DUP set) and PUBRELs
   * [MQTT-4.4.0-1], then send what was queued while offline.
   */
  resume(session: Session): void {
    const link = session.link;
    if (link === null) return;
    if (session.inflight !== null) {
      const list = [...session.inflight.values()].sort((a, b) => a.seq - b.seq);
      for (const d of list) {
        if (d.state === 'await-pubcomp') link.sendPubrel(d.packetId);
        else if (!this.expired(d.message)) link.sendPublish(d, true);
        else this.completeDelivery(session, d, 'expired');
      }
    }
    this.pump(session);
  }

  /**
   * A connection ended. `will` is the will to publish (undefined after a normal DISCONNECT
   * [MQTT-3.1.2-10]); `expiryInterval` the session expiry now in force (a 5.0 DISCONNECT may
   * change it).
   */
  connectionClosed(session: Session, link: SessionLink, will: StoredWill | undefined, reason: DisconnectReason): void {
    if (session.link !== link) {
      // Taken over: the session now belongs to the new connection; only the will remains ours.
      if (will !== undefined) {
        const resumed = this.sessions.get(session.clientId) === session;
        if (!(resumed && will.delayInterval > 0)) this.publishWill(session.clientId, session.version, will);
      }
      return;
    }
    session.link = null;
    this.connected--;
    const now = this.now();
    if (session.expiryInterval === 0) {
      // The session ends with the connection; a will with a delay is due now (§3.1.3.2.2).
      this.endSession(session, will);
      return;
    }
    session.disconnectedAt = now;
    if (will !== undefined) {
      if (will.delayInterval === 0) this.publishWill(session.clientId, session.version, will);
      else this.scheduleWill(session, will);
    }
    this.persistSession(session);
    this.scheduleExpiry(session, session.expiryInterval * 1000);
    void reason;
  }

  private scheduleWill(session: Session, will: StoredWill): void {
    const delay = Math.min(will.delayInterval, session.expiryInterval);
    session.pendingWill = will;
    session.willTimer = setTimeout(() => {
      session.willTimer = undefined;
      const w = session.pendingWill;
      session.pendingWill = undefined;
      if (w !== undefined) {
        this.publishWill(session.clientId, session.version, w);
        if (this.sessions.get(session.clientId) === session && session.persistent)
          this.persistSession(session);
      }
    }, delay * 1000);
    session.willTimer.unref();
  }

  private scheduleExpiry(session: Session, ms: number): void {
    if (session.expiryInterval === NEVER_EXPIRES) return;
    const wait = Math.min(ms, MAX_TIMER_MS);
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = undefined;
      if (session.link !== null || this.sessions.get(session.clientId) !== session) return;
      const left = session.disconnectedAt + session.expiryInterval * 1000 - this.now();
      if (left > 0) this.scheduleExpiry(session, left);
      else this.endSession(session, undefined);
    }, wait);
    session.expiryTimer.unref();
  }

  /** The session is over: publish a pending will (§3.1.3.2.2), drop its state. */
  private endSession(session: Session, will: StoredWill | undefined): void {
    if (session.willTimer !== undefined) clearTimeout(session.willTimer);
    const w = will ?? session.pendingWill;
    session.pendingWill = undefined;
    if (w !== undefined) this.publishWill(session.clientId, session.version, w);
    if (this.sessions.get(session.clientId) === session) this.discardSession(session);
  }

  private discardSession(session: Session): void {
    if (session.subscriptions !== null) for (const f of session.subscriptions.keys()) this.routes.remove(session, f);
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    this.sessions.delete(session.clientId);
    // A session that never reached the store (clean sessions) costs no write when it ends.
    if (session.stored) this.committer.add({ op: 'deleteSession', clientId: session.clientId });
  }

  private persistSession(session: Session): void {
    session.stored = true;
    this.committer.add({ op: 'putSession', session: this.sessionRecord(session) });
  }

  sessionRecord(session: Session): SessionRecord {
    const rec: SessionRecord = {
      clientId: session.clientId,
      protocolVersion: session.version,
      expiryInterval: session.expiryInterval,
      disconnectedAt: session.disconnectedAt,
      subscriptions: session.subscriptions === null ? [] : [...session.subscriptions.values()],
    };
    if (session.pendingWill !== undefined) rec.pendingWill = session.pendingWill;
    if (session.deviceId !== undefined) rec.deviceId = session.deviceId;
    return rec;
  }

  private async restoreSession(rec: SessionRecord, now: number): Promise<void> {
    const session = new Session(rec.clientId, rec.protocolVersion, rec.expiryInterval);
    session.stored = true;
    // A session connected when the process stopped counts as disconnected at restart.
    session.disconnectedAt = rec.disconnectedAt === 0 ? now : rec.disconnectedAt;
    session.deviceId = rec.deviceId;
    if (
      session.expiryInterval !== NEVER_EXPIRES &&
      session.disconnectedAt + session.expiryInterval * 1000 <= now
    ) {
      if (rec.pendingWill !== undefined) this.publishWill(rec.clientId, rec.protocolVersion, rec.pendingWill);
      this.committer.add({ op: 'deleteSession', clientId: rec.clientId });
      return;
    }
    this.sessions.set(rec.clientId, session);
    for (const sub of rec.subscriptions) {
      (session.subscriptions ??= new Map()).set(sub.filter, sub);
      this.routes.add(session, sub);
    }
    const records = await this.store.loadOutbound(rec.clientId);
    for (const r of records) {
      const d: Delivery = {
        seq: r.seq,
        message: fromStoredMessage(r.message, r.message.priority),
        qos: r.qos,
        retain: r.message.retain,
        subscriptionIds: r.subscriptionIds,
        packetId: r.packetId,
        state: r.state,
        persisted: true,
      };
      if (r.seq >= session.nextSeq) session.nextSeq = r.seq + 1;
      if (r.packetId !== 0 && r.state !== 'queued') session.ensureInflight().set(r.packetId, d);
      else session.ensureQueue().push(d, d.message.priority, Number.MAX_SAFE_INTEGER);
    }
    const q2 = await this.store.loadInboundQos2(rec.clientId);
    if (q2.length > 0) session.inboundQos2 = new Set(q2);
    if (rec.pendingWill !== undefined) {
      const dueIn = session.disconnectedAt + rec.pendingWill.delayInterval * 1000 - now;
      if (dueIn <= 0) this.publishWill(rec.clientId, rec.protocolVersion, rec.pendingWill);
      else this.scheduleWill(session, { ...rec.pendingWill, delayInterval: Math.ceil(dueIn / 1000) });
    }
    this.scheduleExpiry(session, session.disconnectedAt + session.expiryInterval * 1000 - now);
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * Add or replace subscriptions [MQTT-3.8.4-3]. Returns, per subscription, whether one with the
   * same filter existed (for Retain Handling 1). Authorisation and validation are the caller's.
   */
  subscribe(session: Session, sub: StoredSubscription): boolean {
    const subs = (session.subscriptions ??= new Map());
    const existed = subs.has(sub.filter);
    subs.set(sub.filter, sub);
    this.routes.add(session, sub);
    return existed;
  }

  unsubscribe(session: Session, filter: string): boolean {
    const subs = session.subscriptions;
    if (subs === null || !subs.delete(filter)) return false;
    this.routes.remove(session, filter);
    return true;
  }

  /** Persist the session's subscriptions after a SUBSCRIBE/UNSUBSCRIBE. */
  saveSession(session: Session): void {
    if (session.persistent) this.persistSession(session);
  }

  /** Retained messages matching a new subscription, sent with RETAIN set [MQTT-3.3.1-9]. */
  deliverRetained(session: Session, sub: StoredSubscription): void {
    const ids = sub.subscriptionId === undefined ? undefined : [sub.subscriptionId];
    const now = this.now();
    if (sub.filter.startsWith('$SYS')) this.sys.publishStats(true);
    this.retained.match(sub.filter, (topic, msg) => {
      if (msg.expiresAt !== 0 && msg.expiresAt <= now) {
        this.retained.delete(topic);
        this.committer.add({ op: 'deleteRetained', topic });
        return;
      }
      const qos = (msg.qos < sub.qos ? msg.qos : sub.qos) as QoS;
      this.deliver(session, msg, qos, true, ids);
    });
  }

  validateFilter(filter: string): string | null {
    return validateTopicFilter(filter, this.config.limits.maxTopicLevels);
  }

  validateTopic(topic: string): string | null {
    return validateTopicName(topic, this.config.limits.maxTopicLevels);
  }

  // ---------------------------------------------------------------- the message path

  /**
   * Route an accepted message: retained store, hook listeners, subscribers. Store writes it
   * causes join this turn's commit (compare `committer.pendingOps` to know).
   */
  publish(msg: Message): number {
    const entry = this.routes.lookup(msg.topic);
    msg.priority = entry.priority;
    if (msg.retain) this.storeRetained(msg);
    const listeners = this.hooks.listenersOf('message.publish');
    for (let i = 0; i < listeners.length; i++) listeners[i]!(msg);
    const targets = entry.targets;
    let n = 0;
    for (let i = 0; i < targets.length; i++) if (this.deliverTo(targets[i]!, msg)) n++;
    const groups = entry.groups;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      const at = g.pickIndex(isConnected);
      if (at < 0) continue;
      const e = g.valueAt(at);
      // No Local is not allowed on shared subscriptions [MQTT-3.8.3-4], so no check here.
      const qos = (msg.qos < e.sub.qos ? msg.qos : e.sub.qos) as QoS;
      const ids = e.sub.subscriptionId === undefined ? undefined : [e.sub.subscriptionId];
      this.deliver(e.session, msg, qos, e.sub.retainAsPublished ? msg.retain : false, ids);
      n++;
    }
    if (n === 0) this.dropped['no-subscribers']++;
    return n;
  }

  /**
   * [MQTT-3.3.1-5] store (replacing any), [MQTT-3.3.1-6]/[MQTT-3.3.1-7] an empty payload removes
   * the retained message and is not itself stored.
   */
  private storeRetained(msg: Message): void {
    const persist = this.config.persistence.enabled && !msg.topic.startsWith('$SYS/');
    if (msg.payload.length === 0) {
      if (this.retained.delete(msg.topic) && persist) this.committer.add({ op: 'deleteRetained', topic: msg.topic });
      return;
    }
    // Keep our own copy: the payload may be a view of a socket buffer that gets reused.
    const copy: Message = { ...msg, payload: Buffer.from(msg.payload), frame: undefined };
    this.retained.set(msg.topic, copy);
    if (persist) this.committer.add({ op: 'putRetained', message: toStoredMessage(copy) });
  }

  /** One session's copy: overlapping subscriptions give one message at the highest QoS with
   * every subscription identifier (MQTT 5.0 §3.3.4; 3.1.1 §3.3.5). */
  private deliverTo(t: RouteTarget, msg: Message): boolean {
    const session = t.session;
    const local = msg.origin.clientId === session.clientId;
    const sub = t.sub;
    if (t.more === null) {
      if (sub.noLocal && local) return false; // [MQTT-3.8.3-3]
      const qos = (msg.qos < sub.qos ? msg.qos : sub.qos) as QoS;
      const ids = sub.subscriptionId === undefined ? undefined : [sub.subscriptionId];
      this.deliver(session, msg, qos, sub.retainAsPublished ? msg.retain : false, ids);
      return true;
    }
    let qos = -1;
    let retain = false;
    let ids: number[] | undefined;
    for (let i = -1; i < t.more.length; i++) {
      const s = i < 0 ? sub : t.more[i]!;
      if (s.noLocal && local) continue;
      if (s.qos > qos) qos = s.qos;
      if (s.retainAsPublished && msg.retain) retain = true;
      if (s.subscriptionId !== undefined) (ids ??= []).push(s.subscriptionId);
    }
    if (qos < 0) return false;
    this.deliver(session, msg, (msg.qos < qos ? msg.qos : qos) as QoS, retain, ids);
    return true;
  }

  private expired(msg: Message): boolean {
    return msg.expiresAt !== 0 && msg.expiresAt <= this.clock;
  }

  /** Hand a message to a session: now, queued, or persisted for an offline session. */
  deliver(session: Session, msg: Message, qos: QoS, retain: boolean, ids: number[] | undefined): void {
    if (msg.expiresAt !== 0 && msg.expiresAt <= this.now()) {
      this.drop(msg, session, 'expired');
      return;
    }
    const link = session.link;
    if (qos === 0) {
      if (link === null) return; // QoS 0 is not queued for offline sessions (§4.1 allows either)
      if (session.queue === null || session.queue.length === 0) {
        if (link.sendQos0(msg, retain, ids)) return;
      }
      this.enqueue(session, this.delivery(session, msg, 0, retain, ids));
      return;
    }
    const d = this.delivery(session, msg, qos, retain, ids);
    if (session.persistent) {
      d.persisted = true;
      this.committer.add({ op: 'putOutbound', clientId: session.clientId, record: toOutboundRecord(d) });
    }
    if (link !== null && (session.queue === null || session.queue.length === 0) && this.windowOpen(session, link)) {
      this.sendInflight(session, link, d);
    } else {
      this.enqueue(session, d);
    }
  }

  private delivery(session: Session, msg: Message, qos: QoS, retain: boolean, ids: number[] | undefined): Delivery {
    return { seq: session.nextSeq++, message: msg, qos, retain, subscriptionIds: ids, packetId: 0, state: 'queued', persisted: false };
  }

  private windowOpen(session: Session, link: SessionLink): boolean {
    return session.inflightCount < link.inflightLimit && !link.congested;
  }

  private sendInflight(session: Session, link: SessionLink, d: Delivery): void {
    d.packetId = session.allocatePacketId();
    d.state = d.qos === 1 ? 'await-puback' : 'await-pubrec';
    session.ensureInflight().set(d.packetId, d);
    if (d.persisted) this.committer.add({ op: 'putOutbound', clientId: session.clientId, record: toOutboundRecord(d) });
    if (!link.sendPublish(d, false)) {
      // Larger than the client's Maximum Packet Size: discarded as if sent [MQTT-3.1.2-25].
      this.completeDelivery(session, d, 'too-large');
    }
  }

  private enqueue(session: Session, d: Delivery): void {
    // A message needing the payload after this turn must not hold a view of a socket buffer.
    if (d.message.frame !== undefined) d.message = detach(d.message);
    const dropped = session
      .ensureQueue()
      .push(d, d.message.priority, this.config.limits.maxQueuedMessages, isQos0);
    if (dropped !== undefined) {
      this.drop(dropped.message, session, 'queue-full');
      if (dropped.persisted) this.committer.add({ op: 'deleteOutbound', clientId: session.clientId, seq: dropped.seq });
    }
  }

  /** Send queued deliveries while the link can take them (after acks, drain, reconnect). */
  pump(session: Session): void {
    const link = session.link;
    const q = session.queue;
    if (link === null || q === null) return;
    let d: Delivery | undefined;
    while ((d = q.peek()) !== undefined) {
      if (this.expired(d.message)) {
        q.shift();
        this.completeDelivery(session, d, 'expired');
        continue;
      }
      if (d.qos === 0) {
        if (link.congested) return;
        q.shift();
        link.sendQos0(d.message, d.retain, d.subscriptionIds);
        continue;
      }
      if (!this.windowOpen(session, link)) return;
      q.shift();
      this.sendInflight(session, link, d);
    }
  }

  /** PUBACK, or PUBCOMP, or a PUBREC with an error reason: the delivery is over. */
  acknowledge(session: Session, packetId: number, expect: Delivery['state']): Delivery | undefined {
    const d = session.inflight?.get(packetId);
    if (d === undefined || d.state !== expect) return undefined;
    session.inflight!.delete(packetId);
    if (d.persisted) this.committer.add({ op: 'deleteOutbound', clientId: session.clientId, seq: d.seq });
    if (session.queue !== null && session.queue.length > 0) this.pump(session);
    return d;
  }

  /** PUBREC: the QoS 2 delivery now waits for PUBCOMP (the caller sends PUBREL). */
  received(session: Session, packetId: number): boolean {
    const d = session.inflight?.get(packetId);
    if (d === undefined || d.state !== 'await-pubrec') return d?.state === 'await-pubcomp';
    d.state = 'await-pubcomp';
    if (d.persisted) this.committer.add({ op: 'putOutbound', clientId: session.clientId, record: toOutboundRecord(d) });
    return true;
  }

  private completeDelivery(session: Session, d: Delivery, cause: DropCause): void {
    if (d.packetId !== 0) session.inflight?.delete(d.packetId);
    if (d.persisted) this.committer.add({ op: 'deleteOutbound', clientId: session.clientId, seq: d.seq });
    this.drop(d.message, session, cause);
  }

  drop(msg: Message, session: Session, cause: DropCause): void {
    this.dropped[cause]++;
    const ls = this.hooks.listenersOf('message.dropped');
    for (let i = 0; i < ls.length; i++) ls[i]!(msg, session.clientId, cause);
  }

  /** Publish a will (or any hub-originated message) as if its client had sent it. */
  publishWill(clientId: string, version: ProtocolVersion, will: StoredWill): void {
    const client = { clientId, username: undefined, deviceId: undefined, protocol: 'mqtt', version } as ClientInfo;
    if (!this.hooks.get('client.authorize.publish')(client, will.topic)) return;
    const now = this.now();
    const p = will.properties;
    const props =
      p === undefined
        ? undefined
        : pickMessageProperties(p);
    this.publish({
      topic: will.topic,
      payload: will.payload,
      qos: will.qos,
      retain: will.retain,
      origin: { protocol: 'mqtt', clientId, version },
      properties: props,
      receivedAt: now,
      expiresAt: p?.messageExpiryInterval !== undefined ? now + p.messageExpiryInterval * 1000 : 0,
      priority: 0,
      hops: 0,
      frame: undefined,
    });
  }

  /** A message from the hub itself ($SYS, $events, the HTTP API). */
  publishInternal(topic: string, payload: Buffer, qos: QoS, retain: boolean, origin: Message['origin']): number {
    const now = this.now();
    return this.publish({
      topic,
      payload,
      qos,
      retain,
      origin,
      properties: undefined,
      receivedAt: now,
      expiresAt: 0,
      priority: 0,
      hops: 0,
      frame: undefined,
    });
  }

  /** Whether any subscription matches the topic (to skip building event payloads nobody reads). */
  hasSubscribers(topic: string): boolean {
    const e = this.routes.lookup(topic);
    return e.targets.length > 0 || e.groups.length > 0;
  }

  private sweep(): void {
    const now = this.now();
    for (const ch of this.channels) ch.tick(now);
  }
}

const isConnected = (e: SubEntry): boolean => e.session.link !== null;
const isQos0 = (d: Delivery): boolean => d.qos === 0;

function pickMessageProperties(p: NonNullable<StoredWill['properties']>): Message['properties'] {
  const out: NonNullable<Message['properties']> = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = p.correlationData;
  if (p.userProperties !== undefined) out.userProperties = p.userProperties;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** A copy of a message that owns its payload (not a view of a socket read buffer). */
function detach(m: Message): Message {
  return { ...m, payload: Buffer.from(m.payload), frame: undefined };
}

export type { StoredMessage, OutboundRecord };
