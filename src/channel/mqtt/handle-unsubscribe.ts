// UNSUBSCRIBE (MQTT 5.0 §3.10, 3.1.1 §3.10) → UNSUBACK (§3.11).
import type { UnsubscribePacket } from '../../codec/mqtt/packets.js';
import { ReasonCode } from '../../codec/mqtt/packets.js';
import { encode } from '../../codec/mqtt/encoder.js';
import type { MqttConnection } from './connection.js';

export function handleUnsubscribe(c: MqttConnection, p: UnsubscribePacket): void {
  const broker = c.broker;
  const session = c.session!;
  const codes: number[] = [];
  for (const f of p.filters) {
    const removed = broker.sessions.unsubscribe(session, f);
    // 5.0: 0x11 No subscription existed; the UNSUBACK is sent either way [MQTT-3.10.4-5].
    codes.push(removed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
    if (removed) {
      const ls = broker.hooks.listenersOf('session.unsubscribed');
      for (let i = 0; i < ls.length; i++) ls[i]!(c.client, f);
    }
  }
  broker.sessions.save(session);
  c.send(encode({ type: 11, packetId: p.packetId, reasonCodes: c.version === 5 ? codes : [] }, c.version));
}
