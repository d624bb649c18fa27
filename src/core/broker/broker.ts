// The broker core: sessions, routing, retained messages, wills and the per-turn store commit.
// Protocol-neutral about the wire: MQTT connections (src/channel/mqtt) talk to it through
// `SessionLink` and the methods below; the composition root passes the channel's acceptor in.
import type { Logger } from 'pino';
import type { ProtocolVersion, QoS } from '../../codec/mqtt/packets.js';
import type { TwinhubConfig } from '../../config/types.js';
import type { BrokerStore, StoredSubscription, StoredWill } from '../../ports/broker-store.js';
import type { AcceptedConnection } from '../../transport/types.js';
import type { ClientInfo, DisconnectReason, DropCause, Hooks } from '../hooks.js';
import type { Message, OriginProtocol } from '../message.js';
import { RetainedIndex } from '../router/retained-index.js';
import { validateTopicFilter, validateTopicName } from '../router/topic.js';
import type { Session } from '../session/session.js';
import { Committer } from './committer.js';
import { Dispatcher } from './dispatcher.js';
import { SessionRegistry } from './sessions.js';
import { offlineClient, willMessage } from './wills.js';
import { PriorityClassifier } from './priorities.js';
import type { RouteEntry, RouteTarget, SubEntry } from './route-table.js';
import { RouteTable } from './route-table.js';
import { SysTopics } from './sys-topics.js';
import { fromStoredMessage, toStoredMessage } from './records.js';

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
  limitsHit: Record<LimitName, number>;
  uptimeSeconds: number;
}

export type LimitName =
  | 'maxConnections'
  | 'maxKeepAlive'
  | 'maxSessionExpiry'
  | 'maxPacketSize'
  | 'maxTopicLevels'
  | 'maxQueuedMessages'
  | 'maxInflight'
  | 'receiveMaximum'
  | 'topicAliasMaximum'
  /** A device published above its rate (registry limits): 0x97 or a read pause. */
  | 'deviceRate'
  /** A device kept exceeding its rate and was disconnected (0x96). */
  | 'deviceRateDisconnect';

/** Connections the core keeps for keep-alive sweeps, shutdown and counts. */
export interface Channel {
  /** Called every sweep with the coarse clock (ms). */
  tick(now: number): void;
  /** Server shutdown: disconnect (5.0: 0x8B) and close. */
  shutdown(): void;
  /** The authenticated client, once CONNECT was accepted. */
  readonly connectedClient: ClientInfo | undefined;
  /** When the connection was opened (epoch ms). */
  readonly openedAt: number;
  /** Disconnect by the server (5.0: DISCONNECT with `reasonCode` first; 3.1.1: closed). */
  disconnect(reasonCode: number, reason: DisconnectReason): void;
}

const SWEEP_MS = 250;

export class Broker {
  readonly config: TwinhubConfig;
  readonly hooks: Hooks;
  readonly log: Logger;
  readonly store: BrokerStore;
  readonly committer: Committer;
  readonly routes: RouteTable;
  readonly retained = new RetainedIndex<Message>();
  readonly sessions: SessionRegistry;
  readonly dispatcher: Dispatcher;
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
  /** Messages routed, by the protocol they came from and their QoS (src/obs/metrics.ts). */
  readonly publishedByOrigin: Record<OriginProtocol, [number, number, number]> = {
    mqtt: [0, 0, 0],
    coap: [0, 0, 0],
    lwm2m: [0, 0, 0],
    http: [0, 0, 0],
    rule: [0, 0, 0],
    sys: [0, 0, 0],
  };
  /** Copies the router handed to sessions (sent, queued or kept for an offline session), by granted QoS. */
  readonly deliveredByQos: [number, number, number] = [0, 0, 0];
  /** How often each configured limit was hit (docs/PROTOCOLS.md "Bounds and what is dropped"). */
  readonly limitsHit: Record<LimitName, number> = {
    maxConnections: 0,
    maxKeepAlive: 0,
    maxSessionExpiry: 0,
    maxPacketSize: 0,
    maxTopicLevels: 0,
    maxQueuedMessages: 0,
    maxInflight: 0,
    receiveMaximum: 0,
    topicAliasMaximum: 0,
    deviceRate: 0,
    deviceRateDisconnect: 0,
  };
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
    this.sessions = new SessionRegistry(this);
    this.dispatcher = new Dispatcher(this);
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
    for (const rec of await this.store.loadSessions()) await this.sessions.restore(rec, now);
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
      limitsHit: { ...this.limitsHit },
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
    this.sessions.stopTimers();
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

  private readonly eventInterests: Array<(topic: string) => boolean> = [];

  /**
   * Ask for `$events/...` presence messages even when no client subscribes to them: they are then
   * published (and reach the message.publish listeners, such as the rule engine) whenever
   * `wanted(topic)` says so. Returns a function that withdraws the interest.
   */
  wantEvents(wanted: (topic: string) => boolean): () => void {
    this.eventInterests.push(wanted);
    return () => {
      const i = this.eventInterests.indexOf(wanted);
      if (i >= 0) this.eventInterests.splice(i, 1);
    };
  }

  /** Whether a part of the hub asked for this `$events` topic (see wantEvents). */
  eventWanted(topic: string): boolean {
    const list = this.eventInterests;
    for (let i = 0; i < list.length; i++) if (list[i]!(topic)) return true;
    return false;
  }

  /** New priority classes (config reload): applies to messages routed from now on. */
  setPriorities(classes: TwinhubConfig['priorities']): void {
    this.routes.setPriorities(new PriorityClassifier(classes));
  }

  /** Connected clients matching `pred`. */
  clientsWhere(pred: (client: ClientInfo) => boolean): Channel[] {
    const out: Channel[] = [];
    for (const ch of this.channels) {
      const c = ch.connectedClient;
      if (c !== undefined && pred(c)) out.push(ch);
    }
    return out;
  }

  /** Disconnect every connected client matching `pred`; the number disconnected. */
  disconnectWhere(pred: (client: ClientInfo) => boolean, reasonCode: number, reason: DisconnectReason): number {
    const list = this.clientsWhere(pred);
    for (const ch of list) ch.disconnect(reasonCode, reason);
    return list.length;
  }

  /** Whether another connection may be admitted (config.limits.maxConnections). */
  canAdmit(): boolean {
    return this.connected < this.config.limits.maxConnections;
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
      this.deliveredByQos[qos]++;
      this.dispatcher.deliver(session, msg, qos, true, ids);
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
   * causes join this turn's commit (compare `committer.pendingOps` to know). `route`: the topic's
   * route from routeOf() at the current routesEpoch, when the caller kept it (else looked up).
   */
  publish(msg: Message, route?: RouteEntry): number {
    const entry = route ?? this.routes.lookup(msg.topic);
    msg.priority = entry.priority;
    this.publishedByOrigin[msg.origin.protocol][msg.qos]++;
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
      this.deliveredByQos[qos]++;
      this.dispatcher.deliver(e.session, msg, qos, e.sub.retainAsPublished ? msg.retain : false, ids);
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
      this.deliveredByQos[qos]++;
      this.dispatcher.deliver(session, msg, qos, sub.retainAsPublished ? msg.retain : false, ids);
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
    const granted = (msg.qos < qos ? msg.qos : qos) as QoS;
    this.deliveredByQos[granted]++;
    this.dispatcher.deliver(session, msg, granted, retain, ids);
    return true;
  }

  /** Publish a will as its client (authorised like any PUBLISH of that client). */
  publishWill(clientId: string, version: ProtocolVersion, deviceId: string | undefined, will: StoredWill): void {
    const client = offlineClient(clientId, version, deviceId);
    if (!this.hooks.get('client.authorize.publish')(client, will.topic)) return;
    this.publish(willMessage(client, will, this.now()));
  }

  /** A message from the hub itself ($SYS, $events, twins, rules); `hops`: rule hops it carries (rules.maxHops). */
  publishInternal(topic: string, payload: Buffer, qos: QoS, retain: boolean, origin: Message['origin'], hops = 0, route?: RouteEntry): number {
    const now = this.now();
    return this.publish(
      {
        topic,
        payload,
        qos,
        retain,
        origin,
        properties: undefined,
        receivedAt: now,
        expiresAt: 0,
        priority: 0,
        hops,
        frame: undefined,
      },
      route,
    );
  }

  /**
   * The route of a topic name: whom publish() delivers it to while routesEpoch stays the same. A
   * caller that publishes to one topic often may keep it for that long and pass it to publish()
   * or publishInternal() (held weakly: a route holds the sessions it names).
   */
  routeOf(topic: string): RouteEntry {
    return this.routes.lookup(topic);
  }

  /** Changes whenever the subscriptions do: what hasSubscribers() answered holds while this stays the same. */
  get routesEpoch(): number {
    return this.routes.epoch;
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
