// Decoders of every packet except CONNECT (decode-connect.ts) and PUBLISH (inlined in the
// parser: it is the hot path). Each reads exactly one frame body through a Reader whose `v5`
// flag selects the MQTT 5.0 layout (reason codes, properties) or the 3.1.1 one.
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  DisconnectPacket,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from './packets.js';
import { malformed, protocolError, stmt } from './errors.js';
import { readProperties } from './properties.js';
import type { Reader } from './reader.js';
import { reasonCodeAllowed, reasonCodeStatement } from './reason-codes.js';

/** A reason code outside the packet type's table is not one the sender may use. */
function reasonCode(r: Reader, type: number): number {
  const code = r.u8('reason code');
  if (!reasonCodeAllowed(type, r.v5, code)) {
    throw malformed(`reason code 0x${code.toString(16)} is not valid in packet type ${type}`, reasonCodeStatement(type, r.v5));
  }
  return code;
}

export function decodeConnack(r: Reader): ConnackPacket {
  const flags = r.u8('connect acknowledge flags');
  if ((flags & 0xfe) !== 0) throw malformed('CONNACK reserved flag bits are set', stmt(r.v5, 'MQTT-3.2.2-1', '3.1.1 §3.2.2.1'));
  const packet: ConnackPacket = { type: 2, sessionPresent: flags === 1, reasonCode: reasonCode(r, 2) };
  if (r.v5) {
    const properties = readProperties(r, 2);
    if (properties !== undefined) packet.properties = properties;
  }
  r.done('CONNACK');
  return packet;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP (§3.4–3.7): 5.0 may omit the reason code and properties. */
export function decodeAck(r: Reader, type: 4 | 5 | 6 | 7): AckPacket {
  const packetId = r.u16('packet identifier');
  const packet: AckPacket = { type, packetId, reasonCode: 0 };
  if (r.v5 && r.pos < r.end) {
    // §3.4.2.1: Remaining Length 2 means Success; the Property Length may be absent too.
    packet.reasonCode = reasonCode(r, type);
    if (r.pos < r.end) {
      const properties = readProperties(r, type);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  r.done('acknowledgement');
  return packet;
}

function nonZeroPacketId(r: Reader, what: string): number {
  const id = r.u16('packet identifier');
  if (id === 0) throw malformed(`${what} with Packet Identifier 0`, stmt(r.v5, 'MQTT-2.2.1-3', 'MQTT-2.3.1-1'));
  return id;
}

export function decodeSubscribe(r: Reader): SubscribePacket {
  const packetId = nonZeroPacketId(r, 'SUBSCRIBE');
  const v5 = r.v5;
  const properties = v5 ? readProperties(r, 8) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.pos < r.end) {
    const filter = r.utf8('topic filter');
    const opts = r.u8('subscription options');
    const qos = opts & 0x03;
    let retainHandling = 0;
    if (v5) {
      if ((opts & 0xc0) !== 0) throw malformed('subscription options reserved bits are set', 'MQTT-3.8.3-5');
      // §3.8.3.1: Maximum QoS 3 and Retain Handling 3 are each "a Protocol Error".
      if (qos === 3) throw protocolError('subscription Maximum QoS 3', '5.0 §3.8.3.1');
      retainHandling = (opts >> 4) & 0x03;
      if (retainHandling === 3) throw protocolError('subscription Retain Handling 3', '5.0 §3.8.3.1');
    } else if ((opts & 0xfc) !== 0 || qos === 3) {
      // 3.1.1 prints this statement id with a dash: [MQTT-3-8.3-4].
      throw malformed('requested QoS byte has reserved bits set or QoS 3', 'MQTT-3-8.3-4');
    }
    subscriptions.push({
      filter,
      qos: qos as 0 | 1 | 2,
      noLocal: (opts & 0x04) !== 0,
      retainAsPublished: (opts & 0x08) !== 0,
      retainHandling: retainHandling as 0 | 1 | 2,
    });
  }
  if (subscriptions.length === 0) {
    // 5.0: "A SUBSCRIBE packet with no Payload is a Protocol Error"; 3.1.1: a protocol violation.
    throw protocolError('SUBSCRIBE without topic filters', stmt(v5, 'MQTT-3.8.3-2', 'MQTT-3.8.3-3'));
  }
  const packet: SubscribePacket = { type: 8, packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function decodeSuback(r: Reader): SubackPacket {
  const packetId = r.u16('packet identifier');
  const properties = r.v5 ? readProperties(r, 9) : undefined;
  const reasonCodes: number[] = [];
  while (r.pos < r.end) reasonCodes.push(reasonCode(r, 9));
  const packet: SubackPacket = { type: 9, packetId, reasonCodes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function decodeUnsubscribe(r: Reader): UnsubscribePacket {
  const packetId = nonZeroPacketId(r, 'UNSUBSCRIBE');
  const properties = r.v5 ? readProperties(r, 10) : undefined;
  const filters: string[] = [];
  while (r.pos < r.end) filters.push(r.utf8('topic filter'));
  if (filters.length === 0) {
    // 5.0: "An UNSUBSCRIBE packet with no Payload is a Protocol Error"; 3.1.1: a protocol violation.
    throw protocolError('UNSUBSCRIBE without topic filters', 'MQTT-3.10.3-2');
  }
  const packet: UnsubscribePacket = { type: 10, packetId, filters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function decodeUnsuback(r: Reader): UnsubackPacket {
  const packetId = r.u16('packet identifier');
  const reasonCodes: number[] = [];
  const packet: UnsubackPacket = { type: 11, packetId, reasonCodes };
  if (r.v5) {
    const properties = readProperties(r, 11);
    if (properties !== undefined) packet.properties = properties;
    while (r.pos < r.end) reasonCodes.push(reasonCode(r, 11));
  }
  r.done('UNSUBACK');
  return packet;
}

/** DISCONNECT (5.0 §3.14.2) and AUTH (§3.15.2): reason code and properties both optional. */
export function decodeDisconnectOrAuth(r: Reader, type: 14 | 15): DisconnectPacket | AuthPacket {
  const packet: DisconnectPacket | AuthPacket = { type, reasonCode: 0 };
  if (r.v5 && r.pos < r.end) {
    packet.reasonCode = reasonCode(r, type);
    if (r.pos < r.end) {
      const properties = readProperties(r, type);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  r.done(type === 14 ? 'DISCONNECT' : 'AUTH');
  return packet;
}
