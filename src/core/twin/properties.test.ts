import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeDelta } from './delta.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.js';
import { snapshot, type ShadowDocument } from './shadow-document.js';
import { update } from './test-helpers.js';

// Property tests from issue 4: random documents and updates.

const key = fc.constantFrom('a', 'b', 'c', 'd');
const scalar = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.constantFrom('x', 'y'), fc.boolean());
const leaf = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }));

/** State values: no nulls (null means deletion in an update). */
const stateTree = fc.letrec<{ node: JsonValue; obj: JsonObject }>((tie) => ({
  node: fc.oneof({ maxDepth: 3, depthIdentifier: 'state' }, leaf, tie('obj')),
  obj: fc.dictionary(key, tie('node'), { maxKeys: 4, noNullPrototype: true }),
}));

/** Update values: nulls delete, empty objects change nothing. */
const patchTree = fc.letrec<{ node: JsonValue; obj: JsonObject }>((tie) => ({
  node: fc.oneof({ maxDepth: 3, depthIdentifier: 'patch' }, leaf, fc.constant(null), tie('obj')),
  obj: fc.dictionary(key, tie('node'), { maxKeys: 4, noNullPrototype: true }),
}));

const section = fc.oneof({ weight: 4, arbitrary: patchTree.obj }, { weight: 1, arbitrary: fc.constant(null) });
const statePatch = fc.record({ desired: section, reported: section }, { requiredKeys: [] });

/** A shadow built by a few updates of devices and apps (no vector) and of one edge node (vector). */
const history = fc.array(fc.tuple(statePatch, fc.boolean()), { maxLength: 4 });

function build(steps: [unknown, boolean][]): ShadowDocument | undefined {
  let doc: ShadowDocument | undefined;
  for (const [patch, byEdge] of steps) {
    const ctx = byEdge
      ? { writer: 'edge-c', vector: { ...doc?.writers, 'edge-c': (doc?.writers['edge-c'] ?? 0) + 1 }, now: 1 }
      : { writer: 'dev', now: 1 };
    doc = update(doc, { state: patch }, ctx).next;
  }
  return doc;
}

test('property: the delta is empty once reported catches up with desired (issue 4)', () => {
  fc.assert(
    fc.property(history, patchTree.obj, (steps, desiredPatch) => {
      const r = update(build(steps), { state: { desired: desiredPatch } });
      const desired = r.next.state.desired;
      // The device reports what it received: a copy, as it arrives over the wire.
      const caught = update(r.next, JSON.stringify({ state: { reported: desired ?? {} } }));
      assert.equal(caught.delta, undefined);
      assert.equal(computeDelta(caught.next.state.desired, caught.next.state.reported), undefined);
    }),
  );
});

test('property: the same update applied twice leaves state and delta as the first left them; the version still increments (issue 4)', () => {
  fc.assert(
    fc.property(history, statePatch, (steps, patch) => {
      const first = update(build(steps), { state: patch });
      const second = update(first.next, { state: patch });
      assert.deepEqual(second.next.state, first.next.state);
      assert.deepEqual(second.delta?.state, first.delta?.state);
      assert.equal(second.next.version, first.next.version + 1);
    }),
  );
});

test('property: concurrent version-vector changes merge commutatively (same final state in either order) (issue 4)', () => {
  const stamp = fc.integer({ min: 0, max: 3 }); // few values, so equal timestamps happen
  fc.assert(
    fc.property(history, statePatch, statePatch, stamp, stamp, (steps, pa, pb, ta, tb) => {
      const s0 = build(steps);
      const w = s0?.writers ?? {};
      const a = { writer: 'edge-a', vector: { ...w, 'edge-a': 1 }, changedAt: ta, now: 10 };
      const b = { writer: 'edge-b', vector: { ...w, 'edge-b': 1 }, changedAt: tb, now: 10 };
      const ab = update(update(s0, { state: pa }, a).next, { state: pb }, b).next;
      const ba = update(update(s0, { state: pb }, b).next, { state: pa }, a).next;
      assert.deepEqual(ab.state, ba.state);
      assert.deepEqual(snapshot(ab), snapshot(ba), 'AWS metadata and version agree too');
      assert.deepEqual(ab.writers, ba.writers);
    }),
    { numRuns: 300 },
  );
});

test('property: without vectors an update is a plain merge (checked against a reference merge)', () => {
  fc.assert(
    fc.property(history, statePatch, (steps, patch) => {
      const s0 = build(steps);
      const r = update(s0, { state: patch });
      assert.deepEqual(r.next.state, referenceMerge(s0?.state ?? {}, patch));
      assert.equal(r.lost.length, 0);
    }),
  );
});

test('property: every leaf of the state has a metadata timestamp and nothing else has one', () => {
  fc.assert(
    fc.property(history, (steps) => {
      const doc = build(steps);
      if (doc === undefined) return;
      const snap = snapshot(doc);
      for (const s of ['desired', 'reported'] as const) {
        const st = snap.state[s];
        assert.deepEqual(leafPaths(snap.metadata[s] ?? {}, true), leafPaths(st ?? {}, false));
      }
    }),
  );
});

// Reference: deep-copy the state and apply the patch in place, RFC 7396 style, plus the two
// readings of docs/TWINS.md (an object patch without any value or null changes nothing; objects
// left empty are removed).
function referenceMerge(state: object, patch: object): object {
  const out = structuredClone(state) as Record<string, JsonValue>;
  apply(out, patch as JsonObject);
  return out;
  function apply(target: Record<string, JsonValue>, p: JsonObject): void {
    for (const k of Object.keys(p)) {
      const pv = p[k] as JsonValue;
      if (pv === null) {
        delete target[k];
      } else if (isJsonObject(pv)) {
        if (!hasValue(pv)) continue;
        if (!isJsonObject(target[k])) target[k] = {};
        apply(target[k] as Record<string, JsonValue>, pv);
        if (Object.keys(target[k] as object).length === 0) delete target[k];
      } else {
        target[k] = pv;
      }
    }
  }
  function hasValue(p: JsonObject): boolean {
    return Object.values(p).some((v) => !isJsonObject(v) || hasValue(v));
  }
}

function leafPaths(v: unknown, meta: boolean, prefix = ''): string[] {
  if (!isJsonObject(v as JsonValue) || (meta && typeof (v as { timestamp?: unknown }).timestamp === 'number')) return [prefix];
  return Object.keys(v as object)
    .flatMap((k) => leafPaths((v as Record<string, unknown>)[k], meta, `${prefix}/${k}`))
    .sort();
}
