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
  sys: {
    /** Seconds between $SYS/broker updates; 0 disables. */
    interval: number;
  };
  log: {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
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
  sys: { interval: 10 },
  log: { level: 'info' },
};
