// Shadow limits as configuration, AWS IoT Device Shadow values as defaults.
// Sources (AWS IoT Developer Guide): "Device Shadow error messages" (the 400/413 texts, the
// 64-byte clientToken, "maximum is 6" nesting levels, 10 in-flight requests → 429), "Diagnosing
// problems with shadows" (8 KB; "only the data for desired and reported state ... counts toward
// the limit", metadata does not), "Device Shadow service documents > Document properties"
// (metadata does not contribute to the document size), "Interacting with shadows > DELETE"
// (a shadow recreated within 48 hours continues the deleted one's version).
import type { JsonObject, JsonValue } from './json-value.js';

export interface ShadowLimits {
  /** UTF-8 bytes of desired + reported after the update (metadata excluded); beyond → 413. */
  readonly maxStateBytes: number;
  /**
   * Nesting levels in desired or in reported. The section object is level 1 and every object or
   * array inside adds one: `"desired": {"1": {"2": {"3": {"4": {"5": {"6": "x"}}}}}}` has 6
   * levels and is the deepest AWS accepts (AWS's own Greengrass shadow manager tests exactly this
   * pair: 6 accepted, 7 rejected with "JSON contains too many levels of nesting; maximum is 6").
   */
  readonly maxDepth: number;
  /** "A client token that is longer than 64 bytes will cause this response" (400). */
  readonly maxClientTokenBytes: number;
  readonly maxShadowNameLength: number;
  readonly maxThingNameLength: number;
  /** Used by the MQTT layer: more requests in flight on one connection → 429. */
  readonly maxInFlightPerConnection: number;
  /** A shadow recreated within this many seconds of its deletion continues its version. */
  readonly deletedVersionWindowSeconds: number;
}

export const AWS_SHADOW_LIMITS: ShadowLimits = Object.freeze({
  maxStateBytes: 8192,
  maxDepth: 6,
  maxClientTokenBytes: 64,
  maxShadowNameLength: 64,
  maxThingNameLength: 128,
  maxInFlightPerConnection: 10,
  deletedVersionWindowSeconds: 48 * 3600,
});

// Thing and shadow names: letters, digits, ':', '_' and '-' (AWS IoT CreateThing ThingName
// pattern [a-zA-Z0-9:_-]+, 1–128; shadow names 1–64 of the same characters).
const NAME = /^[a-zA-Z0-9:_-]+$/;

/** Null when valid, else the reason. */
export function validateThingName(name: string, limits: ShadowLimits = AWS_SHADOW_LIMITS): string | null {
  if (name.length === 0) return 'Thing name is empty';
  if (name.length > limits.maxThingNameLength) return `Thing name has a maximum length of ${limits.maxThingNameLength}`;
  if (!NAME.test(name)) return 'Thing name must contain only a-z, A-Z, 0-9, ":", "_" and "-"';
  return null;
}

/** Null when valid, else the reason. */
export function validateShadowName(name: string, limits: ShadowLimits = AWS_SHADOW_LIMITS): string | null {
  if (name.length === 0) return 'Shadow name is empty';
  if (name.length > limits.maxShadowNameLength) return `Shadow name has a maximum length of ${limits.maxShadowNameLength}`;
  if (!NAME.test(name)) return 'Shadow name must contain only a-z, A-Z, 0-9, ":", "_" and "-"';
  return null;
}

/** Whether a clientToken is acceptable: a string of at most maxClientTokenBytes UTF-8 bytes. */
export function clientTokenValid(token: unknown, limits: ShadowLimits = AWS_SHADOW_LIMITS): token is string {
  if (typeof token !== 'string') return false;
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no encoding.
  if (token.length * 3 <= limits.maxClientTokenBytes) return true;
  return Buffer.byteLength(token, 'utf8') <= limits.maxClientTokenBytes;
}

/**
 * Whether `value` has more than `max` nesting levels, counting the value itself when it is an
 * object or array. Stops descending as soon as the limit is passed, so a hostile document costs
 * no more than max levels of recursion.
 */
export function depthExceeds(value: JsonValue, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max <= 0) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (depthExceeds(v, max - 1)) return true;
    return false;
  }
  for (const k in value) {
    if (Object.prototype.hasOwnProperty.call(value, k) && depthExceeds(value[k], max - 1)) return true;
  }
  return false;
}

/**
 * Whether desired + reported take more than `max` UTF-8 bytes of JSON (the 413 check). The exact
 * size (stateBytes) serialises both sections; most shadows are far below the limit, so an upper
 * bound of the size is computed first by walking the values without building any string, and the
 * exact size is only measured when that bound exceeds `max`. The answer is always the exact one.
 */
export function stateBytesExceed(desired: JsonObject | undefined, reported: JsonObject | undefined, max: number): boolean {
  let bound = 0;
  if (desired !== undefined) bound += jsonBytesBound(desired);
  if (reported !== undefined) bound += jsonBytesBound(reported);
  return bound > max && stateBytes(desired, reported) > max;
}

// The most UTF-8 bytes JSON.stringify gives for one UTF-16 code unit of a string: 6 for the
// \u00XX escape of a control character or a lone surrogate (ECMA-262 QuoteJSONString); others
// take at most 3 (BMP) or 4 per surrogate pair (2 per unit).
const MAX_BYTES_PER_UNIT = 6;
// The longest Number::toString of a finite double (ECMA-262 Number::toString, at most 17
// significant digits): "-0.0000012345678901234567" (1 + 2 + 5 + 17 = 25) is the longest fixed
// form, "-1.2345678901234567e-308" (24) the longest exponential one, 22 for integers below 1e21.
const MAX_NUMBER_BYTES = 25;

/** An upper bound of the UTF-8 bytes of JSON.stringify(v), for the values JSON.parse produces. */
export function jsonBytesBound(v: JsonValue): number {
  switch (typeof v) {
    case 'string':
      return 2 + MAX_BYTES_PER_UNIT * v.length;
    case 'number':
      return MAX_NUMBER_BYTES;
    case 'boolean':
      return 5;
    case 'object': {
      if (v === null) return 4;
      if (Array.isArray(v)) {
        let n = 2 + v.length; // brackets, and a comma per element (one more than needed)
        for (let i = 0; i < v.length; i++) n += jsonBytesBound(v[i] as JsonValue);
        return n;
      }
      let n = 2; // braces
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        n += 4 + MAX_BYTES_PER_UNIT * k.length + jsonBytesBound(v[k] as JsonValue); // "k":v and a comma
      }
      return n;
    }
    default:
      // Not a JSON value (undefined, a function…): no bound; the caller measures exactly.
      return Infinity;
  }
}

/** UTF-8 bytes of the stored state (desired + reported); metadata is not counted. */
export function stateBytes(desired: JsonObject | undefined, reported: JsonObject | undefined): number {
  let n = 0;
  if (desired !== undefined) n += Buffer.byteLength(JSON.stringify(desired), 'utf8');
  if (reported !== undefined) n += Buffer.byteLength(JSON.stringify(reported), 'utf8');
  return n;
}
