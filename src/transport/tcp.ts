// MQTT over TCP (MQTT 5.0 §4.2: TCP/IP is the default transport).
import { createServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ListenAddress } from '../config/types.js';
import { handOver } from './accept.js';
import { bind, ConnectionSet, listenerInfo, serverCloser, type Listener } from './listener.js';
import type { ConnectionAcceptor, ListenerInfo } from './types.js';
import { formatHostPort } from '../config/address.js';

export interface TransportOptions {
  acceptor: ConnectionAcceptor;
  /** config.allowAnonymous: null means "on loopback listeners only". */
  allowAnonymous: boolean | null;
  log: Logger;
}

export async function listenTcp(address: ListenAddress, opts: TransportOptions): Promise<Listener> {
  const connections = new ConnectionSet();
  let info: ListenerInfo | undefined;
  const server = createServer({ noDelay: true });
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    // The channel batches writes per loop turn; Nagle would only add latency on top.
    socket.setNoDelay(true);
    handOver(opts.acceptor, { stream: socket, listener: info!, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 }, opts.log);
  });
  const bound = await bind(server, 'mqtt', address);
  info = listenerInfo('mqtt', bound, opts.allowAnonymous);
  server.on('error', (err) => opts.log.error({ err, listener: 'mqtt' }, 'MQTT listener error'));
  const closer = serverCloser(server, connections);
  return { name: 'mqtt', address: bound, display: formatHostPort(bound), info, ...closer };
}
