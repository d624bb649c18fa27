// CONNECT and CONNACK encoding (MQTT 5.0 §3.1–3.2, 3.1.1 §3.1–3.2). Used by the bench, the
// tests and any client-side code; the broker itself only sends CONNACK.
import type { ConnackPacket, ConnectPacket, ProtocolVersion } from './packets.js';
import { propertiesSize, writeProperties, WILL_PROPERTIES } from './properties.js';
import { allocFrame, bodyStart, propertiesBlockSize } from './frame.js';
import { checkReasonCode } from './reason-codes.js';
import { binarySize, checkU16, utf8Size, writeBinary, writeU16, writeUtf8 } from './writer.js';

export function encodeConnect(p: ConnectPacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  if ((p.protocolVersion === 5) !== v5) {
    throw new RangeError(`CONNECT protocolVersion ${p.protocolVersion} does not match encoding version ${version}`);
  }
  checkU16(p.keepAlive, 'keep alive');
  const will = p.will;
  if (!v5 && p.password !== undefined && p.username === undefined) {
    throw new RangeError('a 3.1.1 CONNECT cannot carry a password without a user name [MQTT-3.1.2-22]');
  }
  let rem = utf8Size(p.protocolName, 'protocol name') + 1 + 1 + 2 + utf8Size(p.clientId, 'client identifier');
  const propSize = v5 ? propertiesSize(p.properties, 1) : 0;
  if (v5) rem += propertiesBlockSize(propSize);
  let willPropSize = 0;
  if (will !== undefined) {
    if (will.qos !== 0 && will.qos !== 1 && will.qos !== 2) throw new RangeError(`will QoS ${String(will.qos)}`);
    if (v5) {
      willPropSize = propertiesSize(will.properties, WILL_PROPERTIES);
      rem += propertiesBlockSize(willPropSize);
    }
    rem += utf8Size(will.topic, 'will topic') + binarySize(will.payload, 'will payload');
  }
  if (p.username !== undefined) rem += utf8Size(p.username, 'user name');
  if (p.password !== undefined) rem += binarySize(p.password, 'password');

  const buf = allocFrame(0x10, rem);
  let pos = writeUtf8(buf, bodyStart(rem), p.protocolName);
  buf[pos++] = p.protocolVersion;
  let flags = p.clean ? 0x02 : 0;
  if (will !== undefined) flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;
  buf[pos++] = flags;
  pos = writeU16(buf, pos, p.keepAlive);
  if (v5) pos = writeProperties(buf, pos, p.properties, propSize);
  pos = writeUtf8(buf, pos, p.clientId);
  if (will !== undefined) {
    if (v5) pos = writeProperties(buf, pos, will.properties, willPropSize);
    pos = writeUtf8(buf, pos, will.topic);
    pos = writeBinary(buf, pos, will.payload);
  }
  if (p.username !== undefined) pos = writeUtf8(buf, pos, p.username);
  if (p.password !== undefined) writeBinary(buf, pos, p.password);
  return buf;
}

export function encodeConnack(p: ConnackPacket, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  checkReasonCode(2, v5, p.reasonCode);
  const propSize = v5 ? propertiesSize(p.properties, 2) : 0;
  // 5.0 §3.2.2.3.1: the Property Length is always present in CONNACK.
  const rem = 2 + (v5 ? propertiesBlockSize(propSize) : 0);
  const buf = allocFrame(0x20, rem);
  let pos = bodyStart(rem);
  buf[pos++] = p.sessionPresent ? 1 : 0;
  buf[pos++] = p.reasonCode;
  if (v5) writeProperties(buf, pos, p.properties, propSize);
  return buf;
}
