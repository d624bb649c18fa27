// The named hook points of the broker, in one place (like EMQX's emqx_hooks points). Auth points
// default to "allow" answers from the static config (see core/broker/static-auth.ts); the
// device registry (issue 3) replaces them. Event points are lists of listeners; an empty list
// costs one length check on the message path.
import type { ProtocolVersion } from '../codec/mqtt/packets.js';
import type { Message } from './message.js';

export interface ClientInfo {
  clientId: string;
  username: string | undefined;
  /** Registered device id, set by `client.authenticate` when the client is a device. */
  deviceId: string | undefined;
  protocol: 'mqtt';
  version: ProtocolVersion;
  /** Listener name: 'mqtt', 'mqtts' or 'ws'. */
  listener: string;
  /** True when the listener is bound to a loopback address. */
  loopback: boolean;
  remoteAddress: string;
  /** Client certificate of an mTLS connection. */
  certificate: { fingerprint256: string; subject: string } | undefined;
  /** What authentication granted this connection (set by `client.authenticate`); undefined for static auth. */
  auth: SessionAuth | undefined;
}

/** A publish quota (core/registry/rate-limit.ts PublishQuota). */
export interface PublishQuotaLike {
  check(payloadBytes: number, now: number): 'ok' | 'exceeded' | 'disconnect';
  pauseMs(payloadBytes: number, now: number): number;
}

/** Per-connection grants of the authenticating hook: read on the hot path, so plain fields. */
export interface SessionAuth {
  /** The credential the client proved; revoking it disconnects the client. */
  credentialId: string | undefined;
  /** Epoch ms when the credential stops being valid (JWT `exp`); 0 never. 5.0 gets DISCONNECT 0xA0 then. */
  expiresAt: number;
  /** Publish limits of the device; undefined unlimited. */
  quota: PublishQuotaLike | undefined;
  /** Opaque to the broker: the authorizer's per-session state (compiled ACL). */
  authz: unknown;
}

export interface AuthenticateRequest {
  client: ClientInfo;
  username: string | undefined;
  password: Buffer | undefined;
  /** Whether the listener allows anonymous clients (config and the loopback default). */
  anonymousAllowed: boolean;
}

export type AuthFailure =
  | 'bad-credentials' // 0x86 / 3.1.1 return code 4
  | 'not-authorized' // 0x87 / 5
  | 'bad-client-id' // 0x85 / 2
  | 'banned' // 0x8A / 5
  | 'server-unavailable'; // 0x88 / 3

export type AuthResult =
  | { ok: true; deviceId?: string; auth?: SessionAuth }
  | { ok: false; reason: AuthFailure; message?: string };

export type DisconnectReason =
  | 'client' // DISCONNECT from the client
  | 'keepalive'
  | 'takeover'
  | 'protocol-error'
  | 'socket-error'
  | 'socket-closed'
  | 'kicked'
  | 'shutdown'
  | 'store-failure'
  | 'auth-expired'
  | 'credential-revoked'
  | 'rate-limited'
  | 'slow-consumer';

export interface HookPoints {
  /** client.authenticate: decide whether a CONNECT is accepted. One handler (last set wins). */
  'client.authenticate': (req: AuthenticateRequest) => AuthResult | Promise<AuthResult>;
  /** client.authorize.publish: may this client publish to this topic? Synchronous: hot path. */
  'client.authorize.publish': (client: ClientInfo, topic: string) => boolean;
  /** client.authorize.subscribe: may this client subscribe to this filter? */
  'client.authorize.subscribe': (client: ClientInfo, filter: string) => boolean;
}

export interface EventPoints {
  'client.connected': (client: ClientInfo, sessionPresent: boolean) => void;
  'client.disconnected': (client: ClientInfo, reason: DisconnectReason, reasonCode: number) => void;
  'session.subscribed': (client: ClientInfo, filter: string, qos: number) => void;
  'session.unsubscribed': (client: ClientInfo, filter: string) => void;
  /** message.publish: every accepted message before routing (twins, telemetry, rules listen). */
  'message.publish': (message: Message) => void;
  /** message.dropped: a message not delivered at a bound (queue full, expired, slow consumer). */
  'message.dropped': (message: Message, clientId: string, cause: DropCause) => void;
}

export type DropCause = 'queue-full' | 'expired' | 'slow-consumer' | 'too-large' | 'no-subscribers';

export class Hooks {
  private readonly points: HookPoints;
  private readonly listeners: { [K in keyof EventPoints]: EventPoints[K][] } = {
    'client.connected': [],
    'client.disconnected': [],
    'session.subscribed': [],
    'session.unsubscribed': [],
    'message.publish': [],
    'message.dropped': [],
  };

  constructor(defaults: HookPoints) {
    this.points = { ...defaults };
  }

  /** Replace the handler of a decision point. */
  set<K extends keyof HookPoints>(point: K, handler: HookPoints[K]): void {
    this.points[point] = handler;
  }

  get<K extends keyof HookPoints>(point: K): HookPoints[K] {
    return this.points[point];
  }

  on<K extends keyof EventPoints>(point: K, listener: EventPoints[K]): () => void {
    const list = this.listeners[point] as EventPoints[K][];
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Listeners of an event point; callers check `.length` before building arguments. */
  listenersOf<K extends keyof EventPoints>(point: K): readonly EventPoints[K][] {
    return this.listeners[point] as EventPoints[K][];
  }
}
