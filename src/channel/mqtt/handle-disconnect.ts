// DISCONNECT from a client (MQTT 5.0 §3.14, 3.1.1 §3.14).
import type { DisconnectPacket } from '../../codec/mqtt/packets.js';
import { ReasonCode } from '../../codec/mqtt/packets.js';
import type { MqttConnection } from './connection.js';

export function handleDisconnect(c: MqttConnection, p: DisconnectPacket): void {
  const session = c.session!;
  if (c.version === 5) {
    const expiry = p.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      // Setting a non-zero Session Expiry on DISCONNECT when CONNECT had 0 is a Protocol Error
      // [MQTT-3.14.2-2].
      if (session.expiryInterval === 0 && expiry !== 0) {
        c.disconnect(ReasonCode.ProtocolError, 'protocol-error');
        return;
      }
      session.expiryInterval = Math.min(expiry, c.broker.config.limits.maxSessionExpiry);
    }
    // 0x04 Disconnect with Will Message keeps the will; any other reason deletes it
    // [MQTT-3.14.4-3].
    c.clientDisconnected(p.reasonCode === ReasonCode.DisconnectWithWillMessage);
    return;
  }
  // 3.1.1: the will is discarded without being published [MQTT-3.14.4-3], [MQTT-3.1.2-10].
  c.clientDisconnected(false);
}
