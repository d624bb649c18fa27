// JSON values as JSON.parse produces them, and the few helpers the twin model needs on them.
// Shadow documents come from devices: keys such as "__proto__", "constructor" or "toString" are
// ordinary field names there, so every read goes through own() and every write through setOwn()
// (a plain `obj[k]` would see inherited members, and assigning "__proto__" would change the
// prototype instead of storing a field).

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export const hasOwn = Object.prototype.hasOwnProperty;

/** A JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object's own field `key`, or undefined. */
export function own<T>(obj: { readonly [key: string]: T } | undefined, key: string): T | undefined {
  return obj !== undefined && hasOwn.call(obj, key) ? obj[key] : undefined;
}

/** Stores `value` as the own field `key`, "__proto__" included. */
export function setOwn<T>(obj: { [key: string]: T }, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/**
 * Same own fields in the same order with identical (===) values: the same JSON (and, for a delta
 * state, the same rendered metadata). Reuse of serialised sections is decided by it.
 */
export function sameFields(a: JsonObject, b: JsonObject): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || a[k] !== b[k]) return false;
  }
  return true;
}

/** Whether the object has no own enumerable field. */
export function isEmptyObject(obj: object): boolean {
  for (const k in obj) if (hasOwn.call(obj, k)) return false;
  return true;
}

/**
 * Structural equality of JSON values: objects by their fields regardless of order, arrays
 * element by element ("Array values in shadow documents": an array is one value).
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  let n = 0;
  for (const k in a) {
    if (!hasOwn.call(a, k)) continue;
    n++;
    if (!hasOwn.call(b, k) || !jsonEqual(a[k], b[k])) return false;
  }
  for (const k in b) if (hasOwn.call(b, k)) n--;
  return n === 0;
}
