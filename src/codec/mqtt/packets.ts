// The MQTT packet model shared by the codec, the channel and the bench. Pure data: no I/O.
// Field names follow the MQTT 5.0 specification (OASIS Standard, 2019) §2–3; MQTT 3.1.1 packets
// are the same shapes without properties and with 3.1.1 return codes.

/** Protocol level byte of CONNECT: 3 = MQTT 3.1 ("MQIsdp"), 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;
export type PacketTypeId = (typeof PacketType)[keyof typeof PacketType];

/** MQTT 5.0 reason codes (§2.4). 3.1.1 CONNACK return codes are in ConnackReturnCode311. */
export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
export const ConnackReturnCode311 = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/** 3.1.1 SUBACK failure return code (§3.9.3). */
export const SUBACK_FAILURE_311 = 0x80;

export type UserProperty = [key: string, value: string];

/** MQTT 5.0 properties (§2.2.2.2). Each packet type allows a subset; the codec enforces which. */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01
  messageExpiryInterval?: number; // 0x02
  contentType?: string; // 0x03
  responseTopic?: string; // 0x08
  correlationData?: Buffer; // 0x09
  subscriptionIdentifiers?: number[]; // 0x0B (PUBLISH may carry several; SUBSCRIBE one)
  sessionExpiryInterval?: number; // 0x11
  assignedClientIdentifier?: string; // 0x12
  serverKeepAlive?: number; // 0x13
  authenticationMethod?: string; // 0x15
  authenticationData?: Buffer; // 0x16
  requestProblemInformation?: number; // 0x17
  willDelayInterval?: number; // 0x18
  requestResponseInformation?: number; // 0x19
  responseInformation?: string; // 0x1A
  serverReference?: string; // 0x1C
  reasonString?: string; // 0x1F
  receiveMaximum?: number; // 0x21
  topicAliasMaximum?: number; // 0x22
  topicAlias?: number; // 0x23
  maximumQoS?: number; // 0x24
  retainAvailable?: number; // 0x25
  userProperties?: UserProperty[]; // 0x26 (order and duplicates preserved, §3.3.2.3.7)
  maximumPacketSize?: number; // 0x27
  wildcardSubscriptionAvailable?: number; // 0x28
  subscriptionIdentifiersAvailable?: number; // 0x29
  sharedSubscriptionAvailable?: number; // 0x2A
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties; // will properties (5.0 §3.1.3.2)
}

export interface ConnectPacket {
  type: 1;
  protocolName: string; // "MQTT" or "MQIsdp"
  protocolVersion: ProtocolVersion;
  clean: boolean; // Clean Session (3.1.1) / Clean Start (5.0)
  keepAlive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 2;
  sessionPresent: boolean;
  /** 5.0 reason code, or the 3.1.1 return code when encoding/decoding a 3.1.1 packet. */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 3;
  dup: boolean;
  qos: QoS;
  retain: boolean;
  /** Topic name; may be '' in 5.0 when a topic alias is used (§3.3.2.3.4). */
  topic: string;
  packetId?: number; // present iff qos > 0
  properties?: Properties;
  /** A view of the received bytes when decoded (zero-copy). */
  payload: Buffer;
  /**
   * When decoded: a view of the whole frame as received (fixed header through payload). The
   * router forwards these bytes unchanged where they already are the variant a subscriber needs.
   */
  frame?: Buffer;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP share a shape (§3.4–3.7). */
export interface AckPacket {
  type: 4 | 5 | 6 | 7;
  packetId: number;
  reasonCode: number; // 0 when absent on the wire
  properties?: Properties;
}

export interface Subscription {
  filter: string;
  qos: QoS;
  noLocal: boolean; // 5.0 only
  retainAsPublished: boolean; // 5.0 only
  retainHandling: 0 | 1 | 2; // 5.0 only
}

export interface SubscribePacket {
  type: 8;
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 9;
  packetId: number;
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 10;
  packetId: number;
  filters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 11;
  packetId: number;
  reasonCodes: number[]; // empty for 3.1.1
  properties?: Properties;
}

export interface PingreqPacket {
  type: 12;
}
export interface PingrespPacket {
  type: 13;
}

export interface DisconnectPacket {
  type: 14;
  reasonCode: number; // 0 when absent
  properties?: Properties;
}

export interface AuthPacket {
  type: 15;
  reasonCode: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

/**
 * Thrown by the decoder. `reasonCode` is the MQTT 5 reason code to send in a DISCONNECT (or the
 * CONNACK for a bad CONNECT) before closing: 0x81 Malformed Packet, 0x82 Protocol Error,
 * 0x95 Packet Too Large, 0x84 Unsupported Protocol Version.
 */
export class MqttProtocolError extends Error {
  readonly reasonCode: number;
  /** Spec statement the input broke, e.g. "MQTT-1.5.4-1". */
  readonly statement: string | undefined;
  constructor(reasonCode: number, message: string, statement?: string) {
    super(statement ? `${message} [${statement}]` : message);
    this.name = 'MqttProtocolError';
    this.reasonCode = reasonCode;
    this.statement = statement;
  }
}

/**
 * Thrown by the decoder for a CONNECT whose protocol name or level this broker does not speak
 * (reasonCode 0x84). The channel answers from `protocolVersion`: level 5 gets a 5.0 CONNACK with
 * 0x84 [MQTT-3.1.2-2 (5.0)], anything else the 3.1.1 CONNACK return code 1 [MQTT-3.1.2-2 (3.1.1)].
 */
export class UnsupportedProtocolVersionError extends MqttProtocolError {
  /** The Protocol Level byte as received (any value 0..255). */
  readonly protocolVersion: number;
  readonly protocolName: string;
  constructor(protocolName: string, protocolVersion: number, statement: string) {
    super(ReasonCode.UnsupportedProtocolVersion, `unsupported protocol ${JSON.stringify(protocolName)} level ${protocolVersion}`, statement);
    this.name = 'UnsupportedProtocolVersionError';
    this.protocolVersion = protocolVersion;
    this.protocolName = protocolName;
  }
}
