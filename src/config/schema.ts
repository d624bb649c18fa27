// The one schema of the configuration. Every key is described once here (type, range, enum,
// description, CLI flag); validation (load.ts), the TWINHUB_* environment mapping (env.ts),
// `twinhub config print` and docs/CONFIGURATION.md (doc.ts) are all derived from it, so a key
// cannot exist in one of them and be missing from another. Defaults live in types.ts
// (DEFAULT_CONFIG) and are read from there by path.
import type { ListenAddress, TwinhubConfig } from './types.js';

export type StringFormat = 'path' | 'url-path' | 'topic-filter' | 'name';

export type ValueSchema =
  | { type: 'string'; format?: StringFormat; nullable?: boolean }
  | { type: 'integer'; min: number; max: number }
  | { type: 'number'; min: number; max: number }
  | { type: 'boolean'; nullable?: boolean }
  | { type: 'enum'; values: readonly string[] }
  /** A listener address; always nullable (null disables the listener). */
  | { type: 'address' }
  | { type: 'list'; item: ValueSchema }
  /** An object of names to values (log.components). */
  | { type: 'map'; value: ValueSchema }
  /** Objects occur only as list items (acl rules, priority classes, telemetry mappings); fields are required unless listed in `optional`. */
  | { type: 'object'; fields: Readonly<Record<string, ValueSchema>>; optional?: readonly string[] };

export interface KeyDef {
  readonly kind: 'key';
  readonly value: ValueSchema;
  readonly description: string;
  /** Long CLI flag of `twinhub start` / `twinhub config print`, e.g. '--mqtt'. */
  readonly flag?: string;
  /** An example value as a user would write it in the environment, for the docs. */
  readonly example?: string;
}

export interface GroupDef<T> {
  readonly kind: 'group';
  readonly description: string;
  readonly keys: SchemaFor<T>;
}

/**
 * The schema's shape mirrors TwinhubConfig: nested config objects are groups, everything else
 * (scalars, addresses, lists) is a key. A key added to TwinhubConfig without a schema entry is a
 * compile error here.
 */
export type SchemaFor<T> = {
  readonly [K in keyof T]-?: T[K] extends ListenAddress | null
    ? KeyDef
    : T[K] extends readonly unknown[]
      ? KeyDef
      : T[K] extends object
        ? string extends keyof T[K]
          ? KeyDef // an index signature: a map key (log.components), not a group
          : GroupDef<T[K]>
        : KeyDef;
};

function key(value: ValueSchema, description: string, extra?: { flag?: string; example?: string }): KeyDef {
  return { kind: 'key', value, description, ...extra };
}

function group<T>(description: string, keys: SchemaFor<T>): GroupDef<T> {
  return { kind: 'group', description, keys };
}

const uint16 = { type: 'integer', min: 0, max: 65535 } as const;
const seconds = (max: number) => ({ type: 'integer', min: 0, max }) as const;
/** Algorithms of the fleet key and of the API's JWT key. */
const JWT_ALGS = ['HS256', 'RS256', 'ES256'] as const;
/** Levels of log.level and of each log.components entry. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const CONFIG_SCHEMA: SchemaFor<TwinhubConfig> = {
  data: key({ type: 'string', format: 'path' }, 'Data folder of the embedded store (sessions, retained messages, later registry, twins and telemetry). Created when missing; a relative path is relative to the working directory.', { flag: '--data', example: '/var/lib/twinhub' }),
  mqtt: key({ type: 'address' }, 'MQTT over TCP listener.', { flag: '--mqtt', example: '0.0.0.0:1883' }),
  mqtts: key({ type: 'address' }, 'MQTT over TLS listener. Needs `tls.cert` and `tls.key`.', { flag: '--mqtts', example: '0.0.0.0:8883' }),
  ws: key({ type: 'address' }, 'MQTT over WebSocket listener (path `wsPath`, subprotocol `mqtt`).', { flag: '--ws', example: '0.0.0.0:8083' }),
  wsPath: key({ type: 'string', format: 'url-path' }, 'HTTP path of the WebSocket listener; upgrades on other paths are refused.', { example: '/mqtt' }),
  http: key({ type: 'address' }, 'HTTP listener: health (`/healthz`, `/readyz`), API, console and `/metrics`.', { flag: '--http', example: '0.0.0.0:8080' }),
  allowAnonymous: key({ type: 'boolean', nullable: true }, 'Clients without credentials: `true` allows them on every listener, `false` refuses them everywhere, `null` allows them on loopback listeners only (as Mosquitto 2 does).', { flag: '--allow-anonymous', example: 'false' }),
  tls: group('TLS of the `mqtts` listener.', {
    cert: key({ type: 'string', format: 'path', nullable: true }, 'Server certificate chain (PEM file).', { example: '/etc/twinhub/server.pem' }),
    key: key({ type: 'string', format: 'path', nullable: true }, 'Private key of the server certificate (PEM file).', { example: '/etc/twinhub/server-key.pem' }),
    ca: key({ type: 'string', format: 'path', nullable: true }, 'CA bundle (PEM file) that client certificates must chain to.', { example: '/etc/twinhub/ca.pem' }),
    requestCert: key({ type: 'boolean' }, 'Ask clients for a certificate (mutual TLS).'),
    rejectUnauthorized: key({ type: 'boolean' }, 'With `requestCert`: refuse clients whose certificate is missing or does not verify against `tls.ca`.'),
  }),
  persistence: group('Persistence of broker state in the data folder.', {
    enabled: key({ type: 'boolean' }, 'Keep sessions, queued messages and retained messages in the data folder; `false` keeps them in memory only.', { flag: '--persistence' }),
    fsync: key({ type: 'boolean' }, 'fsync every commit: acknowledged messages survive power loss, at a throughput cost. Off, they survive the process being killed.'),
  }),
  limits: group('Bounds the broker enforces.', {
    maxKeepAlive: key(uint16, 'Highest keep-alive accepted (seconds). A 5.0 client asking for more is told the lower value (Server Keep Alive, MQTT 5.0 §3.2.2.3.14).', { example: '60' }),
    maxConnections: key({ type: 'integer', min: 1, max: 10_000_000 }, 'Most concurrent client connections.'),
    maxPacketSize: key({ type: 'integer', min: 64, max: 268_435_460 }, 'Largest packet accepted (bytes); announced as Maximum Packet Size in 5.0 (§3.2.2.3.6).'),
    maxQueuedMessages: key({ type: 'integer', min: 0, max: 100_000_000 }, 'Messages queued per session beyond the in-flight window; at the bound the lowest-priority QoS 0 message is dropped first.'),
    maxInflight: key({ type: 'integer', min: 1, max: 65535 }, 'Outbound QoS 1/2 messages in flight per session (capped by the client\'s Receive Maximum).'),
    receiveMaximum: key({ type: 'integer', min: 1, max: 65535 }, 'Inbound QoS 1/2 messages a client may have unacknowledged (the hub\'s Receive Maximum, MQTT 5.0 §3.2.2.3.3).'),
    maxTopicLevels: key({ type: 'integer', min: 1, max: 65535 }, 'Most levels in a topic name or filter.'),
    topicAliasMaximum: key(uint16, 'Topic Alias Maximum announced for client-to-hub aliases (MQTT 5.0 §3.2.2.3.8); 0 disables them.'),
    maxSessionExpiry: key(seconds(0xffffffff), 'Highest Session Expiry Interval accepted (seconds); 4294967295 means sessions may never expire.'),
    maxOutboundBuffer: key({ type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER }, 'Outbound bytes buffered per connection before QoS 0 messages to it are dropped.'),
  }),
  acl: key(
    {
      type: 'list',
      item: {
        type: 'object',
        fields: {
          filter: { type: 'string', format: 'topic-filter' },
          action: { type: 'enum', values: ['publish', 'subscribe', 'all'] },
          allow: { type: 'boolean' },
        },
      },
    },
    'Static publish/subscribe rules `{filter, action: publish|subscribe|all, allow}`, evaluated in order; the first rule whose filter matches decides; no match allows.',
    { example: '[{"filter":"$SYS/#","action":"publish","allow":false}]' },
  ),
  priorities: key(
    {
      type: 'list',
      item: {
        type: 'object',
        fields: {
          name: { type: 'string', format: 'name' },
          filters: { type: 'list', item: { type: 'string', format: 'topic-filter' } },
        },
      },
    },
    'Priority classes `{name, filters}`, highest first; a message matching none is in the class after the last. Under pressure lower classes are dropped first.',
    { example: '[{"name":"alarms","filters":["+/alarm/#"]}]' },
  ),
  registry: group('The device registry: how registered devices authenticate and what they may touch (docs/REGISTRY.md).', {
    clientIdMustMatch: key({ type: 'boolean' }, 'A registered device must use its device id as MQTT client id (otherwise CONNACK 0x85 / 3.1.1 return code 2), so one device cannot take over another\'s session.'),
    ownTopics: key({ type: 'list', item: { type: 'string', format: 'topic-filter' } }, 'The default ACL of registered devices, after their own, group, type and fleet rules: filters they may publish and subscribe to. Placeholders: `{deviceId}`, `{clientId}`, `{username}`, `{type}`, `{group}`, `{tag:NAME}`.', { example: '["devices/{deviceId}/#"]' }),
    password: group('scrypt parameters of new device passwords (stored hashes keep their own).', {
      costLog2: key({ type: 'integer', min: 10, max: 20 }, 'CPU/memory cost as log2(N); each step doubles the time per hash.'),
      blockSize: key({ type: 'integer', min: 1, max: 32 }, 'Block size r.'),
      parallelization: key({ type: 'integer', min: 1, max: 16 }, 'Parallelization p.'),
    }),
    jwt: group('Device JWTs signed with a fleet-wide key (per-device keys are credentials of type `jwt-key`).', {
      fleetKeyFile: key({ type: 'string', format: 'path', nullable: true }, 'File with the fleet key: an HS256 secret in base64, or an RS256/ES256 public key in PEM.', { example: '/etc/twinhub/fleet-jwt.pem' }),
      fleetAlg: key({ type: 'enum', values: JWT_ALGS }, 'Algorithm of the fleet key.'),
      clockSkew: key(seconds(3600), 'Seconds of clock skew tolerated when checking `exp` and `nbf`.'),
    }),
    limits: group('Default per-device publish limits (a device record may override the rates).', {
      messagesPerSecond: key({ type: 'integer', min: 0, max: 10_000_000 }, 'Messages per second a device may publish; 0 is unlimited. Over the limit QoS 1/2 get PUBACK/PUBREC 0x97 (5.0) and reading pauses.'),
      bytesPerSecond: key({ type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER }, 'Payload bytes per second a device may publish; 0 is unlimited.'),
      burstSeconds: key({ type: 'integer', min: 1, max: 3600 }, 'Bucket size in seconds of rate: how far a device may burst above its rate.'),
      maxViolations: key({ type: 'integer', min: 1, max: 1_000_000 }, 'Over-limit publishes in a row (without a second of compliance) before the client is disconnected with 0x96 (3.1.1: closed).'),
    }),
  }),
  twins: group('Device twins (AWS IoT Device Shadow protocol; docs/TWINS.md). Defaults are AWS\'s limits.', {
    maxStateBytes: key({ type: 'integer', min: 256, max: 16 * 1024 * 1024 }, 'UTF-8 bytes of `desired` plus `reported` after an update (metadata excluded); larger updates are rejected with 413.'),
    maxDepth: key({ type: 'integer', min: 1, max: 64 }, 'Nesting levels allowed in `desired` and in `reported`; deeper updates are rejected with 400.'),
    maxClientTokenBytes: key({ type: 'integer', min: 1, max: 65535 }, 'Longest `clientToken` (bytes) accepted; longer is rejected with 400.'),
    maxShadowNameLength: key({ type: 'integer', min: 1, max: 1024 }, 'Longest named-shadow name.'),
    maxThingNameLength: key({ type: 'integer', min: 1, max: 1024 }, 'Longest thing (device) name in a shadow topic.'),
    maxInFlightPerConnection: key({ type: 'integer', min: 1, max: 100_000 }, 'Shadow requests one connection may have in flight; more are rejected with 429.'),
    deletedVersionWindowSeconds: key(seconds(365 * 86400), 'A shadow recreated within this many seconds of its deletion continues its version number.'),
    historySize: key({ type: 'integer', min: 0, max: 100_000 }, 'Changes kept per twin for `GET …/twin/history`.'),
    cacheDevices: key({ type: 'integer', min: 0, max: 10_000_000 }, 'Devices whose twins stay cached in memory (least recently used go first), so an update does not read the store; about 3 KB per cached twin.'),
  }),
  telemetry: group('Telemetry ingestion and the time-series store (docs/TELEMETRY.md).', {
    enabled: key({ type: 'boolean' }, 'Store telemetry from the mapped topics.'),
    mappings: key(
      {
        type: 'list',
        item: {
          type: 'object',
          fields: {
            filter: { type: 'string' },
            format: { type: 'enum', values: ['json', 'json-ts', 'senml-json', 'senml-cbor', 'cbor', 'number'] },
            timestampField: { type: 'string' },
            timestampUnit: { type: 'enum', values: ['ms', 's', 'us', 'ns'] },
            metric: { type: 'string' },
            metricPrefix: { type: 'string' },
            strings: { type: 'enum', values: ['dead-letter', 'ignore'] },
            senmlBaseName: { type: 'enum', values: ['drop', 'prefix'] },
          },
          optional: ['timestampField', 'timestampUnit', 'metric', 'metricPrefix', 'strings', 'senmlBaseName'],
        },
      },
      'Topic filter (with one `{deviceId}` level) → payload format, checked in order, first match wins. Formats: json, json-ts, senml-json, senml-cbor, cbor, number.',
      { example: '[{"filter":"devices/{deviceId}/telemetry","format":"json"}]' },
    ),
    lateWindow: key(seconds(365 * 86400), 'Seconds a point may arrive late (out of order) and still be stored in its chunk; older points are counted and rejected.'),
    chunkMaxPoints: key({ type: 'integer', min: 2, max: 100_000 }, 'Points per sealed chunk of a series.'),
    chunkMaxSpan: key(seconds(30 * 86400), 'Longest time span (seconds) of one chunk.'),
    retention: key(seconds(100 * 365 * 86400), 'Seconds raw points and rollups are kept; 0 keeps them forever.'),
    checkpointInterval: key({ type: 'integer', min: 1, max: 86400 }, 'Seconds between checkpoints that move open chunks out of the write-ahead log.'),
    deadLetterTopic: key({ type: 'string' }, 'Topic where payloads and fields that could not be stored are published with the reason (only when someone subscribes).'),
  }),
  rules: group('The rule engine (docs/RULES.md): SQL rules in YAML files, watched and applied without a restart.', {
    enabled: key({ type: 'boolean' }, 'Run the rule engine.'),
    folder: key({ type: 'string', format: 'path', nullable: true }, 'Folder of the rule files (`*.yaml`), the one source of truth (rules changed over the API are written there); null is `<data>/rules`.', { example: '/etc/twinhub/rules' }),
    maxHops: key({ type: 'integer', min: 1, max: 100 }, 'Rule hops a message may carry (a rule\'s output feeding a rule…); one more is dropped and counted, which stops loops.'),
    errorLogSize: key({ type: 'integer', min: 1, max: 10_000 }, 'Errors kept per rule, with the offending message, for `GET /api/v1/rules/{id}/errors`.'),
    laneQueueSize: key({ type: 'integer', min: 1, max: 10_000_000 }, 'Actions one priority lane holds; beyond, new actions of that lane are dropped and counted.'),
    rescanInterval: key(seconds(86400), 'Seconds between rescans of the rule folder besides file-change events; 0 relies on events only.'),
    webhook: group('Webhook actions.', {
      queueSize: key({ type: 'integer', min: 1, max: 10_000_000 }, 'Calls queued or waiting for a retry; beyond, calls are refused and counted.'),
      concurrency: key({ type: 'integer', min: 1, max: 10_000 }, 'Requests in flight at most.'),
      breakerThreshold: key({ type: 'integer', min: 1, max: 1000 }, 'Consecutive failures that open an endpoint\'s circuit breaker.'),
      breakerCoolDown: key(seconds(86400), 'Seconds an open circuit waits before a trial request.'),
    }),
  }),
  traces: group('OpenTelemetry traces of the message path (publish → route → rule → action → webhook), exported over OTLP/HTTP. Off without an endpoint.', {
    otlpEndpoint: key({ type: 'string', nullable: true }, 'OTLP/HTTP traces endpoint; null turns tracing off (and costs nothing).', { example: 'http://127.0.0.1:4318/v1/traces' }),
    serviceName: key({ type: 'string', format: 'name' }, 'The `service.name` of the hub\'s spans.'),
    sampleRatio: key({ type: 'number', min: 0, max: 1 }, 'Share of messages without a `traceparent` user property that are traced; messages with a sampled traceparent are always traced.', { example: '0.01' }),
  }),
  api: group('The HTTP API (`/api/v1`).', {
    rateLimit: key({ type: 'integer', min: 0, max: 1_000_000 }, 'Requests per second per API key or token; over it requests get 429. 0 is unlimited.'),
    rateBurst: key({ type: 'integer', min: 1, max: 1_000_000 }, 'Requests a key may make in a burst above its rate.'),
    jwt: group('Operator JWT bearer tokens (besides API keys). The role is the `role` claim: read-only, operator or admin.', {
      keyFile: key({ type: 'string', format: 'path', nullable: true }, 'File with the verification key: an HS256 secret in base64, or an RS256/ES256 public key in PEM; null disables JWT bearer tokens.', { example: '/etc/twinhub/api-jwt.pem' }),
      alg: key({ type: 'enum', values: JWT_ALGS }, 'Algorithm of the key.'),
      issuer: key({ type: 'string', nullable: true }, 'Required `iss` claim; null accepts any.'),
      audience: key({ type: 'string', nullable: true }, 'Required `aud` claim; null accepts any.'),
    }),
  }),
  sys: group('The `$SYS/broker/...` topics.', {
    interval: key(seconds(86400), 'Seconds between `$SYS/broker` updates; 0 disables them.'),
  }),
  metrics: group('Prometheus metrics at `/metrics` on the HTTP listener (docs/OPERATIONS.md).', {
    requireKey: key({ type: 'boolean' }, 'Require an API key (any role) to read `/metrics`; by default it is open, as exporters usually are.'),
  }),
  log: group('Logging on stderr: JSON lines, or readable lines in a terminal.', {
    level: key({ type: 'enum', values: LOG_LEVELS }, 'Lowest level written.', { flag: '--log-level', example: 'debug' }),
    components: key({ type: 'map', value: { type: 'enum', values: LOG_LEVELS } }, 'Levels per component (broker, registry, twins, telemetry, transport, http, rules), overriding `log.level`.', { example: '{"broker":"debug","http":"warn"}' }),
    format: key({ type: 'enum', values: ['auto', 'json', 'pretty'] }, '`auto` writes readable lines when stderr is a terminal and JSON lines otherwise.'),
  }),
};

/** A key of the configuration with everything derived from the schema. */
export interface ConfigKey {
  /** Dotted path, e.g. 'limits.maxKeepAlive'. */
  readonly path: string;
  readonly segments: readonly string[];
  readonly def: KeyDef;
  /** Environment variable, e.g. 'TWINHUB_LIMITS__MAX_KEEP_ALIVE'. */
  readonly env: string;
  /** The group descriptions from the top down (for the docs). */
  readonly groups: readonly string[];
}

export const ENV_PREFIX = 'TWINHUB_';
/** The config file path may be given in the environment too (it is not itself a config key). */
export const ENV_CONFIG_FILE = 'TWINHUB_CONFIG';
/**
 * Variables that are not config keys: the admin API key used on first start (for automation and
 * containers), and the hub URL and API key of the CLI's client commands.
 */
export const ENV_ADMIN_KEY = 'TWINHUB_ADMIN_KEY';
const RESERVED_ENV: ReadonlySet<string> = new Set([ENV_ADMIN_KEY, 'TWINHUB_URL', 'TWINHUB_KEY']);

/**
 * TWINHUB_* variables that are not config keys and must not be reported as unknown: the config
 * file, and variables of test and tool harnesses (TWINHUB_TEST_*).
 */
export function isReservedEnv(name: string): boolean {
  return name === ENV_CONFIG_FILE || RESERVED_ENV.has(name) || name.startsWith('TWINHUB_TEST_');
}

/** `maxKeepAlive` → `MAX_KEEP_ALIVE`. */
export function upperSnake(segment: string): string {
  return segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `['limits','maxKeepAlive']` → `TWINHUB_LIMITS__MAX_KEEP_ALIVE` (levels joined by `__`). */
export function envNameOf(segments: readonly string[]): string {
  return ENV_PREFIX + segments.map(upperSnake).join('__');
}

function collect(tree: Record<string, KeyDef | GroupDef<unknown>>, prefix: string[], groups: string[], out: ConfigKey[]): void {
  for (const [name, node] of Object.entries(tree)) {
    const segments = [...prefix, name];
    if (node.kind === 'group') {
      collect(node.keys as Record<string, KeyDef | GroupDef<unknown>>, segments, [...groups, node.description], out);
    } else {
      out.push({ path: segments.join('.'), segments, def: node, env: envNameOf(segments), groups });
    }
  }
}

/** Every key, in schema order. */
export const CONFIG_KEYS: readonly ConfigKey[] = (() => {
  const out: ConfigKey[] = [];
  collect(CONFIG_SCHEMA as unknown as Record<string, KeyDef | GroupDef<unknown>>, [], [], out);
  return out;
})();

export const KEYS_BY_PATH: ReadonlyMap<string, ConfigKey> = new Map(CONFIG_KEYS.map((k) => [k.path, k]));
export const KEYS_BY_ENV: ReadonlyMap<string, ConfigKey> = new Map(CONFIG_KEYS.map((k) => [k.env, k]));
export const KEYS_WITH_FLAG: readonly ConfigKey[] = CONFIG_KEYS.filter((k) => k.def.flag !== undefined);

/** The schema node (group or key) at a path of segments, or undefined. */
export function schemaNodeAt(segments: readonly string[]): KeyDef | GroupDef<unknown> | undefined {
  let tree = CONFIG_SCHEMA as unknown as Record<string, KeyDef | GroupDef<unknown>>;
  let node: KeyDef | GroupDef<unknown> | undefined;
  for (const s of segments) {
    if (!Object.hasOwn(tree, s)) return undefined;
    node = tree[s];
    if (node === undefined) return undefined;
    if (node.kind === 'group') tree = node.keys as Record<string, KeyDef | GroupDef<unknown>>;
    else tree = {};
  }
  return node;
}

/** Read a value of a config object by path segments. */
export function getAt(obj: unknown, segments: readonly string[]): unknown {
  let cur = obj;
  for (const s of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}

/** Set a value in a config object by path segments (groups must exist). */
export function setAt(obj: object, segments: readonly string[], value: unknown): void {
  let cur = obj as Record<string, unknown>;
  for (let i = 0; i < segments.length - 1; i++) cur = cur[segments[i]!] as Record<string, unknown>;
  cur[segments[segments.length - 1]!] = value;
}
