// Applies the state of an update request to the stored state and metadata.
//
// AWS rules (AWS IoT Developer Guide): "Updates affect only the fields specified" (Device Shadow
// service documents > Request state document); a field set to null is removed ("Interacting with
// shadows > Deleting a property from a shadow document"); "desired": null or "reported": null
// removes that section ("Empty shadow document properties"); an array is replaced whole ("Array
// values in shadow documents"). Twinhub adds two readings the AWS text leaves open, both in
// docs/TWINS.md: an object patch with no field to change (`{}`) changes nothing, and an object
// left without fields is removed, so the state never holds an empty object.
//
// Multi-writer rules (Twinhub, docs/TWINS.md): every leaf's metadata records the change that
// wrote it (writer, that writer's change number, timestamp). When an update is concurrent with
// the stored state (its version vector misses some stored change), a stored leaf it did not see
// is overridden only if the update wins by (later timestamp, then greater writer id); otherwise
// the update's value for that path loses. Every losing value is returned for the twin's history.
//
// Nothing is mutated: changed objects are copied along the patched paths, unchanged subtrees are
// shared with the input. Stored documents must therefore be treated as immutable.
import { hasOwn, isEmptyObject, isJsonObject, own, setOwn, type JsonObject, type JsonValue } from './json-value.js';
import { isLeafMeta, leafWriter, type LeafMeta, type MetaNode, type MetaObject } from './metadata.js';
import { entry, type VersionVector } from './version-vector.js';

export interface ShadowState {
  readonly desired?: JsonObject;
  readonly reported?: JsonObject;
}

/** Stored metadata per section: an object mirroring the state, or a tombstone leaf. */
export interface ShadowMetadata {
  readonly desired?: MetaNode;
  readonly reported?: MetaNode;
}

/** The state part of an update request: sections to merge, null to remove. */
export interface StatePatch {
  readonly desired?: JsonObject | null;
  readonly reported?: JsonObject | null;
}

/** The change being applied: who made it, which of their changes it is, and when. */
export interface ChangeStamp {
  readonly writer: string;
  readonly seq: number;
  readonly timestamp: number;
}

/** A value that lost a conflict between concurrent changes. */
export interface LostChange {
  /** From the state root: the first element is "desired" or "reported". */
  readonly path: string[];
  /** The losing value; null when the losing change was a deletion. */
  readonly value: JsonValue;
  readonly writer: string;
  readonly timestamp: number;
  readonly winner: { readonly writer: string; readonly timestamp: number };
}

export interface MergeOptions {
  readonly stamp: ChangeStamp;
  /** The update's version vector when it is concurrent with the stored state; undefined: it saw everything. */
  readonly seen: VersionVector | undefined;
  /** Keep deletions as tombstones (updates that carry a version vector). */
  readonly tombstones: boolean;
}

export interface MergeResult {
  readonly state: ShadowState;
  readonly metadata: ShadowMetadata;
  readonly lost: LostChange[];
}

export function mergeState(state: ShadowState, metadata: ShadowMetadata, patch: StatePatch, opts: MergeOptions): MergeResult {
  const m = new Merge(opts);
  const s = m.fields(state as JsonObject, metadata as MetaObject, patch as JsonObject);
  const meta = m.outMeta;
  return { state: (s ?? {}) as ShadowState, metadata: (meta ?? {}) as ShadowMetadata, lost: m.lost };
}

/** Whether an object patch changes anything: it holds a value or a null somewhere. */
export function patchHasChanges(patch: JsonObject): boolean {
  for (const k in patch) {
    if (!Object.prototype.hasOwnProperty.call(patch, k)) continue;
    const v = patch[k] as JsonValue;
    if (!isJsonObject(v) || patchHasChanges(v)) return true;
  }
  return false;
}

// One merge: the second result of each step (the new metadata node) is passed in `outMeta`
// rather than in a fresh tuple per field.
class Merge {
  outMeta: MetaNode | undefined = undefined;
  readonly lost: LostChange[] = [];
  private readonly path: string[] = [];
  private readonly stamp: ChangeStamp;
  private readonly seen: VersionVector | undefined;
  private readonly tombstones: boolean;
  private writtenMeta: LeafMeta | undefined = undefined;
  private deletedMeta: LeafMeta | undefined = undefined;

  constructor(opts: MergeOptions) {
    this.stamp = opts.stamp;
    this.seen = opts.seen;
    this.tombstones = opts.tombstones;
  }

  /**
   * Merges `patch` into the object `cur` (undefined: none yet). Undefined when no field is left.
   * The hot loop of every update reads and writes fields here rather than through own()/setOwn():
   * inline, these property accesses learn the few shapes of state objects, where the shared
   * helpers see every object of the process (docs/TWINS.md "Performance").
   */
  fields(cur: JsonObject | undefined, curMeta: MetaObject | undefined, patch: JsonObject): JsonObject | undefined {
    const out: JsonObject = cur === undefined ? {} : { ...cur };
    let meta: Record<string, MetaNode> | undefined = curMeta === undefined ? undefined : { ...curMeta };
    for (const k in patch) {
      if (!hasOwn.call(patch, k)) continue;
      this.path.push(k);
      const v = this.value(
        cur !== undefined && hasOwn.call(cur, k) ? cur[k] : undefined,
        curMeta !== undefined && hasOwn.call(curMeta, k) ? curMeta[k] : undefined,
        patch[k] as JsonValue,
      );
      const m = this.outMeta;
      this.path.pop();
      if (v === undefined) delete out[k];
      else if (k === '__proto__') setOwn(out, k, v);
      else out[k] = v;
      if (m === undefined) {
        if (meta !== undefined) delete meta[k];
      } else {
        if (meta === undefined) meta = {};
        if (k === '__proto__') setOwn(meta, k, m);
        else meta[k] = m;
      }
    }
    this.outMeta = meta === undefined || isEmptyObject(meta) ? undefined : meta;
    return isEmptyObject(out) ? undefined : out;
  }

  private value(cur: JsonValue | undefined, curMeta: MetaNode | undefined, patch: JsonValue): JsonValue | undefined {
    if (isJsonObject(patch)) return this.object(cur, curMeta, patch);
    return this.leaf(cur, curMeta, patch);
  }

  private object(cur: JsonValue | undefined, curMeta: MetaNode | undefined, patch: JsonObject): JsonValue | undefined {
    if (isJsonObject(cur)) return this.fields(cur, isLeafMeta(curMeta) ? undefined : curMeta, patch);
    if (!isLeafMeta(curMeta)) return this.fields(undefined, curMeta, patch);
    // A scalar, an array or a deletion is here and the patch makes the field an object.
    if (!patchHasChanges(patch)) {
      this.outMeta = curMeta;
      return cur;
    }
    if (!this.isSeen(curMeta)) {
      if (!this.beats(curMeta)) {
        this.lose(patch, curMeta);
        this.outMeta = curMeta;
        return cur;
      }
      this.displace(cur, curMeta);
    }
    return this.fields(undefined, undefined, patch);
  }

  private leaf(cur: JsonValue | undefined, curMeta: MetaNode | undefined, patch: JsonValue): JsonValue | undefined {
    if (this.seen !== undefined && curMeta !== undefined) {
      if (isLeafMeta(curMeta)) {
        if (!this.isSeen(curMeta)) {
          if (!this.beats(curMeta)) {
            this.lose(patch, curMeta);
            this.outMeta = curMeta;
            return cur;
          }
          this.displace(cur, curMeta);
        }
      } else {
        // An object (or tombstones under an absent field): the patch replaces everything below.
        const winner = this.winnerBelow(curMeta);
        const rest = this.strip(isJsonObject(cur) ? cur : undefined, curMeta);
        if (winner !== undefined) {
          // Newer concurrent leaves below survive; what this change overrode is gone, its own value lost.
          this.lose(patch, winner);
          return rest;
        }
      }
    }
    if (patch === null) {
      this.outMeta = this.tombstones ? this.leafMeta(true) : undefined;
      return undefined;
    }
    this.outMeta = this.leafMeta(false);
    return patch;
  }

  /** The first leaf below that this change neither saw nor beats. */
  private winnerBelow(meta: MetaObject): LeafMeta | undefined {
    for (const k in meta) {
      if (!Object.prototype.hasOwnProperty.call(meta, k)) continue;
      const m = meta[k] as MetaNode;
      if (isLeafMeta(m)) {
        if (!this.isSeen(m) && !this.beats(m)) return m;
      } else {
        const w = this.winnerBelow(m);
        if (w !== undefined) return w;
      }
    }
    return undefined;
  }

  /**
   * Removes from `cur` the leaves this change overrides (seen, or concurrent and older; the
   * latter are reported lost) and keeps the rest. Undefined when nothing is left; sets outMeta.
   */
  private strip(cur: JsonObject | undefined, meta: MetaObject): JsonObject | undefined {
    const out: JsonObject = {};
    const outMeta: Record<string, MetaNode> = {};
    for (const k in meta) {
      if (!Object.prototype.hasOwnProperty.call(meta, k)) continue;
      const m = meta[k] as MetaNode;
      const v = own(cur, k);
      this.path.push(k);
      if (isLeafMeta(m)) {
        if (!this.isSeen(m)) {
          if (this.beats(m)) {
            this.displace(v, m);
          } else {
            if (v !== undefined) setOwn(out, k, v);
            setOwn(outMeta, k, m);
          }
        }
      } else {
        const sub = this.strip(isJsonObject(v) ? v : undefined, m);
        if (sub !== undefined) setOwn(out, k, sub);
        if (this.outMeta !== undefined) setOwn(outMeta, k, this.outMeta);
      }
      this.path.pop();
    }
    this.outMeta = isEmptyObject(outMeta) ? undefined : outMeta;
    return isEmptyObject(out) ? undefined : out;
  }

  private isSeen(leaf: LeafMeta): boolean {
    return this.seen === undefined || entry(this.seen, leafWriter(leaf)) >= leaf.seq;
  }

  /** Later timestamp wins; on equal timestamps the greater writer id (docs/TWINS.md). */
  private beats(leaf: LeafMeta): boolean {
    const s = this.stamp;
    if (s.timestamp !== leaf.timestamp) return s.timestamp > leaf.timestamp;
    return s.writer > leafWriter(leaf);
  }

  /**
   * The metadata of a leaf this change writes. Every leaf it writes gets the same object (metadata
   * is immutable and shared like unchanged subtrees), so a change of n fields allocates one, not
   * n, and the store serialises it once (compact-metadata.ts).
   */
  private leafMeta(deleted: boolean): LeafMeta {
    if (deleted) return (this.deletedMeta ??= this.newLeafMeta(true));
    return (this.writtenMeta ??= this.newLeafMeta(false));
  }

  private newLeafMeta(deleted: boolean): LeafMeta {
    const s = this.stamp;
    if (s.writer === '') return deleted ? { timestamp: s.timestamp, seq: s.seq, deleted: true } : { timestamp: s.timestamp, seq: s.seq };
    return deleted
      ? { timestamp: s.timestamp, writer: s.writer, seq: s.seq, deleted: true }
      : { timestamp: s.timestamp, writer: s.writer, seq: s.seq };
  }

  /** This change's value at the current path lost to `winner`. */
  private lose(value: JsonValue, winner: LeafMeta): void {
    this.lost.push({
      path: this.path.slice(),
      value,
      writer: this.stamp.writer,
      timestamp: this.stamp.timestamp,
      winner: { writer: leafWriter(winner), timestamp: winner.timestamp },
    });
  }

  /** A stored concurrent value (or deletion) at the current path lost to this change. */
  private displace(value: JsonValue | undefined, leaf: LeafMeta): void {
    this.lost.push({
      path: this.path.slice(),
      value: value === undefined ? null : value,
      writer: leafWriter(leaf),
      timestamp: leaf.timestamp,
      winner: { writer: this.stamp.writer, timestamp: this.stamp.timestamp },
    });
  }
}
