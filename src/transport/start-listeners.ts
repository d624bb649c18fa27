// Start every MQTT listener the config enables (mqtt, mqtts, ws), all or none: when one fails to
// start, those already started are closed before the error is passed on.
import type { Logger } from 'pino';
import type { TwinhubConfig } from '../config/types.js';
import type { Listener } from './listener.js';
import { listenTcp } from './tcp.js';
import { listenTls } from './tls.js';
import type { ConnectionAcceptor } from './types.js';
import { listenWs } from './ws.js';

/** Headroom over maxPacketSize for a WebSocket message holding several small packets. */
const WS_MESSAGE_HEADROOM = 64 * 1024;

export async function startListeners(config: TwinhubConfig, acceptor: ConnectionAcceptor, log: Logger): Promise<Listener[]> {
  const common = { acceptor, allowAnonymous: config.allowAnonymous, log };
  const starters: Array<() => Promise<Listener>> = [];
  if (config.mqtt) {
    const a = config.mqtt;
    starters.push(() => listenTcp(a, common));
  }
  if (config.mqtts) {
    const a = config.mqtts;
    starters.push(() => listenTls(a, { ...common, tls: config.tls }));
  }
  if (config.ws) {
    const a = config.ws;
    starters.push(() => listenWs(a, { ...common, path: config.wsPath, maxPayload: config.limits.maxPacketSize + WS_MESSAGE_HEADROOM }));
  }
  const started: Listener[] = [];
  try {
    for (const start of starters) started.push(await start());
  } catch (err) {
    await Promise.allSettled(started.map((l) => l.close()));
    throw err;
  }
  return started;
}
