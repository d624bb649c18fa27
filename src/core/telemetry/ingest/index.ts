// Telemetry ingestion: topic + payload bytes → points of series (device, metric) and dead letters.
// Pure: no I/O, no clock (the caller passes the receive time). A payload is decoded once; every
// valid value in it becomes a point even when other parts of it are dead letters.
import { compileMappings, matchMapping } from './mapping.js';
import type { CompiledMapping, MappingMatch, TelemetryMapping } from './mapping.js';
import type { IngestResult, Sink } from './types.js';
import { deadLetter } from './types.js';
import { DecodeFailure, decodeCborItem, decodeJson } from './formats/decode.js';
import { readObject } from './formats/object.js';
import type { ObjectOptions } from './formats/object.js';
import { readSenml } from './formats/senml.js';
import { readNumber } from './formats/number.js';
import { describe } from './timestamp.js';
import type { SchemaRegistry } from './schemas.js';
import { setBounded } from '../../../common/bounded-map.js';

export type { TelemetryPoint, DeadLetter, IngestResult } from './types.js';
export type { TelemetryMapping, TelemetryFormat, MappingMatch } from './mapping.js';
export { DEFAULT_TELEMETRY_MAPPINGS, TELEMETRY_FORMATS, validateMapping, compileMappings, matchMapping } from './mapping.js';
export { SchemaRegistry, breakingChanges } from './schemas.js';
export type { RegisterResult, SchemaVersion, SchemaRegistryJSON } from './schemas.js';
export type { TimestampUnit } from './timestamp.js';

export interface Ingestor {
  /** undefined when no mapping matches the topic */
  ingest(topic: string, payload: Buffer, receivedAt: number, deviceType?: string): IngestResult | undefined;
  /** The mapping a topic would use (first match), without reading a payload; undefined when none. */
  match(topic: string): MappingMatch | undefined;
}

export interface IngestorOptions {
  /** Payloads of a device type with a registered schema are validated against it (object formats). */
  schemas?: SchemaRegistry;
}

/** Most topics whose mapping match is remembered; the cache is dropped whole when full. */
const MATCH_CACHE_SIZE = 10_000;

/**
 * An ingestor for `mappings`, checked in order, first match wins. Throws TwinhubError
 * CONFIG_INVALID naming the first invalid mapping.
 */
export function createIngestor(mappings: readonly TelemetryMapping[], opts?: IngestorOptions): Ingestor {
  const compiled = compileMappings(mappings);
  const schemas = opts?.schemas;
  // Topics repeat (one per device and metric group): remember their match, including "none".
  const cache = new Map<string, MappingMatch | null>();
  const plans = compiled.map(planOf);

  // The literal start of each filter ('devices/' of 'devices/+/telemetry'): a topic that starts
  // with none of them (twin topics, rule outputs, $SYS) is not a telemetry topic, decided without
  // the cache, which then holds only topics that may be telemetry.
  const prefixes = compiled.map((c) => literalPrefix(c.mqttFilter));
  const checkPrefixes = !prefixes.includes('');

  function match(topic: string): MappingMatch | undefined {
    if (checkPrefixes) {
      let maybe = false;
      for (let i = 0; i < prefixes.length; i++) {
        if (topic.startsWith(prefixes[i]!)) {
          maybe = true;
          break;
        }
      }
      if (!maybe) return undefined;
    }
    const hit = cache.get(topic);
    if (hit !== undefined) return hit ?? undefined;
    const m = matchMapping(compiled, topic);
    setBounded(cache, MATCH_CACHE_SIZE, topic, m ?? null);
    return m;
  }

  function ingest(topic: string, payload: Buffer, receivedAt: number, deviceType?: string): IngestResult | undefined {
    const m = match(topic);
    if (m === undefined) return undefined;
    const result: IngestResult = { points: [], deadLetters: [] };
    if (m.device === '') {
      result.deadLetters.push({ device: undefined, topic, reason: 'the topic has an empty device id level' });
      return result;
    }
    const plan = plans[m.index]!;
    const sink: Sink = {
      device: m.device,
      topic,
      receivedAt,
      ignoreStrings: plan.ignoreStrings,
      points: result.points,
      deadLetters: result.deadLetters,
    };
    try {
      readPayload(plan, m.rest, payload, sink, schemas, deviceType);
    } catch (e) {
      // The parsers are written not to throw (property-tested on arbitrary bytes); should one
      // still do, the payload is a dead letter rather than an exception on the message path.
      result.points.length = 0;
      result.deadLetters.length = 0;
      deadLetter(sink, `payload could not be read: ${(e as Error)?.message ?? String(e)}`);
    }
    return result;
  }

  return { ingest, match };
}

/** What a mapping needs at ingest time, computed once. */
interface Plan {
  readonly mapping: TelemetryMapping;
  readonly ignoreStrings: boolean;
  readonly keepBaseName: boolean;
  readonly timestampField: string;
  readonly timestampUnit: NonNullable<TelemetryMapping['timestampUnit']>;
  readonly metricPrefix: string;
}

function planOf(c: CompiledMapping): Plan {
  const m = c.mapping;
  return {
    mapping: m,
    ignoreStrings: m.strings === 'ignore',
    keepBaseName: m.senmlBaseName === 'prefix',
    timestampField: m.timestampField ?? 'ts',
    timestampUnit: m.timestampUnit ?? 'ms',
    metricPrefix: m.metricPrefix ?? '',
  };
}

function readPayload(plan: Plan, rest: readonly string[], payload: Buffer, sink: Sink, schemas: SchemaRegistry | undefined, deviceType: string | undefined): void {
  const base = rest.length === 0 ? '' : rest.join('.');
  // The metric of a single value, and the prefix of named ones (both after the mapping's prefix).
  const metric = plan.metricPrefix + (plan.mapping.metric ?? (base === '' ? 'value' : base));
  const prefix = plan.metricPrefix + (base === '' ? '' : base + '.');
  const format = plan.mapping.format;
  switch (format) {
    case 'number': {
      readNumber(payload, metric, sink);
      return;
    }
    case 'senml-json':
    case 'senml-cbor': {
      const pack = format === 'senml-json' ? decodeJson(payload) : decodeCborItem(payload, true);
      if (pack instanceof DecodeFailure) {
        deadLetter(sink, pack.reason);
        return;
      }
      readSenml(pack, { prefix, keepBaseName: plan.keepBaseName, fallbackMetric: metric }, sink);
      return;
    }
    case 'json':
    case 'json-ts':
    case 'cbor': {
      const value = format === 'cbor' ? decodeCborItem(payload) : decodeJson(payload);
      if (value instanceof DecodeFailure) {
        deadLetter(sink, value.reason);
        return;
      }
      const opts: ObjectOptions = {
        timestampField: plan.timestampField,
        timestampUnit: plan.timestampUnit,
        prefix,
      };
      if (format === 'json-ts' && Array.isArray(value)) {
        // A batch: each object is a message of its own (its own time, its own schema check).
        for (let i = 0; i < value.length; i++) readOneObject(value[i], opts, true, sink, schemas, deviceType, i);
        return;
      }
      readOneObject(value, opts, format === 'json-ts', sink, schemas, deviceType, -1);
      return;
    }
  }
}

function readOneObject(
  value: unknown,
  opts: ObjectOptions,
  requireTimestamp: boolean,
  sink: Sink,
  schemas: SchemaRegistry | undefined,
  deviceType: string | undefined,
  batchIndex: number,
): void {
  const where = batchIndex < 0 ? 'the payload' : `batch element ${batchIndex}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array || value instanceof Date) {
    deadLetter(sink, `${where} is ${describe(value)}, not an object of metrics`);
    return;
  }
  if (schemas !== undefined && deviceType !== undefined) {
    // A payload that fails its device type's schema is refused whole: the schema describes the
    // message, and a message that breaks it cannot be trusted field by field.
    const error = schemas.check(deviceType, value);
    if (error !== null) {
      deadLetter(sink, batchIndex < 0 ? error : `${where}: ${error}`);
      return;
    }
  }
  readObject(value, opts, requireTimestamp, sink);
}

/** The levels of a filter before its first wildcard, with their trailing '/'. */
function literalPrefix(filter: string): string {
  const levels = filter.split('/');
  let out = '';
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l === '+' || l === '#') return out;
    out += i === levels.length - 1 ? l : `${l}/`;
  }
  return out;
}
