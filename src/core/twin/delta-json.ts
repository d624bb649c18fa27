// The bytes of a twin's /update/delta messages (docs/TWINS.md "Performance"). A device that has not
// caught up with its desired state gets the same delta on every report it sends: the delta's
// `state` holds the same desired values and its `metadata` the same desired timestamps, only
// `version`, `timestamp` and `clientToken` change. DeltaJson keeps the JSON of the repeating head
// (`{"state":…,"metadata":…`) per twin, with the desired section and delta it was made from; while
// the desired section is the same object and the new reported state leaves the same delta (checked
// field by field, without building the delta or its metadata), only the rest is serialised. Its
// bytes are exactly JSON.stringify(buildDeltaDocument(doc, now, token))'s (the property test in
// delta-json.test.ts compares them).
import { getOrMake } from '../../common/bounded-map.js';
import { computeDelta, deltaMetadata } from './delta.js';
import { hasOwn, isJsonObject, jsonEqual, type JsonObject } from './json-value.js';
import type { MetaNode } from './metadata.js';
import type { ShadowDocument } from './shadow-document.js';

/** A string JSON writes as it is between quotes: printable ASCII without `"` and `\\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A number as JSON writes it (String() is the same for finite numbers; JSON writes null otherwise). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * One Buffer for equal heads across twins (devices of a group given the same desired state at
 * once get the same delta): less memory, and memory other twins' deltas keep in the CPU's caches.
 * Bounded; cleared when full.
 */
const SHARED_HEADS = new Map<string, Buffer>();
const MAX_SHARED_HEADS = 4096;
const headBytes = (json: string): Buffer => Buffer.from(json);

export class DeltaJson {
  /** What the head was made from: the desired section and its metadata (by identity) and the delta. */
  private desired: JsonObject | undefined;
  private desiredMeta: MetaNode | undefined;
  private delta: JsonObject | undefined;
  private head: Buffer | undefined;

  /**
   * The /update/delta body for `doc` as bytes (JSON.stringify(buildDeltaDocument(doc, now,
   * token))), or undefined when desired and reported agree (no delta is published).
   */
  encode(doc: ShadowDocument, now: number, token: string | undefined): Buffer | undefined {
    const desired = doc.state.desired;
    if (desired === undefined) return undefined;
    const desiredMeta = doc.metadata.desired;
    const reported = doc.state.reported;
    let head = this.head;
    if (head === undefined || desired !== this.desired || desiredMeta !== this.desiredMeta || desiredMeta === undefined || !sameDelta(desired, reported, this.delta!)) {
      const delta = computeDelta(desired, reported);
      if (delta === undefined) return undefined;
      // JSON.stringify writes the keys in insertion order: state, metadata, then the rest.
      const s = JSON.stringify({ state: delta, metadata: deltaMetadata(delta, desiredMeta) });
      head = this.head = getOrMake(SHARED_HEADS, MAX_SHARED_HEADS, s.slice(0, -1), headBytes);
      this.desired = desired;
      this.desiredMeta = desiredMeta;
      this.delta = delta;
    }
    const start = `,"version":${num(doc.version)},"timestamp":${num(now)}`;
    if (token === undefined || PLAIN.test(token)) {
      // ASCII only: one byte per character.
      const tail = token === undefined ? `${start}}` : `${start},"clientToken":"${token}"}`;
      const out = Buffer.allocUnsafe(head.length + tail.length);
      out.set(head, 0);
      out.write(tail, head.length, 'latin1');
      return out;
    }
    const tail = `${start},"clientToken":${JSON.stringify(token)}}`;
    const out = Buffer.allocUnsafe(head.length + Buffer.byteLength(tail));
    out.set(head, 0);
    out.write(tail, head.length, 'utf8');
    return out;
  }
}

/**
 * Whether computeDelta(desired, reported) would give `delta` again, without building it. Only
 * for the `desired` object `delta` was computed from: the delta's fields are then fields of
 * `desired`, in its order, holding its values or nested deltas of them, so the same fields with
 * the same values mean the same delta. A field that is an object on both sides (a nested delta
 * now) answers false: the caller computes the delta.
 */
function sameDelta(desired: JsonObject, reported: JsonObject | undefined, delta: JsonObject): boolean {
  // The delta's fields are fields of `desired`, so visiting those of `desired` visits all of them.
  for (const k in desired) {
    if (!hasOwn.call(desired, k)) continue;
    const d = desired[k]!;
    const r = reported !== undefined && hasOwn.call(reported, k) ? reported[k] : undefined;
    if (r !== undefined && isJsonObject(d) && isJsonObject(r)) return false;
    // In the delta (absent from reported, or different: arrays are values) exactly when it was,
    // and then as `d` itself, not as a nested delta computed when reported held an object there.
    if (r === undefined || !jsonEqual(d, r)) {
      if (!hasOwn.call(delta, k) || delta[k] !== d) return false;
    } else if (hasOwn.call(delta, k)) {
      return false;
    }
  }
  return true;
}
