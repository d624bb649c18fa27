import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeChunk, encodeChunk } from './chunk.js';
import { ChunkEncoder } from './chunk-encoder.js';
import { TsdbCodecError } from './errors.js';

const series = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 600_000 }), fc.oneof(fc.integer({ min: -500, max: 500 }).map((m) => m / 10), fc.double())), { maxLength: 300 })
  .map((rows) => {
    let t = 1_700_000_000_000;
    return rows.map(([gap, v]) => [(t += gap), v] as const);
  });

test('appending points one by one and sealing gives the same bytes as encodeChunk', () => {
  fc.assert(
    fc.property(series, (rows) => {
      const enc = new ChunkEncoder('float', 4); // small, so it grows
      for (const [t, v] of rows) enc.append(t, v);
      assert.equal(enc.count, rows.length);
      const size = enc.encodedSize();
      const expected = encodeChunk(rows.map((r) => r[0]), rows.map((r) => r[1]));
      const sealed = enc.seal();
      assert.deepEqual(sealed, expected);
      assert.equal(size, sealed.length);
      assert.equal(enc.count, 0); // sealing empties it for the next chunk
    }),
    { numRuns: 50 },
  );
});

test('the open chunk: first and last timestamps, views, size cache invalidated by append', () => {
  const enc = new ChunkEncoder();
  assert.ok(Number.isNaN(enc.firstTimestamp));
  enc.append(1000, 21.5);
  const one = enc.encodedSize();
  enc.append(2000, 21.6);
  assert.ok(enc.encodedSize() > one);
  assert.equal(enc.firstTimestamp, 1000);
  assert.equal(enc.lastTimestamp, 2000);
  const view = enc.view();
  assert.deepEqual([...view.timestamps], [1000, 2000]);
  assert.deepEqual([...view.values], [21.5, 21.6]);
  const d = decodeChunk(enc.seal());
  assert.deepEqual([...d.values], [21.5, 21.6]);
});

test('a late point is rejected with TSDB_UNSORTED and leaves the open chunk unchanged', () => {
  const enc = new ChunkEncoder();
  enc.append(2000, 1);
  enc.append(2000, 2); // equal timestamps are in order
  assert.throws(() => enc.append(1999, 3), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_UNSORTED');
  assert.throws(() => enc.append(2500.5, 3), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_BAD_POINT');
  assert.equal(enc.count, 2);
  assert.deepEqual([...decodeChunk(enc.seal()).values], [1, 2]);
});

test('typed open chunks check their values and tag the sealed chunk', () => {
  const ints = new ChunkEncoder('int');
  assert.throws(() => ints.append(0, 0.5), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_BAD_POINT');
  ints.append(0, -3);
  assert.equal(decodeChunk(ints.seal()).valueType, 'int');
  const bools = new ChunkEncoder('bool');
  assert.throws(() => bools.append(0, 2), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_BAD_POINT');
  bools.append(0, 1);
  bools.append(1, 0);
  const d = decodeChunk(bools.seal());
  assert.equal(d.valueType, 'bool');
  assert.deepEqual([...d.values], [1, 0]);
});
