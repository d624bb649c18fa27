import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitReader, BitWriter } from './bits.js';
import { TsdbCodecError } from './errors.js';
import { HI, LO, wordsOf } from './float-words.js';
import { decodeXorValues, encodeXorValues, xorValueBits } from './xor-values.js';

/** Any 64-bit pattern, so NaN payloads, -0, ±Inf and subnormals all occur. */
const anyBits = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }));

function fromBits(pairs: Array<[number, number]>): Float64Array {
  const v = new Float64Array(pairs.length);
  const w = wordsOf(v);
  pairs.forEach(([hi, lo], i) => {
    w[2 * i + HI] = hi;
    w[2 * i + LO] = lo;
  });
  return v;
}

function roundTrip(values: Float64Array): { words: Uint32Array; bits: number } {
  const w = new BitWriter();
  encodeXorValues(w, wordsOf(values), values.length);
  const bits = w.bitLength;
  const out = new Float64Array(values.length);
  decodeXorValues(new BitReader(w.finish()), values.length, wordsOf(out));
  return { words: wordsOf(out), bits };
}

test('Gorilla §4.1.2: XOR values round-trip every 64-bit pattern bit for bit, and the size estimate is exact', () => {
  // Runs of repeats and near values exercise the `0` and `10` (reused window) codes too.
  const series = fc.array(fc.oneof(anyBits, fc.constant<[number, number]>([0x40350000, 0]), fc.tuple(fc.constant(0x40350000), fc.integer({ min: 0, max: 255 }))), { maxLength: 200 });
  fc.assert(
    fc.property(series, (pairs) => {
      const values = fromBits(pairs);
      const { words, bits } = roundTrip(values);
      assert.deepEqual([...words], [...wordsOf(values)]);
      assert.equal(bits, xorValueBits(wordsOf(values), values.length));
    }),
  );
});

test('Gorilla §4.1.2: a repeated value costs one bit; the first value 64', () => {
  const { bits } = roundTrip(new Float64Array([21.5, 21.5, 21.5, 21.5]));
  assert.equal(bits, 64 + 3);
});

test('Gorilla §4.1.2: special values keep their exact bits (NaN payload, -0, ±Inf, subnormal)', () => {
  const values = fromBits([
    [0x7ff80000, 0x00000001], // quiet NaN with a payload
    [0xfff00000, 0x00000abc], // negative signalling-style NaN
    [0x80000000, 0], // -0
    [0x7ff00000, 0], // +Inf
    [0xfff00000, 0], // -Inf
    [0, 1], // smallest subnormal
    [0x000fffff, 0xffffffff], // largest subnormal
    [0, 0],
  ]);
  assert.deepEqual([...roundTrip(values).words], [...wordsOf(values)]);
});

test('a `10` code before any window was set is corrupt', () => {
  const w = new BitWriter();
  w.writeBits(0, 32);
  w.writeBits(0, 32);
  w.writeBits(0b10, 2);
  w.writeBits(0, 16);
  assert.throws(() => decodeXorValues(new BitReader(w.finish()), 2, new Uint32Array(4)), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_CHUNK_CORRUPT');
});
