// The compact stored form of a metadata section (docs/TWINS.md "Performance"): every leaf of a
// section records the change that wrote it (timestamp, writer, change number, tombstone flag),
// and the fields one change wrote share that record. Stored as plain JSON, a section repeats it
// per field; the compact form keeps a table of the section's distinct leaf records once and puts
// the record's index at each leaf of the tree:
//
//   [[[1700000000, 7, "device:d1"], [1700000005, 2]], {"temp": 0, "hum": 0, "cfg": {"mode": 1}}]
//
// A table entry is [timestamp, seq] (the anonymous writer), [timestamp, seq, writer], or with a
// fourth element 1 for a tombstone (writer null when anonymous). A section that is itself a leaf
// (a tombstone of the whole section) is a bare index. Each section carries its own table, so the
// JSON of a section a write left unchanged can be reused as it is.
//
// The common section, whose every field one change wrote (a device reporting all its fields),
// is shorter still: when the metadata mirrors the state section beside it (the same fields in the
// same order, a leaf at each state leaf, no tombstones) and all its leaves are one change, the
// tree is left out — `[[[1700000000, 7, "device:d1"]]]` — and rebuilt from the state on reading.
import { hasOwn, isJsonObject, setOwn, type JsonObject } from './json-value.js';
import { isLeafMeta, type LeafMeta, type MetaNode, type MetaObject } from './metadata.js';

/**
 * The compact JSON of one metadata section (parseCompactMetadata reads it back); `state` is the
 * state section beside it, needed again to read a section stored without its tree.
 */
export function compactMetadataJson(section: MetaNode, state?: JsonObject): string {
  if (state !== undefined && !isLeafMeta(section)) {
    const leaf = uniformMirror(section, state, undefined);
    if (leaf !== undefined && leaf !== null) return `[[${leafJson(leaf)}]]`;
  }
  const enc = new Encoder();
  const tree = isLeafMeta(section) ? String(enc.index(section)) : enc.tree(section);
  let table = '[';
  const leaves = enc.leaves;
  for (let i = 0; i < leaves.length; i++) table += i === 0 ? leafJson(leaves[i]!) : `,${leafJson(leaves[i]!)}`;
  return `[${table}],${tree}]`;
}

/**
 * The metadata section of the parsed compact JSON, with one shared leaf object per table entry.
 * Mutates `parsed` (fresh from JSON.parse) into the section. Throws on a malformed value.
 */
export function parseCompactMetadata(parsed: unknown, state?: JsonObject): MetaNode {
  if (!Array.isArray(parsed) || parsed.length < 1 || parsed.length > 2 || !Array.isArray(parsed[0])) throw new TypeError('malformed compact metadata');
  const table = (parsed[0] as unknown[]).map(leafOf);
  if (parsed.length === 1) {
    if (table.length !== 1 || !isJsonObject(state)) throw new TypeError('compact metadata without its tree nor a state to rebuild it from');
    return mirror(state, table[0]!);
  }
  const tree = parsed[1] as unknown;
  if (typeof tree === 'number') return leafAt(table, tree);
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) throw new TypeError('malformed compact metadata tree');
  return expand(tree as { [k: string]: unknown }, table);
}

/**
 * The one leaf of `meta` when it mirrors `state` (same own fields in the same order, a leaf
 * exactly at each non-object state value) and every leaf is that object; null when not.
 */
function uniformMirror(meta: MetaObject, state: JsonObject, leaf: LeafMeta | undefined): LeafMeta | undefined | null {
  const keys = Object.keys(state);
  let i = 0;
  for (const k in meta) {
    if (!hasOwn.call(meta, k)) continue;
    if (keys[i++] !== k) return null;
    const m = meta[k]!;
    const v = state[k];
    if (isJsonObject(v)) {
      if (isLeafMeta(m)) return null;
      const l = uniformMirror(m, v, leaf);
      if (l === null) return null;
      leaf = l;
    } else {
      if (!isLeafMeta(m) || m.deleted === true || (leaf !== undefined && m !== leaf)) return null;
      leaf = m;
    }
  }
  return i === keys.length ? leaf : null;
}

/** The metadata of `state` with `leaf` at every leaf. */
function mirror(state: JsonObject, leaf: LeafMeta): MetaObject {
  const out: { [k: string]: MetaNode } = {};
  for (const k in state) {
    if (!hasOwn.call(state, k)) continue;
    const v = state[k];
    const m = isJsonObject(v) ? mirror(v, leaf) : leaf;
    if (k === '__proto__') setOwn(out, k, m);
    else out[k] = m;
  }
  return out;
}

class Encoder {
  readonly leaves: LeafMeta[] = [];
  /** Value key → index, for leaves equal to an earlier one but not the same object (built when needed). */
  private byValue: Map<string, number> | undefined;

  index(leaf: LeafMeta): number {
    const leaves = this.leaves;
    // A section holds few distinct changes: the same object is found by a short scan.
    const n = leaves.length;
    for (let i = n - 1; i >= 0 && i >= n - 8; i--) if (leaves[i] === leaf) return i;
    const key = `${leaf.timestamp}\u0000${leaf.seq}\u0000${leaf.writer === undefined ? '\u0001' : leaf.writer}\u0000${leaf.deleted === true ? 1 : 0}`;
    if (this.byValue === undefined) {
      this.byValue = new Map();
      for (let i = 0; i < n; i++) {
        const l = leaves[i]!;
        this.byValue.set(`${l.timestamp}\u0000${l.seq}\u0000${l.writer === undefined ? '\u0001' : l.writer}\u0000${l.deleted === true ? 1 : 0}`, i);
      }
    }
    const at = this.byValue.get(key);
    if (at !== undefined) return at;
    leaves.push(leaf);
    this.byValue.set(key, n);
    return n;
  }

  tree(node: MetaObject): string {
    let out = '{';
    let last: MetaNode | undefined;
    let lastJson = '';
    for (const k in node) {
      if (!hasOwn.call(node, k)) continue;
      const v = node[k] as MetaNode | undefined;
      if (v === undefined) continue; // as JSON.stringify does
      if (v !== last) {
        last = v;
        lastJson = isLeafMeta(v) ? String(this.index(v)) : this.tree(v);
      }
      out += out.length === 1 ? `${JSON.stringify(k)}:${lastJson}` : `,${JSON.stringify(k)}:${lastJson}`;
    }
    return `${out}}`;
  }
}

function leafJson(l: LeafMeta): string {
  if (l.deleted === true) return `[${l.timestamp},${l.seq},${l.writer === undefined ? 'null' : JSON.stringify(l.writer)},1]`;
  return l.writer === undefined ? `[${l.timestamp},${l.seq}]` : `[${l.timestamp},${l.seq},${JSON.stringify(l.writer)}]`;
}

function leafOf(e: unknown): LeafMeta {
  if (!Array.isArray(e) || e.length < 2 || e.length > 4 || typeof e[0] !== 'number' || typeof e[1] !== 'number') throw new TypeError('malformed metadata leaf');
  const timestamp = e[0] as number;
  const seq = e[1] as number;
  const writer = e[2] as unknown;
  if (writer !== undefined && writer !== null && typeof writer !== 'string') throw new TypeError('malformed metadata leaf writer');
  const deleted = e.length === 4;
  if (deleted && e[3] !== 1) throw new TypeError('malformed metadata leaf flag');
  // The shapes merge-state.ts builds (property order included).
  if (typeof writer === 'string') return deleted ? { timestamp, writer, seq, deleted: true } : { timestamp, writer, seq };
  return deleted ? { timestamp, seq, deleted: true } : { timestamp, seq };
}

function leafAt(table: readonly LeafMeta[], i: number): LeafMeta {
  const l = table[i];
  if (l === undefined) throw new TypeError('metadata leaf index out of range');
  return l;
}

function expand(node: { [k: string]: unknown }, table: readonly LeafMeta[]): MetaObject {
  const out = node as { [k: string]: MetaNode };
  for (const k in node) {
    if (!hasOwn.call(node, k)) continue;
    const v = node[k];
    let m: MetaNode;
    if (typeof v === 'number') m = leafAt(table, v);
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) m = expand(v as { [k: string]: unknown }, table);
    else throw new TypeError('malformed compact metadata node');
    if (k === '__proto__') setOwn(out, k, m);
    else out[k] = m;
  }
  return out;
}
