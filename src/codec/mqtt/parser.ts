// Streaming MQTT decoder: bytes in arbitrary chunks, each complete packet out synchronously.
//
// Zero-copy: a frame lying wholly inside a chunk is decoded in place, and a PUBLISH's `payload`
// and `frame` are views of that chunk. A frame that spans chunks is copied once into a buffer of
// its exact size (known from the fixed header), so reassembly costs O(frame) however it is cut.
//
// Errors are thrown as MqttProtocolError (reason code + spec statement); after one, the parser
// is destroyed and ignores further input, as the connection is being closed.
import type { Packet, Properties, ProtocolVersion, PublishPacket, QoS } from './packets.js';
import { MqttProtocolError, ReasonCode } from './packets.js';
import { malformed, stmt } from './errors.js';
import { Reader, truncated } from './reader.js';
import { readProperties } from './properties.js';
import { readUtf8 } from './utf8.js';
import { decodeConnect } from './decode-connect.js';
import {
  decodeAck,
  decodeConnack,
  decodeDisconnectOrAuth,
  decodeSuback,
  decodeSubscribe,
  decodeUnsuback,
  decodeUnsubscribe,
} from './decode-packets.js';

/**
 * The flags each packet type must carry in the low nibble of byte 1 (MQTT 5.0 §2.1.3 Table 2-2,
 * 3.1.1 §2.2.2 Table 2.2); -1: type reserved. PUBLISH (3) is checked on its own.
 */
const REQUIRED_FLAGS = [-1, 0, 0, -2, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

const PINGREQ: Packet = Object.freeze({ type: 12 });
const PINGRESP: Packet = Object.freeze({ type: 13 });

export class MqttParser {
  /** Decodes 3.1.1 (3, 4) or 5.0 (5) layouts; set by each CONNECT, or by the owner for a client. */
  version: ProtocolVersion = 4;
  /** Set (by destroy() or from onPacket) to stop parsing at once, mid-chunk included. */
  destroyed = false;
  /** Largest whole packet accepted, fixed header included (MQTT 5.0 §3.2.2.3.6). */
  maxPacketSize: number;

  private readonly onPacket: (p: Packet) => void;
  private readonly reader = new Reader();
  /** Fixed-header bytes received so far when the header itself spans chunks (at most 4). */
  private head: Buffer | null = null;
  private headLen = 0;
  /** The exact-size buffer of a frame being reassembled, and how much of it is filled. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  private partialHeaderLen = 0;

  constructor(onPacket: (p: Packet) => void, maxPacketSize: number) {
    this.onPacket = onPacket;
    this.maxPacketSize = maxPacketSize;
  }

  destroy(): void {
    this.destroyed = true;
    this.partial = null;
    this.head = null;
    this.reader.buf = EMPTY;
  }

  /** Bytes of an unfinished frame held between chunks (for memory accounting and tests). */
  get buffered(): number {
    return this.partial !== null ? this.partialFilled : this.headLen;
  }

  feed(chunk: Buffer): void {
    if (this.destroyed) return;
    try {
      this.run(chunk);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  private run(chunk: Buffer): void {
    const len = chunk.length;
    let pos = 0;
    if (this.partial !== null) {
      pos = this.fillPartial(chunk);
      if (pos < 0) return;
    } else if (this.headLen > 0) {
      pos = this.fillHead(chunk);
      if (pos < 0) return;
    }
    while (pos < len && !this.destroyed) {
      const b0 = chunk[pos]!;
      // Remaining Length, 1–4 bytes (MQTT 5.0 §1.5.5 / 3.1.1 §2.2.3).
      let q = pos + 1;
      let rem = 0;
      let mult = 1;
      let b = 0x80;
      while (q < len) {
        b = chunk[q++]!;
        rem += (b & 0x7f) * mult;
        if (b < 0x80) break;
        if (q - pos > 4) throw remainingLengthTooLong();
        mult *= 128;
      }
      if (b >= 0x80) {
        // The fixed header itself is cut: keep its bytes for the next chunk.
        this.stashHead(chunk, pos, len);
        return;
      }
      const headerLen = q - pos;
      this.checkHeader(b0, b, headerLen, rem);
      const end = q + rem;
      if (end <= len) {
        this.decode(chunk, b0, pos, q, end);
        pos = end;
      } else {
        const frame = Buffer.allocUnsafe(headerLen + rem);
        chunk.copy(frame, 0, pos, len);
        this.partial = frame;
        this.partialFilled = len - pos;
        this.partialHeaderLen = headerLen;
        return;
      }
    }
  }

  /** Validates byte 1 and the size before any of the body is buffered. */
  private checkHeader(b0: number, lastLenByte: number, headerLen: number, rem: number): void {
    const type = b0 >> 4;
    const required = REQUIRED_FLAGS[type]!;
    const v5 = this.version === 5;
    if (required === -2) {
      if ((b0 & 0x06) === 0x06) throw malformed('PUBLISH with QoS 3', 'MQTT-3.3.1-4');
    } else if (required === -1 || (type === 15 && !v5)) {
      throw malformed(`reserved packet type ${type}`, stmt(v5, '5.0 §2.1.2', '3.1.1 §2.2.1'));
    } else if ((b0 & 0x0f) !== required) {
      const id = type === 6 ? 'MQTT-3.6.1-1' : type === 8 ? 'MQTT-3.8.1-1' : type === 10 ? 'MQTT-3.10.1-1' : stmt(v5, 'MQTT-2.1.3-1', 'MQTT-2.2.2-2');
      throw malformed(`invalid fixed header flags 0x${(b0 & 0x0f).toString(16)} for packet type ${type}`, id);
    }
    // [MQTT-1.5.5-1] asks for the shortest encoding; 3.1.1 §2.2.3 does not, so only 5.0 refuses.
    if (lastLenByte === 0 && headerLen > 2 && v5) {
      throw malformed('Remaining Length not in its shortest form', 'MQTT-1.5.5-1');
    }
    if (headerLen + rem > this.maxPacketSize) {
      throw new MqttProtocolError(
        ReasonCode.PacketTooLarge,
        `packet of ${headerLen + rem} bytes exceeds the maximum of ${this.maxPacketSize}`,
        'MQTT-3.2.2-15',
      );
    }
  }

  private stashHead(chunk: Buffer, pos: number, len: number): void {
    if (this.head === null) this.head = Buffer.allocUnsafe(5);
    chunk.copy(this.head, 0, pos, len);
    this.headLen = len - pos;
  }

  /** Completes a fixed header cut by a chunk boundary; returns the position after it, or -1. */
  private fillHead(chunk: Buffer): number {
    const head = this.head!;
    let i = 0;
    while (i < chunk.length) {
      const b = chunk[i++]!;
      head[this.headLen++] = b;
      if (b < 0x80) {
        let rem = 0;
        let mult = 1;
        for (let k = 1; k < this.headLen; k++) {
          rem += (head[k]! & 0x7f) * mult;
          mult *= 128;
        }
        const headerLen = this.headLen;
        this.headLen = 0;
        this.checkHeader(head[0]!, b, headerLen, rem);
        const frame = Buffer.allocUnsafe(headerLen + rem);
        head.copy(frame, 0, 0, headerLen);
        this.partial = frame;
        this.partialFilled = headerLen;
        this.partialHeaderLen = headerLen;
        const used = this.fillPartial(chunk.subarray(i));
        return used < 0 ? -1 : i + used;
      }
      if (this.headLen > 4) throw remainingLengthTooLong();
    }
    return -1;
  }

  /** Adds bytes to the frame being reassembled; returns bytes used when it completes, else -1. */
  private fillPartial(chunk: Buffer): number {
    const frame = this.partial!;
    const need = frame.length - this.partialFilled;
    if (chunk.length < need) {
      chunk.copy(frame, this.partialFilled);
      this.partialFilled += chunk.length;
      return -1;
    }
    chunk.copy(frame, this.partialFilled, 0, need);
    this.partial = null;
    this.partialFilled = 0;
    this.decode(frame, frame[0]!, 0, this.partialHeaderLen, frame.length);
    return need;
  }

  /** Decodes the frame at [start, end) of `buf`, whose body starts at `body`, and delivers it. */
  private decode(buf: Buffer, b0: number, start: number, body: number, end: number): void {
    const type = b0 >> 4;
    if (type === 3) {
      this.onPacket(this.decodePublish(buf, b0, start, body, end));
      return;
    }
    const r = this.reader.reset(buf, body, end, this.version === 5);
    let packet: Packet;
    switch (type) {
      case 1:
        packet = decodeConnect(r, this);
        break;
      case 2:
        packet = decodeConnack(r);
        break;
      case 4:
      case 5:
      case 6:
      case 7:
        packet = decodeAck(r, type);
        break;
      case 8:
        packet = decodeSubscribe(r);
        break;
      case 9:
        packet = decodeSuback(r);
        break;
      case 10:
        packet = decodeUnsubscribe(r);
        break;
      case 11:
        packet = decodeUnsuback(r);
        break;
      case 12:
        r.done('PINGREQ');
        packet = PINGREQ;
        break;
      case 13:
        r.done('PINGRESP');
        packet = PINGRESP;
        break;
      default:
        packet = decodeDisconnectOrAuth(r, type as 14 | 15);
    }
    // Drop the reference so an idle connection does not pin its last chunk.
    r.buf = EMPTY;
    this.onPacket(packet);
  }

  /**
   * PUBLISH (MQTT 5.0 §3.3, 3.1.1 §3.3), inlined for speed: one string for the topic, views for
   * payload and frame, an object for properties only when there are any.
   */
  private decodePublish(buf: Buffer, b0: number, start: number, body: number, end: number): PublishPacket {
    const v5 = this.version === 5;
    const qos = ((b0 >> 1) & 0x03) as QoS;
    let p = body;
    if (p + 2 > end) throw truncated('topic name');
    const topicEnd = p + 2 + ((buf[p]! << 8) | buf[p + 1]!);
    if (topicEnd > end) throw truncated('topic name');
    const topic = readUtf8(buf, p + 2, topicEnd, v5);
    p = topicEnd;
    let packetId: number | undefined;
    if (qos > 0) {
      if (p + 2 > end) throw truncated('packet identifier');
      packetId = (buf[p]! << 8) | buf[p + 1]!;
      if (packetId === 0) throw malformed('PUBLISH with Packet Identifier 0', stmt(v5, 'MQTT-2.2.1-3', 'MQTT-2.3.1-1'));
      p += 2;
    }
    let properties: Properties | undefined;
    if (v5) {
      // Property Length 0 (the common case) costs one byte read, no Reader setup.
      if (p < end && buf[p] === 0) {
        p++;
      } else {
        const r = this.reader.reset(buf, p, end, true);
        properties = readProperties(r, 3);
        p = r.pos;
        r.buf = EMPTY;
      }
    }
    // One shape for every PUBLISH (keys always present) keeps property access monomorphic.
    return {
      type: 3,
      dup: (b0 & 0x08) !== 0,
      qos,
      retain: (b0 & 0x01) !== 0,
      topic,
      packetId,
      properties,
      payload: buf.subarray(p, end),
      frame: buf.subarray(start, end),
    };
  }
}

const EMPTY = Buffer.alloc(0);

function remainingLengthTooLong(): MqttProtocolError {
  // 5.0 §1.5.5 [MQTT-1.5.5-1]; 3.1.1 §2.2.3: "The maximum number of bytes in the Remaining Length field is four."
  return malformed('Remaining Length longer than four bytes', 'MQTT-1.5.5-1');
}
