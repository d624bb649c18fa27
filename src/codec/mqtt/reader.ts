// A cursor over one frame's bytes for the decoders. Every read checks the frame's end so a
// field that runs past it is a Malformed Packet (MQTT 5.0 §4.13, MQTT 3.1.1 §4.8), never a
// read into the next frame. One Reader is reused by a parser for every frame it decodes.
import { MqttProtocolError, ReasonCode } from './packets.js';
import { readUtf8 } from './utf8.js';

/** Shared by every idle reader: a Buffer per connection would cost memory for nothing. */
const NO_BYTES = Buffer.alloc(0);

export class Reader {
  buf: Buffer = NO_BYTES;
  pos = 0;
  end = 0;
  /** Decode as MQTT 5.0 (properties, reason codes) rather than 3.1.1. */
  v5 = false;

  reset(buf: Buffer, pos: number, end: number, v5: boolean): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.v5 = v5;
    return this;
  }

  u8(what: string): number {
    if (this.pos >= this.end) throw truncated(what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    const p = this.pos;
    if (p + 2 > this.end) throw truncated(what);
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(what: string): number {
    const p = this.pos;
    if (p + 4 > this.end) throw truncated(what);
    this.pos = p + 4;
    return this.buf.readUInt32BE(p);
  }

  /** Variable Byte Integer (MQTT 5.0 §1.5.5): at most four bytes, minimal encoding. */
  varint(what: string): number {
    let value = 0;
    let mult = 1;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) throw truncated(what);
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * mult;
      if (b < 0x80) {
        if (b === 0 && i > 0) {
          throw new MqttProtocolError(ReasonCode.MalformedPacket, `${what}: Variable Byte Integer not in its shortest form`, 'MQTT-1.5.5-1');
        }
        return value;
      }
      mult *= 128;
    }
    throw new MqttProtocolError(ReasonCode.MalformedPacket, `${what}: Variable Byte Integer longer than four bytes`, 'MQTT-1.5.5-1');
  }

  /** UTF-8 Encoded String: two-byte length, then that many bytes (MQTT 5.0 §1.5.4). */
  utf8(what: string): string {
    const len = this.u16(what);
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw truncated(what);
    this.pos = end;
    return readUtf8(this.buf, start, end, this.v5);
  }

  /**
   * Binary Data (MQTT 5.0 §1.5.6). `copy` detaches it from the received chunk: values kept for
   * a connection's lifetime (password, will payload) must not pin a whole socket read buffer.
   */
  binary(what: string, copy: boolean): Buffer {
    const len = this.u16(what);
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw truncated(what);
    this.pos = end;
    const view = this.buf.subarray(start, end);
    return copy ? Buffer.from(view) : view;
  }

  /** Fails unless the frame was consumed exactly: extra bytes mean the lengths disagree. */
  done(what: string): void {
    if (this.pos !== this.end) {
      throw new MqttProtocolError(ReasonCode.MalformedPacket, `${what}: ${this.end - this.pos} unexpected bytes at the end of the packet`);
    }
  }
}

export function truncated(what: string): MqttProtocolError {
  return new MqttProtocolError(ReasonCode.MalformedPacket, `${what}: packet ends inside this field`);
}
