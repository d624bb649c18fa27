// The validated configuration. Produced by config/load.ts from (lowest to highest precedence)
// defaults, the config file (YAML or JSON), TWINHUB_* environment variables and CLI flags.
// Every key here is documented in docs/CONFIGURATION.md.

export interface ListenAddress {
  host: string;
  port: number; // 0 = pick a free port
}

export type AclAction = 'publish' | 'subscribe' | 'all';
export interface AclRule {
  filter: string; // MQTT topic filter; wildcards allowed
  action: AclAction;
  allow: boolean;
}

export interface PriorityClass {
  name: string;
  /** Topic filters of the messages in this class. */
  filters: string[];
}

/** A telemetry mapping (core/telemetry/ingest/mapping.ts TelemetryMapping). */
export interface TelemetryMappingConfig {
  filter: string;
  format: 'json' | 'json-ts' | 'senml-json' | 'senml-cbor' | 'cbor' | 'number';
  timestampField?: string;
  timestampUnit?: 'ms' | 's' | 'us' | 'ns';
  metric?: string;
  metricPrefix?: string;
  strings?: 'dead-letter' | 'ignore';
  senmlBaseName?: 'drop' | 'prefix';
}

export interface TwinhubConfig {
  /** Data folder of the embedded store. Key `data`, flag --data, env TWINHUB_DATA. */
  data: string;
  /** MQTT over TCP; null disables. Flag --mqtt. */
  mqtt: ListenAddress | null;
  /** MQTT over TLS; null disables (default). Flag --mqtts; needs tls.cert and tls.key. */
  mqtts: ListenAddress | null;
  /** MQTT over WebSocket at path ws.path; null disables (default). Flag --ws. */
  ws: ListenAddress | null;
  wsPath: string;
  /** HTTP API, console and /metrics; null disables. Flag --http. */
  http: ListenAddress | null;
  /**
   * Anonymous clients: true allows on every listener, false refuses on every listener; null
   * (default) allows on loopback listeners only, as Mosquitto 2 does.
   */
  allowAnonymous: boolean | null;
  tls: {
    cert: string | null; // PEM file path
    key: string | null;
    ca: string | null; // CA bundle for client certificates
    requestCert: boolean; // ask for client certificates (mTLS)
    rejectUnauthorized: boolean; // refuse clients whose certificate does not verify against ca
  };
  persistence: {
    /** Keep sessions, queued messages and retained messages in the data folder. */
    enabled: boolean;
    /** fsync every commit (survives power loss; costs throughput). Off: survives process kill. */
    fsync: boolean;
  };
  limits: {
    /** Highest keep-alive accepted (seconds); higher values are clamped with Server Keep Alive. */
    maxKeepAlive: number;
    maxConnections: number;
    /** Largest packet the hub accepts (bytes); announced as Maximum Packet Size in 5.0. */
    maxPacketSize: number;
    /** Messages queued per session beyond the in-flight window; lowest priority QoS 0 dropped first. */
    maxQueuedMessages: number;
    /** Outbound QoS 1/2 messages in flight per session (capped by the client's Receive Maximum). */
    maxInflight: number;
    /** Inbound QoS 1/2 messages a client may have unacknowledged (the hub's Receive Maximum). */
    receiveMaximum: number;
    maxTopicLevels: number;
    /** Topic Alias Maximum the hub announces for client→hub aliases (5.0). */
    topicAliasMaximum: number;
    /** Highest Session Expiry Interval accepted (seconds). */
    maxSessionExpiry: number;
    /** Outbound bytes buffered per connection before QoS 0 messages to it are dropped. */
    maxOutboundBuffer: number;
  };
  /** Static publish/subscribe rules, evaluated in order; the first match decides; no match allows. */
  acl: AclRule[];
  /** Priority classes, highest first; messages matching none are in the class after the last. */
  priorities: PriorityClass[];
  registry: {
    /** A registered device must connect with client id = device id (else 0x85 / 0x02). */
    clientIdMustMatch: boolean;
    /** The default policy of registered devices: filters (placeholders allowed) they may publish and subscribe to. */
    ownTopics: string[];
    password: {
      /** scrypt cost as log2(N). */
      costLog2: number;
      blockSize: number;
      parallelization: number;
    };
    jwt: {
      /** Fleet-wide key for device JWTs (HS256 secret in base64, or RS256/ES256 public key PEM); null: per-device keys only. */
      fleetKeyFile: string | null;
      fleetAlg: 'HS256' | 'RS256' | 'ES256';
      /** Seconds of clock skew tolerated on exp/nbf. */
      clockSkew: number;
    };
    limits: {
      /** Default messages/s per device; 0 unlimited. */
      messagesPerSecond: number;
      /** Default payload bytes/s per device; 0 unlimited. */
      bytesPerSecond: number;
      /** Bucket size in seconds of the rate. */
      burstSeconds: number;
      /** Consecutive over-limit publishes before the client is disconnected (0x96). */
      maxViolations: number;
    };
  };
  twins: {
    /** UTF-8 bytes of desired + reported (metadata excluded); beyond → 413. */
    maxStateBytes: number;
    maxDepth: number;
    maxClientTokenBytes: number;
    maxShadowNameLength: number;
    maxThingNameLength: number;
    maxInFlightPerConnection: number;
    deletedVersionWindowSeconds: number;
    /** Changes kept per twin for the history API. */
    historySize: number;
    /** Devices whose twins stay cached in memory (updates skip reading the store). */
    cacheDevices: number;
  };
  telemetry: {
    enabled: boolean;
    mappings: TelemetryMappingConfig[];
    /** Seconds. */
    lateWindow: number;
    chunkMaxPoints: number;
    /** Seconds. */
    chunkMaxSpan: number;
    /** Seconds; 0 forever. */
    retention: number;
    /** Seconds. */
    checkpointInterval: number;
    deadLetterTopic: string;
  };
  rules: {
    enabled: boolean;
    /** Folder of rules/*.yaml; null: <data>/rules. */
    folder: string | null;
    maxHops: number;
    errorLogSize: number;
    laneQueueSize: number;
    /** Seconds between rescans of the folder (besides file-change events); 0 none. */
    rescanInterval: number;
    webhook: {
      queueSize: number;
      concurrency: number;
      breakerThreshold: number;
      /** Seconds. */
      breakerCoolDown: number;
    };
  };
  traces: {
    otlpEndpoint: string | null;
    serviceName: string;
    sampleRatio: number;
  };
  api: {
    /** Requests per second per API key; 0 unlimited. */
    rateLimit: number;
    /** Burst of requests per key above the rate. */
    rateBurst: number;
    jwt: {
      /** Key that verifies operator JWT bearer tokens (HS256 secret in base64, or public key PEM); null disables JWT bearer auth. */
      keyFile: string | null;
      alg: 'HS256' | 'RS256' | 'ES256';
      issuer: string | null;
      audience: string | null;
    };
  };
  sys: {
    /** Seconds between $SYS/broker updates; 0 disables. */
    interval: number;
  };
  metrics: {
    requireKey: boolean;
  };
  log: {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    components: Record<string, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>;
    format: 'auto' | 'json' | 'pretty';
  };
}

export const DEFAULT_CONFIG: TwinhubConfig = {
  data: './data',
  mqtt: { host: '127.0.0.1', port: 1883 },
  mqtts: null,
  ws: null,
  wsPath: '/mqtt',
  http: { host: '127.0.0.1', port: 8080 },
  allowAnonymous: null,
  tls: { cert: null, key: null, ca: null, requestCert: false, rejectUnauthorized: true },
  persistence: { enabled: true, fsync: false },
  limits: {
    maxKeepAlive: 65535,
    maxConnections: 100000,
    maxPacketSize: 1048576,
    maxQueuedMessages: 1000,
    maxInflight: 1000,
    receiveMaximum: 1024,
    maxTopicLevels: 128,
    topicAliasMaximum: 64,
    maxSessionExpiry: 0xffffffff,
    maxOutboundBuffer: 8 * 1024 * 1024,
  },
  acl: [],
  priorities: [],
  registry: {
    clientIdMustMatch: true,
    ownTopics: ['devices/{deviceId}/#', '$aws/things/{deviceId}/shadow/#'],
    password: { costLog2: 12, blockSize: 8, parallelization: 1 },
    jwt: { fleetKeyFile: null, fleetAlg: 'RS256', clockSkew: 30 },
    limits: { messagesPerSecond: 0, bytesPerSecond: 0, burstSeconds: 2, maxViolations: 100 },
  },
  twins: {
    maxStateBytes: 8192,
    maxDepth: 6,
    maxClientTokenBytes: 64,
    maxShadowNameLength: 64,
    maxThingNameLength: 128,
    maxInFlightPerConnection: 10,
    deletedVersionWindowSeconds: 48 * 3600,
    historySize: 100,
    cacheDevices: 50_000,
  },
  telemetry: {
    enabled: true,
    mappings: [
      { filter: 'devices/{deviceId}/telemetry', format: 'json' },
      { filter: 'devices/{deviceId}/telemetry/#', format: 'json' },
    ],
    lateWindow: 3600,
    chunkMaxPoints: 120,
    chunkMaxSpan: 7200,
    retention: 0,
    checkpointInterval: 60,
    deadLetterTopic: '$telemetry/deadletter',
  },
  rules: {
    enabled: true,
    folder: null,
    maxHops: 8,
    errorLogSize: 50,
    laneQueueSize: 10_000,
    rescanInterval: 5,
    webhook: { queueSize: 10_000, concurrency: 16, breakerThreshold: 5, breakerCoolDown: 30 },
  },
  traces: { otlpEndpoint: null, serviceName: 'twinhub', sampleRatio: 0.01 },
  api: {
    rateLimit: 100,
    rateBurst: 200,
    jwt: { keyFile: null, alg: 'RS256', issuer: null, audience: null },
  },
  sys: { interval: 10 },
  metrics: { requireKey: false },
  log: { level: 'info', components: {}, format: 'auto' },
};
