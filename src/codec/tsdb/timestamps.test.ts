import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitReader, BitWriter } from './bits.js';
import { TsdbCodecError } from './errors.js';
import { MAX_ABS_TIMESTAMP, decodeTimestamps, encodeTimestamps, timeUnit, timestampBits } from './timestamps.js';

function roundTrip(ts: number[], unit = timeUnit(ts, ts.length)): { out: number[]; bits: number } {
  const w = new BitWriter();
  encodeTimestamps(w, ts, ts.length, unit);
  const bits = w.bitLength;
  const out = new Float64Array(ts.length);
  decodeTimestamps(new BitReader(w.finish()), ts.length, out);
  return { out: [...out], bits };
}

/** Sorted integer timestamps with irregular gaps: repeats, jitter, regular steps and huge jumps. */
const sortedTimestamps = fc
  .tuple(
    fc.integer({ min: -MAX_ABS_TIMESTAMP, max: MAX_ABS_TIMESTAMP }),
    fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3000 }), fc.constant(3_600_000), fc.integer({ min: 0, max: 2 ** 45 })), { maxLength: 200 }),
  )
  .map(([start, gaps]) => {
    const ts = [start];
    for (const g of gaps) {
      const next = ts[ts.length - 1]! + g;
      if (next > MAX_ABS_TIMESTAMP) break;
      ts.push(next);
    }
    return ts;
  });

test('Gorilla §4.1.1: sorted timestamps with irregular gaps round-trip exactly, in any time unit', () => {
  fc.assert(
    fc.property(sortedTimestamps, fc.boolean(), (ts, plain) => {
      const unit = plain ? 1 : timeUnit(ts, ts.length);
      const { out, bits } = roundTrip(ts, unit);
      assert.deepEqual(out, ts);
      assert.equal(bits, timestampBits(ts, ts.length, unit));
    }),
  );
});

test('Gorilla §4.1.1: a regular series costs one bit per point after the first delta', () => {
  const ts = Array.from({ length: 100 }, (_, i) => 1_700_000_000_000 + i * 60_000);
  const { out, bits } = roundTrip(ts);
  assert.deepEqual(out, ts);
  // first (64) + unit 60000 (3 varuint groups: 24) + first delta, 1 unit (`10` + 7) + 98 × `0`
  assert.equal(bits, 64 + 24 + 9 + 98);
});

test('Gorilla §4.1.1: each bucket holds exactly its range ([-63,64], [-255,256], [-2047,2048], int32, escape)', () => {
  const cases: Array<[number, number]> = [
    [0, 1], [-63, 9], [64, 9], [-64, 12], [65, 12], [-255, 12], [256, 12], [-256, 16], [257, 16],
    [-2047, 16], [2048, 16], [-2048, 36], [2049, 36], [2 ** 31 - 1, 36], [-(2 ** 31) + 1, 36],
    [-(2 ** 31), 100], [2 ** 31, 100], [2 ** 40, 100],
  ];
  for (const [dod, cost] of cases) {
    // With a first delta of 2^41, the second delta is 2^41 + dod: the second code carries dod.
    const base = 2 ** 41;
    const ts = [0, base, 2 * base + dod];
    const { out, bits } = roundTrip(ts, 1);
    assert.deepEqual(out, ts, `dod ${dod}`);
    assert.equal(bits - (64 + 8 + 100), cost, `dod ${dod}`); // first, unit 1, first delta 2^41 (escape)
  }
});

test('the time unit is the GCD of the deltas, so hourly gaps use the smallest bucket', () => {
  const hour = 3_600_000;
  const ts = [0, hour, 2 * hour, 5 * hour, 6 * hour, 6 * hour];
  assert.equal(timeUnit(ts, ts.length), hour);
  assert.equal(timeUnit([5, 5, 5], 3), 1);
  assert.equal(timeUnit([7], 1), 1);
  const withUnit = roundTrip(ts);
  const plain = roundTrip(ts, 1);
  assert.deepEqual(withUnit.out, ts);
  assert.deepEqual(plain.out, ts);
  assert.ok(withUnit.bits < plain.bits);
});

test('decoding rejects out-of-order or out-of-range timestamps as corrupt', () => {
  // A hand-made stream: first 1000, unit 1, then a first delta of -2000 (int32 bucket).
  const w = new BitWriter();
  w.writeInt64(1000);
  w.writeVarUint(1);
  w.writeBits(0b1111, 4);
  w.writeBits(-2000 >>> 0, 32);
  assert.throws(() => decodeTimestamps(new BitReader(w.finish()), 2, new Float64Array(2)), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_CHUNK_CORRUPT');
  const far = new BitWriter();
  far.writeInt64(2 ** 53);
  assert.throws(() => decodeTimestamps(new BitReader(far.finish()), 1, new Float64Array(1)), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_CHUNK_CORRUPT');
});
