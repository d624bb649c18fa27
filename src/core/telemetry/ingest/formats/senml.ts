// SenML Packs (RFC 8428) → points. One resolver serves both representations: the JSON form
// (§5, text labels) and the CBOR form (§6, integer labels of Table 4; its records are decoded as
// Maps and translated to the JSON labels). Each record is resolved against the base fields in
// effect (§4.6): name = bn + n, time = bt + t (seconds), value = bv + v, sum = bs + s, unit = u or
// bu. A bad record is a dead letter of its own; the other records of the Pack are still kept.
import { deadLetter } from '../types.js';
import type { Sink } from '../types.js';
import { MAX_EPOCH_MS, describe } from '../timestamp.js';
import { checkName, clip, isPlainObject } from './object.js';
import { CBOR_BREAK, MISPLACED_BREAK } from './decode.js';

/** A decoded record under the JSON labels of RFC 8428 §5 Table 1 (a CBOR record is translated). */
interface SenmlRecord {
  bn?: unknown;
  bt?: unknown;
  bu?: unknown;
  bv?: unknown;
  bs?: unknown;
  bver?: unknown;
  n?: unknown;
  u?: unknown;
  v?: unknown;
  vs?: unknown;
  vb?: unknown;
  vd?: unknown;
  s?: unknown;
  t?: unknown;
  ut?: unknown;
}

/** The SenML version this reader understands: RFC 8428's (§4.4: the default of bver is 10). */
export const SENML_VERSION = 10;

/** §4.5.3: times below 2^28 seconds are relative to now; at or above, seconds since the epoch. */
export const SENML_RELATIVE_LIMIT = 2 ** 28;

export interface SenmlOptions {
  /** metricPrefix + topic rest, prepended to every name. */
  readonly prefix: string;
  /** Name metrics bn + n (true) or n alone (false). */
  readonly keepBaseName: boolean;
  /** The full metric of records whose name is empty. */
  readonly fallbackMetric: string;
}

/** Reads a decoded SenML Pack into the sink. */
export function readSenml(pack: unknown, opts: SenmlOptions, sink: Sink): void {
  // §4: a SenML Pack is an array of SenML Records.
  if (!Array.isArray(pack)) {
    deadLetter(sink, `a SenML Pack must be an array of records, not ${describe(pack)} (RFC 8428 §4)`);
    return;
  }
  // Base fields in effect (§4.1: each applies to its record and all after it, up to the next
  // record that has the same field). A base field of the wrong type poisons the records that
  // would inherit it, until a later record sets that field again.
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  let bs = 0;
  let hasBs = false;
  let bnBad: string | null = null;
  let btBad: string | null = null;
  let buBad: string | null = null;
  let bvBad: string | null = null;
  let bsBad: string | null = null;
  let bverBad: string | null = null;

  for (let i = 0; i < pack.length; i++) {
    const rec: unknown = pack[i];
    let r: SenmlRecord;
    let mustUnderstand: string | null;
    if (rec instanceof Map) {
      r = fromCborMap(rec as Map<unknown, unknown>, cborScratch);
      mustUnderstand = cborScratch.mustUnderstand;
    } else if (typeof rec !== 'object' || rec === null || rec === CBOR_BREAK || Array.isArray(rec) || !isPlainObject(rec)) {
      deadLetter(sink, rec === CBOR_BREAK ? `record ${i}: ${MISPLACED_BREAK}` : `record ${i} is ${describe(rec)}, not a map of fields (RFC 8428 §4)`);
      continue;
    } else {
      r = rec as SenmlRecord;
      mustUnderstand = unknownMustUnderstand(rec as Record<string, unknown>);
    }

    const xbn = r.bn;
    if (xbn !== undefined) {
      if (typeof xbn === 'string') (bn = xbn), (bnBad = null);
      else bnBad = `the base name (bn) of record ${i} is ${describe(xbn)}, not text`;
    }
    const xbt = r.bt;
    if (xbt !== undefined) {
      const x = toNumber(xbt);
      if (x !== undefined) (bt = x), (btBad = null);
      else btBad = `the base time (bt) of record ${i} is ${describe(xbt)}, not a number`;
    }
    const xbu = r.bu;
    if (xbu !== undefined) {
      if (typeof xbu === 'string') (bu = xbu), (buBad = null);
      else buBad = `the base unit (bu) of record ${i} is ${describe(xbu)}, not text`;
    }
    const xbv = r.bv;
    if (xbv !== undefined) {
      const x = toNumber(xbv);
      if (x !== undefined) (bv = x), (bvBad = null);
      else bvBad = `the base value (bv) of record ${i} is ${describe(xbv)}, not a number`;
    }
    const xbs = r.bs;
    if (xbs !== undefined) {
      const x = toNumber(xbs);
      if (x !== undefined) (bs = x), (hasBs = true), (bsBad = null);
      else bsBad = `the base sum (bs) of record ${i} is ${describe(xbs)}, not a number`;
    }
    const xbver = r.bver;
    if (xbver !== undefined) {
      const x = toNumber(xbver);
      if (x === undefined || !Number.isInteger(x) || x < 1) {
        bverBad = `the version (bver) of record ${i} is not a positive integer`;
      } else if (x > SENML_VERSION) {
        // §4.4: a version larger than the one the system understands: it MUST NOT use the Pack.
        bverBad = `record ${i} declares SenML version ${x}, newer than ${SENML_VERSION} (RFC 8428 §4.4)`;
      } else {
        bverBad = null;
      }
    }

    // The record's name, for the field of its dead letters.
    const xn = r.n;
    const n = typeof xn === 'string' ? xn : '';
    const full = bn + n;
    const metric = resolveMetric(opts.keepBaseName ? full : n, opts);
    const field = clip(metric);

    const poisoned = bverBad ?? bnBad ?? btBad ?? buBad ?? bvBad ?? bsBad;
    if (poisoned !== null) {
      deadLetter(sink, `record ${i}: ${poisoned}`, field);
      continue;
    }
    // §4.4: fields they do not recognize are ignored, unless the label ends with '_': then an
    // error MUST be generated. Labels are text in the JSON form; integer labels cannot end so.
    if (mustUnderstand !== null) {
      deadLetter(sink, `record ${i}: unknown must-understand field '${clip(mustUnderstand)}' (RFC 8428 §4.4)`, field);
      continue;
    }
    if (xn !== undefined && typeof xn !== 'string') {
      deadLetter(sink, `record ${i}: the name (n) is ${describe(xn)}, not text`, field);
      continue;
    }
    // §4.5.1: the concatenated name consists of A-Z a-z 0-9 - : . / _ and starts with a letter or digit.
    if (full.length > 0 && !validSenmlName(full)) {
      deadLetter(sink, `record ${i}: the name "${clip(full)}" has characters outside A-Z a-z 0-9 - : . / _ or does not start with a letter or digit (RFC 8428 §4.5.1)`, field);
      continue;
    }
    const xu = r.u;
    if (xu !== undefined && typeof xu !== 'string') {
      deadLetter(sink, `record ${i}: the unit (u) is ${describe(xu)}, not text`, field);
      continue;
    }
    const unit = xu ?? bu;

    const xv = r.v;
    const xvs = r.vs;
    const xvb = r.vb;
    const xvd = r.vd;
    const xs = r.s;
    const values = (xv !== undefined ? 1 : 0) + (xvs !== undefined ? 1 : 0) + (xvb !== undefined ? 1 : 0) + (xvd !== undefined ? 1 : 0);
    // §4.2: exactly one value field MUST appear unless there is a Sum field.
    if (values > 1) {
      deadLetter(sink, `record ${i}: more than one value field (RFC 8428 §4.2)`, field);
      continue;
    }
    const hasSum = xs !== undefined || hasBs;
    if (values === 0 && !hasSum) {
      // A record of base fields only sets context for the records after it (the Pack of §5.1.7
      // starts with one); a record with its own regular fields but no value is an error.
      if (xn !== undefined || xu !== undefined || r.t !== undefined || r.ut !== undefined) {
        deadLetter(sink, `record ${i}: no value field (v, vb, vs, vd) and no sum (RFC 8428 §4.2)`, field);
      }
      continue;
    }

    // Time (§4.5.3): bt + t seconds; below 2^28 relative to now (the receive time).
    const xt = r.t;
    let t = 0;
    if (xt !== undefined) {
      const x = toNumber(xt);
      if (x === undefined) {
        deadLetter(sink, `record ${i}: the time (t) is ${describe(xt)}, not a number`, field);
        continue;
      }
      t = x;
    }
    const xut = r.ut;
    if (xut !== undefined && toNumber(xut) === undefined) {
      deadLetter(sink, `record ${i}: the update time (ut) is ${describe(xut)}, not a number`, field);
      continue;
    }
    const seconds = bt + t;
    const ts = seconds < SENML_RELATIVE_LIMIT ? sink.receivedAt + Math.round(seconds * 1000) : Math.round(seconds * 1000);
    if (!(ts >= 0 && ts <= MAX_EPOCH_MS)) {
      deadLetter(sink, `record ${i}: time ${seconds} s (bt + t) is out of range`, field);
      continue;
    }

    if (!checkName(metric, sink)) continue;
    if (xv !== undefined) {
      const x = toNumber(xv);
      if (x === undefined) {
        deadLetter(sink, `record ${i}: the value (v) is ${describe(xv)}, not a number`, field);
        continue;
      }
      push(sink, metric, ts, bv + x, unit);
    } else if (xvb !== undefined) {
      if (typeof xvb !== 'boolean') {
        deadLetter(sink, `record ${i}: the boolean value (vb) is ${describe(xvb)}, not a boolean`, field);
        continue;
      }
      push(sink, metric, ts, xvb, unit);
    } else if (xvs !== undefined) {
      if (typeof xvs !== 'string') deadLetter(sink, `record ${i}: the string value (vs) is ${describe(xvs)}, not text`, field);
      else if (!sink.ignoreStrings) deadLetter(sink, `record ${i}: string value (vs): only numbers and booleans are metrics`, field);
    } else if (xvd !== undefined) {
      if (typeof xvd !== 'string' && !(xvd instanceof Uint8Array)) {
        deadLetter(sink, `record ${i}: the data value (vd) is ${describe(xvd)}, not data`, field);
      } else if (!sink.ignoreStrings) {
        deadLetter(sink, `record ${i}: data value (vd): only numbers and booleans are metrics`, field);
      }
    }
    if (hasSum) {
      // Sum (§4.2, §4.5.4): bs + s, in unit × seconds; a series of its own named <name>.sum.
      let s = 0;
      if (xs !== undefined) {
        const x = toNumber(xs);
        if (x === undefined) {
          deadLetter(sink, `record ${i}: the sum (s) is ${describe(xs)}, not a number`, field);
          continue;
        }
        s = x;
      }
      const sumMetric = metric + '.sum';
      if (checkName(sumMetric, sink)) push(sink, sumMetric, ts, bs + s, undefined);
    }
  }
}

function push(sink: Sink, metric: string, ts: number, value: number | boolean, unit: string | undefined): void {
  if (unit === undefined) sink.points.push({ device: sink.device, metric, ts, value });
  else sink.points.push({ device: sink.device, metric, ts, value, unit });
}

function resolveMetric(name: string, opts: SenmlOptions): string {
  return name.length === 0 ? opts.fallbackMetric : opts.prefix + name;
}

/** A number, or a CBOR integer beyond 2^53 as the nearest float64; undefined for anything else. */
function toNumber(x: unknown): number | undefined {
  if (typeof x === 'number') return x;
  if (typeof x === 'bigint') return Number(x);
  return undefined;
}

function unknownMustUnderstand(r: Record<string, unknown>): string | null {
  for (const k in r) if (k.charCodeAt(k.length - 1) === 0x5f /* _ */) return k;
  return null;
}

/** §4.5.1 name rule. */
export function validSenmlName(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (alnum) continue;
    if (i === 0) return false;
    if (c !== 0x2d && c !== 0x3a && c !== 0x2e && c !== 0x2f && c !== 0x5f) return false; // - : . / _
  }
  return true;
}

/** Where fromCborMap reports a must-understand label: one scratch object, no allocation per record. */
const cborScratch = { mustUnderstand: null as string | null };

/**
 * A CBOR record (RFC 8428 §6: a map with the integer labels of Table 4) under the JSON labels.
 * Text labels are extensions: ignored, unless they end with '_' (§4.4), which is reported in
 * `scratch`. Decoding CBOR records as Maps keeps this one pass: a decoded object with keys '0',
 * '2', '-2' is slow to read and slower to enumerate for the '_' check.
 */
function fromCborMap(m: Map<unknown, unknown>, scratch: { mustUnderstand: string | null }): SenmlRecord {
  const r: SenmlRecord = {};
  scratch.mustUnderstand = null;
  for (const [k, v] of m) {
    switch (k) {
      case -1: r.bver = v; break;
      case -2: r.bn = v; break;
      case -3: r.bt = v; break;
      case -4: r.bu = v; break;
      case -5: r.bv = v; break;
      case -6: r.bs = v; break;
      case 0: r.n = v; break;
      case 1: r.u = v; break;
      case 2: r.v = v; break;
      case 3: r.vs = v; break;
      case 4: r.vb = v; break;
      case 5: r.s = v; break;
      case 6: r.t = v; break;
      case 7: r.ut = v; break;
      case 8: r.vd = v; break;
      default:
        if (typeof k === 'string' && k.charCodeAt(k.length - 1) === 0x5f && scratch.mustUnderstand === null) scratch.mustUnderstand = k;
    }
  }
  return r;
}
