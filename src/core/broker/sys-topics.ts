// $SYS/broker/... statistics (retained, refreshed every config.sys.interval seconds) and presence
// events on $events/... (documented in docs/PROTOCOLS.md). Event payloads are built only when
// someone subscribes to the event's topic or a part of the hub asked for it (the rule engine,
// through Broker.wantEvents), so presence costs nothing when unused.
import type { Broker } from './broker.js';
import type { ClientInfo, DisconnectReason } from '../hooks.js';

const SYS_ORIGIN = { protocol: 'sys', clientId: '' } as const;

export const EVENT_TOPICS = {
  connected: '$events/client_connected',
  disconnected: '$events/client_disconnected',
  subscribed: '$events/session_subscribed',
  unsubscribed: '$events/session_unsubscribed',
} as const;

export class SysTopics {
  private timer: NodeJS.Timeout | undefined;
  private readonly version: string;

  constructor(private readonly broker: Broker, version: string) {
    this.version = version;
    const hooks = broker.hooks;
    hooks.on('client.connected', (c, present) => this.event(EVENT_TOPICS.connected, c, { sessionPresent: present }));
    hooks.on('client.disconnected', (c, reason: DisconnectReason, code) =>
      this.event(EVENT_TOPICS.disconnected, c, { reason, reasonCode: code }),
    );
    hooks.on('session.subscribed', (c, filter, qos) => this.event(EVENT_TOPICS.subscribed, c, { filter, qos }));
    hooks.on('session.unsubscribed', (c, filter) => this.event(EVENT_TOPICS.unsubscribed, c, { filter }));
  }

  start(): void {
    const secs = this.broker.config.sys.interval;
    if (secs <= 0) return;
    this.publishStats();
    this.timer = setInterval(() => this.publishStats(), secs * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private event(topic: string, c: ClientInfo, extra: Record<string, unknown>): void {
    if (!this.broker.hasSubscribers(topic) && !this.broker.eventWanted(topic)) return;
    const body = {
      clientId: c.clientId,
      username: c.username ?? null,
      deviceId: c.deviceId ?? null,
      protocol: c.protocol,
      protocolVersion: c.version,
      listener: c.listener,
      remoteAddress: c.remoteAddress,
      ...extra,
      ts: Date.now(),
    };
    this.broker.publishInternal(topic, Buffer.from(JSON.stringify(body)), 0, false, SYS_ORIGIN);
  }

  /**
   * Publish changed statistics; with `quiet`, only refresh the retained values (used just before
   * a new $SYS subscriber receives them, so it sees current numbers, not the last interval's).
   */
  publishStats(quiet = false): void {
    const b = this.broker;
    const s = b.stats();
    const pairs: Array<[string, string | number]> = [
      ['$SYS/broker/version', `twinhub ${this.version}`],
      ['$SYS/broker/uptime', `${s.uptimeSeconds} seconds`],
      ['$SYS/broker/clients/connected', s.clientsConnected],
      ['$SYS/broker/clients/total', s.sessions],
      ['$SYS/broker/subscriptions/count', s.subscriptions],
      ['$SYS/broker/retained messages/count', s.retained],
      ['$SYS/broker/messages/received', s.messagesIn],
      ['$SYS/broker/messages/sent', s.messagesOut],
      ['$SYS/broker/bytes/received', s.bytesIn],
      ['$SYS/broker/bytes/sent', s.bytesOut],
      // Messages nobody subscribed to are not drops: they had nowhere to go.
      ['$SYS/broker/messages/dropped', Object.values(s.dropped).reduce((a, n) => a + n, 0) - s.dropped['no-subscribers']],
      ['$SYS/broker/messages/unrouted', s.dropped['no-subscribers']],
    ];
    for (const [name, n] of Object.entries(s.limitsHit)) pairs.push([`$SYS/broker/limits/${name}`, n]);
    for (const [topic, value] of pairs) {
      const payload = Buffer.from(String(value));
      const old = b.retained.get(topic);
      if (old !== undefined && old.payload.equals(payload)) continue;
      if (quiet && old !== undefined) b.retained.set(topic, { ...old, payload });
      else b.publishInternal(topic, payload, 0, true, SYS_ORIGIN);
    }
  }
}
