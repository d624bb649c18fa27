import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compactMetadataJson, parseCompactMetadata } from './compact-metadata.js';
import type { JsonObject } from './json-value.js';
import type { MetaNode } from './metadata.js';
import { metadataJson } from './metadata.js';
import { update } from './test-helpers.js';
import type { ShadowDocument } from './shadow-document.js';

const roundTrip = (m: MetaNode, state?: JsonObject): MetaNode => parseCompactMetadata(JSON.parse(compactMetadataJson(m, state)), state);

test('compact metadata: the fields one change wrote share one table entry; writer and change number appear once', () => {
  const r = update(undefined, { state: { reported: { a: 1, b: 2, c: { d: 3, e: 4 } } } }, { writer: 'device:d1', now: 1_700_000_000 });
  const meta = r.next.metadata.reported!;
  const json = compactMetadataJson(meta);
  assert.equal(json, '[[[1700000000,1,"device:d1"]],{"a":0,"b":0,"c":{"d":0,"e":0}}]');
  assert.equal(json.split('device:d1').length - 1, 1);
  assert.ok(json.length < metadataJson(meta).length / 2, 'smaller than the plain JSON');
  const back = roundTrip(meta);
  assert.deepEqual(back, meta);
  // One shared leaf object per change after reading, as merge-state.ts builds them.
  const b = back as { [k: string]: MetaNode };
  assert.equal(b.a, b.b);
});

test('compact metadata: a section one change wrote whole is stored without its tree and rebuilt from the state beside it', () => {
  const r = update(undefined, { state: { reported: JSON.parse('{"a":1,"__proto__":[1,2],"c":{"d":3,"e":{"f":null,"g":"x"}}}') } }, { writer: 'device:d1', now: 1_700_000_000 });
  const meta = r.next.metadata.reported!;
  const state = r.next.state.reported!;
  assert.equal(compactMetadataJson(meta, state), '[[[1700000000,1,"device:d1"]]]');
  const back = roundTrip(meta, state);
  assert.deepEqual(back, meta);
  assert.ok(Object.prototype.hasOwnProperty.call(back, '__proto__'));
  // Without the state the short form cannot be read.
  assert.throws(() => parseCompactMetadata([[[1, 2]]]), TypeError);
  // Two changes, a field order other than the state's, a tombstone: the tree is kept.
  const two = update(r.next, { state: { reported: { a: 2 } } }, { writer: 'device:d1', now: 1_700_000_001 }).next;
  assert.equal(JSON.parse(compactMetadataJson(two.metadata.reported!, two.state.reported)).length, 2);
  assert.deepEqual(roundTrip(two.metadata.reported!, two.state.reported), two.metadata.reported);
  const reordered = { c: (meta as { c: MetaNode }).c, a: (meta as { a: MetaNode }).a, __proto__: (meta as { [k: string]: MetaNode })['__proto__']! };
  assert.equal(JSON.parse(compactMetadataJson(reordered, state)).length, 2);
  const tomb = update(undefined, { state: { desired: { x: 1, y: 2 } } }, { writer: 'e', vector: { e: 1 }, now: 5 }).next;
  const tombNext = update(tomb, { state: { desired: { y: null } } }, { writer: 'e', vector: { e: 2 }, now: 6 }).next;
  assert.equal(JSON.parse(compactMetadataJson(tombNext.metadata.desired!, tombNext.state.desired)).length, 2);
  assert.deepEqual(roundTrip(tombNext.metadata.desired!, tombNext.state.desired), tombNext.metadata.desired);
  // A state that gained a field the metadata lacks is not mirrored (never read back wrong).
  assert.equal(JSON.parse(compactMetadataJson(meta, { ...state, extra: 1 })).length, 2);
});

test('compact metadata: anonymous writers, tombstone leaves (version-vector deletions) and a section tombstone round-trip', () => {
  let doc: ShadowDocument | undefined;
  doc = update(doc, { state: { desired: { x: 1, y: { z: 2 } }, reported: { x: 1 } } }, { now: 10 }).next;
  doc = update(doc, { state: { desired: { x: null, y: { z: null } } } }, { writer: 'edge', vector: { edge: 1 }, now: 11 }).next;
  doc = update(doc, { state: { reported: null } }, { writer: 'edge', vector: { edge: 2 }, now: 12 }).next;
  for (const section of [doc.metadata.desired, doc.metadata.reported]) {
    if (section === undefined) continue;
    assert.deepEqual(roundTrip(section), section);
  }
  assert.ok(JSON.stringify(doc.metadata).includes('"deleted":true'), 'the fixture holds tombstones');
  const leaf = { timestamp: 5, seq: 3, deleted: true as const };
  assert.equal(compactMetadataJson(leaf), '[[[5,3,null,1]],0]');
  assert.deepEqual(roundTrip(leaf), leaf);
});

test('compact metadata: equal leaves that are distinct objects (format-1 records) are stored once; "__proto__" stays an own field', () => {
  const meta = JSON.parse('{"a":{"timestamp":1,"writer":"w","seq":2},"__proto__":{"timestamp":1,"writer":"w","seq":2},"b":{"timestamp":1,"seq":2}}') as MetaNode;
  const json = compactMetadataJson(meta);
  assert.equal(json, '[[[1,2,"w"],[1,2]],{"a":0,"__proto__":0,"b":1}]');
  const back = roundTrip(meta) as { [k: string]: MetaNode };
  assert.ok(Object.prototype.hasOwnProperty.call(back, '__proto__'));
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(back, meta);
});

test('compact metadata: malformed stored values are refused, not misread', () => {
  for (const bad of [null, 5, [], [[], 'x'], [[[1]], {}], [[[1, 2]], { a: 1 }], [[[1, 2]], 3], [[[1, 2, 5]], { a: 0 }], [[[1, 2, 'w', 2]], { a: 0 }], [[[1, 2]], { a: 'x' }], [[[1, 2]], { a: [0] }]]) {
    assert.throws(() => parseCompactMetadata(bad), TypeError, JSON.stringify(bad));
  }
});

test('compact metadata: any sequence of updates by several writers (with and without vectors) reads back the same metadata', () => {
  const key = fc.constantFrom('a', 'b', 'c', '__proto__', 'timestamp');
  const value: fc.Arbitrary<unknown> = fc.oneof(fc.integer(), fc.constant(null), fc.dictionary(key, fc.oneof(fc.integer(), fc.constant(null)), { maxKeys: 3 }));
  const step = fc.record({
    section: fc.constantFrom('desired', 'reported'),
    fields: fc.dictionary(key, value, { minKeys: 1, maxKeys: 4 }),
    writer: fc.constantFrom('', 'device:d', 'edge'),
    vector: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (steps) => {
      let doc: ShadowDocument | undefined;
      const counts: { [w: string]: number } = {};
      for (const [i, s] of steps.entries()) {
        const n = (counts[s.writer] = (counts[s.writer] ?? 0) + 1);
        const ctx = s.vector && s.writer !== '' ? { writer: s.writer, vector: { ...doc?.writers, [s.writer]: n }, now: 100 + i } : { writer: s.writer, now: 100 + i };
        const r = update(doc, { state: { [s.section]: s.fields } }, ctx);
        doc = r.next;
      }
      for (const name of ['desired', 'reported'] as const) {
        const section = doc!.metadata[name];
        if (section === undefined) continue;
        assert.deepEqual(roundTrip(section), section);
        assert.deepEqual(roundTrip(section, doc!.state[name]), section);
      }
    }),
    { numRuns: 200 },
  );
});
