// PUBACK, PUBREC, PUBREL, PUBCOMP from a client (MQTT 5.0 §3.4–3.7, §4.3).
import type { AckPacket } from '../../codec/mqtt/packets.js';
import { ReasonCode } from '../../codec/mqtt/packets.js';
import { encodeAck } from '../../codec/mqtt/encoder.js';
import type { MqttConnection } from './connection.js';

/** PUBACK ends a QoS 1 delivery to the client (§4.3.2). Unknown ids are ignored. */
export function handlePuback(c: MqttConnection, p: AckPacket): void {
  c.broker.dispatcher.acknowledge(c.session!, p.packetId, 'await-puback');
}

/**
 * PUBREC for a QoS 2 delivery: answer PUBREL [MQTT-4.3.3-4]; a PUBREC with a failure reason
 * (≥ 0x80) ends the exchange (5.0 §4.3.3). An unknown id gets PUBREL 0x92 in 5.0.
 */
export function handlePubrec(c: MqttConnection, p: AckPacket): void {
  const session = c.session!;
  if (p.reasonCode >= 0x80) {
    c.broker.dispatcher.acknowledge(session, p.packetId, 'await-pubrec');
    return;
  }
  if (c.broker.dispatcher.received(session, p.packetId)) c.send(encodeAck(6, p.packetId, 0, c.version));
  else c.send(encodeAck(6, p.packetId, c.version === 5 ? ReasonCode.PacketIdentifierNotFound : 0, c.version));
}

/** PUBCOMP ends a QoS 2 delivery to the client. */
export function handlePubcomp(c: MqttConnection, p: AckPacket): void {
  c.broker.dispatcher.acknowledge(c.session!, p.packetId, 'await-pubcomp');
}

/**
 * PUBREL for an inbound QoS 2 message: forget the packet id and answer PUBCOMP [MQTT-4.3.3-11]
 * (3.1.1 [MQTT-4.3.3-2]); an unknown id gets PUBCOMP 0x92 in 5.0 (§3.7.2.1).
 */
export function handlePubrel(c: MqttConnection, p: AckPacket): void {
  const session = c.session!;
  const known = session.inboundQos2 !== null && session.inboundQos2.delete(p.packetId);
  if (known && session.persistent) {
    c.broker.committer.add({ op: 'deleteInboundQos2', clientId: session.clientId, packetId: p.packetId });
  }
  if (!known) c.inboundUnacked++; // balanced by the PUBCOMP below
  const rc = known || c.version !== 5 ? 0 : ReasonCode.PacketIdentifierNotFound;
  c.sendAck(encodeAck(7, p.packetId, rc, c.version), false);
}
