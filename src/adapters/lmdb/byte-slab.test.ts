import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteSlab } from './byte-slab.js';
import { docJsonV2, recordJsonV2, writeRecordV2 } from './twin-migrations.js';
import { compactMetadataJson } from '../../core/twin/compact-metadata.js';
import { applyUpdate, type ShadowDocument } from '../../core/twin/index.js';
import type { JsonObject, JsonValue } from '../../core/twin/json-value.js';

test('ByteSlab: values are views that stay intact while later values fill the slab and the next one', () => {
  const slab = new ByteSlab();
  const values: Array<[Buffer, string]> = [];
  // 3,000 values of ~300 bytes: more than one 256 KB slab, with multi-byte characters.
  for (let i = 0; i < 3000; i++) {
    const s = `{"i":${i},"s":"${'ä€😀'.repeat(i % 40)}"}`;
    values.push([slab.begin(3 * s.length).str(s).end(), s]);
  }
  for (const [v, s] of values) assert.equal(v.toString('utf8'), s);
});

const key = fc.constantFrom('a', 'b', 'ü', '__proto__', '😀');
const scalar = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('x', 'é😀', '"\\'), fc.boolean());
const tree = fc.letrec<{ node: JsonValue; obj: JsonObject }>((tie) => ({
  node: fc.oneof({ maxDepth: 2, depthIdentifier: 't' }, scalar, fc.constant(null), tie('obj')),
  obj: fc.dictionary(key, tie('node'), { maxKeys: 3, noNullPrototype: true }),
}));
const step = fc.record({ section: fc.constantFrom('desired', 'reported'), patch: fc.oneof(tree.obj, fc.constant(null)) });

function sectionsJson(doc: ShadowDocument) {
  const { desired, reported } = doc.state;
  return {
    desiredJson: desired === undefined ? '' : JSON.stringify(desired),
    reportedJson: reported === undefined ? '' : JSON.stringify(reported),
    metaDesiredJson: doc.metadata.desired === undefined ? '' : compactMetadataJson(doc.metadata.desired, desired),
    metaReportedJson: doc.metadata.reported === undefined ? '' : compactMetadataJson(doc.metadata.reported, reported),
  };
}

test('property: writeRecordV2 writes the bytes of recordJsonV2(docJsonV2(doc)) for documents of any sections', () => {
  const slab = new ByteSlab();
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), fc.nat(), fc.nat(), (steps, r, h) => {
      let doc: ShadowDocument | undefined;
      for (const s of steps) {
        const u = applyUpdate(doc, { state: { [s.section]: s.patch } }, { now: 1000, writer: s.section === 'desired' ? 'api:k' : 'device:d😀' });
        if (u.ok) doc = u.next;
      }
      if (doc === undefined) return;
      const f = sectionsJson(doc);
      const got = writeRecordV2(slab, r, h, doc, f);
      assert.ok(got !== undefined);
      assert.equal(got.toString('utf8'), recordJsonV2(r, h, docJsonV2(doc, f), undefined));
    }),
    { numRuns: 400 },
  );
});

test('writeRecordV2: a document with a field the layout does not know is left to docJsonV2', () => {
  const u = applyUpdate(undefined, { state: { reported: { a: 1 } } }, { now: 1 });
  assert.ok(u.ok);
  const odd = { ...u.next, extra: true } as unknown as ShadowDocument;
  assert.equal(writeRecordV2(new ByteSlab(), 1, 1, odd, sectionsJson(odd)), undefined);
});
