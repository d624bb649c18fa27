// Values as scaled decimals: most sensor readings are short decimals (21.5, 1013.2), whose float64
// mantissas are dense, so Gorilla's XOR (§4.1.2) keeps nearly all 52 bits. Like ALP (Afroozeh et
// al., SIGMOD 2024) and Elf (Li et al., PVLDB 2023) we find the chunk's decimal scale d, store the
// integers m = v·10^d, and decode v = m / 10^d. IEEE 754 division is correctly rounded, so the
// decoded double is determined by (m, d); the encoder checks each value against exactly that
// expression, which makes the encoding lossless by construction, whatever rounding happened on the
// way in.
//
// Layout (bits): scale d (5), bucket base k (5), g = GCD of the integer deltas (varuint), the first
// integer m0 (zigzag varuint), then for each later point the zigzag of (m_i − m_{i−1}) / g in one of
// the buckets below, then the exceptions: their count (varuint) and for each the gap from the
// previous exception's index (varuint) and its 64 raw bits.
//   `0`               zigzag 0 (same value)
//   `10`    + k       zigzag − 1 < 2^k
//   `110`   + k+1     zigzag − 1 < 2^(k+1)
//   `1110`  + k+2     zigzag − 1 < 2^(k+2)
//   `11110` + k+4     zigzag − 1 < 2^(k+4)
//   `11111` + 53      any other
// k is chosen per chunk to minimise the size; on the Beijing data this family of buckets is within
// 1% of the best 16 tables fitted to the data, and it assumes nothing about the data's range.
// The GCD turns steps of 100 (CO in µg/m³) or of 0.5 into steps of 1. Deltas, not deltas of
// deltas: on the Beijing data (120-point chunks) delta-of-delta came out 4% larger, since sensor
// readings wander rather than trend.
//
// An exception is a value that is not an exact decimal at the chunk's scale: NaN, ±Inf, -0, more
// digits than the others (the Beijing data has a few averaged readings such as 4.66666666666667
// among one-decimal ones), or an integer beyond ±2^51. ALP stores such values the same way:
// verbatim, with their position. In the integer stream an exception repeats the previous integer,
// so it costs its delta one bit and does not break the GCD. On the Beijing data, exceptions make
// chunks 3% smaller at 120 points and 15% at 1,024 than refusing the decimal encoding would.
import type { BitReader, BitWriter } from './bits.js';
import { corrupt } from './errors.js';
import { HI, LO } from './float-words.js';
import { varUintBits } from './timestamps.js';

/** Largest scale tried: 10^22 is the largest power of ten a float64 holds exactly. */
export const MAX_SCALE = 22;
/** |m| stays below 2^51 so deltas (< 2^52) and their zigzag (< 2^53) are exact integers. */
const MAX_ABS_INT = 2 ** 51;
const RAW_WIDTH = 53;
const NO_SCALE = -1;

const POW10: number[] = [];
for (let d = 0; d <= MAX_SCALE; d++) POW10.push(10 ** d);

/** The smallest scale at which `v` is an exact decimal integer below 2^51, or -1 (an exception at every scale). */
export function decimalScale(v: number): number {
  if (v === 0) return Object.is(v, -0) ? NO_SCALE : 0; // -0 would come back as +0
  if (v !== v || v === Infinity || v === -Infinity) return NO_SCALE;
  for (let d = 0; d <= MAX_SCALE; d++) {
    const p = POW10[d]!;
    const m = Math.round(v * p);
    if (Math.abs(m) >= MAX_ABS_INT) return NO_SCALE;
    if (m / p === v) return d;
  }
  return NO_SCALE;
}

export interface DecimalPlan {
  scale: number;
  /** Bucket base k of the delta codes. */
  k: number;
  /** GCD of the integer deltas (≥ 1). */
  gcd: number;
  exceptions: number;
  /** Size of the values section in bits. */
  bits: number;
}

// Scratch reused across chunks: the codec runs on one thread and never re-enters itself.
let ints = new Float64Array(256); // the integers at the scale being tried
let isException = new Uint8Array(256); // 1 where the value is stored verbatim at that scale
const lengthCounts = new Float64Array(RAW_WIDTH + 2); // [0]: zero deltas; [1 + L]: zigzag − 1 needs L bits

function ensureScratch(n: number): void {
  if (ints.length < n) {
    const size = Math.max(n, ints.length * 2);
    ints = new Float64Array(size);
    isException = new Uint8Array(size);
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

function bitLength(x: number): number {
  return x < 4294967296 ? 32 - Math.clz32(x) : 64 - Math.clz32(Math.floor(x / 4294967296));
}

function zigzag(x: number): number {
  return x >= 0 ? 2 * x : -2 * x - 1;
}

/**
 * Fills `ints` with the integers of `values` at scale d and marks the exceptions, which repeat the
 * previous integer; returns how many there are. Values whose smallest scale is at most d pass:
 * m = v·10^d is then m_s·10^(d−s) exactly (the product is within 2^−52 relative of it while
 * |m| < 2^51), and m / 10^d is the same correctly rounded quotient as m_s / 10^s.
 */
function toIntegers(values: Float64Array, n: number, d: number): number {
  const p = POW10[d]!;
  let prev = 0;
  let exceptions = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const m = Math.round(v * p) + 0; // + 0 turns -0 into 0; a -0 value then fails the check below
    // This check is what makes the encoding lossless: the decoder computes exactly m / 10^d. NaN
    // and ±Inf fail the range test; -0 fails the sign test.
    if (Math.abs(m) < MAX_ABS_INT && m / p === v && (v !== 0 || 1 / v > 0)) {
      ints[i] = prev = m;
      isException[i] = 0;
    } else {
      ints[i] = prev;
      isException[i] = 1;
      exceptions++;
    }
  }
  return exceptions;
}

/** GCD of the deltas of ints[0..n), 1 if all are zero. */
function deltaGcd(n: number): number {
  let g = 0;
  for (let i = 1; i < n && g !== 1; i++) {
    const d = Math.abs(ints[i]! - ints[i - 1]!);
    if (d !== 0) g = g === 0 ? d : gcd(g, d);
  }
  return g === 0 ? 1 : g;
}

/** The bucket base k with the fewest bits for the counted delta lengths. */
function bestBuckets(): { k: number; bits: number } {
  const c = lengthCounts;
  let bestK = 0;
  let best = Infinity;
  for (let k = 0; k <= 31; k++) {
    let bits = c[0]!;
    for (let L = 0; L <= RAW_WIDTH && bits < best; L++) {
      const cnt = c[1 + L]!;
      if (cnt === 0) continue;
      if (L <= k) bits += cnt * (2 + k);
      else if (L <= k + 1) bits += cnt * (4 + k);
      else if (L <= k + 2) bits += cnt * (6 + k);
      else if (L <= k + 4) bits += cnt * (9 + k);
      else bits += cnt * (5 + RAW_WIDTH);
    }
    if (bits < best) {
      best = bits;
      bestK = k;
    }
  }
  return { k: bestK, bits: best };
}

/** Plan and size of the values section at scale d, after toIntegers(…, d). */
function planAt(n: number, d: number, exceptions: number): DecimalPlan {
  const g = deltaGcd(n);
  lengthCounts.fill(0);
  for (let i = 1; i < n; i++) {
    const z = zigzag((ints[i]! - ints[i - 1]!) / g);
    if (z === 0) lengthCounts[0]!++;
    else lengthCounts[1 + bitLength(z - 1)]!++;
  }
  const buckets = bestBuckets();
  let bits = 10 + varUintBits(g) + varUintBits(zigzag(ints[0]!)) + buckets.bits + varUintBits(exceptions);
  if (exceptions > 0) {
    let last = -1;
    for (let i = 0; i < n; i++) {
      if (isException[i] === 1) {
        bits += varUintBits(i - last - 1) + 64;
        last = i;
      }
    }
  }
  return { scale: d, k: buckets.k, gcd: g, exceptions, bits };
}

/**
 * Chooses the scale with the smallest encoding (each scale present in the chunk is a candidate).
 * Returns null as soon as the encoding cannot be smaller than `budgetBits` (the XOR size), so
 * noisy chunks stop early: every value that is a decimal at no scale costs at least 72 bits.
 */
export function planDecimal(values: Float64Array, n: number, budgetBits = Infinity): DecimalPlan | null {
  if (n === 0) return { scale: 0, k: 0, gcd: 1, exceptions: 0, bits: 0 };
  ensureScratch(n);
  // Lower bound: scale, k, gcd, m0 and exception count take ≥ 34 bits, each delta ≥ 1 bit, each
  // exception ≥ 72 more (position and raw bits).
  const floor = 34 + (n - 1);
  let seen = 0; // bit d set: some value has smallest scale d
  let none = 0;
  for (let i = 0; i < n; i++) {
    const s = decimalScale(values[i]!);
    if (s === NO_SCALE) {
      if (floor + ++none * 72 >= budgetBits) return null;
    } else seen |= 1 << s;
  }
  if (seen === 0) seen = 1; // all exceptions: scale 0
  let best: DecimalPlan | null = null;
  for (let d = 0; d <= MAX_SCALE; d++) {
    if ((seen & (1 << d)) === 0) continue;
    const plan = planAt(n, d, toIntegers(values, n, d));
    if (best === null || plan.bits < best.bits) best = plan;
  }
  return best;
}

/** Writes the values section for `plan` (from planDecimal for these same values). */
export function encodeDecimalValues(w: BitWriter, values: Float64Array, words: Uint32Array, n: number, plan: DecimalPlan): void {
  if (n === 0) return;
  const d = plan.scale;
  const k = plan.k;
  const g = plan.gcd;
  toIntegers(values, n, d);
  w.writeBits(d, 5);
  w.writeBits(k, 5);
  w.writeVarUint(g);
  w.writeVarUint(zigzag(ints[0]!));
  for (let i = 1; i < n; i++) {
    const z = zigzag((ints[i]! - ints[i - 1]!) / g);
    if (z === 0) {
      w.writeBit(0);
      continue;
    }
    const x = z - 1;
    const L = bitLength(x);
    if (L <= k) {
      w.writeBits(0b10, 2);
      w.writeWide(x, k);
    } else if (L <= k + 1) {
      w.writeBits(0b110, 3);
      w.writeWide(x, k + 1);
    } else if (L <= k + 2) {
      w.writeBits(0b1110, 4);
      w.writeWide(x, k + 2);
    } else if (L <= k + 4) {
      w.writeBits(0b11110, 5);
      w.writeWide(x, k + 4);
    } else {
      w.writeBits(0b11111, 5);
      w.writeWide(x, RAW_WIDTH);
    }
  }
  w.writeVarUint(plan.exceptions);
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (isException[i] === 1) {
      w.writeVarUint(i - last - 1);
      w.writeBits(words[2 * i + HI]!, 32);
      w.writeBits(words[2 * i + LO]!, 32);
      last = i;
    }
  }
}

const BUCKET_EXTRA = [0, 1, 2, 4];

/** Reads `n` values into `out` and its uint32 view `outWords`, bit for bit. */
export function decodeDecimalValues(r: BitReader, n: number, out: Float64Array, outWords: Uint32Array): void {
  if (n === 0) return;
  const d = r.readBits(5);
  if (d > MAX_SCALE) throw corrupt(`decimal scale ${d} is above ${MAX_SCALE}`);
  const k = r.readBits(5);
  const g = r.readVarUint();
  if (g < 1 || g >= 2 * MAX_ABS_INT) throw corrupt(`decimal step ${g} is out of range`);
  const p = POW10[d]!;
  const z0 = r.readVarUint();
  let m = z0 % 2 === 0 ? z0 / 2 : -(z0 + 1) / 2;
  if (!(Math.abs(m) < MAX_ABS_INT)) throw corrupt('first decimal integer is out of range');
  out[0] = m / p;
  for (let i = 1; i < n; i++) {
    const ones = r.readOnes(5);
    if (ones > 0) {
      const x = r.readWide(ones === 5 ? RAW_WIDTH : k + BUCKET_EXTRA[ones - 1]!);
      const z = x + 1;
      m += (z % 2 === 0 ? z / 2 : -(z + 1) / 2) * g;
      if (!(Math.abs(m) < MAX_ABS_INT)) throw corrupt(`decimal integer ${i} is out of range`);
    }
    out[i] = m / p;
  }
  const exceptions = r.readVarUint();
  if (exceptions > n) throw corrupt(`${exceptions} exceptions in ${n} values`);
  let i = -1;
  for (let e = 0; e < exceptions; e++) {
    i += r.readVarUint() + 1;
    if (i >= n) throw corrupt('exception position past the last value');
    outWords[2 * i + HI] = r.readBits(32);
    outWords[2 * i + LO] = r.readBits(32);
  }
}
