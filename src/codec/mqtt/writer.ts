// Field writers for the encoder. Lengths are checked before anything is allocated: a value the
// wire format cannot carry is a programming error of the caller (RangeError), never a silently
// truncated packet.
const U16_MAX = 0xffff;

type WellFormed = { isWellFormed(): boolean };

/**
 * Encoded size of a UTF-8 Encoded String (two-byte length prefix + bytes), MQTT 5.0 §1.5.4.
 * Refuses what a receiver would reject as malformed: U+0000 [MQTT-1.5.4-2] and lone surrogates,
 * which have no UTF-8 form [MQTT-1.5.4-1].
 */
export function utf8Size(s: string, what: string): number {
  const n = s.length;
  // Short ASCII strings (topics) are the common case; counting them here avoids native calls.
  if (n <= 64) {
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0 || c >= 0x80) break;
      i++;
    }
    if (i === n) return 2 + n;
  }
  if (s.indexOf('\0') !== -1) throw new RangeError(`${what} contains U+0000, which MQTT strings must not (MQTT 5.0 §1.5.4)`);
  if (!(s as unknown as WellFormed).isWellFormed()) throw new RangeError(`${what} contains a lone surrogate, which UTF-8 cannot encode`);
  const len = Buffer.byteLength(s, 'utf8');
  if (len > U16_MAX) throw new RangeError(`${what} is ${len} bytes; an MQTT string holds at most 65535 (MQTT 5.0 §1.5.4)`);
  return 2 + len;
}

/** Encoded size of Binary Data (two-byte length prefix + bytes), MQTT 5.0 §1.5.6. */
export function binarySize(b: Buffer, what: string): number {
  if (b.length > U16_MAX) throw new RangeError(`${what} is ${b.length} bytes; MQTT binary data holds at most 65535 (MQTT 5.0 §1.5.6)`);
  return 2 + b.length;
}

export function writeUtf8(buf: Buffer, pos: number, s: string): number {
  const n = s.length;
  let i = 0;
  // ASCII fast path: one byte per char, no native call for short topics.
  if (n <= 64) {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + 2 + i] = c;
      i++;
    }
  }
  const len = i === n ? n : buf.write(s, pos + 2, 'utf8');
  buf[pos] = len >>> 8;
  buf[pos + 1] = len & 0xff;
  return pos + 2 + len;
}

export function writeBinary(buf: Buffer, pos: number, b: Buffer): number {
  const len = b.length;
  buf[pos] = len >>> 8;
  buf[pos + 1] = len & 0xff;
  b.copy(buf, pos + 2);
  return pos + 2 + len;
}

export function writeU16(buf: Buffer, pos: number, n: number): number {
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  return pos + 2;
}

export function checkU16(n: number, what: string, min = 0): void {
  if (!Number.isInteger(n) || n < min || n > U16_MAX) throw new RangeError(`${what} ${n} is not an integer in ${min}..65535`);
}
