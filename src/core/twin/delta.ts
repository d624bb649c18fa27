// The delta between desired and reported (AWS IoT Developer Guide, "Device Shadow MQTT topics >
// /update/delta > Message body details" and "Device Shadow service documents > Delta state"):
// - only desired fields whose values differ from reported are included;
// - a field in reported but not in desired is not included;
// - a field in desired but not in reported is included (also after it was deleted from reported);
// - nested objects are compared field by field, so only the differing nested fields appear;
// - arrays are values: an array that differs in any way appears whole.
import { hasOwn, isJsonObject, jsonEqual, setOwn, type JsonObject } from './json-value.js';
import { renderMetadata, type AwsMetaObject, type MetaNode } from './metadata.js';

/** The delta, or undefined when nothing differs (AWS then publishes no /update/delta). */
export function computeDelta(desired: JsonObject | undefined, reported: JsonObject | undefined): JsonObject | undefined {
  if (desired === undefined) return undefined;
  let delta: JsonObject | undefined;
  for (const k in desired) {
    if (!hasOwn.call(desired, k)) continue;
    const d = desired[k] as JsonObject[string];
    // Inline rather than own()/setOwn(): see merge-state.ts fields().
    const r = reported !== undefined && hasOwn.call(reported, k) ? reported[k] : undefined;
    let diff: JsonObject[string] | undefined;
    if (r === undefined) {
      diff = d;
    } else if (isJsonObject(d) && isJsonObject(r)) {
      diff = computeDelta(d, r);
    } else if (!jsonEqual(d, r)) {
      diff = d;
    }
    if (diff !== undefined) {
      if (delta === undefined) delta = {};
      if (k === '__proto__') setOwn(delta, k, diff);
      else delta[k] = diff;
    }
  }
  return delta;
}

/**
 * Metadata of a delta: the desired timestamps of the fields in the delta, in the delta's own
 * shape (the /delta response state document has `metadata` directly, without desired/reported).
 */
export function deltaMetadata(delta: JsonObject, desiredMeta: MetaNode | undefined): AwsMetaObject {
  return renderMetadata(delta, desiredMeta);
}
