// Per-field metadata. AWS shows `{"timestamp": epochSeconds}` for every leaf of the state
// ("Device Shadow service documents > Document properties > metadata"). Twinhub's stored
// metadata leaves also carry who made the change (writer and that writer's change number) and,
// for deletions made by version-vector writers, a tombstone; these serve the multi-writer merge
// (docs/TWINS.md) and never appear in AWS documents: renderMetadata() builds the AWS shape by
// walking the state, so tombstones (fields absent from the state) are skipped.
import { hasOwn, isJsonObject, setOwn, type JsonObject, type JsonValue } from './json-value.js';

export interface LeafMeta {
  readonly timestamp: number;
  /** Writer id; absent for the anonymous writer ''. */
  readonly writer?: string;
  /** The writer's change number that wrote this leaf (its version-vector entry). */
  readonly seq: number;
  /** A deletion kept so that concurrent writers can be ordered against it. */
  readonly deleted?: true;
}

export interface MetaObject {
  readonly [key: string]: MetaNode;
}

export type MetaNode = LeafMeta | MetaObject;

/** AWS-shaped metadata: `{"timestamp": n}` at every leaf. */
export interface AwsMetaObject {
  [key: string]: AwsMetaObject | { timestamp: number };
}

/**
 * A leaf's metadata has a numeric `timestamp`; an object's metadata maps field names to metadata
 * objects, so a state field named "timestamp" shows up there as an object, never a number.
 */
export function isLeafMeta(node: MetaNode | undefined): node is LeafMeta {
  return node !== undefined && typeof (node as LeafMeta).timestamp === 'number';
}

export function leafWriter(leaf: LeafMeta): string {
  return leaf.writer ?? '';
}

/** AWS metadata for `state` (one section, or a delta) from the stored metadata beside it. */
export function renderMetadata(state: JsonObject, meta: MetaNode | undefined): AwsMetaObject {
  const out: AwsMetaObject = {};
  const metaObj = meta !== undefined && !isLeafMeta(meta) ? meta : undefined;
  // Inline field access rather than own()/setOwn(): see merge-state.ts fields().
  for (const k in state) {
    if (!hasOwn.call(state, k)) continue;
    const v = state[k];
    const m = metaObj !== undefined && hasOwn.call(metaObj, k) ? metaObj[k] : undefined;
    let r: AwsMetaObject | { timestamp: number };
    if (isJsonObject(v)) r = renderMetadata(v, m);
    else if (isLeafMeta(m)) r = { timestamp: m.timestamp };
    else continue;
    if (k === '__proto__') setOwn(out, k, r);
    else out[k] = r;
  }
  return out;
}

/**
 * Metadata of the fields a request sent, for /update/accepted: the same shape as the sent
 * state (nulls included, as a deletion is a change too) with `timestamp` at every leaf.
 */
export function sentMetadata(sent: JsonValue, timestamp: number): AwsMetaObject | { timestamp: number } {
  if (!isJsonObject(sent)) return { timestamp };
  const out: AwsMetaObject = {};
  for (const k in sent) {
    if (!hasOwn.call(sent, k)) continue;
    const r = sentMetadata(sent[k], timestamp);
    if (k === '__proto__') setOwn(out, k, r);
    else out[k] = r;
  }
  return out;
}

/**
 * JSON.stringify(meta) for stored metadata (the same string), serialising a leaf object shared
 * by consecutive fields once: the leaves one change writes are one object (merge-state.ts), so a
 * report of n fields costs one leaf serialisation instead of n.
 */
export function metadataJson(meta: MetaNode): string {
  if (isLeafMeta(meta)) return JSON.stringify(meta);
  let out = '{';
  let last: MetaNode | undefined;
  let lastJson = '';
  for (const k in meta) {
    if (!Object.prototype.hasOwnProperty.call(meta, k)) continue;
    const v = meta[k] as MetaNode | undefined;
    if (v === undefined) continue; // as JSON.stringify does
    if (v !== last) {
      last = v;
      lastJson = typeof v === 'object' && v !== null ? metadataJson(v) : JSON.stringify(v);
    }
    out += out.length === 1 ? `${JSON.stringify(k)}:${lastJson}` : `,${JSON.stringify(k)}:${lastJson}`;
  }
  return `${out}}`;
}
