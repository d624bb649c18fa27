// Reading a decoded object payload (JSON or CBOR) into points: numbers and booleans are metrics,
// nested objects flatten to dotted names ('gps.lat'), array elements take their index as a level
// ('readings.0'), null is skipped, strings are dead letters unless the mapping ignores them.
// Plain recursion with the state in arguments: no closures per field.
import { deadLetter } from '../types.js';
import type { Sink } from '../types.js';
import { describe, timestampToMs } from '../timestamp.js';
import type { TimestampUnit } from '../timestamp.js';
import { CBOR_BREAK, MISPLACED_BREAK } from './decode.js';

/** Deepest nesting read (levels below the top object); deeper parts are dead letters. */
export const MAX_DEPTH = 32;
/** Longest metric name (UTF-16 code units); longer ones are dead letters: series keys stay small. */
export const MAX_METRIC_LENGTH = 256;

export interface ObjectOptions {
  readonly timestampField: string;
  readonly timestampUnit: TimestampUnit;
  /** Prepended to every metric (metricPrefix + topic rest). */
  readonly prefix: string;
}

/**
 * One object payload. Its top-level timestamp field is the time of all its points; a bad one
 * dead-letters the whole object (no point of it could be placed in time). Without the field,
 * the points take the receive time, unless `requireTimestamp`.
 */
export function readObject(obj: object, opts: ObjectOptions, requireTimestamp: boolean, sink: Sink): void {
  const tsField = opts.timestampField;
  let ts = sink.receivedAt;
  const raw: unknown =
    obj instanceof Map ? (obj as Map<unknown, unknown>).get(tsField) : Object.hasOwn(obj, tsField) ? (obj as Record<string, unknown>)[tsField] : undefined;
  if (raw !== undefined && raw !== null) {
    const t = timestampToMs(raw, opts.timestampUnit);
    if (typeof t === 'string') {
      deadLetter(sink, `bad timestamp field '${tsField}', message not ingested: ${t}`, tsField);
      return;
    }
    ts = t;
  } else if (requireTimestamp) {
    deadLetter(sink, `missing timestamp field '${tsField}', message not ingested`, tsField);
    return;
  }
  readFields(obj, opts.prefix, ts, sink, 0, tsField);
}

/** The fields of an object or the elements of an array, at `depth`, named `prefix` + key. */
function readFields(obj: object, prefix: string, ts: number, sink: Sink, depth: number, skipKey: string | null): void {
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) readValue(prefix + i, obj[i], ts, sink, depth);
  } else if (obj instanceof Map) {
    // CBOR tag 259 (a map decoded as a Map): keys must be text or integers to name a metric.
    for (const [k, v] of obj as Map<unknown, unknown>) {
      if (typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint') {
        if (depth === 0 && k === skipKey) continue;
        readValue(prefix + String(k), v, ts, sink, depth);
      } else {
        deadLetter(sink, `map key is ${describe(k)}, not text or a number`, prefix === '' ? undefined : prefix.slice(0, -1));
      }
    }
  } else {
    const rec = obj as Record<string, unknown>;
    for (const k in rec) {
      if (depth === 0 && k === skipKey) continue;
      readValue(prefix + k, rec[k], ts, sink, depth);
    }
  }
}

function readValue(name: string, v: unknown, ts: number, sink: Sink, depth: number): void {
  switch (typeof v) {
    case 'number':
    case 'boolean':
      if (checkName(name, sink)) sink.points.push({ device: sink.device, metric: name, ts, value: v });
      return;
    case 'bigint':
      // CBOR integers beyond 2^53: the nearest float64, as JSON.parse does for long integers.
      if (checkName(name, sink)) sink.points.push({ device: sink.device, metric: name, ts, value: Number(v) });
      return;
    case 'string':
      if (!sink.ignoreStrings) deadLetter(sink, 'string value: only numbers and booleans are metrics', clip(name));
      return;
    case 'undefined': // CBOR undefined, like null: no value
      return;
    case 'object': {
      if (v === null) return;
      if (v === CBOR_BREAK) {
        deadLetter(sink, MISPLACED_BREAK, clip(name));
        return;
      }
      if (Array.isArray(v) || v instanceof Map || isPlainObject(v)) {
        if (depth + 1 > MAX_DEPTH) {
          deadLetter(sink, `nested deeper than ${MAX_DEPTH} levels`, clip(name));
          return;
        }
        readFields(v, name + '.', ts, sink, depth + 1, null);
        return;
      }
      if (v instanceof Uint8Array) {
        if (!sink.ignoreStrings) deadLetter(sink, 'byte string value: only numbers and booleans are metrics', clip(name));
        return;
      }
      deadLetter(sink, `unsupported value (${describe(v)})`, clip(name));
      return;
    }
    default:
      deadLetter(sink, `unsupported value (${typeof v})`, clip(name));
  }
}

export function isPlainObject(v: object): boolean {
  const p: unknown = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** A metric name must be non-empty and at most MAX_METRIC_LENGTH long. */
export function checkName(name: string, sink: Sink): boolean {
  if (name.length === 0) {
    deadLetter(sink, 'empty metric name', name);
    return false;
  }
  if (name.length > MAX_METRIC_LENGTH) {
    deadLetter(sink, `metric name longer than ${MAX_METRIC_LENGTH} characters`, clip(name));
    return false;
  }
  return true;
}

export function clip(name: string): string {
  return name.length > 80 ? name.slice(0, 80) + '…' : name;
}
