// CONNECT decoding (MQTT 5.0 §3.1, MQTT 3.1.1 §3.1, MQTT 3.1 "MQIsdp"). The Protocol Level in
// CONNECT decides how every later packet on the connection is decoded, so it is handed to the
// parser as soon as it is known: an error further into this CONNECT is then reported in the
// client's own version (a 5.0 client gets a 5.0 CONNACK with the reason code).
import type { ConnectPacket, ProtocolVersion, Will } from './packets.js';
import { UnsupportedProtocolVersionError } from './packets.js';
import { malformed, stmt } from './errors.js';
import { readProperties, WILL_PROPERTIES } from './properties.js';
import type { Reader } from './reader.js';

export interface VersionHolder {
  version: ProtocolVersion;
}

export function decodeConnect(r: Reader, holder: VersionHolder): ConnectPacket {
  const protocolName = r.utf8('protocol name');
  const level = r.u8('protocol level');
  if (protocolName === 'MQTT') {
    if (level !== 4 && level !== 5) throw new UnsupportedProtocolVersionError(protocolName, level, 'MQTT-3.1.2-2');
  } else if (protocolName === 'MQIsdp') {
    // MQTT 3.1 names itself "MQIsdp" with level 3; it decodes like 3.1.1.
    if (level !== 3) throw new UnsupportedProtocolVersionError(protocolName, level, 'MQTT-3.1.2-2');
  } else {
    throw new UnsupportedProtocolVersionError(protocolName, level, 'MQTT-3.1.2-1');
  }
  const version = level as ProtocolVersion;
  holder.version = version;
  const v5 = version === 5;
  r.v5 = v5;

  const flags = r.u8('connect flags');
  if ((flags & 0x01) !== 0) throw malformed('CONNECT reserved flag is set', 'MQTT-3.1.2-3');
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (!willFlag) {
    if (willQos !== 0) throw malformed('Will QoS set without Will Flag', stmt(v5, 'MQTT-3.1.2-11', 'MQTT-3.1.2-13'));
    if (willRetain) throw malformed('Will Retain set without Will Flag', stmt(v5, 'MQTT-3.1.2-13', 'MQTT-3.1.2-15'));
  } else if (willQos === 3) {
    throw malformed('Will QoS 3', stmt(v5, 'MQTT-3.1.2-12', 'MQTT-3.1.2-14'));
  }
  // 5.0 allows a password without a user name (§3.1.2.9); 3.1.1 does not.
  if (!v5 && hasPassword && !hasUsername) throw malformed('Password Flag set without User Name Flag', 'MQTT-3.1.2-22');

  const keepAlive = r.u16('keep alive');
  const properties = v5 ? readProperties(r, 1) : undefined;
  if (properties?.authenticationData !== undefined) properties.authenticationData = Buffer.from(properties.authenticationData);
  const clientId = r.utf8('client identifier');

  const packet: ConnectPacket = { type: 1, protocolName, protocolVersion: version, clean: (flags & 0x02) !== 0, keepAlive, clientId };
  if (properties !== undefined) packet.properties = properties;
  if (willFlag) {
    const willProps = v5 ? readProperties(r, WILL_PROPERTIES) : undefined;
    // Copied: the will lives as long as the session and must not pin the socket's read buffer.
    if (willProps?.correlationData !== undefined) willProps.correlationData = Buffer.from(willProps.correlationData);
    const topic = r.utf8('will topic');
    const payload = r.binary('will payload', true);
    const will: Will = { topic, payload, qos: willQos as 0 | 1 | 2, retain: willRetain };
    if (willProps !== undefined) will.properties = willProps;
    packet.will = will;
  }
  if (hasUsername) packet.username = r.utf8('user name');
  if (hasPassword) packet.password = r.binary('password', true);
  r.done('CONNECT');
  return packet;
}
