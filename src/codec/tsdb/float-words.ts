// A float64 seen as two uint32 halves, so the XOR of two doubles and the raw bits of NaN payloads,
// -0 and subnormals travel through 32-bit integer operations instead of BigInt.

/** Index of the high (sign, exponent, top of mantissa) word within a float64's two uint32 words. */
export const HI = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;
/** Index of the low word. */
export const LO = 1 - HI;

/** The uint32 words of a Float64Array's elements: element i is words[2i + HI], words[2i + LO]. */
export function wordsOf(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}
