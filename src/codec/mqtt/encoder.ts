// MQTT encoder: packets to frames for 3.1.1 (and 3.1) or 5.0. Every function allocates exactly
// one buffer of the final size and writes in place. A 3.1.1 encoding never carries properties:
// they are dropped, which is what forwarding a 5.0 message to a 3.1.1 client needs.
// Values the wire format cannot carry throw a RangeError (a caller bug, not a peer's).
import type { Packet, Properties, ProtocolVersion, QoS } from './packets.js';
import { propertiesSize, writeProperties } from './properties.js';
import { allocFrame, bodyStart, propertiesBlockSize } from './frame.js';
import { VARINT_MAX, varintSize, writeVarint } from './varint.js';
import { utf8Size, writeUtf8 } from './writer.js';
import { checkReasonCode } from './reason-codes.js';
import { encodeConnack, encodeConnect } from './encode-connect.js';
import { encodeSuback, encodeSubscribe, encodeUnsuback, encodeUnsubscribe } from './encode-subscribe.js';

/** Shared frames of the fixed-content packets. Never modify them. */
export const PINGREQ_FRAME: Buffer = Buffer.from([0xc0, 0x00]);
export const PINGRESP_FRAME: Buffer = Buffer.from([0xd0, 0x00]);
/** DISCONNECT of 3.1.1, and of 5.0 with Normal disconnection and no properties (§3.14.2.1). */
export const DISCONNECT_FRAME: Buffer = Buffer.from([0xe0, 0x00]);

export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 1:
      return encodeConnect(packet, version);
    case 2:
      return encodeConnack(packet, version);
    case 3:
      return encodePublish(
        packet.topic,
        packet.payload,
        packet.qos,
        packet.retain,
        packet.dup,
        packet.packetId ?? 0,
        packet.properties,
        version,
      );
    case 4:
    case 5:
    case 6:
    case 7:
      return encodeAck(packet.type, packet.packetId, packet.reasonCode, version, packet.properties);
    case 8:
      return encodeSubscribe(packet, version);
    case 9:
      return encodeSuback(packet, version);
    case 10:
      return encodeUnsubscribe(packet, version);
    case 11:
      return encodeUnsuback(packet, version);
    case 12:
      return PINGREQ_FRAME;
    case 13:
      return PINGRESP_FRAME;
    case 14:
      return encodeDisconnect(packet.reasonCode, version, packet.properties);
    case 15:
      return encodeAuth(packet.reasonCode, version, packet.properties);
    default:
      throw new RangeError(`unknown packet type ${String((packet as { type: unknown }).type)}`);
  }
}

/**
 * PUBLISH (MQTT 5.0 §3.3, 3.1.1 §3.3) in one allocation. `packetId` is ignored for QoS 0 and
 * must be 1..65535 otherwise ([MQTT-2.2.1-3], 3.1.1 [MQTT-2.3.1-1]).
 */
export function encodePublish(
  topic: string,
  payload: Buffer,
  qos: QoS,
  retain: boolean,
  dup: boolean,
  packetId: number,
  properties: Properties | undefined,
  version: ProtocolVersion,
): Buffer {
  let rem = utf8Size(topic, 'topic name') + payload.length;
  if (qos !== 0) {
    if (qos !== 1 && qos !== 2) throw new RangeError(`PUBLISH QoS ${String(qos)}`);
    if (packetId === 0 || (packetId & 0xffff) !== packetId) throw new RangeError(`PUBLISH packet identifier ${packetId} is not in 1..65535`);
    rem += 2;
  }
  let propSize = 0;
  if (version === 5) {
    if (properties !== undefined) propSize = propertiesSize(properties, 3);
    rem += varintSize(propSize) + propSize;
  }
  if (rem > VARINT_MAX) throw new RangeError(`PUBLISH of ${rem} bytes exceeds the largest Remaining Length, ${VARINT_MAX}`);
  const buf = Buffer.allocUnsafe(1 + varintSize(rem) + rem);
  buf[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  let pos = writeVarint(buf, 1, rem);
  pos = writeUtf8(buf, pos, topic);
  if (qos !== 0) {
    buf[pos] = packetId >>> 8;
    buf[pos + 1] = packetId & 0xff;
    pos += 2;
  }
  if (version === 5) {
    if (propSize === 0) buf[pos++] = 0;
    else pos = writeProperties(buf, pos, properties, propSize);
  }
  payload.copy(buf, pos);
  return buf;
}

/**
 * PUBACK (4), PUBREC (5), PUBREL (6), PUBCOMP (7). In 5.0 the Reason Code is omitted when it is
 * Success and there are no properties, and the Property Length when there are no properties
 * (§3.4.2.1, §3.4.2.2.1); 3.1.1 has the packet identifier only.
 */
export function encodeAck(type: 4 | 5 | 6 | 7, packetId: number, reasonCode: number, version: ProtocolVersion, properties?: Properties): Buffer {
  if ((packetId & 0xffff) !== packetId) throw new RangeError(`packet identifier ${packetId} is not in 0..65535`);
  const b0 = type === 6 ? 0x62 : type << 4; // [MQTT-3.6.1-1]: PUBREL flags 0010
  const propSize = version === 5 && properties !== undefined ? propertiesSize(properties, type) : 0;
  if (version !== 5 || (reasonCode === 0 && propSize === 0)) {
    const buf = Buffer.allocUnsafe(4);
    buf[0] = b0;
    buf[1] = 2;
    buf[2] = packetId >>> 8;
    buf[3] = packetId & 0xff;
    return buf;
  }
  checkReasonCode(type, true, reasonCode);
  const rem = propSize === 0 ? 3 : 3 + propertiesBlockSize(propSize);
  const buf = allocFrame(b0, rem);
  let pos = bodyStart(rem);
  buf[pos++] = packetId >>> 8;
  buf[pos++] = packetId & 0xff;
  buf[pos++] = reasonCode;
  if (propSize !== 0) writeProperties(buf, pos, properties, propSize);
  return buf;
}

/** DISCONNECT (5.0 §3.14; 3.1.1 §3.14 has no body). */
export function encodeDisconnect(reasonCode: number, version: ProtocolVersion, properties?: Properties): Buffer {
  if (version !== 5) return DISCONNECT_FRAME;
  return encodeReasonAndProperties(0xe0, 14, reasonCode, properties, true);
}

/** AUTH (5.0 §3.15): the Reason Code and Property Length may be omitted only together. */
export function encodeAuth(reasonCode: number, version: ProtocolVersion, properties?: Properties): Buffer {
  if (version !== 5) throw new RangeError('AUTH exists only in MQTT 5.0');
  return encodeReasonAndProperties(0xf0, 15, reasonCode, properties, false);
}

function encodeReasonAndProperties(b0: number, type: number, reasonCode: number, properties: Properties | undefined, propsOptional: boolean): Buffer {
  checkReasonCode(type, true, reasonCode);
  const propSize = propertiesSize(properties, type);
  if (reasonCode === 0 && propSize === 0) return b0 === 0xe0 ? DISCONNECT_FRAME : Buffer.from([b0, 0]);
  if (propSize === 0 && propsOptional) return Buffer.from([b0, 1, reasonCode]);
  const rem = 1 + propertiesBlockSize(propSize);
  const buf = allocFrame(b0, rem);
  const pos = bodyStart(rem);
  buf[pos] = reasonCode;
  writeProperties(buf, pos + 1, properties, propSize);
  return buf;
}
