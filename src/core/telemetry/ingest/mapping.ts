// Telemetry mappings: which topics carry telemetry, whose device it is and how the payload is
// read. A mapping's filter is an MQTT topic filter (MQTT 5.0 §4.7) in which one whole level is the
// placeholder `{deviceId}`; the placeholder matches like '+' and names the device.
import { topicMatches, validateTopicFilter, SHARE_PREFIX } from '../../router/topic.js';
import { Errors, TwinhubError } from '../../../common/errors.js';
import type { TimestampUnit } from './timestamp.js';

export type TelemetryFormat = 'json' | 'json-ts' | 'senml-json' | 'senml-cbor' | 'cbor' | 'number';

export const TELEMETRY_FORMATS: readonly TelemetryFormat[] = ['json', 'json-ts', 'senml-json', 'senml-cbor', 'cbor', 'number'];

export interface TelemetryMapping {
  /** Topic filter with one `{deviceId}` level, e.g. 'devices/{deviceId}/telemetry/#'. */
  filter: string;
  /**
   * - 'json': a JSON object; numbers and booleans are metrics (nested objects and arrays flatten
   *   to dotted names), the optional timestamp field is the point time.
   * - 'json-ts': the same, but the timestamp field is required; the payload may also be an array
   *   of such objects (a batch, each with its own time).
   * - 'senml-json' / 'senml-cbor': a SenML Pack (RFC 8428 §5 / §6).
   * - 'cbor': a CBOR map read like the 'json' object (RFC 8949).
   * - 'number': the payload text is one number, or `true`/`false`.
   */
  format: TelemetryFormat;
  /** The top-level field holding the point time (json, json-ts, cbor). Default 'ts'. */
  timestampField?: string;
  /** Unit of numeric timestamp fields. Default 'ms'. ISO 8601 strings carry their own. */
  timestampUnit?: TimestampUnit;
  /**
   * The metric of a 'number' payload, and of SenML records with an empty name. Default: the topic
   * levels matched by wildcards after the placeholder, joined by '.', or 'value' when none.
   */
  metric?: string;
  /** Prepended as is to every metric name of this mapping (include a separator: 'env.'). */
  metricPrefix?: string;
  /** Strings: dead letters (default) or silently skipped. */
  strings?: 'dead-letter' | 'ignore';
  /**
   * SenML Base Name: 'drop' (default) names metrics by the record's Name only, since the topic
   * already names the device (a bn such as 'urn:dev:ow:10e2073a01080063:' would repeat it in
   * every metric); 'prefix' keeps the full RFC 8428 name bn+n, for gateways that report several
   * sensors or devices in one Pack.
   */
  senmlBaseName?: 'drop' | 'prefix';
}

/** The defaults of the issue: a JSON object of numbers on devices/{deviceId}/telemetry[/#]. */
export const DEFAULT_TELEMETRY_MAPPINGS: readonly TelemetryMapping[] = Object.freeze([
  Object.freeze<TelemetryMapping>({ filter: 'devices/{deviceId}/telemetry', format: 'json' }),
  Object.freeze<TelemetryMapping>({ filter: 'devices/{deviceId}/telemetry/#', format: 'json' }),
]);

export const DEVICE_PLACEHOLDER = '{deviceId}';

const KNOWN_FIELDS = new Set(['filter', 'format', 'timestampField', 'timestampUnit', 'metric', 'metricPrefix', 'strings', 'senmlBaseName']);
const TIMESTAMP_UNITS = ['s', 'ms', 'us', 'ns'];
const OBJECT_FORMATS = ['json', 'json-ts', 'cbor'];

/** Checks one mapping (from config or the API). Returns null when valid, else what is wrong. */
export function validateMapping(m: unknown): string | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'a mapping must be an object';
  const r = m as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!KNOWN_FIELDS.has(k)) return `unknown field '${k}' (known: ${[...KNOWN_FIELDS].join(', ')})`;
  }
  if (typeof r.filter !== 'string' || r.filter.length === 0) return "'filter' must be a non-empty string";
  const filterError = validateFilter(r.filter);
  if (filterError !== null) return `'filter' ${JSON.stringify(r.filter)}: ${filterError}`;
  if (typeof r.format !== 'string' || !(TELEMETRY_FORMATS as readonly string[]).includes(r.format)) {
    return `'format' must be one of ${TELEMETRY_FORMATS.join(', ')}`;
  }
  const objectFormat = OBJECT_FORMATS.includes(r.format);
  if (r.timestampField !== undefined) {
    if (typeof r.timestampField !== 'string' || r.timestampField.length === 0) return "'timestampField' must be a non-empty string";
    if (!objectFormat) return `'timestampField' applies to the formats ${OBJECT_FORMATS.join(', ')}, not ${r.format}`;
  }
  if (r.timestampUnit !== undefined) {
    if (typeof r.timestampUnit !== 'string' || !TIMESTAMP_UNITS.includes(r.timestampUnit)) {
      return `'timestampUnit' must be one of ${TIMESTAMP_UNITS.join(', ')}`;
    }
    if (!objectFormat) return `'timestampUnit' applies to the formats ${OBJECT_FORMATS.join(', ')}, not ${r.format}`;
  }
  if (r.metric !== undefined) {
    if (typeof r.metric !== 'string' || r.metric.length === 0) return "'metric' must be a non-empty string";
    if (objectFormat) return `'metric' applies to the formats number, senml-json, senml-cbor, not ${r.format} (its metrics are its field names)`;
  }
  if (r.metricPrefix !== undefined && typeof r.metricPrefix !== 'string') return "'metricPrefix' must be a string";
  if (r.strings !== undefined && r.strings !== 'dead-letter' && r.strings !== 'ignore') {
    return "'strings' must be 'dead-letter' or 'ignore'";
  }
  if (r.senmlBaseName !== undefined) {
    if (r.senmlBaseName !== 'drop' && r.senmlBaseName !== 'prefix') return "'senmlBaseName' must be 'drop' or 'prefix'";
    if (r.format !== 'senml-json' && r.format !== 'senml-cbor') return `'senmlBaseName' applies to the formats senml-json, senml-cbor, not ${r.format}`;
  }
  return null;
}

/** The filter part of validateMapping: one whole-level placeholder, a valid MQTT filter otherwise. */
function validateFilter(filter: string): string | null {
  if (filter.startsWith(SHARE_PREFIX)) return 'a shared subscription filter cannot be a mapping';
  const levels = filter.split('/');
  let placeholders = 0;
  for (const level of levels) {
    if (level === DEVICE_PLACEHOLDER) {
      placeholders++;
    } else if (level.includes('{') || level.includes('}')) {
      return level.includes(DEVICE_PLACEHOLDER)
        ? `${DEVICE_PLACEHOLDER} must occupy a whole level`
        : `unknown placeholder in level '${level}' (only ${DEVICE_PLACEHOLDER} is known)`;
    }
  }
  if (placeholders === 0) return `no ${DEVICE_PLACEHOLDER} level: the device of a point comes from the topic`;
  if (placeholders > 1) return `${DEVICE_PLACEHOLDER} appears ${placeholders} times; it must appear once`;
  const mqttError = validateTopicFilter(levels.map((l) => (l === DEVICE_PLACEHOLDER ? '+' : l)).join('/'), Infinity);
  return mqttError;
}

/** A mapping prepared for matching. */
export interface CompiledMapping {
  readonly mapping: TelemetryMapping;
  readonly index: number;
  /** The MQTT filter with the placeholder as '+'. */
  readonly mqttFilter: string;
  /** Level index of the placeholder. */
  readonly deviceLevel: number;
  /** Level indexes after the placeholder that are '+'; their topic levels belong to the rest. */
  readonly plusAfter: readonly number[];
  /** Level index of a trailing '#', or -1. */
  readonly hashLevel: number;
}

/** The result of matching a topic against the mappings. */
export interface MappingMatch {
  readonly mapping: TelemetryMapping;
  /** Position of the mapping in the list given to compileMappings. */
  readonly index: number;
  /** The topic level at the placeholder (may be '' for a topic like 'devices//telemetry'). */
  readonly device: string;
  /**
   * The topic levels matched by wildcards after the placeholder ('+' levels, then the levels
   * under '#'), empty levels left out. For 'devices/{deviceId}/telemetry/#' and the topic
   * 'devices/d1/telemetry/env/room1' it is ['env', 'room1'].
   */
  readonly rest: readonly string[];
}

/**
 * Prepares mappings for matching. Each must be valid (see validateMapping); the first invalid one
 * throws a TwinhubError (CONFIG_INVALID) with its index and reason in the details.
 */
export function compileMappings(mappings: readonly TelemetryMapping[]): CompiledMapping[] {
  return mappings.map((mapping, index) => {
    const error = validateMapping(mapping);
    if (error !== null) {
      throw new TwinhubError(Errors.CONFIG_INVALID, `telemetry mapping ${index}: ${error}`, { index, reason: error });
    }
    const levels = mapping.filter.split('/');
    const deviceLevel = levels.indexOf(DEVICE_PLACEHOLDER);
    const plusAfter: number[] = [];
    for (let i = deviceLevel + 1; i < levels.length; i++) if (levels[i] === '+') plusAfter.push(i);
    const hashLevel = levels[levels.length - 1] === '#' ? levels.length - 1 : -1;
    return {
      mapping,
      index,
      mqttFilter: levels.map((l) => (l === DEVICE_PLACEHOLDER ? '+' : l)).join('/'),
      deviceLevel,
      plusAfter,
      hashLevel,
    };
  });
}

/** The first mapping whose filter matches the topic (MQTT matching rules), or undefined. */
export function matchMapping(compiled: readonly CompiledMapping[], topic: string): MappingMatch | undefined {
  for (let i = 0; i < compiled.length; i++) {
    const c = compiled[i]!;
    if (!topicMatches(c.mqttFilter, topic)) continue;
    const levels = topic.split('/');
    const rest: string[] = [];
    for (const at of c.plusAfter) if (levels[at] !== '') rest.push(levels[at]!);
    if (c.hashLevel >= 0) {
      for (let k = c.hashLevel; k < levels.length; k++) if (levels[k] !== '') rest.push(levels[k]!);
    }
    return { mapping: c.mapping, index: c.index, device: levels[c.deviceLevel]!, rest };
  }
  return undefined;
}
