// Stored metadata: one leaf object per change, and its JSON (metadataJson) exactly as
// JSON.stringify gives it, which the stores write.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { metadataJson, type MetaNode } from './metadata.js';
import { applyUpdate } from './shadow-document.js';

test('metadata: the leaves one update writes share one metadata object; other leaves keep theirs', () => {
  const first = applyUpdate(undefined, { state: { desired: { a: 1, b: { c: 2 } }, reported: { x: 1 } } }, { now: 100, writer: 'device:d' });
  assert.ok(first.ok);
  const md = first.next.metadata.desired as Record<string, MetaNode>;
  const mr = first.next.metadata.reported as Record<string, MetaNode>;
  assert.equal(md.a, (md.b as Record<string, MetaNode>).c, 'nested leaves of one change: one object');
  assert.equal(md.a, mr.x, 'across sections too');
  assert.deepEqual(md.a, { timestamp: 100, writer: 'device:d', seq: 1 });
  const second = applyUpdate(first.next, { state: { desired: { a: 5 } } }, { now: 200, writer: 'api:k' });
  assert.ok(second.ok);
  const md2 = second.next.metadata.desired as Record<string, MetaNode>;
  assert.deepEqual(md2.a, { timestamp: 200, writer: 'api:k', seq: 1 });
  assert.equal(md2.b, md.b, 'an unchanged subtree is shared with the previous version');
  assert.deepEqual(first.next.metadata.desired, { a: { timestamp: 100, writer: 'device:d', seq: 1 }, b: { c: { timestamp: 100, writer: 'device:d', seq: 1 } } }, 'the previous version is unchanged');
});

test('metadata: metadataJson is JSON.stringify of the metadata, shared leaves, nesting, "__proto__" and integer keys included', () => {
  const leaf = { timestamp: 1, writer: 'device:d', seq: 3 };
  const other = { timestamp: 2, seq: 1, deleted: true as const };
  const meta = JSON.parse('{"__proto__": {"timestamp": {"timestamp": 5, "seq": 1}}}') as Record<string, MetaNode>;
  Object.assign(meta, { b: leaf, a: leaf, 2: other, 1: leaf, n: { x: leaf, y: other, z: leaf }, e: {} });
  assert.equal(metadataJson(meta), JSON.stringify(meta));
  assert.equal(metadataJson(leaf), JSON.stringify(leaf));
  assert.equal(metadataJson({}), '{}');
  const leafArb = fc.record({ timestamp: fc.integer(), seq: fc.nat() }, { requiredKeys: ['timestamp', 'seq'] });
  const metaArb = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leafArb, tie('object')),
    object: fc.dictionary(fc.string(), tie('node'), { maxKeys: 6 }),
  })).object;
  fc.assert(
    fc.property(metaArb, leafArb, fc.array(fc.string(), { maxLength: 6 }), (m, shared, keys) => {
      const withShared = { ...(m as Record<string, MetaNode>) };
      for (const k of keys) Object.defineProperty(withShared, k, { value: shared, enumerable: true, writable: true, configurable: true });
      return metadataJson(withShared) === JSON.stringify(withShared);
    }),
    { numRuns: 1000 },
  );
});
