// The protocol-neutral message every protocol turns what a device says into. Core routes it to
// subscribers, the retained store, and the hook points (twins, telemetry, rules, commands).
import type { Properties, ProtocolVersion, QoS } from '../codec/mqtt/packets.js';

export type OriginProtocol = 'mqtt' | 'coap' | 'lwm2m' | 'http' | 'rule' | 'sys';

export interface MessageOrigin {
  protocol: OriginProtocol;
  /** MQTT client id (or the equivalent endpoint name) of the sender; '' for the hub itself. */
  clientId: string;
  /** Registered device id when the sender authenticated as a device. */
  deviceId?: string;
  /** MQTT protocol version of the sender, when it is an MQTT client. */
  version?: ProtocolVersion;
}

/** The MQTT 5 application properties a message carries end to end (§3.3.2.3). */
export type MessageProperties = Pick<
  Properties,
  'payloadFormatIndicator' | 'contentType' | 'responseTopic' | 'correlationData' | 'userProperties'
>;

export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  origin: MessageOrigin;
  /** Application properties, present only when the sender set any. */
  properties: MessageProperties | undefined;
  /** Epoch ms when the hub received it. */
  receivedAt: number;
  /** Epoch ms after which it must not be delivered (5.0 Message Expiry Interval), or 0 for never. */
  expiresAt: number;
  /** Priority class index from config.priorities (0 = highest); set by the router. */
  priority: number;
  /** How many rule hops produced this message (0 for device messages); loops stop at a bound. */
  hops: number;
  /**
   * The frame as received, when it came from an MQTT client: forwarded unchanged to subscribers
   * of the same protocol version at QoS 0 with no per-subscriber properties.
   */
  frame: Buffer | undefined;
}

/** The application properties a message carries on (§3.3.2.3), or undefined if none are set. */
export function messageProperties(p: Properties): MessageProperties | undefined {
  if (
    p.payloadFormatIndicator === undefined &&
    p.contentType === undefined &&
    p.responseTopic === undefined &&
    p.correlationData === undefined &&
    p.userProperties === undefined
  )
    return undefined;
  const m: MessageProperties = {};
  if (p.payloadFormatIndicator !== undefined) m.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.contentType !== undefined) m.contentType = p.contentType;
  if (p.responseTopic !== undefined) m.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) m.correlationData = p.correlationData;
  if (p.userProperties !== undefined) m.userProperties = p.userProperties;
  return m;
}
