// The hub's Prometheus metrics (prom-client). The message path keeps plain counters (numbers on
// the broker, registry, twin and telemetry objects); the collectors here read them when Prometheus
// scrapes, so a metric costs nothing per message (DESIGN.md "Every feature costs nothing when
// unused"). Names follow the Prometheus conventions: a `twinhub_` prefix, base units in the name
// (`_bytes`, `_seconds`), `_total` on counters, and only labels with a small fixed set of values
// (QoS, cause, listener…) — never a device or client id. The process and Node.js metrics of
// prom-client (CPU, heap, GC, event-loop lag) keep their standard names (`process_*`, `nodejs_*`)
// so that existing Node.js dashboards read them.
import { collectDefaultMetrics, Histogram, Registry as PromRegistry } from 'prom-client';
import type { Broker } from '../core/broker/broker.js';
import type { ClientInfo, DisconnectReason } from '../core/hooks.js';
import type { Registry } from '../core/registry/registry.js';
import type { TelemetryCounters, TelemetryStats } from '../core/telemetry/service.js';

/** The API authentication counters (src/api/auth.ts `createApiAuth(...).counters`). */
export interface ApiAuthCountersLike {
  unauthenticated: number;
  forbidden: number;
  rateLimited: number;
}

/** What the metrics read of the twin service (src/core/twin/service.ts). */
export interface TwinCountersLike {
  requests: number;
  rejected: number;
  tooManyRequests: number;
  storeFailures: number;
}

/** What the metrics read of the telemetry service (src/core/telemetry/service.ts). */
export interface TelemetryLike {
  counters(): TelemetryCounters;
  stats(): Promise<TelemetryStats>;
}

/**
 * Where the numbers come from. Each getter is called at scrape time; a missing getter, or one that
 * returns undefined (telemetry disabled, not started yet), leaves that part out of the output.
 */
export interface MetricsSources {
  broker?: () => Broker | undefined;
  registry?: () => Pick<Registry, 'stats'> | undefined;
  apiAuth?: () => ApiAuthCountersLike | undefined;
  twins?: () => TwinCountersLike | undefined;
  telemetry?: () => TelemetryLike | undefined;
}

export interface MetricsOptions {
  /** prom-client's process and Node.js metrics (CPU, memory, heap spaces, GC, event-loop lag). Default true. */
  defaultMetrics?: boolean;
  /**
   * Sum the queue depth and in-flight window of every session at each scrape. One pass over the
   * sessions (about 1 ms per 50,000); turn off for very large fleets. Default true.
   */
  scanSessions?: boolean;
  /**
   * Telemetry storage statistics (series, stored points, bytes per point) walk every series, so
   * they are recomputed at most this often (ms). Default 30,000.
   */
  telemetryStatsMaxAgeMs?: number;
  /** Hub version, for twinhub_build_info. */
  version?: string;
  /** Buckets of the HTTP request histogram, in seconds. */
  httpBuckets?: number[];
}

export interface Sample {
  labels?: Readonly<Record<string, string | number>>;
  value: number;
}

/** A metric whose samples are read when Prometheus scrapes (the rule engine adds per-rule ones). */
export interface Collector {
  /** `twinhub_…`, with `_total` for counters. */
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  read(): readonly Sample[] | Promise<readonly Sample[]>;
}

export interface HubMetrics {
  /** The prom-client registry: tests and plugins may register their own prom-client metrics in it. */
  readonly registry: PromRegistry;
  /** 'text/plain; version=0.0.4; charset=utf-8' */
  readonly contentType: string;
  /** The exposition text (Prometheus text format 0.0.4). */
  metrics(): Promise<string>;
  /** Add a scrape-time collector; returns a function that removes it. Throws when the name is taken. */
  addCollector(c: Collector): () => void;
  /** One HTTP request served (src/api/plugins/metrics.ts calls this from an onResponse hook). */
  observeHttp(method: string, route: string, statusCode: number, seconds: number): void;
  /** Remove the broker hook listeners this registry installed. */
  close(): void;
}

const DEFAULT_HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QOS_LABELS = ['0', '1', '2'] as const;

/** Adapts a Collector to what prom-client's Registry reads of a metric. */
class ScrapeMetric {
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  constructor(private readonly c: Collector) {
    this.name = c.name;
    this.help = c.help;
    this.type = c.type;
  }

  async get(): Promise<{ name: string; help: string; type: 'counter' | 'gauge'; aggregator: 'sum'; values: Array<{ labels: Record<string, string | number>; value: number }> }> {
    const samples = await this.c.read();
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: 'sum',
      values: samples.map((s) => ({ labels: { ...s.labels }, value: s.value })),
    };
  }

  reset(): void {}
}

/** Samples of one counter object, one label value per key. */
function byKey<K extends string>(label: string, record: Readonly<Record<K, number>>): Sample[] {
  const out: Sample[] = [];
  for (const k of Object.keys(record) as K[]) out.push({ labels: { [label]: k }, value: record[k] });
  return out;
}

/** Counts connections by listener and protocol version from the broker's connect/disconnect events. */
class ConnectionCounts {
  /** 'listener\u0000version' → [connects, disconnects] */
  readonly byListener = new Map<string, [number, number]>();
  readonly disconnects = new Map<DisconnectReason, number>();
  private readonly offs: Array<() => void>;

  constructor(broker: Broker) {
    // Connections open before the metrics existed count as connected once.
    for (const ch of broker.channels) {
      const c = ch.connectedClient;
      if (c !== undefined) this.entry(c)[0]++;
    }
    this.offs = [
      broker.hooks.on('client.connected', (c) => void this.entry(c)[0]++),
      broker.hooks.on('client.disconnected', (c, reason) => {
        this.entry(c)[1]++;
        this.disconnects.set(reason, (this.disconnects.get(reason) ?? 0) + 1);
      }),
    ];
  }

  private entry(c: ClientInfo): [number, number] {
    const key = `${c.listener}\u0000${c.version}`;
    let e = this.byListener.get(key);
    if (e === undefined) this.byListener.set(key, (e = [0, 0]));
    return e;
  }

  samples(which: 'open' | 'connects'): Sample[] {
    const out: Sample[] = [];
    for (const [key, [up, down]] of this.byListener) {
      const [listener, version] = key.split('\u0000') as [string, string];
      out.push({ labels: { listener, version: versionLabel(version) }, value: which === 'open' ? up - down : up });
    }
    return out;
  }

  close(): void {
    for (const off of this.offs) off();
  }
}

/**
 * `f` computed once per event-loop turn and argument: prom-client starts every metric's read in
 * the same turn, so metrics that share an expensive pass share it within one scrape.
 */
export function perTurn<A, R>(f: (a: A) => R): (a: A) => R {
  let memo: { arg: A; value: R } | undefined;
  return (a) => {
    if (memo !== undefined && memo.arg === a) return memo.value;
    const value = f(a);
    memo = { arg: a, value };
    setImmediate(() => (memo = undefined));
    return value;
  };
}

/** MQTT protocol level → the version operators know ('3.1', '3.1.1', '5.0'). */
function versionLabel(level: string): string {
  return level === '5' ? '5.0' : level === '4' ? '3.1.1' : level === '3' ? '3.1' : level;
}

/** Build the hub's metrics registry. */
export function createMetrics(sources: MetricsSources, opts: MetricsOptions = {}): HubMetrics {
  const registry = new PromRegistry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const scanSessions = opts.scanSessions ?? true;
  const statsMaxAge = opts.telemetryStatsMaxAgeMs ?? 30_000;

  const add = (c: Collector): (() => void) => {
    if (registry.getSingleMetric(c.name) !== undefined) throw new Error(`metric ${c.name} is already registered`);
    registry.registerMetric(new ScrapeMetric(c) as unknown as Parameters<PromRegistry['registerMetric']>[0]);
    return () => registry.removeSingleMetric(c.name);
  };
  const counter = (name: string, help: string, read: () => readonly Sample[]): void => void add({ name, help, type: 'counter', read });
  const gauge = (name: string, help: string, read: () => readonly Sample[] | Promise<readonly Sample[]>): void => void add({ name, help, type: 'gauge', read });
  /** Samples of a source, or none when the source is absent. */
  const from = <T>(get: (() => T | undefined) | undefined, f: (s: T) => readonly Sample[]): (() => readonly Sample[]) => () => {
    const s = get?.();
    return s === undefined ? [] : f(s);
  };
  const one = (value: number): Sample[] => [{ value }];

  gauge('twinhub_build_info', 'Always 1; the hub version is the label.', () => [{ labels: { version: opts.version ?? 'unknown' }, value: 1 }]);

  // ---------------------------------------------------------------- broker
  let connections: ConnectionCounts | undefined;
  let connectionsOf: Broker | undefined;
  const conns = (b: Broker): ConnectionCounts => {
    if (connectionsOf !== b) {
      connections?.close();
      connections = new ConnectionCounts(b);
      connectionsOf = b;
    }
    return connections!;
  };
  const broker = sources.broker;
  // Install the hook listeners now when the broker is there, so connections made before the first
  // scrape are counted as they happen.
  const b0 = broker?.();
  if (b0 !== undefined) conns(b0);
  if (broker !== undefined) {
    gauge('twinhub_mqtt_connections', 'MQTT clients connected (CONNECT accepted), by listener and protocol version.', from(broker, (b) => conns(b).samples('open')));
    counter('twinhub_mqtt_connects_total', 'MQTT connections accepted (CONNACK success), by listener and protocol version.', from(broker, (b) => conns(b).samples('connects')));
    counter('twinhub_mqtt_disconnects_total', 'MQTT connections of connected clients that ended, by reason (client, keepalive, takeover, kicked, slow-consumer…).', from(broker, (b) => {
      const out: Sample[] = [];
      for (const [reason, n] of conns(b).disconnects) out.push({ labels: { reason }, value: n });
      return out;
    }));
    gauge('twinhub_mqtt_sockets', 'Open MQTT connections, including those that have not completed CONNECT.', from(broker, (b) => one(b.channels.size)));
    counter('twinhub_messages_received_total', 'PUBLISH packets accepted from MQTT clients and messages published through the HTTP API.', from(broker, (b) => one(b.messagesIn)));
    counter('twinhub_messages_published_total', 'Messages routed by the broker, by origin (mqtt, http, sys, rule…) and QoS; includes wills and the hub\'s own $SYS and $events messages.', from(broker, (b) => {
      const out: Sample[] = [];
      for (const origin of Object.keys(b.publishedByOrigin) as Array<keyof Broker['publishedByOrigin']>) {
        const q = b.publishedByOrigin[origin];
        for (let i = 0; i < 3; i++) out.push({ labels: { origin, qos: QOS_LABELS[i]! }, value: q[i]! });
      }
      return out;
    }));
    counter('twinhub_messages_delivered_total', 'Message copies the router handed to subscriber sessions (sent, queued or kept for an offline session), by granted QoS.', from(broker, (b) =>
      b.deliveredByQos.map((v, i) => ({ labels: { qos: QOS_LABELS[i]! }, value: v })),
    ));
    counter('twinhub_messages_sent_total', 'PUBLISH packets written to MQTT clients (retransmissions included).', from(broker, (b) => one(b.messagesOut)));
    counter('twinhub_mqtt_received_bytes_total', 'Bytes read from MQTT connections.', from(broker, (b) => one(b.bytesIn)));
    counter('twinhub_mqtt_sent_bytes_total', 'Bytes written to MQTT connections.', from(broker, (b) => one(b.bytesOut)));
    counter('twinhub_messages_dropped_total', 'Messages not delivered, by cause (queue-full, expired, slow-consumer, too-large, no-subscribers).', from(broker, (b) => byKey('cause', b.dropped)));
    counter('twinhub_limits_hit_total', 'Times a configured limit was reached, by limit (docs/PROTOCOLS.md "Bounds and what is dropped").', from(broker, (b) => byKey('limit', b.limitsHit)));
    gauge('twinhub_retained_messages', 'Retained messages held.', from(broker, (b) => one(b.retained.size)));
    gauge('twinhub_subscriptions', 'Subscriptions of all sessions (shared ones included).', from(broker, (b) => one(b.routes.subscriptionCount)));
    gauge('twinhub_sessions', 'MQTT sessions held (connected and persistent offline ones).', from(broker, (b) => one(b.sessions.size)));
    if (scanSessions) {
      // Both gauges of one scrape share one pass over the sessions.
      const scan = perTurn((b: Broker) => {
        let queued = 0;
        let inflight = 0;
        for (const s of b.sessions.values()) {
          if (s.queue !== null) queued += s.queue.length;
          inflight += s.inflightCount;
        }
        return { queued, inflight };
      });
      gauge('twinhub_session_queued_messages', 'Messages waiting in session queues (connected clients behind their window, offline persistent sessions).', from(broker, (b) => one(scan(b).queued)));
      gauge('twinhub_session_inflight_messages', 'QoS 1 and 2 deliveries sent and not yet acknowledged.', from(broker, (b) => one(scan(b).inflight)));
    }
    counter('twinhub_store_commits_total', 'Store commits (one per event-loop turn that wrote).', from(broker, (b) => one(b.committer.commits)));
    counter('twinhub_store_committed_ops_total', 'Writes committed to the broker store (sessions, retained, outbound queues).', from(broker, (b) => one(b.committer.opsCommitted)));
    counter('twinhub_store_commit_failures_total', 'Commits that failed: their acknowledgements were withheld.', from(broker, (b) => one(b.committer.failures)));
    gauge('twinhub_store_writable', '1 while the broker store accepts writes, 0 after a failed commit until one succeeds.', from(broker, (b) => one(b.committer.storeWritable ? 1 : 0)));
    gauge('twinhub_store_pending_ops', 'Writes waiting for the next commit.', from(broker, (b) => one(b.committer.pendingOps)));
  }

  // ---------------------------------------------------------------- device registry
  if (sources.registry !== undefined) {
    const read = perTurn((r: Pick<Registry, 'stats'>) => r.stats());
    const stats = (): Record<string, number> | undefined => {
      const r = sources.registry!();
      return r === undefined ? undefined : read(r);
    };
    counter('twinhub_device_auth_total', 'Device authentications (MQTT CONNECT), by result.', from(stats, (s) => [
      { labels: { result: 'ok' }, value: s.authOk ?? 0 },
      { labels: { result: 'anonymous' }, value: s.authAnonymous ?? 0 },
      { labels: { result: 'bad_credentials' }, value: s.authBadCredentials ?? 0 },
      { labels: { result: 'not_authorized' }, value: s.authNotAuthorized ?? 0 },
      { labels: { result: 'bad_client_id' }, value: s.authBadClientId ?? 0 },
    ]));
    counter('twinhub_acl_denied_total', 'Publishes and subscriptions refused by the ACL, by action.', from(stats, (s) => [
      { labels: { action: 'publish' }, value: s.aclDeniedPublish ?? 0 },
      { labels: { action: 'subscribe' }, value: s.aclDeniedSubscribe ?? 0 },
    ]));
    gauge('twinhub_devices_online', 'Registered devices with at least one live connection.', from(stats, (s) => one(s.devicesOnline ?? 0)));
    counter('twinhub_credentials_revoked_total', 'Device credentials revoked.', from(stats, (s) => one(s.credentialsRevoked ?? 0)));
    counter('twinhub_devices_deleted_total', 'Devices deleted from the registry.', from(stats, (s) => one(s.devicesDeleted ?? 0)));
  }

  // ---------------------------------------------------------------- HTTP API
  if (sources.apiAuth !== undefined) {
    counter('twinhub_http_auth_failures_total', 'HTTP API requests refused by authentication, by reason (unauthenticated 401, forbidden 403, rate_limited 429).', from(sources.apiAuth, (c) => [
      { labels: { reason: 'unauthenticated' }, value: c.unauthenticated },
      { labels: { reason: 'forbidden' }, value: c.forbidden },
      { labels: { reason: 'rate_limited' }, value: c.rateLimited },
    ]));
  }
  const http = new Histogram({
    name: 'twinhub_http_request_duration_seconds',
    help: 'HTTP API requests by method, route pattern and status code, with their duration.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: opts.httpBuckets ?? DEFAULT_HTTP_BUCKETS,
    registers: [registry],
  });

  // ---------------------------------------------------------------- twins
  if (sources.twins !== undefined) {
    const twins = sources.twins;
    counter('twinhub_twin_requests_total', 'Device shadow requests received over MQTT (get, update, delete).', from(twins, (t) => one(t.requests)));
    counter('twinhub_twin_requests_rejected_total', 'Twin requests answered on /rejected (invalid document, version conflict…).', from(twins, (t) => one(t.rejected)));
    counter('twinhub_twin_requests_throttled_total', 'Twin requests refused with 429: too many in flight on one connection.', from(twins, (t) => one(t.tooManyRequests)));
    counter('twinhub_twin_store_failures_total', 'Twin requests that failed on a store error (answered 500).', from(twins, (t) => one(t.storeFailures)));
  }

  // ---------------------------------------------------------------- telemetry
  if (sources.telemetry !== undefined) {
    const tel = sources.telemetry;
    counter('twinhub_telemetry_messages_total', 'Messages on telemetry topics that a mapping parsed.', from(tel, (t) => one(t.counters().messages)));
    counter('twinhub_telemetry_points_total', 'Telemetry points accepted into the store.', from(tel, (t) => one(t.counters().points)));
    counter('twinhub_telemetry_dead_letters_total', 'Telemetry messages or fields refused by parsing or schema validation (published on the dead-letter topic).', from(tel, (t) => one(t.counters().deadLetters)));
    counter('twinhub_telemetry_points_rejected_total', 'Telemetry points refused by the store, by reason (late: behind the late window; kind: bool where a number was stored or back).', from(tel, (t) => {
      const c = t.counters();
      return [
        { labels: { reason: 'late' }, value: c.lateRejected },
        { labels: { reason: 'kind' }, value: c.kindRejected },
      ];
    }));
    counter('twinhub_telemetry_wal_failures_total', 'Telemetry write-ahead-log writes that failed (their PUBACKs were withheld).', from(tel, (t) => one(t.counters().walFailures)));

    const statsOnce = perTurn((t: TelemetryLike) => t.stats().catch(() => undefined));
    let cached: { owner: TelemetryLike; at: number; stats: Promise<TelemetryStats | undefined> } | undefined;
    const stats = (t: TelemetryLike): Promise<TelemetryStats | undefined> => {
      // A failure (store closing) leaves these gauges out of the scrape, not the whole scrape.
      if (statsMaxAge <= 0) return statsOnce(t);
      const now = Date.now();
      if (cached === undefined || cached.owner !== t || now - cached.at >= statsMaxAge) cached = { owner: t, at: now, stats: statsOnce(t) };
      return cached.stats;
    };
    const statGauge = (name: string, help: string, pick: (s: TelemetryStats) => number): void =>
      gauge(name, help, async () => {
        const t = tel();
        if (t === undefined) return [];
        const s = await stats(t);
        return s === undefined ? [] : one(pick(s));
      });
    statGauge('twinhub_telemetry_series', 'Time series stored (device × metric).', (s) => s.series);
    statGauge('twinhub_telemetry_stored_points', 'Points held in the time-series store.', (s) => s.points);
    statGauge('twinhub_telemetry_stored_bytes', 'Encoded bytes of the stored points (compressed chunks).', (s) => s.bytes);
    statGauge('twinhub_telemetry_bytes_per_point', 'Encoded bytes per stored (timestamp, value) point.', (s) => s.bytesPerPoint);
    statGauge('twinhub_telemetry_disk_bytes', 'Bytes the telemetry store occupies on disk.', (s) => s.diskBytes);
  }

  return {
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    addCollector: add,
    observeHttp(method, route, statusCode, seconds) {
      http.observe({ method, route, status_code: statusCode }, seconds);
    },
    close() {
      connections?.close();
      connections = undefined;
      connectionsOf = undefined;
    },
  };
}
