import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeChunk, encodeChunk } from './chunk.js';
import { HI, LO, wordsOf } from './float-words.js';
import { sortPoints } from './sort-points.js';

test('out-of-order arrivals: sorted (stably) then encoded, they decode in time order with exact values', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 100 }), (rows) => {
      // Timestamps with many repeats; the value's low word records arrival order and a NaN payload.
      const ts = rows.map((r) => r[0] * 1000);
      const values = new Float64Array(rows.length);
      const w = wordsOf(values);
      rows.forEach(([, payload], i) => {
        w[2 * i + HI] = 0x7ff80000;
        w[2 * i + LO] = (payload & ~0xff) | i; // NaN with a payload that also encodes i (i < 256)
      });
      const sorted = sortPoints(ts, values);
      const d = decodeChunk(encodeChunk(sorted.timestamps, sorted.values));
      const expected = rows.map((r, i) => ({ t: r[0] * 1000, i })).sort((a, b) => a.t - b.t || a.i - b.i);
      assert.deepEqual([...d.timestamps], expected.map((e) => e.t));
      const out = wordsOf(d.values);
      expected.forEach((e, k) => {
        assert.equal(out[2 * k + LO], w[2 * e.i + LO]);
        assert.equal(out[2 * k + HI], 0x7ff80000);
      });
    }),
  );
});
