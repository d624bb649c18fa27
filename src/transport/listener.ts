// What every transport listener shares: binding with an error that tells the user which flag
// changes the address, the listener's identity (ListenerInfo) computed from the address actually
// bound, and closing that stops accepting first and then ends connections still open.
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import { formatHostPort, isLoopbackAddress } from '../config/address.js';
import { envNameOf } from '../config/schema.js';
import type { ListenAddress } from '../config/types.js';
import { Errors, TwinhubError } from '../common/errors.js';
import type { ListenerInfo } from './types.js';

export type ListenerName = 'mqtt' | 'mqtts' | 'ws' | 'http';

/** How each listener is named in messages: 'MQTT', 'MQTT/TLS', 'MQTT/WebSocket', 'HTTP'. */
export const LISTENER_LABELS: Readonly<Record<ListenerName, string>> = {
  mqtt: 'MQTT',
  mqtts: 'MQTT/TLS',
  ws: 'MQTT/WebSocket',
  http: 'HTTP',
};

export interface Listener {
  readonly name: ListenerName;
  /** The address bound (port 0 resolved to the real port). */
  readonly address: ListenAddress;
  /** What a client connects to: '127.0.0.1:1883', 'ws://127.0.0.1:8083/mqtt'. */
  readonly display: string;
  readonly info: ListenerInfo;
  /** Stop accepting new connections; connections already open are left alone. */
  stopAccepting(): void;
  /** Stop accepting, destroy connections still open, resolve when the server has closed. */
  close(): Promise<void>;
}

function explainListenError(code: string | undefined): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'is in use (EADDRINUSE)';
    case 'EACCES':
      return 'is not permitted (EACCES; ports below 1024 need privileges)';
    case 'EADDRNOTAVAIL':
      return 'is not an address of this machine (EADDRNOTAVAIL)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `has a host name that does not resolve (${code})`;
    default:
      return `cannot be bound (${code ?? 'unknown error'})`;
  }
}

/** The start-up error naming the flag and variable that change the address. */
export function listenError(name: ListenerName, address: ListenAddress, err: NodeJS.ErrnoException): TwinhubError {
  const message =
    `${LISTENER_LABELS[name]} address ${formatHostPort(address)} ${explainListenError(err.code)}; ` +
    `choose another with --${name} HOST:PORT or ${envNameOf([name])}`;
  return new TwinhubError(Errors.LISTEN_FAILED, message, { listener: name, code: err.code }, { cause: err });
}

/** Bind a server; resolve with the address actually bound, reject with listenError. */
export function bind(server: Server, name: ListenerName, address: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(listenError(name, address, err));
    };
    const onListening = () => {
      server.off('error', onError);
      const a = server.address();
      if (a === null || typeof a === 'string') resolve(address);
      else resolve({ host: a.address, port: a.port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: address.host, port: address.port });
  });
}

export function listenerInfo(name: ListenerName, bound: ListenAddress, allowAnonymous: boolean | null): ListenerInfo {
  const loopback = isLoopbackAddress(bound.host);
  // Mosquitto 2 semantics: anonymous clients are allowed on loopback listeners unless the
  // config says otherwise; elsewhere only when allowAnonymous is true.
  return { name, loopback, allowAnonymous: allowAnonymous ?? loopback };
}

/**
 * The open connections of a listener, so close() can end those the broker did not (a client that
 * never completed CONNECT, a TLS handshake in progress). One Set insert per connection.
 */
export class ConnectionSet {
  private readonly sockets = new Set<Socket>();

  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  get size(): number {
    return this.sockets.size;
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

/**
 * Closing in two steps: stopAccepting() closes the listening socket at once (the port is free
 * again); close() also ends the connections still open and resolves when the server is closed.
 */
export function serverCloser(server: Server, connections: ConnectionSet): { stopAccepting(): void; close(): Promise<void> } {
  let closed: Promise<void> | undefined;
  const stopAccepting = () => {
    // The callback gets ERR_SERVER_NOT_RUNNING when listen never succeeded: closed all the same.
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    stopAccepting,
    close: async () => {
      stopAccepting();
      connections.destroyAll();
      await closed;
    },
  };
}
