// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK encoding (MQTT 5.0 §3.8–3.11, 3.1.1 §3.8–3.11).
import type { ProtocolVersion, SubackPacket, SubscribePacket, UnsubackPacket, UnsubscribePacket } from './packets.js';
import { propertiesSize, writeProperties } from './properties.js';
import { allocFrame, bodyStart, propertiesBlockSize } from './frame.js';
import { checkReasonCode } from './reason-codes.js';
import { checkU16, utf8Size, writeU16, writeUtf8 } from './writer.js';

export function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  checkU16(p.packetId, 'SUBSCRIBE packet identifier', 1);
  if (p.subscriptions.length === 0) throw new RangeError('SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-3 (3.1.1)] [MQTT-3.8.3-2 (5.0)]');
  const propSize = v5 ? propertiesSize(p.properties, 8) : 0;
  let rem = 2 + (v5 ? propertiesBlockSize(propSize) : 0);
  for (const s of p.subscriptions) {
    if (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) throw new RangeError(`subscription QoS ${String(s.qos)}`);
    if (v5 && s.retainHandling !== 0 && s.retainHandling !== 1 && s.retainHandling !== 2) {
      throw new RangeError(`subscription retain handling ${String(s.retainHandling)}`);
    }
    rem += utf8Size(s.filter, 'topic filter') + 1;
  }
  const buf = allocFrame(0x82, rem); // [MQTT-3.8.1-1]: flags 0010
  let pos = writeU16(buf, bodyStart(rem), p.packetId);
  if (v5) pos = writeProperties(buf, pos, p.properties, propSize);
  for (const s of p.subscriptions) {
    pos = writeUtf8(buf, pos, s.filter);
    // 3.1.1 §3.8.3.1: only the QoS bits; 5.0 §3.8.3.1 adds No Local, Retain As Published, Retain Handling.
    buf[pos++] = v5 ? s.qos | (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | (s.retainHandling << 4) : s.qos;
  }
  return buf;
}

export function encodeSuback(p: SubackPacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  checkU16(p.packetId, 'SUBACK packet identifier');
  for (const rc of p.reasonCodes) checkReasonCode(9, v5, rc);
  const propSize = v5 ? propertiesSize(p.properties, 9) : 0;
  const rem = 2 + (v5 ? propertiesBlockSize(propSize) : 0) + p.reasonCodes.length;
  const buf = allocFrame(0x90, rem);
  let pos = writeU16(buf, bodyStart(rem), p.packetId);
  if (v5) pos = writeProperties(buf, pos, p.properties, propSize);
  for (const rc of p.reasonCodes) buf[pos++] = rc;
  return buf;
}

export function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  checkU16(p.packetId, 'UNSUBSCRIBE packet identifier', 1);
  if (p.filters.length === 0) throw new RangeError('UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]');
  const propSize = v5 ? propertiesSize(p.properties, 10) : 0;
  let rem = 2 + (v5 ? propertiesBlockSize(propSize) : 0);
  for (const f of p.filters) rem += utf8Size(f, 'topic filter');
  const buf = allocFrame(0xa2, rem); // [MQTT-3.10.1-1]: flags 0010
  let pos = writeU16(buf, bodyStart(rem), p.packetId);
  if (v5) pos = writeProperties(buf, pos, p.properties, propSize);
  for (const f of p.filters) pos = writeUtf8(buf, pos, f);
  return buf;
}

/** 3.1.1 UNSUBACK is the packet identifier alone (§3.11); 5.0 adds properties and reason codes. */
export function encodeUnsuback(p: UnsubackPacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  checkU16(p.packetId, 'UNSUBACK packet identifier');
  if (!v5) {
    const buf = allocFrame(0xb0, 2);
    writeU16(buf, 2, p.packetId);
    return buf;
  }
  for (const rc of p.reasonCodes) checkReasonCode(11, true, rc);
  const propSize = propertiesSize(p.properties, 11);
  const rem = 2 + propertiesBlockSize(propSize) + p.reasonCodes.length;
  const buf = allocFrame(0xb0, rem);
  let pos = writeU16(buf, bodyStart(rem), p.packetId);
  pos = writeProperties(buf, pos, p.properties, propSize);
  for (const rc of p.reasonCodes) buf[pos++] = rc;
  return buf;
}
