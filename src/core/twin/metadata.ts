// Per-field metadata. AWS shows `{"timestamp": epochSeconds}` for every leaf of the state
// ("Device Shadow service documents > Document properties > metadata"). Twinhub's stored
// metadata leaves also carry who made the change (writer and that writer's change number) and,
// for deletions made by version-vector writers, a tombstone; these serve the multi-writer merge
// (docs/TWINS.md) and never appear in AWS documents: renderMetadata() builds the AWS shape by
// walking the state, so tombstones (fields absent from the state) are skipped.
import { isJsonObject, own, setOwn, type JsonObject, type JsonValue } from './json-value.js';

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
  for (const k in state) {
    if (!Object.prototype.hasOwnProperty.call(state, k)) continue;
    const v = state[k];
    const m = own(metaObj, k);
    if (isJsonObject(v)) {
      setOwn(out, k, renderMetadata(v, m));
    } else if (isLeafMeta(m)) {
      setOwn(out, k, { timestamp: m.timestamp });
    }
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
    if (Object.prototype.hasOwnProperty.call(sent, k)) setOwn(out, k, sentMetadata(sent[k], timestamp));
  }
  return out;
}
