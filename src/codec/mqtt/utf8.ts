// UTF-8 Encoded Strings as MQTT defines them (MQTT 5.0 §1.5.4, MQTT 3.1.1 §1.5.3): well-formed
// UTF-8 (no surrogate code points, no overlong forms) and no U+0000. Both are Malformed Packet.
import { isUtf8 } from 'node:buffer';
import { MqttProtocolError, ReasonCode } from './packets.js';

/** Node's Buffer has these native slicers; they skip toString's argument normalisation. */
type SlicingBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/**
 * Decodes bytes [start, end) of `buf` as an MQTT string. Topics are nearly always ASCII, so one
 * scan proves that (and excludes U+0000); only then does anything more costly run.
 */
export function readUtf8(buf: Buffer, start: number, end: number, v5: boolean): string {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0 || c >= 0x80) return readUtf8Slow(buf, start, end, v5);
  }
  return (buf as SlicingBuffer).latin1Slice(start, end);
}

function readUtf8Slow(buf: Buffer, start: number, end: number, v5: boolean): string {
  // In well-formed UTF-8 a zero byte only ever encodes U+0000 (every byte of a multi-byte
  // sequence has its high bit set), so a byte scan finds it.
  for (let i = start; i < end; i++) {
    if (buf[i] === 0) {
      throw new MqttProtocolError(ReasonCode.MalformedPacket, 'string contains U+0000', v5 ? 'MQTT-1.5.4-2' : 'MQTT-1.5.3-2');
    }
  }
  // isUtf8 (simdutf) rejects overlong forms and encoded surrogates U+D800..U+DFFF.
  if (!isUtf8(buf.subarray(start, end))) {
    throw new MqttProtocolError(ReasonCode.MalformedPacket, 'string is not well-formed UTF-8', v5 ? 'MQTT-1.5.4-1' : 'MQTT-1.5.3-1');
  }
  return (buf as SlicingBuffer).utf8Slice(start, end);
}
