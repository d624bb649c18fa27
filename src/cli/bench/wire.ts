// The few MQTT packets the load generator sends and reads, for 3.1.1 (protocol level 4) and 5.0.
// Self-contained on purpose: the load generator does not run the broker's codec (whose speed it
// measures; only the packet type constants are shared) nor dev dependencies such as mqtt-packet. Only what a bench client needs is here.

export type ProtocolVersion = 4 | 5;
export type QoS = 0 | 1 | 2;

/** Control packet types (MQTT 3.1.1 §2.2.1 / MQTT 5.0 §2.1.2): pure constants, shared. */
import { PacketType } from '../../codec/mqtt/packets.js';

export { PacketType };

/** PINGREQ: fixed header only (MQTT 3.1.1 §3.12, MQTT 5.0 §3.12). */
export const PINGREQ = Buffer.from([0xc0, 0x00]);
/** DISCONNECT with no variable header: 3.1.1 §3.14; in 5.0 a Remaining Length of 0 means reason
 * 0x00 Normal disconnection (MQTT 5.0 §3.14.2.1). */
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** Bytes a Variable Byte Integer takes (MQTT 5.0 §1.5.5; 3.1.1 §2.2.3 for Remaining Length). */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** Writes a Variable Byte Integer at `off`; returns the offset after it. */
export function writeVarint(buf: Buffer, off: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    buf[off++] = b;
  } while (n > 0);
  return off;
}

function fixedHeader(byte0: number, remaining: number): { buf: Buffer; off: number } {
  const buf = Buffer.allocUnsafe(1 + varintSize(remaining) + remaining);
  buf[0] = byte0;
  return { buf, off: writeVarint(buf, 1, remaining) };
}

export interface ConnectOptions {
  version: ProtocolVersion;
  clientId: string;
  /** Clean Session (3.1.1 §3.1.2.4) / Clean Start (5.0 §3.1.2.4). */
  clean: boolean;
  keepAlive: number;
  /** Session Expiry Interval in seconds, 5.0 only (§3.1.2.11.2); 0 leaves the property out. */
  sessionExpiry: number;
}

/** CONNECT without will, username or password (MQTT 3.1.1 §3.1, MQTT 5.0 §3.1). */
export function encodeConnect(o: ConnectOptions): Buffer {
  const id = Buffer.from(o.clientId, 'utf8');
  const props = o.version === 5 && o.sessionExpiry > 0 ? 5 : 0;
  // Protocol Name "MQTT" (6) + Level (1) + Flags (1) + Keep Alive (2), then 5.0 properties.
  const variable = 10 + (o.version === 5 ? varintSize(props) + props : 0);
  const { buf, off: start } = fixedHeader(0x10, variable + 2 + id.length);
  let off = start;
  buf.writeUInt16BE(4, off);
  buf.write('MQTT', off + 2, 'latin1');
  buf[off + 6] = o.version;
  buf[off + 7] = o.clean ? 0x02 : 0x00;
  buf.writeUInt16BE(o.keepAlive, off + 8);
  off += 10;
  if (o.version === 5) {
    off = writeVarint(buf, off, props);
    if (props > 0) {
      buf[off] = 0x11; // Session Expiry Interval, MQTT 5.0 §3.1.2.11.2
      buf.writeUInt32BE(o.sessionExpiry, off + 1);
      off += 5;
    }
  }
  buf.writeUInt16BE(id.length, off);
  id.copy(buf, off + 2);
  return buf;
}

/** SUBSCRIBE with one topic filter. The fixed header flags must be 0b0010 [MQTT-3.8.1-1]. */
export function encodeSubscribe(version: ProtocolVersion, packetId: number, filter: string, qos: QoS): Buffer {
  const f = Buffer.from(filter, 'utf8');
  const remaining = 2 + (version === 5 ? 1 : 0) + 2 + f.length + 1;
  const { buf, off: start } = fixedHeader(0x82, remaining);
  let off = start;
  buf.writeUInt16BE(packetId, off);
  off += 2;
  if (version === 5) buf[off++] = 0; // no SUBSCRIBE properties (MQTT 5.0 §3.8.2.1)
  buf.writeUInt16BE(f.length, off);
  f.copy(buf, off + 2);
  off += 2 + f.length;
  // 3.1.1: requested QoS in bits 0-1, the rest reserved zero [MQTT-3-8.3-4]; 5.0 adds No Local,
  // Retain As Published and Retain Handling in the same byte, all left at 0 (§3.8.3.1).
  buf[off] = qos;
  return buf;
}

/** A PUBLISH frame laid out once so a sender can copy it and patch only what changes. */
export interface PublishTemplate {
  frame: Buffer;
  /** Offset of the Packet Identifier, or -1 at QoS 0 (it is absent then, MQTT 3.1.1 §3.3.2.2). */
  packetIdOffset: number;
  payloadOffset: number;
}

export function encodePublishTemplate(
  version: ProtocolVersion,
  topic: string,
  qos: QoS,
  payloadLength: number,
): PublishTemplate {
  const t = Buffer.from(topic, 'utf8');
  const remaining = 2 + t.length + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payloadLength;
  // DUP 0, RETAIN 0; QoS in bits 1-2 of the first byte (MQTT 3.1.1 §3.3.1).
  const { buf, off: start } = fixedHeader(0x30 | (qos << 1), remaining);
  let off = start;
  buf.writeUInt16BE(t.length, off);
  t.copy(buf, off + 2);
  off += 2 + t.length;
  let packetIdOffset = -1;
  if (qos > 0) {
    packetIdOffset = off;
    buf.writeUInt16BE(1, off);
    off += 2;
  }
  if (version === 5) buf[off++] = 0; // Property Length 0 (MQTT 5.0 §3.3.2.3.1)
  buf.fill(0, off);
  return { frame: buf, packetIdOffset, payloadOffset: off };
}

/** First byte of PUBACK, PUBREC, PUBREL, PUBCOMP. PUBREL's flags must be 0b0010 [MQTT-3.6.1-1]. */
export function ackByte0(type: number): number {
  return (type << 4) | (type === PacketType.PUBREL ? 0x02 : 0);
}

/**
 * Writes a 4-byte acknowledgement at `off`. In 5.0 the Reason Code and Property Length may be
 * omitted when the reason is 0x00 Success and there are no properties (MQTT 5.0 §3.4.2.1, and the
 * same rule for PUBREC §3.5.2.1, PUBREL §3.6.2.1, PUBCOMP §3.7.2.1), so both versions share it.
 */
export function writeAck(buf: Buffer, off: number, type: number, packetId: number): number {
  buf[off] = ackByte0(type);
  buf[off + 1] = 2;
  buf[off + 2] = packetId >>> 8;
  buf[off + 3] = packetId & 0xff;
  return off + 4;
}

export interface Connack {
  sessionPresent: boolean;
  /** 3.1.1 return code (§3.2.2.3) or 5.0 reason code (§3.2.2.2); 0 is success in both. */
  code: number;
  /** Receive Maximum from the server (MQTT 5.0 §3.2.2.3.3), 65535 when absent. */
  receiveMaximum: number;
  /** Server Keep Alive (MQTT 5.0 §3.2.2.3.14), -1 when absent. */
  serverKeepAlive: number;
}

export function parseConnack(version: ProtocolVersion, buf: Buffer, start: number, end: number): Connack {
  if (end - start < 2) throw new Error('CONNACK too short');
  const out: Connack = {
    sessionPresent: (buf[start] & 1) === 1,
    code: buf[start + 1],
    receiveMaximum: 65535,
    serverKeepAlive: -1,
  };
  if (version === 5 && end - start > 2) {
    const [len, p] = readVarint(buf, start + 2);
    readProperties(buf, p, p + len, out);
  }
  return out;
}

/** Reason codes of a SUBACK, one per filter (3.1.1 §3.9.3, 5.0 §3.9.3). */
export function parseSuback(version: ProtocolVersion, buf: Buffer, start: number, end: number): number[] {
  let p = start + 2;
  if (version === 5) {
    const [len, after] = readVarint(buf, p);
    p = after + len;
  }
  const codes: number[] = [];
  for (; p < end; p++) codes.push(buf[p]);
  return codes;
}

/** Reads a Variable Byte Integer; returns [value, offset after it]. */
export function readVarint(buf: Buffer, off: number): [number, number] {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < 4; i++) {
    const b = buf[off++];
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return [value, off];
    mult *= 128;
  }
  throw new Error('malformed Variable Byte Integer'); // MQTT 5.0 §1.5.5: at most 4 bytes
}

// Property identifiers grouped by value type (MQTT 5.0 §2.2.2.2), enough to skip any of them.
const BYTE_PROPS = new Set([0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]);
const U16_PROPS = new Set([0x13, 0x21, 0x22, 0x23]);
const U32_PROPS = new Set([0x02, 0x11, 0x18, 0x27]);
const STRING_PROPS = new Set([0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1a, 0x1c, 0x1f]);

function readProperties(buf: Buffer, p: number, end: number, out: Connack): void {
  while (p < end) {
    const id = buf[p++];
    if (BYTE_PROPS.has(id)) p += 1;
    else if (U16_PROPS.has(id)) {
      const v = buf.readUInt16BE(p);
      if (id === 0x21) out.receiveMaximum = v;
      else if (id === 0x13) out.serverKeepAlive = v;
      p += 2;
    } else if (U32_PROPS.has(id)) p += 4;
    else if (id === 0x0b) p = readVarint(buf, p)[1];
    else if (STRING_PROPS.has(id)) p += 2 + buf.readUInt16BE(p);
    else if (id === 0x26) {
      p += 2 + buf.readUInt16BE(p);
      p += 2 + buf.readUInt16BE(p);
    } else throw new Error(`unknown property 0x${id.toString(16)}`);
  }
}

/** Receives whole control packets from a FrameScanner. */
export interface FrameSink {
  /** `buf[start, end)` is the packet's variable header and payload. */
  onFrame(type: number, flags: number, buf: Buffer, start: number, end: number): void;
}

/**
 * Splits a byte stream into control packets by the fixed header alone (type, flags, Remaining
 * Length; MQTT 3.1.1 §2.2). Frames are views of the received chunk; only a frame split across
 * chunks costs a copy.
 */
export class FrameScanner {
  private pending: Buffer | null = null;

  constructor(private readonly sink: FrameSink) {}

  /**
   * Scans `chunk`. When the caller reuses the chunk's memory for its next read (`reused`), a
   * partial frame at its end is copied; otherwise it is kept as a view.
   */
  push(chunk: Buffer, reused = false): void {
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    const len = buf.length;
    let pos = 0;
    for (;;) {
      if (pos + 2 > len) break;
      let i = pos + 1;
      let remaining = 0;
      let mult = 1;
      let complete = false;
      while (i < len) {
        const b = buf[i++];
        remaining += (b & 0x7f) * mult;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
        mult *= 128;
        // Remaining Length takes at most 4 bytes (MQTT 3.1.1 §2.2.3).
        if (i - pos > 4) throw new Error('malformed Remaining Length');
      }
      if (!complete || i + remaining > len) break; // header or body not all here yet
      const byte0 = buf[pos];
      pos = i + remaining;
      this.sink.onFrame(byte0 >> 4, byte0 & 0x0f, buf, i, pos);
    }
    if (pos >= len) this.pending = null;
    else this.pending = reused && buf === chunk ? Buffer.from(buf.subarray(pos)) : buf.subarray(pos);
  }
}
