// The stored formats of the `twins` environment's records (twin-store.ts) and the migration
// between them (env.ts MIGRATIONS.twins). History entries and the meta database are the same in
// every format.
//
// Format 1: the record as plain JSON, {r: revision, h: last history seq, d?: ShadowDocument,
// t?: ShadowTombstone}: every metadata leaf repeats its timestamp, writer and change number.
//
// Format 2 (docs/TWINS.md "Performance"): the same record, but the document's metadata is kept
// under "m" instead of "metadata", each section in the compact form of
// core/twin/compact-metadata.ts (the leaf records once per section, referenced by index, and no
// tree at all when one change wrote every field of the state section beside it):
//   {"r":7,"h":3,"d":{"state":{…},"m":{"desired":[[…],{…}],"reported":[[[1700000000,2,"device:d1"]]]},"version":3,"timestamp":…,"writers":{…}}}
// Reading a record gives the same ShadowDocument as format 1 did.
import type { Database } from 'lmdb';
import type { ShadowDocument, ShadowTombstone } from '../../core/twin/index.js';
import { compactMetadataJson, parseCompactMetadata } from '../../core/twin/compact-metadata.js';
import { hasOwn, isJsonObject, setOwn, type JsonObject } from '../../core/twin/json-value.js';
import type { MetaNode } from '../../core/twin/metadata.js';
import type { ByteSlab } from './byte-slab.js';
import type { Migration } from './env.js';

/** A twins record as read. */
export interface TwinRecord {
  r: number;
  h: number;
  d?: ShadowDocument;
  t?: ShadowTombstone;
}

/** The JSON of a document's sections, reused across writes by the store ('' when absent). */
export interface SectionsJson {
  readonly desiredJson: string;
  readonly reportedJson: string;
  /** Compact metadata JSON (compactMetadataJson). */
  readonly metaDesiredJson: string;
  readonly metaReportedJson: string;
}

// ---------------------------------------------------------------- format 2 (current)

/** The record's JSON in format 2 (`docJson` from docJsonV2). */
export function recordJsonV2(r: number, h: number, docJson: string | undefined, tombstone: ShadowTombstone | undefined): string {
  let json = `{"r":${r},"h":${h}`;
  if (docJson !== undefined) json += `,"d":${docJson}`;
  if (tombstone !== undefined) json += `,"t":${JSON.stringify(tombstone)}`;
  return `${json}}`;
}

/**
 * The document's JSON in format 2, with the sections' JSON taken from `f` when given (it must be
 * that of `doc`'s sections). A document with fields this layout does not know keeps them as they are.
 */
export function docJsonV2(doc: ShadowDocument, f?: SectionsJson): string {
  let state: string;
  let meta: string;
  if (f !== undefined && onlyKeys(doc.state, SECTION_KEYS) && onlyKeys(doc.metadata, SECTION_KEYS)) {
    state = sections(doc.state, f.desiredJson, f.reportedJson);
    meta = sections(doc.metadata, f.metaDesiredJson, f.metaReportedJson);
  } else {
    state = JSON.stringify(doc.state);
    meta = '{';
    const md = doc.metadata as { readonly [k: string]: MetaNode | undefined };
    for (const k in md) {
      const v = md[k];
      if (!hasOwn.call(md, k) || v === undefined) continue;
      meta += `${meta.length === 1 ? '' : ','}${JSON.stringify(k)}:${compactMetadataJson(v, sectionOf(doc.state, k))}`;
    }
    meta += '}';
  }
  let s = `{"state":${state},"m":${meta},"version":${JSON.stringify(doc.version)}`;
  if (doc.timestamp !== undefined) s += `,"timestamp":${JSON.stringify(doc.timestamp)}`;
  s += `,"writers":${JSON.stringify(doc.writers)}`;
  if (!onlyKeys(doc, DOC_KEYS)) {
    for (const k in doc) {
      if (!hasOwn.call(doc, k) || DOC_KEYS.has(k) || k === 'm') continue;
      const v = (doc as unknown as { readonly [k: string]: unknown })[k];
      if (v !== undefined) s += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
    }
  }
  return `${s}}`;
}

/**
 * The record of a live twin in format 2 written into `slab` section by section: the same bytes as
 * recordJsonV2(r, h, docJsonV2(doc, f)) (a property test in byte-slab.test.ts holds the two
 * layouts together), without joining the sections into one string first (byte-slab.ts). Undefined for a document with fields this layout does not know (then use those).
 */
export function writeRecordV2(slab: ByteSlab, r: number, h: number, doc: ShadowDocument, f: SectionsJson): Buffer | undefined {
  const st = doc.state;
  const md = doc.metadata;
  if (!onlyKeys(doc, DOC_KEYS) || !onlyKeys(st, SECTION_KEYS) || !onlyKeys(md, SECTION_KEYS)) return undefined;
  const d = st.desired === undefined ? '' : f.desiredJson;
  const rp = st.reported === undefined ? '' : f.reportedJson;
  const mdj = md.desired === undefined ? '' : f.metaDesiredJson;
  const mrj = md.reported === undefined ? '' : f.metaReportedJson;
  const head = `{"r":${r},"h":${h},"d":{"state":{${d === '' ? '' : '"desired":'}`;
  const tail = `},"version":${JSON.stringify(doc.version)}${doc.timestamp === undefined ? '' : `,"timestamp":${JSON.stringify(doc.timestamp)}`},"writers":${JSON.stringify(doc.writers)}}}`;
  // 3 bytes per UTF-16 unit at most, plus the short keys written between the sections.
  slab.begin(3 * (head.length + d.length + rp.length + mdj.length + mrj.length + tail.length) + 64);
  slab.str(head);
  if (d !== '') slab.str(d);
  if (rp !== '') slab.str(d === '' ? '"reported":' : ',"reported":').str(rp);
  slab.str(mdj === '' ? '},"m":{' : '},"m":{"desired":');
  if (mdj !== '') slab.str(mdj);
  if (mrj !== '') slab.str(mdj === '' ? '"reported":' : ',"reported":').str(mrj);
  return slab.str(tail).end();
}

/** The JSON value of a stored value's UTF-8 bytes (read in place, not copied). */
export function jsonOfBytes(value: Uint8Array): unknown {
  return JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
}

/** A format-2 record from its stored bytes. */
export function parseRecordV2(value: Uint8Array): TwinRecord {
  const rec = jsonOfBytes(value) as {
    r: number;
    h: number;
    d?: { [k: string]: unknown };
    t?: ShadowTombstone;
  };
  const out: TwinRecord = { r: rec.r, h: rec.h };
  if (rec.d !== undefined) out.d = docOfV2(rec.d);
  if (rec.t !== undefined) out.t = rec.t;
  return out;
}

function docOfV2(d: { [k: string]: unknown }): ShadowDocument {
  const m = d.m as { [k: string]: unknown } | undefined;
  if (typeof m !== 'object' || m === null) throw new TypeError('twin record without metadata');
  const metadata: { [k: string]: MetaNode } = {};
  for (const k in m) if (hasOwn.call(m, k)) setOwn(metadata, k, parseCompactMetadata(m[k], sectionOf(d.state, k)));
  const doc: { [k: string]: unknown } = { state: d.state, metadata, version: d.version };
  if (d.timestamp !== undefined) doc.timestamp = d.timestamp;
  doc.writers = d.writers;
  for (const k in d) if (hasOwn.call(d, k) && !DOC_KEYS_V2.has(k)) setOwn(doc, k, d[k]);
  return doc as unknown as ShadowDocument;
}

/** The state section `k` beside a metadata section, when it is an object. */
function sectionOf(state: unknown, k: string): JsonObject | undefined {
  if (!isJsonObject(state) || !hasOwn.call(state, k)) return undefined;
  const v = state[k];
  return isJsonObject(v) ? v : undefined;
}

// ---------------------------------------------------------------- format 1

/** A format-1 record from its stored bytes (plain JSON). */
export function parseRecordV1(value: Uint8Array): TwinRecord {
  return jsonOfBytes(value) as TwinRecord;
}

/** A record's bytes in format 1, as the releases writing format 1 stored it (JSON.stringify of the record). */
export function encodeRecordV1(rec: TwinRecord): Buffer {
  return Buffer.from(JSON.stringify(rec));
}

/** Format 1 → 2: every record of the `twins` database rewritten; history and meta unchanged. */
export const TWIN_MIGRATIONS: readonly Migration[] = [
  {
    from: 1,
    describe: 'twin records: metadata leaves stored once per change (compact metadata)',
    migrate: (env) => migrateRecords(env.openDb('twins')),
  },
];

/** Rewrites the records in chunks (the range is read before each chunk is written). */
function migrateRecords(db: Database<Buffer, Buffer>): void {
  const CHUNK = 1000;
  let start: Buffer | undefined;
  for (;;) {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (const { key, value } of db.getRange({ ...(start === undefined ? {} : { start }), limit: CHUNK + 1 })) {
      const k = Buffer.from(key);
      if (start !== undefined && k.equals(start)) continue;
      if (keys.length === CHUNK) break;
      const rec = parseRecordV1(value);
      keys.push(k);
      values.push(Buffer.from(recordJsonV2(rec.r, rec.h, rec.d === undefined ? undefined : docJsonV2(rec.d), rec.t)));
    }
    for (let i = 0; i < keys.length; i++) db.putSync(keys[i]!, values[i]!);
    if (keys.length < CHUNK) return;
    start = keys[keys.length - 1];
  }
}

const DOC_KEYS: ReadonlySet<string> = new Set(['state', 'metadata', 'version', 'timestamp', 'writers']);
const DOC_KEYS_V2: ReadonlySet<string> = new Set(['state', 'm', 'version', 'timestamp', 'writers']);
/** The sections of a state or metadata object. */
export const SECTION_KEYS: ReadonlySet<string> = new Set(['desired', 'reported']);

/** Whether `o` is a plain object with no own field outside `allowed` (then the layouts here know it). */
export function onlyKeys(o: object, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return Object.getPrototypeOf(o) === Object.prototype;
}

/** `{"desired":…,"reported":…}` with the sections present in `o` (the order may differ from `o`'s: JSON objects are unordered). */
function sections(o: { readonly desired?: unknown; readonly reported?: unknown }, desired: string, reported: string): string {
  const hasD = o.desired !== undefined;
  const hasR = o.reported !== undefined;
  if (hasD && hasR) return `{"desired":${desired},"reported":${reported}}`;
  if (hasD) return `{"desired":${desired}}`;
  if (hasR) return `{"reported":${reported}}`;
  return '{}';
}
