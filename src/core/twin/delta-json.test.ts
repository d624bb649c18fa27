import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeltaJson } from './delta-json.js';
import type { JsonObject, JsonValue } from './json-value.js';
import type { ShadowDocument } from './shadow-document.js';
import { update } from './test-helpers.js';

// DeltaJson reuses the JSON of a repeating delta's state and metadata; its bytes must always be
// JSON.stringify(delta)'s (the /update/delta body of "Device Shadow MQTT topics").

const key = fc.constantFrom('a', 'b', 'c', '__proto__', '1', 'é');
const scalar = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.constantFrom('x', 'ü', '"q"'), fc.boolean());
const tree = fc.letrec<{ node: JsonValue; obj: JsonObject }>((tie) => ({
  node: fc.oneof({ maxDepth: 2, depthIdentifier: 't' }, scalar, fc.constant(null), tie('obj')),
  obj: fc.dictionary(key, tie('node'), { maxKeys: 3, noNullPrototype: true }),
}));
const token = fc.option(fc.constantFrom('t-1', 'say "hi"', 'tök "2"', 'x'.repeat(64), 'a\\b', 'nl\n', 'c\u0001', '\u2028', ''), { nil: undefined });
// Each step is an update of desired or of reported (as a device reports), at a moment 0–2 s later.
const step = fc.record({ section: fc.constantFrom('desired', 'reported'), patch: tree.obj, token, later: fc.integer({ min: 0, max: 2 }) });

test('property: DeltaJson gives exactly JSON.stringify(delta) over any sequence of updates of one twin', () => {
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
        if (r.delta === undefined) continue;
        assert.equal(enc.encode(r.delta, doc.metadata.desired).toString('utf8'), JSON.stringify(r.delta));
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
    const got = JSON.parse(enc.encode(r.delta!, doc.metadata.desired).toString('utf8')) as Record<string, unknown>;
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
  assert.deepEqual(JSON.parse(enc.encode(r.delta!, r.next.metadata.desired).toString('utf8')), {
    state: { temp: 21 },
    metadata: { temp: { timestamp: 100 } },
    version: 5,
    timestamp: 300,
  });
  // Desired changes (same values, new timestamps): the metadata follows.
  const d = update(r.next, { state: { desired: { temp: 21 } } }, { now: 400, writer: 'app' });
  assert.equal(enc.encode(d.delta!, d.next.metadata.desired).toString('utf8'), JSON.stringify(d.delta));
  assert.match(JSON.stringify(d.delta), /"timestamp":400/);
});
