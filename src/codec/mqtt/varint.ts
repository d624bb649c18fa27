// Variable Byte Integer (MQTT 5.0 §1.5.5, MQTT 3.1.1 §2.2.3 "Remaining Length"): 7 bits per byte,
// high bit = continuation, at most four bytes, so at most 268,435,455.

export const VARINT_MAX = 268_435_455;

/** Bytes needed to encode `n` (the minimum, as [MQTT-1.5.5-1] requires). */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** Writes `n` at `pos` and returns the position after it. The caller has checked the range. */
export function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** Throws unless `n` is an integer a Variable Byte Integer can carry. */
export function checkVarint(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > VARINT_MAX) {
    throw new RangeError(`${what} ${n} is not a Variable Byte Integer (0..${VARINT_MAX}, MQTT 5.0 §1.5.5)`);
  }
}
