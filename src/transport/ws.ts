// MQTT over WebSocket (MQTT 5.0 §6). Upgrades are accepted on one path only (config.wsPath); the
// server selects the subprotocol "mqtt" [MQTT-6.0.0-4] (or "mqttv3.1" for clients of the
// pre-standard 3.1 that offer only that); a client that offers subprotocols but neither of these
// is refused, so it fails at once instead of speaking MQTT to a server that never agreed to it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { formatHostPort } from '../config/address.js';
import type { ListenAddress } from '../config/types.js';
import { handOver } from './accept.js';
import { bind, ConnectionSet, listenerInfo, serverCloser, type Listener } from './listener.js';
import type { TransportOptions } from './tcp.js';
import type { ListenerInfo } from './types.js';
import { WebSocketDuplex } from './ws-stream.js';

export const MQTT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;

export interface WsListenOptions extends TransportOptions {
  /** config.wsPath, e.g. '/mqtt'. */
  path: string;
  /** Largest WebSocket message accepted (bytes). */
  maxPayload: number;
}

/** [MQTT-6.0.0-4] "mqtt" whenever offered; "mqttv3.1" only for a client that offers just that. */
export function selectSubprotocol(offered: ReadonlySet<string>): string | false {
  if (offered.has('mqtt')) return 'mqtt';
  if (offered.has('mqttv3.1')) return 'mqttv3.1';
  return false;
}

function offeredSubprotocols(req: IncomingMessage): Set<string> | undefined {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return undefined;
  return new Set(header.split(',').map((p) => p.trim()).filter((p) => p !== ''));
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, body: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?');
  return q < 0 ? (url ?? '/') : url!.slice(0, q);
}

export async function listenWs(address: ListenAddress, opts: WsListenOptions): Promise<Listener> {
  const connections = new ConnectionSet();
  let info: ListenerInfo | undefined;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => selectSubprotocol(offered),
  });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Plain HTTP on this listener: say what it is for.
    const onPath = pathOf(req.url) === opts.path;
    res.writeHead(onPath ? 426 : 404, { 'Content-Type': 'text/plain', Connection: 'close', ...(onPath ? { Upgrade: 'websocket' } : {}) });
    res.end(onPath ? 'MQTT over WebSocket: upgrade with subprotocol "mqtt"\n' : 'not found\n');
  });
  server.on('connection', (socket: Socket) => connections.add(socket));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req.url) !== opts.path) {
      refuseUpgrade(socket, 404, 'Not Found', `MQTT over WebSocket is served at ${opts.path}\n`);
      return;
    }
    const offered = offeredSubprotocols(req);
    // [MQTT-6.0.0-3] a client must offer "mqtt"; one that offers others only is refused.
    if (offered !== undefined && selectSubprotocol(offered) === false) {
      refuseUpgrade(socket, 400, 'Bad Request', 'unsupported WebSocket subprotocol; offer "mqtt"\n');
      return;
    }
    (socket as Socket).setNoDelay?.(true);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const stream = new WebSocketDuplex(ws);
      handOver(opts.acceptor, { stream, listener: info!, remoteAddress: req.socket.remoteAddress ?? '', remotePort: req.socket.remotePort ?? 0 }, opts.log);
    });
  });
  server.on('clientError', (_err, socket: Duplex) => socket.destroy());

  const bound = await bind(server, 'ws', address);
  info = listenerInfo('ws', bound, opts.allowAnonymous);
  server.on('error', (err) => opts.log.error({ err, listener: 'ws' }, 'MQTT/WebSocket listener error'));
  const closer = serverCloser(server, connections);
  return {
    name: 'ws',
    address: bound,
    display: `ws://${formatHostPort(bound)}${opts.path}`,
    info,
    stopAccepting: closer.stopAccepting,
    close: async () => {
      await closer.close();
      wss.close();
    },
  };
}
