// MQTT 5.0 properties (§2.2.2): the identifier table with each property's data type and the
// packets that may carry it (§2.2.2.2, Table 2-4), and their decoding and encoding.
import type { Properties, UserProperty } from './packets.js';
import { malformed, protocolError } from './errors.js';
import { truncated, type Reader } from './reader.js';
import { checkVarint, varintSize, VARINT_MAX, writeVarint } from './varint.js';
import { binarySize, utf8Size, writeBinary, writeUtf8 } from './writer.js';

/** Pseudo packet type for the Will Properties of CONNECT (§3.1.3.2): not a real packet type. */
export const WILL_PROPERTIES = 0;

const BYTE = 0;
const U16 = 1;
const U32 = 2;
const VARINT = 3;
const STRING = 4;
const BINARY = 5;
const PAIR = 6;

/** Data types of property values (§2.2.2.2), as used in PROPERTY_DEFS[].type. */
export const PropertyType = { Byte: BYTE, TwoByteInteger: U16, FourByteInteger: U32, VariableByteInteger: VARINT, Utf8String: STRING, BinaryData: BINARY, Utf8StringPair: PAIR } as const;

const WILL = 1 << WILL_PROPERTIES;
const CONNECT = 1 << 1;
const CONNACK = 1 << 2;
const PUBLISH = 1 << 3;
const PUBACK = 1 << 4;
const PUBREC = 1 << 5;
const PUBREL = 1 << 6;
const PUBCOMP = 1 << 7;
const SUBSCRIBE = 1 << 8;
const SUBACK = 1 << 9;
const UNSUBSCRIBE = 1 << 10;
const UNSUBACK = 1 << 11;
const DISCONNECT = 1 << 14;
const AUTH = 1 << 15;

export interface PropertyDef {
  id: number;
  key: keyof Properties;
  type: number;
  /** Bit n set: packet type n may carry it (bit 0: Will Properties). */
  allowed: number;
  /** Where the spec defines it, for error messages. */
  section: string;
}

const PUB_ACKS = PUBACK | PUBREC | PUBREL | PUBCOMP;

/** In identifier order, which is also the order the encoder writes them in. */
export const PROPERTY_DEFS: readonly PropertyDef[] = [
  { id: 0x01, key: 'payloadFormatIndicator', type: BYTE, allowed: PUBLISH | WILL, section: '3.3.2.3.2' },
  { id: 0x02, key: 'messageExpiryInterval', type: U32, allowed: PUBLISH | WILL, section: '3.3.2.3.3' },
  { id: 0x03, key: 'contentType', type: STRING, allowed: PUBLISH | WILL, section: '3.3.2.3.9' },
  { id: 0x08, key: 'responseTopic', type: STRING, allowed: PUBLISH | WILL, section: '3.3.2.3.5' },
  { id: 0x09, key: 'correlationData', type: BINARY, allowed: PUBLISH | WILL, section: '3.3.2.3.6' },
  { id: 0x0b, key: 'subscriptionIdentifiers', type: VARINT, allowed: PUBLISH | SUBSCRIBE, section: '3.8.2.1.2' },
  { id: 0x11, key: 'sessionExpiryInterval', type: U32, allowed: CONNECT | CONNACK | DISCONNECT, section: '3.1.2.11.2' },
  { id: 0x12, key: 'assignedClientIdentifier', type: STRING, allowed: CONNACK, section: '3.2.2.3.7' },
  { id: 0x13, key: 'serverKeepAlive', type: U16, allowed: CONNACK, section: '3.2.2.3.14' },
  { id: 0x15, key: 'authenticationMethod', type: STRING, allowed: CONNECT | CONNACK | AUTH, section: '3.1.2.11.9' },
  { id: 0x16, key: 'authenticationData', type: BINARY, allowed: CONNECT | CONNACK | AUTH, section: '3.1.2.11.10' },
  { id: 0x17, key: 'requestProblemInformation', type: BYTE, allowed: CONNECT, section: '3.1.2.11.7' },
  { id: 0x18, key: 'willDelayInterval', type: U32, allowed: WILL, section: '3.1.3.2.2' },
  { id: 0x19, key: 'requestResponseInformation', type: BYTE, allowed: CONNECT, section: '3.1.2.11.6' },
  { id: 0x1a, key: 'responseInformation', type: STRING, allowed: CONNACK, section: '3.2.2.3.15' },
  { id: 0x1c, key: 'serverReference', type: STRING, allowed: CONNACK | DISCONNECT, section: '3.2.2.3.16' },
  {
    id: 0x1f,
    key: 'reasonString',
    type: STRING,
    allowed: CONNACK | PUB_ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH,
    section: '3.2.2.3.9',
  },
  { id: 0x21, key: 'receiveMaximum', type: U16, allowed: CONNECT | CONNACK, section: '3.1.2.11.3' },
  { id: 0x22, key: 'topicAliasMaximum', type: U16, allowed: CONNECT | CONNACK, section: '3.1.2.11.5' },
  { id: 0x23, key: 'topicAlias', type: U16, allowed: PUBLISH, section: '3.3.2.3.4' },
  { id: 0x24, key: 'maximumQoS', type: BYTE, allowed: CONNACK, section: '3.2.2.3.4' },
  { id: 0x25, key: 'retainAvailable', type: BYTE, allowed: CONNACK, section: '3.2.2.3.5' },
  {
    id: 0x26,
    key: 'userProperties',
    type: PAIR,
    allowed: WILL | CONNECT | CONNACK | PUBLISH | PUB_ACKS | SUBSCRIBE | SUBACK | UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH,
    section: '3.1.2.11.8',
  },
  { id: 0x27, key: 'maximumPacketSize', type: U32, allowed: CONNECT | CONNACK, section: '3.1.2.11.4' },
  { id: 0x28, key: 'wildcardSubscriptionAvailable', type: BYTE, allowed: CONNACK, section: '3.2.2.3.11' },
  { id: 0x29, key: 'subscriptionIdentifiersAvailable', type: BYTE, allowed: CONNACK, section: '3.2.2.3.12' },
  { id: 0x2a, key: 'sharedSubscriptionAvailable', type: BYTE, allowed: CONNACK, section: '3.2.2.3.13' },
];

const BY_ID: (PropertyDef | undefined)[] = [];
for (const d of PROPERTY_DEFS) BY_ID[d.id] = d;

const SUBSCRIPTION_IDENTIFIER = 0x0b;
const USER_PROPERTY = 0x26;

/**
 * Reads a Property Length and the properties after it (§2.2.2.1). Returns undefined when there
 * are none, so a packet without properties allocates nothing.
 */
export function readProperties(r: Reader, ptype: number): Properties | undefined {
  const len = r.varint('property length');
  if (len === 0) return undefined;
  const end = r.pos + len;
  if (end > r.end) throw truncated('properties');
  const outerEnd = r.end;
  r.end = end; // a property value that runs past the block is malformed, not a read of the payload
  const props: Properties = {};
  const bag = props as Record<string, unknown>;
  while (r.pos < end) {
    const id = r.varint('property identifier');
    const def = BY_ID[id];
    if (def === undefined || (def.allowed & (1 << ptype)) === 0) {
      // §2.2.2.2: an identifier not valid for the packet type is a Malformed Packet.
      throw malformed(`property 0x${id.toString(16)} is not valid in this packet`, '5.0 §2.2.2.2');
    }
    if (id === USER_PROPERTY) {
      // §3.3.2.3.7: user properties may repeat; order and duplicates are kept.
      const pair: UserProperty = [r.utf8('user property name'), r.utf8('user property value')];
      if (props.userProperties === undefined) props.userProperties = [pair];
      else props.userProperties.push(pair);
      continue;
    }
    let value: unknown;
    switch (def.type) {
      case BYTE:
        value = r.u8(def.key);
        break;
      case U16:
        value = r.u16(def.key);
        break;
      case U32:
        value = r.u32(def.key);
        break;
      case VARINT:
        value = r.varint(def.key);
        break;
      case STRING:
        value = r.utf8(def.key);
        break;
      default:
        // Kept as a view: the only binary properties are per-message (correlation data) or
        // copied by the CONNECT decoder along with the rest of the connection's state.
        value = r.binary(def.key, false);
    }
    if (id === SUBSCRIPTION_IDENTIFIER) {
      const ids = props.subscriptionIdentifiers;
      // §3.3.4: a PUBLISH to a client carries one identifier per matching subscription;
      // §3.8.2.1.2: a SUBSCRIBE carries at most one.
      if (ids === undefined) props.subscriptionIdentifiers = [value as number];
      else if (ptype === 3) ids.push(value as number);
      else throw protocolError(`${def.key} appears more than once`, `5.0 §${def.section}`);
      continue;
    }
    if (bag[def.key] !== undefined) {
      // Each property section: "It is a Protocol Error to include the <property> more than once".
      throw protocolError(`${def.key} appears more than once`, `5.0 §${def.section}`);
    }
    bag[def.key] = value;
  }
  r.end = outerEnd;
  return props;
}

/**
 * Encoded size of the properties' body (without the Property Length itself). Throws a
 * RangeError for a property the packet type may not carry or a value its type cannot hold.
 */
export function propertiesSize(p: Properties | undefined, ptype: number): number {
  if (p === undefined) return 0;
  const bag = p as Record<string, unknown>;
  let size = 0;
  for (const def of PROPERTY_DEFS) {
    const v = bag[def.key];
    if (v === undefined) continue;
    if (def.id === USER_PROPERTY || def.id === SUBSCRIPTION_IDENTIFIER) {
      if ((v as unknown[]).length === 0) continue;
    }
    if ((def.allowed & (1 << ptype)) === 0) {
      throw new RangeError(`property ${def.key} is not allowed in this packet (MQTT 5.0 §2.2.2.2)`);
    }
    switch (def.type) {
      case BYTE:
        checkRange(v, 0xff, def.key);
        size += 2;
        break;
      case U16:
        checkRange(v, 0xffff, def.key);
        size += 3;
        break;
      case U32:
        checkRange(v, 0xffffffff, def.key);
        size += 5;
        break;
      case VARINT: {
        const ids = v as number[];
        if (ids.length > 1 && ptype !== 3) throw new RangeError(`${def.key}: only a PUBLISH may carry several (MQTT 5.0 §3.8.2.1.2)`);
        for (const n of ids) {
          checkVarint(n, def.key);
          size += 1 + varintSize(n);
        }
        break;
      }
      case STRING:
        size += 1 + utf8Size(v as string, def.key);
        break;
      case BINARY:
        size += 1 + binarySize(v as Buffer, def.key);
        break;
      default:
        for (const [k, val] of v as UserProperty[]) size += 1 + utf8Size(k, 'user property name') + utf8Size(val, 'user property value');
    }
  }
  if (size > VARINT_MAX) throw new RangeError(`properties of ${size} bytes exceed a Variable Byte Integer`);
  return size;
}

/** Writes Property Length `size` (from propertiesSize) and the properties; returns the new position. */
export function writeProperties(buf: Buffer, pos: number, p: Properties | undefined, size: number): number {
  pos = writeVarint(buf, pos, size);
  if (size === 0 || p === undefined) return pos;
  const bag = p as Record<string, unknown>;
  for (const def of PROPERTY_DEFS) {
    const v = bag[def.key];
    if (v === undefined) continue;
    switch (def.type) {
      case BYTE:
        buf[pos++] = def.id;
        buf[pos++] = v as number;
        break;
      case U16:
        buf[pos++] = def.id;
        buf.writeUInt16BE(v as number, pos);
        pos += 2;
        break;
      case U32:
        buf[pos++] = def.id;
        buf.writeUInt32BE(v as number, pos);
        pos += 4;
        break;
      case VARINT:
        for (const n of v as number[]) {
          buf[pos++] = def.id;
          pos = writeVarint(buf, pos, n);
        }
        break;
      case STRING:
        buf[pos++] = def.id;
        pos = writeUtf8(buf, pos, v as string);
        break;
      case BINARY:
        buf[pos++] = def.id;
        pos = writeBinary(buf, pos, v as Buffer);
        break;
      default:
        for (const [k, val] of v as UserProperty[]) {
          buf[pos++] = def.id;
          pos = writeUtf8(buf, pos, k);
          pos = writeUtf8(buf, pos, val);
        }
    }
  }
  return pos;
}

function checkRange(v: unknown, max: number, key: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`property ${key} = ${String(v)} is not an integer in 0..${max}`);
  }
}
