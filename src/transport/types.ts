// What a transport hands the broker: a connected byte stream and where it came from. Transports
// own servers (accept, TLS, WebSocket upgrade, listen errors); the MQTT channel owns framing and
// write batching on the stream it is given.
import type { Duplex } from 'node:stream';

export interface ListenerInfo {
  /** 'mqtt' | 'mqtts' | 'ws' — also the name of the flag that sets its address. */
  name: string;
  /** True when bound to a loopback address (127.0.0.0/8, ::1). */
  loopback: boolean;
  /** Anonymous clients allowed on this listener (config.allowAnonymous or the loopback default). */
  allowAnonymous: boolean;
}

export interface AcceptedConnection {
  stream: Duplex;
  listener: ListenerInfo;
  remoteAddress: string;
  remotePort: number;
  /** mTLS: the verified peer certificate. */
  certificate?: { fingerprint256: string; subject: string };
}

/** Implemented by the MQTT broker; transports call it once per accepted connection. */
export interface ConnectionAcceptor {
  accept(conn: AcceptedConnection): void;
}
