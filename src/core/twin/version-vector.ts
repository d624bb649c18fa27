// Version vectors for multi-writer twins (Twinhub extension, docs/TWINS.md "Multi-writer state").
// An entry maps a writer id to the number of that writer's changes: a writer counts its own
// changes (its first change carries 1) and carries, for every other writer, the entry of the
// twin state it last saw. The twin's entry for a writer is that writer's last change it applied.
import { isJsonObject, own, setOwn } from './json-value.js';

export type VersionVector = Readonly<Record<string, number>>;

/** The vector when every entry is a non-negative safe integer, else null. */
export function parseVersionVector(v: unknown): VersionVector | null {
  if (!isJsonObject(v)) return null;
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    const n = v[k];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return null;
  }
  return v as VersionVector;
}

export function entry(v: VersionVector | undefined, writer: string): number {
  return own(v, writer) ?? 0;
}

/**
 * Whether the twin already holds this change or a later one of the same writer: the update's
 * own entry is not newer than the stored one. Equal is a replayed change, older an out-of-order
 * one; both are suppressed.
 */
export function isStale(stored: VersionVector, writer: string, vector: VersionVector): boolean {
  return entry(vector, writer) <= entry(stored, writer);
}

/** Whether the update missed some change of another writer that the twin holds. */
export function isConcurrent(stored: VersionVector, writer: string, vector: VersionVector): boolean {
  for (const k in stored) {
    if (!Object.prototype.hasOwnProperty.call(stored, k) || k === writer) continue;
    if (entry(vector, k) < (stored[k] as number)) return true;
  }
  return false;
}

/** Copy of `v` with `writer`'s entry set to `n`. */
export function withEntry(v: VersionVector, writer: string, n: number): Record<string, number> {
  const out: Record<string, number> = { ...v };
  setOwn(out, writer, n);
  return out;
}
