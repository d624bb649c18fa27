// Constructors for the decoder's errors, so each check reads as one line. Statement ids are
// version-specific: the same rule has different numbers in MQTT 3.1.1 and 5.0.
import { MqttProtocolError, ReasonCode } from './packets.js';

/** Malformed Packet (MQTT 5.0 §4.13.1 / 3.1.1 §4.8): the bytes cannot be parsed as the spec says. */
export function malformed(message: string, statement?: string): MqttProtocolError {
  return new MqttProtocolError(ReasonCode.MalformedPacket, message, statement);
}

/** Protocol Error (MQTT 5.0 §4.13.1): parsed, but the spec forbids it. */
export function protocolError(message: string, statement?: string): MqttProtocolError {
  return new MqttProtocolError(ReasonCode.ProtocolError, message, statement);
}

/** Picks the statement id of a rule by protocol version. */
export function stmt(v5: boolean, id5: string, id311: string): string {
  return v5 ? id5 : id311;
}
