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

/** UTF-8 bytes of the stored state (desired + reported); metadata is not counted. */
export function stateBytes(desired: JsonObject | undefined, reported: JsonObject | undefined): number {
  let n = 0;
  if (desired !== undefined) n += Buffer.byteLength(JSON.stringify(desired), 'utf8');
  if (reported !== undefined) n += Buffer.byteLength(JSON.stringify(reported), 'utf8');
  return n;
}
