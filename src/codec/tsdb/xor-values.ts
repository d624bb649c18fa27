// Values as Gorilla XOR floats (Pelkonen et al., PVLDB 8(12) 2015, §4.1.2). The first value is
// stored whole (64 bits); each later one as its XOR with the previous value:
//   `0`                                      XOR is zero (same value, same bits)
//   `10` + meaningful bits                   the meaningful bits fit inside the previous window
//                                            (at least as many leading and trailing zeros)
//   `11` + 5 bits leading zeros + 6 bits length (64 written as 0) + meaningful bits
// Leading zeros above 31 are counted as 31 (5 bits), as in the paper. Everything works on the two
// uint32 halves of each double, so every bit pattern (NaN payloads, -0, subnormals) comes back.
import type { BitReader, BitWriter } from './bits.js';
import { corrupt } from './errors.js';
import { HI, LO } from './float-words.js';

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Bits encodeXorValues would write for the `n` doubles in `words` (see float-words.ts). */
export function xorValueBits(words: Uint32Array, n: number): number {
  if (n === 0) return 0;
  let bits = 64;
  let ph = words[HI]!;
  let pl = words[LO]!;
  let pLead = -1;
  let pTrail = 0;
  for (let i = 1; i < n; i++) {
    const h = words[2 * i + HI]!;
    const l = words[2 * i + LO]!;
    const xh = (h ^ ph) >>> 0;
    const xl = (l ^ pl) >>> 0;
    ph = h;
    pl = l;
    if (xh === 0 && xl === 0) {
      bits += 1;
      continue;
    }
    let lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    if (lead > 31) lead = 31;
    const trail = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    if (pLead >= 0 && lead >= pLead && trail >= pTrail) bits += 2 + 64 - pLead - pTrail;
    else {
      bits += 13 + 64 - lead - trail;
      pLead = lead;
      pTrail = trail;
    }
  }
  return bits;
}

/** Writes the meaningful bits of a 64-bit XOR (xh:xl) between `trail` and 64 - `lead`. */
function writeMeaningful(w: BitWriter, xh: number, xl: number, lead: number, trail: number): void {
  const len = 64 - lead - trail;
  // Shift right by `trail` across the two words.
  let hi: number;
  let lo: number;
  if (trail >= 32) {
    hi = 0;
    lo = xh >>> (trail - 32);
  } else if (trail > 0) {
    hi = xh >>> trail;
    lo = ((xl >>> trail) | (xh << (32 - trail))) >>> 0;
  } else {
    hi = xh;
    lo = xl;
  }
  if (len > 32) {
    w.writeBits(hi, len - 32);
    w.writeBits(lo, 32);
  } else {
    w.writeBits(lo, len);
  }
}

export function encodeXorValues(w: BitWriter, words: Uint32Array, n: number): void {
  if (n === 0) return;
  let ph = words[HI]!;
  let pl = words[LO]!;
  w.writeBits(ph, 32);
  w.writeBits(pl, 32);
  let pLead = -1; // no window yet: the first non-zero XOR must use `11`
  let pTrail = 0;
  for (let i = 1; i < n; i++) {
    const h = words[2 * i + HI]!;
    const l = words[2 * i + LO]!;
    const xh = (h ^ ph) >>> 0;
    const xl = (l ^ pl) >>> 0;
    ph = h;
    pl = l;
    if (xh === 0 && xl === 0) {
      w.writeBit(0);
      continue;
    }
    let lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    if (lead > 31) lead = 31;
    const trail = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    if (pLead >= 0 && lead >= pLead && trail >= pTrail) {
      w.writeBits(0b10, 2);
      writeMeaningful(w, xh, xl, pLead, pTrail);
    } else {
      const len = 64 - lead - trail;
      // `11`, 5 bits of leading zeros, 6 bits of length (64 → 0): one 13-bit field.
      w.writeBits((0b11 << 11) | (lead << 6) | (len & 63), 13);
      writeMeaningful(w, xh, xl, lead, trail);
      pLead = lead;
      pTrail = trail;
    }
  }
}

/** Reads `n` values into `out` (the uint32 words of a Float64Array), bit for bit. */
export function decodeXorValues(r: BitReader, n: number, out: Uint32Array): void {
  if (n === 0) return;
  let ph = r.readBits(32);
  let pl = r.readBits(32);
  out[HI] = ph;
  out[LO] = pl;
  let lead = -1;
  let trail = 0;
  for (let i = 1; i < n; i++) {
    if (r.readBit() === 1) {
      if (r.readBit() === 1) {
        lead = r.readBits(5);
        let len = r.readBits(6);
        if (len === 0) len = 64;
        trail = 64 - lead - len;
        if (trail < 0) throw corrupt(`XOR value ${i} has ${lead} leading zeros and ${len} meaningful bits`);
      } else if (lead < 0) {
        throw corrupt(`XOR value ${i} reuses a window before any was set`);
      }
      const len = 64 - lead - trail;
      let hi: number;
      let lo: number;
      if (len > 32) {
        hi = r.readBits(len - 32);
        lo = r.readBits(32);
      } else {
        hi = 0;
        lo = r.readBits(len);
      }
      // Shift left by `trail` across the two words.
      if (trail >= 32) {
        hi = lo << (trail - 32);
        lo = 0;
      } else if (trail > 0) {
        hi = (hi << trail) | (lo >>> (32 - trail));
        lo = lo << trail;
      }
      ph = (ph ^ hi) >>> 0;
      pl = (pl ^ lo) >>> 0;
    }
    out[2 * i + HI] = ph;
    out[2 * i + LO] = pl;
  }
}
