// Allocation of an outgoing frame: the fixed header is written, the caller fills the body.
import { VARINT_MAX, varintSize, writeVarint } from './varint.js';

/**
 * Allocates a frame for a body of `rem` bytes, writes byte 1 and the Remaining Length, and
 * returns the buffer; the body starts at `1 + varintSize(rem)`.
 */
export function allocFrame(b0: number, rem: number): Buffer {
  if (rem > VARINT_MAX) {
    throw new RangeError(`packet body of ${rem} bytes exceeds the largest Remaining Length, ${VARINT_MAX} (MQTT 5.0 §2.1.4)`);
  }
  const buf = Buffer.allocUnsafe(1 + varintSize(rem) + rem);
  buf[0] = b0;
  writeVarint(buf, 1, rem);
  return buf;
}

export function bodyStart(rem: number): number {
  return 1 + varintSize(rem);
}

/** Property Length + properties, as counted in a Remaining Length. */
export function propertiesBlockSize(size: number): number {
  return varintSize(size) + size;
}
