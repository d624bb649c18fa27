import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitReader, BitWriter } from './bits.js';
import { TsdbCodecError } from './errors.js';

type Field = { kind: 'bits'; width: number; value: number } | { kind: 'wide'; width: number; value: number } | { kind: 'int64'; value: number } | { kind: 'var'; value: number };

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: 0, max: 32 }).chain((width) => fc.integer({ min: 0, max: 2 ** width - 1 }).map((value): Field => ({ kind: 'bits', width, value }))),
  fc.integer({ min: 33, max: 53 }).chain((width) => fc.integer({ min: 0, max: 2 ** width - 1 }).map((value): Field => ({ kind: 'wide', width, value }))),
  fc.integer({ min: -(2 ** 53), max: 2 ** 53 }).map((value): Field => ({ kind: 'int64', value })),
  fc.integer({ min: 0, max: 2 ** 53 }).map((value): Field => ({ kind: 'var', value })),
);

test('fields of 0–64 bits read back as written, in order, unaligned', () => {
  fc.assert(
    fc.property(fc.array(field, { maxLength: 60 }), (fields) => {
      const w = new BitWriter(1); // tiny, so the buffer has to grow
      for (const f of fields) {
        if (f.kind === 'bits') w.writeBits(f.value, f.width);
        else if (f.kind === 'wide') w.writeWide(f.value, f.width);
        else if (f.kind === 'int64') w.writeInt64(f.value);
        else w.writeVarUint(f.value);
      }
      const bitLength = w.bitLength;
      const bytes = w.finish();
      assert.equal(bytes.length, Math.ceil(bitLength / 8));
      const r = new BitReader(bytes);
      for (const f of fields) {
        if (f.kind === 'bits') assert.equal(r.readBits(f.width), f.value);
        else if (f.kind === 'wide') assert.equal(r.readWide(f.width), f.value);
        else if (f.kind === 'int64') assert.equal(r.readInt64(), f.value);
        else assert.equal(r.readVarUint(), f.value);
      }
      assert.equal(r.bitPosition, bitLength);
      assert.ok(r.bitsLeft < 8);
    }),
  );
});

test('single bits and unary prefixes', () => {
  const w = new BitWriter();
  for (const b of [1, 0, 1, 1, 0, 1, 1, 1, 1, 1]) w.writeBit(b);
  const bytes = w.finish();
  assert.deepEqual([...bytes], [0b10110111, 0b11000000]);
  const r = new BitReader(bytes);
  assert.equal(r.readOnes(5), 1);
  assert.equal(r.readOnes(5), 2);
  assert.equal(r.readOnes(5), 5); // five ones, no terminating zero consumed
  assert.equal(r.bitPosition, 10);
});

test('reading past the end throws TSDB_CHUNK_TRUNCATED instead of returning zeros', () => {
  const r = new BitReader(new Uint8Array([0xff, 0x01]));
  assert.equal(r.readBits(12), 0xff0);
  assert.throws(() => r.readBits(5), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_CHUNK_TRUNCATED');
  assert.equal(r.readBits(4), 1); // a failed read consumes nothing
  assert.throws(() => r.readBit(), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_CHUNK_TRUNCATED');
});

test('a varuint longer than 8 groups is corrupt, not an endless read', () => {
  const r = new BitReader(new Uint8Array(16).fill(0xff));
  assert.throws(() => r.readVarUint(), (e: unknown) => e instanceof TsdbCodecError && e.code === 'TSDB_CHUNK_CORRUPT');
});
