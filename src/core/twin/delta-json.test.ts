import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeltaJson } from './delta-json.js';
import type { JsonObject, JsonValue } from './json-value.js';
import { buildDeltaDocument, type ShadowDocument } from './shadow-document.js';
import { update } from './test-helpers.js';

// DeltaJson reuses the JSON of a repeating delta's state and metadata; its bytes must always be
// JSON.stringify(buildDeltaDocument(doc, now, token))'s (the /update/delta body of "Device Shadow
// MQTT topics"), and it gives none exactly when buildDeltaDocument gives none.

const key = fc.constantFrom('a', 'b', 'c', '__proto__', '1', 'é');
// Few values, so that reports often leave the delta as it was (the reused head) and often match desired.
const scalar = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.constantFrom('x', 'ü', '"q"', -0), fc.boolean());
const array = fc.array(fc.oneof(fc.integer({ min: 0, max: 1 }), fc.constant('x')), { maxLength: 2 });
const tree = fc.letrec<{ node: JsonValue; obj: JsonObject }>((tie) => ({
  node: fc.oneof({ maxDepth: 2, depthIdentifier: 't' }, scalar, array, fc.constant(null), tie('obj')),
  obj: fc.dictionary(key, tie('node'), { maxKeys: 3, noNullPrototype: true }),
}));
const token = fc.option(fc.constantFrom('t-1', 'say "hi"', 'tök "2"', 'x'.repeat(64), 'a\\b', 'nl\n', 'c\u0001', '\u2028', ''), { nil: undefined });
// Each step is an update of desired or of reported (as a device reports), at a moment 0–2 s later.
const step = fc.record({ section: fc.constantFrom('desired', 'reported'), patch: tree.obj, token, later: fc.integer({ min: 0, max: 2 }) });

test('property: DeltaJson gives exactly JSON.stringify(buildDeltaDocument(…)) over any sequence of updates of one twin', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
      const enc = new DeltaJson();
      let doc: ShadowDocument | undefined;
      let now = 1000;
      for (const s of steps) {
        now += s.later;
        const req = s.token === undefined ? { state: { [s.section]: s.patch } } : { state: { [s.section]: s.patch }, clientToken: s.token };
        const r = update(doc, req, { now, writer: s.section === 'desired' ? 'app' : 'dev' });
        doc = r.next;
        const want = buildDeltaDocument(doc, now, s.token);
        const got = enc.encode(doc, now, s.token);
        if (want === undefined) assert.equal(got, undefined);
        else assert.equal(got?.toString('utf8'), JSON.stringify(want));
      }
    }),
    { numRuns: 500 },
  );
});

test('DeltaJson: a device that keeps reporting values other than desired gets the same head, the new version, timestamp and token', () => {
  const enc = new DeltaJson();
  let doc = update(undefined, { state: { desired: { temp: 21, mode: 'eco' } } }, { now: 100, writer: 'app' }).next;
  for (let i = 0; i < 3; i++) {
    const r = update(doc, { state: { reported: { temp: 18 + i, mode: 'off' } }, clientToken: `c${i}` }, { now: 200 + i, writer: 'dev' });
    doc = r.next;
    const got = JSON.parse(enc.encode(doc, 200 + i, `c${i}`)!.toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(got, {
      state: { temp: 21, mode: 'eco' },
      metadata: { temp: { timestamp: 100 }, mode: { timestamp: 100 } },
      version: 2 + i,
      timestamp: 200 + i,
      clientToken: `c${i}`,
    });
  }
  // Reported catches up on one field: the delta shrinks and the head follows.
  const r = update(doc, { state: { reported: { mode: 'eco' } } }, { now: 300, writer: 'dev' });
  assert.deepEqual(JSON.parse(enc.encode(r.next, 300, undefined)!.toString('utf8')), {
    state: { temp: 21 },
    metadata: { temp: { timestamp: 100 } },
    version: 5,
    timestamp: 300,
  });
  // Desired changes (same values, new timestamps): the metadata follows.
  const d = update(r.next, { state: { desired: { temp: 21 } } }, { now: 400, writer: 'app' });
  assert.equal(enc.encode(d.next, 400, undefined)!.toString('utf8'), JSON.stringify(d.delta));
  assert.match(JSON.stringify(d.delta), /"timestamp":400/);
  // Reported catches up on every field: no delta.
  const caught = update(d.next, { state: { reported: { temp: 21 } } }, { now: 500, writer: 'dev' });
  assert.equal(caught.delta, undefined);
  assert.equal(enc.encode(caught.next, 500, undefined), undefined);
});

test('DeltaJson: a desired object whose nested delta becomes the whole object (reported turns from an object into a value) is not taken for the old delta', () => {
  const enc = new DeltaJson();
  let doc = update(undefined, { state: { desired: { cfg: { x: 1, y: 2 }, mode: 'eco' } } }, { now: 100, writer: 'app' }).next;
  // Reported differs inside cfg: the delta holds cfg's differing field only ("nested objects are compared field by field").
  doc = update(doc, { state: { reported: { cfg: { x: 1, y: 3 }, mode: 'off' } } }, { now: 101, writer: 'dev' }).next;
  assert.deepEqual((JSON.parse(enc.encode(doc, 101, undefined)!.toString('utf8')) as { state: unknown }).state, { cfg: { y: 2 }, mode: 'eco' });
  // Reported cfg becomes a number: the whole desired cfg differs now.
  doc = update(doc, { state: { reported: { cfg: 7 } } }, { now: 102, writer: 'dev' }).next;
  assert.equal(enc.encode(doc, 102, undefined)!.toString('utf8'), JSON.stringify(buildDeltaDocument(doc, 102)));
  assert.deepEqual((JSON.parse(enc.encode(doc, 102, undefined)!.toString('utf8')) as { state: unknown }).state, { cfg: { x: 1, y: 2 }, mode: 'eco' });
});
