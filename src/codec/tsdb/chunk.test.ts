import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkStats, decodeChunk, encodeChunk, writeChecksum } from './chunk.js';
import { crc32 } from './crc32.js';
import type { EncodeOptions } from './chunk.js';
import { TsdbCodecError } from './errors.js';
import type { TsdbCodecErrorCode } from './errors.js';
import { HI, LO, wordsOf } from './float-words.js';
import { MAX_ABS_TIMESTAMP } from './timestamps.js';

const pairOf = (v: number): [number, number] => {
  const w = wordsOf(Float64Array.of(v));
  return [w[HI]!, w[LO]!];
};

/** Values as 64-bit patterns: any bits (NaN payloads, subnormals), special values, short decimals, integers. */
const valuePair = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 5e-324, -5e-324, 2.2250738585072014e-308, Number.MAX_VALUE).map(pairOf),
  fc.integer({ min: -100_000, max: 100_000 }).map((m) => pairOf(m / 100)),
  fc.integer().map(pairOf),
);

/** Points sorted by time with irregular gaps (repeats, jitter, hours, jumps of up to ~1000 years). */
const points = fc
  .tuple(
    fc.integer({ min: -MAX_ABS_TIMESTAMP, max: MAX_ABS_TIMESTAMP }),
    fc.array(fc.tuple(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 }), fc.constant(3_600_000), fc.integer({ min: 0, max: 2 ** 45 })), valuePair), { maxLength: 200 }),
  )
  .map(([start, rows]) => {
    const timestamps = new Float64Array(rows.length);
    const values = new Float64Array(rows.length);
    const w = wordsOf(values);
    let t = start;
    rows.forEach(([gap, [hi, lo]], i) => {
      if (t + gap <= MAX_ABS_TIMESTAMP) t += gap; // near the end of the range, repeat instead
      timestamps[i] = t;
      w[2 * i + HI] = hi;
      w[2 * i + LO] = lo;
    });
    return { timestamps, values };
  });

const bitsOf = (a: Float64Array): number[] => [...wordsOf(a)];

function rejects(fn: () => unknown, codes: TsdbCodecErrorCode[]): void {
  assert.throws(fn, (e: unknown) => e instanceof TsdbCodecError && codes.includes(e.code));
}

test('round trip is bit-exact for arbitrary float64 and irregular timestamps, in every encoding', () => {
  fc.assert(
    fc.property(points, fc.constantFrom<EncodeOptions>({}, { values: 'xor' }, { values: 'decimal' }, { values: 'xor', timeUnit: 'ms' }), ({ timestamps, values }, options) => {
      const d = decodeChunk(encodeChunk(timestamps, values, options));
      assert.deepEqual([...d.timestamps], [...timestamps]);
      assert.deepEqual(bitsOf(d.values), bitsOf(values));
      assert.equal(d.valueType, 'float');
    }),
  );
});

test('the encoder picks the smaller value encoding per chunk', () => {
  fc.assert(
    fc.property(points, ({ timestamps, values }) => {
      const auto = encodeChunk(timestamps, values);
      const xor = encodeChunk(timestamps, values, { values: 'xor' });
      const decimal = encodeChunk(timestamps, values, { values: 'decimal' });
      assert.equal(auto.length, Math.min(xor.length, decimal.length));
    }),
  );
  const ts = Float64Array.from({ length: 120 }, (_, i) => i * 3_600_000);
  const temperatures = Float64Array.from({ length: 120 }, (_, i) => Math.round(100 * Math.sin(i / 5)) / 10);
  assert.equal(decodeChunk(encodeChunk(ts, temperatures)).encoding, 'decimal');
  const noise = Float64Array.from({ length: 120 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453);
  assert.equal(decodeChunk(encodeChunk(ts, noise)).encoding, 'xor');
});

test('empty and one-point chunks', () => {
  const empty = encodeChunk([], []);
  assert.equal(empty.length, 7); // version, tag, count 0, checksum
  assert.deepEqual(decodeChunk(empty), { timestamps: new Float64Array(0), values: new Float64Array(0), valueType: 'float', encoding: 'xor' });
  assert.deepEqual(chunkStats(empty), { points: 0, bytes: 7, valueType: 'float', encoding: 'xor', firstTimestamp: NaN });
  for (const v of [NaN, -0, 21.5, -Infinity]) {
    const one = encodeChunk([-1234], [v]);
    const d = decodeChunk(one);
    assert.deepEqual([...d.timestamps], [-1234]);
    assert.ok(Object.is(d.values[0], v));
    assert.deepEqual(chunkStats(one), { points: 1, bytes: one.length, valueType: 'float', encoding: d.encoding, firstTimestamp: -1234 });
  }
});

test('ints and booleans are stored exactly with their type tag', () => {
  const ts = [0, 10, 20, 30, 40];
  const ints = [0, -7, 2 ** 53 - 1, -(2 ** 53) + 1, 42];
  const di = decodeChunk(encodeChunk(ts, ints, { valueType: 'int' }));
  assert.equal(di.valueType, 'int');
  assert.deepEqual([...di.values], ints);
  const bools = [1, 0, 0, 1, 1];
  const bytes = encodeChunk(ts, bools, { valueType: 'bool' });
  const db = decodeChunk(bytes);
  assert.equal(db.valueType, 'bool');
  assert.deepEqual([...db.values], bools);
  assert.equal(chunkStats(bytes).valueType, 'bool');
  rejects(() => encodeChunk([0], [1.5], { valueType: 'int' }), ['TSDB_BAD_POINT']);
  rejects(() => encodeChunk([0], [2], { valueType: 'bool' }), ['TSDB_BAD_POINT']);
});

test('chunks hold sorted timestamps: unsorted input is rejected, equal timestamps are kept', () => {
  rejects(() => encodeChunk([0, 2000, 1000], [1, 2, 3]), ['TSDB_UNSORTED']);
  const d = decodeChunk(encodeChunk([5, 5, 5], [1, 2, 3]));
  assert.deepEqual([...d.timestamps], [5, 5, 5]);
  assert.deepEqual([...d.values], [1, 2, 3]);
});

test('points the format cannot hold are rejected', () => {
  rejects(() => encodeChunk([0.5], [1]), ['TSDB_BAD_POINT']);
  rejects(() => encodeChunk([NaN], [1]), ['TSDB_BAD_POINT']);
  rejects(() => encodeChunk([MAX_ABS_TIMESTAMP + 2], [1]), ['TSDB_BAD_POINT']);
  rejects(() => encodeChunk([1, 2], [1]), ['TSDB_BAD_POINT']);
  const edges = [-MAX_ABS_TIMESTAMP, MAX_ABS_TIMESTAMP];
  assert.deepEqual([...decodeChunk(encodeChunk(edges, [1, 2])).timestamps], edges);
});

/** The bytes with `edit` applied and the checksum recomputed, to reach the checks behind it. */
function resealed(bytes: Uint8Array, edit: (body: number[]) => number[]): Uint8Array {
  const body = edit([...bytes.subarray(0, bytes.length - 4)]);
  const out = Uint8Array.from([...body, 0, 0, 0, 0]);
  writeChecksum(out);
  return out;
}

test('CRC-32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('every truncation of a chunk is rejected', () => {
  fc.assert(
    fc.property(points, ({ timestamps, values }) => {
      const bytes = encodeChunk(timestamps, values);
      for (let len = 0; len < bytes.length; len++) rejects(() => decodeChunk(bytes.subarray(0, len)), ['TSDB_CHUNK_TRUNCATED', 'TSDB_CHUNK_CORRUPT']);
    }),
    { numRuns: 40 },
  );
});

test('damaged bytes are rejected by the checksum', () => {
  fc.assert(
    fc.property(points, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), ({ timestamps, values }, flips) => {
      const bad = encodeChunk(timestamps, values).slice();
      const at = new Set<number>();
      for (const [pos, mask] of flips) {
        // Distinct positions, so no flip undoes another.
        let p = pos % bad.length;
        while (at.has(p)) p = (p + 1) % bad.length;
        at.add(p);
        bad[p]! ^= mask;
        if (at.size === bad.length) break;
      }
      rejects(() => decodeChunk(bad), ['TSDB_CHUNK_CORRUPT']);
    }),
    { numRuns: 300 },
  );
});

test('trailing bytes, unknown versions, types and encodings are rejected', () => {
  const bytes = encodeChunk([0, 1000, 2000], [1.5, 2.5, 3.5]);
  rejects(() => decodeChunk(Uint8Array.from([...bytes, 0])), ['TSDB_CHUNK_CORRUPT']);
  rejects(() => decodeChunk(resealed(bytes, (b) => [...b, 0])), ['TSDB_CHUNK_CORRUPT']);
  rejects(() => decodeChunk(resealed(bytes, (b) => [2, ...b.slice(1)])), ['TSDB_CHUNK_VERSION']);
  rejects(() => decodeChunk(resealed(bytes, (b) => [1, 0x30, ...b.slice(2)])), ['TSDB_CHUNK_CORRUPT']);
  rejects(() => decodeChunk(resealed(bytes, (b) => [1, 0x02, ...b.slice(2)])), ['TSDB_CHUNK_CORRUPT']);
  // A count far beyond what the bytes can hold is refused before anything is allocated.
  rejects(() => decodeChunk(resealed(bytes, (b) => [1, 0, 0xff, 0xff, 0x3f, ...b.slice(3)])), ['TSDB_CHUNK_CORRUPT']);
  rejects(() => decodeChunk(new Uint8Array(0)), ['TSDB_CHUNK_TRUNCATED']);
  rejects(() => chunkStats(bytes.subarray(1)), ['TSDB_CHUNK_CORRUPT']);
});

test('behind the checksum, damaged fields decode to some points or throw a TsdbCodecError: never a crash or a hang', () => {
  fc.assert(
    fc.property(points, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), ({ timestamps, values }, flips) => {
      const bad = resealed(encodeChunk(timestamps, values), (b) => {
        for (const [at, mask] of flips) b[at % b.length]! ^= mask;
        return b;
      });
      try {
        const d = decodeChunk(bad);
        assert.equal(d.timestamps.length, d.values.length);
      } catch (e) {
        if (!(e instanceof TsdbCodecError)) throw e;
      }
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
      try {
        decodeChunk(resealed(junk, (b) => b));
      } catch (e) {
        if (!(e instanceof TsdbCodecError)) throw e;
      }
    }),
    { numRuns: 300 },
  );
});
