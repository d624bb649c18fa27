// Bit streams for the Gorilla-style chunk encodings (Pelkonen et al., PVLDB 8(12) 2015, §4.1):
// fields of 1 to 64 bits, most significant bit first, packed without alignment.
//
// Everything stays in 32-bit integer arithmetic (no BigInt): a field wider than 24 bits is split
// so the pending-bits accumulator never exceeds 31 bits, and 64-bit fields travel as two uint32
// halves. Integers up to 2^53 ("wide" fields) are split with exact float division.
import { TsdbCodecError } from './errors.js';

const TWO_32 = 4294967296;

export class BitWriter {
  private buf: Uint8Array;
  private pos = 0; // whole bytes written
  private acc = 0; // pending bits, fewer than 8, right-aligned
  private nacc = 0;

  constructor(capacityBytes = 64) {
    this.buf = new Uint8Array(Math.max(16, capacityBytes));
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.pos * 8 + this.nacc;
  }

  reset(): void {
    this.pos = 0;
    this.acc = 0;
    this.nacc = 0;
  }

  writeBit(bit: number): void {
    this.acc = (this.acc << 1) | (bit & 1);
    if (++this.nacc === 8) {
      if (this.pos >= this.buf.length) this.grow();
      this.buf[this.pos++] = this.acc;
      this.acc = 0;
      this.nacc = 0;
    }
  }

  /** Writes the low `n` bits of `value` (0 ≤ n ≤ 32; value read as uint32). */
  writeBits(value: number, n: number): void {
    if (n > 24) {
      this.put((value >>> 16) & ((1 << (n - 16)) - 1), n - 16);
      this.put(value & 0xffff, 16);
    } else {
      this.put(value & ((1 << n) - 1), n);
    }
  }

  /** Writes a non-negative integer below 2^n, n ≤ 53 (exact in a float64). */
  writeWide(value: number, n: number): void {
    if (n <= 32) {
      this.writeBits(value >>> 0, n);
    } else {
      this.writeBits(Math.floor(value / TWO_32), n - 32);
      this.writeBits(value >>> 0, 32);
    }
  }

  /** Writes an integer in [-2^53, 2^53] as 64-bit two's complement. */
  writeInt64(value: number): void {
    const hi = Math.floor(value / TWO_32);
    this.writeBits(hi >>> 0, 32);
    this.writeBits((value - hi * TWO_32) >>> 0, 32);
  }

  /** Writes a non-negative integer below 2^56 as 8-bit groups: a continuation bit, then 7 bits (LEB128 order). */
  writeVarUint(value: number): void {
    while (value >= 128) {
      this.put((value & 0x7f) | 0x80, 8); // `& 0x7f` is exact: ToInt32 keeps the low 32 bits
      value = Math.floor(value / 128);
    }
    this.put(value, 8);
  }

  /** The stream so far, zero-padded to a whole byte, as a new array with `reserve` zero bytes after it. */
  finish(reserve = 0): Uint8Array {
    const len = this.pos + (this.nacc > 0 ? 1 : 0);
    const out = new Uint8Array(len + reserve);
    out.set(this.buf.subarray(0, this.pos));
    if (this.nacc > 0) out[this.pos] = this.acc << (8 - this.nacc);
    return out;
  }

  private put(value: number, n: number): void {
    // acc < 2^7 before the shift and n ≤ 24, so acc stays below 2^31.
    let acc = (this.acc << n) | value;
    let nacc = this.nacc + n;
    if (this.pos + 4 > this.buf.length) this.grow();
    const buf = this.buf;
    while (nacc >= 8) {
      nacc -= 8;
      buf[this.pos++] = acc >>> nacc;
    }
    this.acc = acc & ((1 << nacc) - 1);
    this.nacc = nacc;
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2);
    next.set(this.buf);
    this.buf = next;
  }
}

function truncated(): TsdbCodecError {
  return new TsdbCodecError('TSDB_CHUNK_TRUNCATED', 'truncated chunk: the bytes end inside a field');
}

export class BitReader {
  private readonly bytes: Uint8Array;
  private pos: number; // bit position
  private readonly end: number; // bit length

  constructor(bytes: Uint8Array, bitOffset = 0) {
    this.bytes = bytes;
    this.pos = bitOffset;
    this.end = bytes.length * 8;
  }

  get bitPosition(): number {
    return this.pos;
  }

  get bitsLeft(): number {
    return this.end - this.pos;
  }

  readBit(): number {
    const p = this.pos;
    if (p >= this.end) throw truncated();
    this.pos = p + 1;
    return (this.bytes[p >>> 3]! >>> (7 - (p & 7))) & 1;
  }

  /** Reads `n` bits (0 ≤ n ≤ 32) as an unsigned integer. */
  readBits(n: number): number {
    if (n > 24) {
      const hi = this.take(n - 16);
      return hi * 65536 + this.take(16);
    }
    return this.take(n);
  }

  /** Reads an unsigned integer of `n` bits, n ≤ 53. */
  readWide(n: number): number {
    if (n <= 32) return this.readBits(n);
    const hi = this.readBits(n - 32);
    return hi * TWO_32 + this.readBits(32);
  }

  /** Reads a 64-bit two's complement integer; exact when it lies within ±2^53 (callers range-check). */
  readInt64(): number {
    const hi = this.readBits(32) | 0;
    return hi * TWO_32 + this.readBits(32);
  }

  /** Reads what writeVarUint wrote; at most 8 groups (56 bits), else the chunk is corrupt. */
  readVarUint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const g = this.take(8);
      value += (g & 0x7f) * scale;
      if ((g & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new TsdbCodecError('TSDB_CHUNK_CORRUPT', 'corrupt chunk: a variable-length integer runs past 8 bytes');
  }

  /** Counts 1 bits up to `max`, consuming the terminating 0 when fewer than `max` (a unary prefix). */
  readOnes(max: number): number {
    let n = 0;
    while (n < max && this.readBit() === 1) n++;
    return n;
  }

  private take(n: number): number {
    const p = this.pos;
    if (p + n > this.end) throw truncated();
    this.pos = p + n;
    if (n === 0) return 0;
    const b = this.bytes;
    const i = p >>> 3;
    let word: number;
    if (i + 4 <= b.length) {
      word = (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
    } else {
      word = 0;
      for (let k = 0; k < 4; k++) word = (word << 8) | (i + k < b.length ? b[i + k]! : 0);
    }
    // (p & 7) + n ≤ 31, so the field lies inside the 32-bit word.
    return (word >>> (32 - (p & 7) - n)) & ((1 << n) - 1);
  }
}
