import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitReader, BitWriter } from './bits.js';
import { decimalScale, decodeDecimalValues, encodeDecimalValues, planDecimal } from './decimal-values.js';
import type { DecimalPlan } from './decimal-values.js';
import { TsdbCodecError } from './errors.js';
import { HI, LO, wordsOf } from './float-words.js';

function roundTrip(values: Float64Array): { out: Float64Array; plan: DecimalPlan; bits: number } {
  const plan = planDecimal(values, values.length)!;
  const w = new BitWriter();
  encodeDecimalValues(w, values, wordsOf(values), values.length, plan);
  const bits = w.bitLength;
  const out = new Float64Array(values.length);
  decodeDecimalValues(new BitReader(w.finish()), values.length, out, wordsOf(out));
  return { out, plan, bits };
}

const sameBits = (a: Float64Array, b: Float64Array): void => assert.deepEqual([...wordsOf(a)], [...wordsOf(b)]);

test('decimalScale is the smallest d with m / 10^d reproducing the value exactly', () => {
  assert.equal(decimalScale(0), 0);
  assert.equal(decimalScale(1013), 0);
  assert.equal(decimalScale(-19.9), 1);
  assert.equal(decimalScale(0.1), 1);
  assert.equal(decimalScale(0.2856), 4);
  assert.equal(decimalScale(4.66666666666667), 14); // an averaged reading in the Beijing data
  assert.equal(decimalScale(1.5e-20), 21);
  assert.equal(decimalScale(-0), -1); // would come back as +0
  assert.equal(decimalScale(NaN), -1);
  assert.equal(decimalScale(Infinity), -1);
  assert.equal(decimalScale(2 ** 52), -1); // beyond ±2^51
  assert.equal(decimalScale(Math.PI), -1); // 16 significant digits need m ≥ 2^51
});

test('short decimals round-trip exactly and choose the smallest scale', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }), fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { minLength: 1, maxLength: 150 }), (d, ms) => {
      const values = Float64Array.from(ms, (m) => m / 10 ** d);
      const { out, plan, bits } = roundTrip(values);
      sameBits(out, values);
      assert.equal(plan.bits, bits);
      assert.equal(plan.exceptions, 0);
      assert.ok(plan.scale <= d);
    }),
  );
});

test('any float64 round-trips bit for bit: what is not a decimal at the chunk scale is an exception', () => {
  const pairOf = (v: number): [number, number] => {
    const f = Float64Array.of(v);
    const w = wordsOf(f);
    return [w[HI]!, w[LO]!];
  };
  const anyPair = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })), // any bits: NaN payloads, subnormals
    fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 5e-324, -5e-324, Number.MAX_VALUE, 2 ** 51, -(2 ** 51) + 1).map(pairOf),
    fc.integer({ min: -9999, max: 9999 }).map((m) => pairOf(m / 10)),
  );
  fc.assert(
    fc.property(fc.array(anyPair, { maxLength: 150 }), (pairs) => {
      // Built through uint32 words so NaN payloads reach the codec unchanged.
      const values = new Float64Array(pairs.length);
      const w = wordsOf(values);
      pairs.forEach(([hi, lo], i) => {
        w[2 * i + HI] = hi;
        w[2 * i + LO] = lo;
      });
      const { out, plan, bits } = roundTrip(values);
      sameBits(out, values);
      if (values.length > 0) assert.equal(plan.bits, bits);
    }),
  );
});

test('NaN payloads, -0 and a long-digit outlier among one-decimal values come back exact', () => {
  const values = new Float64Array([21.5, 21.6, -0, 4.66666666666667, 21.7, NaN, 21.7, 0]);
  const w = wordsOf(values);
  w[2 * 5 + HI] = 0x7ff80000; // values[5]: a NaN with a payload
  w[2 * 5 + LO] = 0xdead;
  const { out, plan } = roundTrip(values);
  sameBits(out, values);
  assert.equal(plan.scale, 1);
  assert.equal(plan.exceptions, 3);
});

test('steps of 100 are divided by their GCD', () => {
  const values = Float64Array.from([300, 300, 500, 1100, 800, 900, 10000]);
  const { out, plan } = roundTrip(values);
  sameBits(out, values);
  assert.equal(plan.gcd, 100);
  assert.equal(plan.scale, 0);
});

test('an exception count above the value count is corrupt', () => {
  const w = new BitWriter();
  w.writeBits(0, 5); // scale
  w.writeBits(0, 5); // k
  w.writeVarUint(1); // gcd
  w.writeVarUint(0); // m0
  w.writeVarUint(5); // exceptions: more than the 1 value
  assert.throws(() => decodeDecimalValues(new BitReader(w.finish()), 1, new Float64Array(1), new Uint32Array(2)), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_CHUNK_CORRUPT');
});
