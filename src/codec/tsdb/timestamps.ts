// Timestamps of a chunk: Gorilla's delta-of-delta encoding (Pelkonen et al., PVLDB 8(12) 2015,
// §4.1.1), in milliseconds, with one addition: deltas are counted in a per-chunk time unit, the
// greatest common divisor of the chunk's deltas. Gorilla's buckets were sized for seconds; in
// milliseconds every gap in a regular series (a missing hourly reading: DoD = ±3,600,000) would
// fall into the 32-bit bucket, while in units of the GCD it is ±1 and fits the 7-bit one.
//
// Layout: first timestamp as 64-bit two's complement; if there are more points, the unit as a
// varuint, then one code per later point for D = (delta_i - delta_{i-1}) / unit, where the delta
// before the first is 0 (so the first code carries the first delta, which Gorilla stores in its
// 14-bit header field; a ms first delta needs more room):
//   `0`                  D = 0
//   `10`   + 7 bits      D in [-63, 64]      (stored as D + 63)
//   `110`  + 9 bits      D in [-255, 256]    (stored as D + 255)
//   `1110` + 12 bits     D in [-2047, 2048]  (stored as D + 2047)
//   `1111` + 32 bits     D as int32; the value -2^31 is an escape followed by D as int64, since
//                        millisecond gaps beyond ±24.8 days do not fit Gorilla's 32 bits.
// Chunks hold points in time order (non-decreasing timestamps; equal timestamps are kept), so a
// decoded delta below zero means corrupt bytes.
import type { BitReader, BitWriter } from './bits.js';
import { corrupt } from './errors.js';

/** Timestamps are integer milliseconds within ±2^52 (about ±142,000 years), so deltas and DoDs stay exact. */
export const MAX_ABS_TIMESTAMP = 2 ** 52;
const INT32_ESCAPE = -2147483648;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** The greatest common divisor of the deltas of sorted integer timestamps, or 1 when there is none. */
export function timeUnit(ts: ArrayLike<number>, n: number): number {
  let g = 0;
  for (let i = 1; i < n && g !== 1; i++) {
    const d = ts[i]! - ts[i - 1]!;
    if (d !== 0) g = g === 0 ? d : gcd(g, d);
  }
  return g === 0 ? 1 : g;
}

/** Writes `n` sorted integer timestamps; `unit` must divide every delta (see timeUnit). */
export function encodeTimestamps(w: BitWriter, ts: ArrayLike<number>, n: number, unit: number): void {
  if (n === 0) return;
  w.writeInt64(ts[0]!);
  if (n === 1) return;
  w.writeVarUint(unit);
  let prevDelta = 0;
  for (let i = 1; i < n; i++) {
    const delta = (ts[i]! - ts[i - 1]!) / unit;
    const dod = delta - prevDelta;
    prevDelta = delta;
    if (dod === 0) w.writeBit(0);
    else if (dod >= -63 && dod <= 64) w.writeBits((0b10 << 7) | (dod + 63), 9);
    else if (dod >= -255 && dod <= 256) w.writeBits((0b110 << 9) | (dod + 255), 12);
    else if (dod >= -2047 && dod <= 2048) w.writeBits((0b1110 << 12) | (dod + 2047), 16);
    else {
      w.writeBits(0b1111, 4);
      if (dod > INT32_ESCAPE && dod <= 2147483647) w.writeBits(dod >>> 0, 32);
      else {
        w.writeBits(INT32_ESCAPE >>> 0, 32);
        w.writeInt64(dod);
      }
    }
  }
}

/** Bits encodeTimestamps would write, without writing them. */
export function timestampBits(ts: ArrayLike<number>, n: number, unit: number): number {
  if (n === 0) return 0;
  if (n === 1) return 64;
  let bits = 64 + varUintBits(unit);
  let prevDelta = 0;
  for (let i = 1; i < n; i++) {
    const delta = (ts[i]! - ts[i - 1]!) / unit;
    const dod = delta - prevDelta;
    prevDelta = delta;
    if (dod === 0) bits += 1;
    else if (dod >= -63 && dod <= 64) bits += 9;
    else if (dod >= -255 && dod <= 256) bits += 12;
    else if (dod >= -2047 && dod <= 2048) bits += 16;
    else bits += dod > INT32_ESCAPE && dod <= 2147483647 ? 36 : 100;
  }
  return bits;
}

/** Size of writeVarUint(value) in bits. */
export function varUintBits(value: number): number {
  let bits = 8;
  while (value >= 128) {
    bits += 8;
    value = Math.floor(value / 128);
  }
  return bits;
}

/** Reads `n` timestamps into `out`, rejecting any that a valid chunk cannot hold. */
export function decodeTimestamps(r: BitReader, n: number, out: Float64Array): void {
  if (n === 0) return;
  let t = r.readInt64();
  if (!(Math.abs(t) <= MAX_ABS_TIMESTAMP)) throw corrupt(`first timestamp ${t} is outside ±2^52 ms`);
  out[0] = t;
  if (n === 1) return;
  const unit = r.readVarUint();
  if (unit < 1 || unit > 2 * MAX_ABS_TIMESTAMP) throw corrupt(`time unit ${unit} is out of range`);
  let delta = 0;
  for (let i = 1; i < n; i++) {
    let dod: number;
    if (r.readBit() === 0) dod = 0;
    else if (r.readBit() === 0) dod = r.readBits(7) - 63;
    else if (r.readBit() === 0) dod = r.readBits(9) - 255;
    else if (r.readBit() === 0) dod = r.readBits(12) - 2047;
    else {
      dod = r.readBits(32) | 0;
      if (dod === INT32_ESCAPE) dod = r.readInt64();
    }
    delta += dod;
    t += delta * unit;
    // Sorted input means delta ≥ 0; the range check also bounds delta, keeping the sums exact.
    if (delta < 0 || !(Math.abs(t) <= MAX_ABS_TIMESTAMP)) throw corrupt(`timestamp ${i} is out of order or out of range`);
    out[i] = t;
  }
}
