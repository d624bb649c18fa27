// Telemetry over HTTP:
//   GET /api/v1/telemetry/query   series by device id (or device type/group/tag), metric, time
//                                 range, optional step and aggregation; JSON or CSV, streamed
//   GET /api/v1/telemetry/latest  the newest value of each metric per device
//   GET /api/v1/telemetry/stats   series, points, encoded bytes, bytes per point, bytes on disk
//   PUT /api/v1/telemetry/schemas/:deviceType/:version   register a payload schema version
//   GET /api/v1/telemetry/schemas[/:deviceType]          registered schemas (when `schemas` is given)
//
// The JSON body of a query is {"series": [{"device", "metric", "points": [[ts_ms, value], …]}]},
// written a page of points at a time so a large answer is never held whole. JSON has no NaN or
// infinities: such values are written as the strings "NaN", "Infinity", "-Infinity" (as the
// Prometheus API writes every sample value as a string).
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TelemetryService } from '../../core/telemetry/service.js';
import { invalidQuery, type Aggregation, type QuerySpec, type SeriesResult } from '../../core/telemetry/query.js';
import { PERCENTILE_AGGS, ROLLUP_AGGS } from '../../core/telemetry/rollups.js';
import type { ApiAuth } from '../context.js';
import { Errors } from '../../common/errors.js';
import type { SchemaStore } from '../../core/telemetry/schema-store.js';
import { problem, sendProblem } from '../problem.js';

export interface DeviceFilter {
  type?: string;
  group?: string;
  tag?: Record<string, string>;
}

export interface TelemetryPluginOptions {
  auth: ApiAuth;
  telemetry: TelemetryService;
  /** Device ids matching a registry filter; without it, type/group/tag filters are refused. */
  devicesBy?: (filter: DeviceFilter) => Promise<string[]>;
  /** Payload schemas per device type; without it, the /schemas routes are not registered. */
  schemas?: SchemaStore;
}

const AGGS: readonly Aggregation[] = [...ROLLUP_AGGS, ...PERCENTILE_AGGS];
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** A time as epoch milliseconds or ISO 8601 (a date-time needs a zone; a bare date is UTC midnight). */
export function parseTime(text: string, name: string): number {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  } else if (ISO.test(text)) {
    const n = Date.parse(text);
    if (Number.isFinite(n)) return n;
  }
  throw invalidQuery(`${name}=${text} is not a time: give epoch milliseconds or ISO 8601 with a zone (2026-01-02T03:04:05Z)`, { [name]: text });
}

/** A duration: milliseconds (a bare number) or a number with a unit ms, s, m, h, d, w ("60s", "1.5h"). */
export function parseDuration(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text);
  const ms = m === null ? NaN : Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!);
  if (!(ms > 0) || !Number.isSafeInteger(ms)) throw invalidQuery(`${name}=${text} is not a duration: give 60s, 5m, 1h, 1d or milliseconds`, { [name]: text });
  return ms;
}

/** Repeated and comma-separated values of a query parameter. */
function list(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const out: string[] = [];
  for (const item of Array.isArray(v) ? v : [v]) for (const part of item.split(',')) if (part !== '') out.push(part);
  return out;
}

/** A JSON number, or the string naming a value JSON cannot hold. */
export function jsonValue(v: number | boolean): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v);
  return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

async function* jsonBody(series: AsyncIterable<SeriesResult>): AsyncGenerator<string> {
  yield '{"series":[';
  let first = true;
  for await (const s of series) {
    yield `${first ? '' : ','}{"device":${JSON.stringify(s.device)},"metric":${JSON.stringify(s.metric)},"points":[`;
    first = false;
    let firstPoint = true;
    for await (const page of s.pages()) {
      let out = '';
      for (const [ts, v] of page) {
        out += `${firstPoint ? '' : ','}[${ts},${jsonValue(v)}]`;
        firstPoint = false;
      }
      yield out;
    }
    yield ']}';
  }
  yield ']}\n';
}

async function* csvBody(series: AsyncIterable<SeriesResult>): AsyncGenerator<string> {
  yield 'device,metric,ts,value\r\n';
  for await (const s of series) {
    const prefix = `${csvField(s.device)},${csvField(s.metric)},`;
    for await (const page of s.pages()) {
      let out = '';
      for (const [ts, v] of page) out += `${prefix}${ts},${String(v)}\r\n`;
      yield out;
    }
  }
}

interface QueryString {
  device?: string | string[];
  metric?: string | string[];
  type?: string;
  group?: string;
  tag?: string | string[];
  from?: string;
  to?: string;
  step?: string;
  agg?: string;
  format?: string;
}

const stringOrList = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };

export const telemetryPlugin: FastifyPluginAsync<TelemetryPluginOptions> = async (app, opts) => {
  const t = opts.telemetry;
  const preHandler = opts.auth.require('read-only');

  /** The device ids a request names: by id, and/or by registry filter (intersection when both). */
  async function devicesOf(q: QueryString): Promise<string[] | undefined> {
    const ids = list(q.device);
    const tags = list(q.tag);
    if (q.type === undefined && q.group === undefined && tags === undefined) return ids;
    if (opts.devicesBy === undefined) throw invalidQuery('filtering by device type, group or tag needs the device registry, which is not enabled');
    const filter: DeviceFilter = {};
    if (q.type !== undefined) filter.type = q.type;
    if (q.group !== undefined) filter.group = q.group;
    if (tags !== undefined) {
      filter.tag = {};
      for (const kv of tags) {
        const at = kv.indexOf(':');
        if (at <= 0) throw invalidQuery(`tag=${kv}: give tag=key:value`);
        filter.tag[kv.slice(0, at)] = kv.slice(at + 1);
      }
    }
    const found = await opts.devicesBy(filter);
    if (ids === undefined) return found;
    const wanted = new Set(ids);
    return found.filter((d) => wanted.has(d));
  }

  app.get<{ Querystring: QueryString }>(
    '/api/v1/telemetry/query',
    {
      preHandler,
      schema: {
        tags: ['telemetry'],
        summary: 'Points of one or many series over a time range, raw or aggregated over steps (JSON or CSV, streamed)',
        querystring: {
          type: 'object',
          properties: {
            device: stringOrList,
            metric: stringOrList,
            type: { type: 'string', description: 'device type (registry)' },
            group: { type: 'string', description: 'device group (registry)' },
            tag: { ...stringOrList, description: 'key:value, repeatable (registry)' },
            from: { type: 'string', description: 'epoch ms or ISO 8601; default to − 1 h' },
            to: { type: 'string', description: 'epoch ms or ISO 8601; default now' },
            step: { type: 'string', description: 'bucket width: 60s, 5m, 1h, 1d or ms' },
            agg: { type: 'string', enum: [...AGGS] },
            format: { type: 'string', enum: ['json', 'csv'] },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const to = q.to === undefined ? Date.now() : parseTime(q.to, 'to');
      const from = q.from === undefined ? to - 3_600_000 : parseTime(q.from, 'from');
      const spec: QuerySpec = { from, to };
      const devices = await devicesOf(q);
      if (devices !== undefined) spec.devices = devices;
      const metrics = list(q.metric);
      if (metrics !== undefined) spec.metrics = metrics;
      if (q.step !== undefined) spec.step = parseDuration(q.step, 'step');
      if (q.agg !== undefined) spec.agg = q.agg as Aggregation;
      const series = t.query(spec); // validates (400) before anything is streamed
      if (q.format === 'csv') return reply.type('text/csv; charset=utf-8').send(Readable.from(csvBody(series)));
      return reply.type('application/json; charset=utf-8').send(Readable.from(jsonBody(series)));
    },
  );

  app.get<{ Querystring: { device?: string } }>(
    '/api/v1/telemetry/latest',
    {
      preHandler,
      schema: {
        tags: ['telemetry'],
        summary: 'The newest value of each metric, per device',
        querystring: { type: 'object', properties: { device: { type: 'string' } }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      const latest = await t.latest(request.query.device);
      // Through jsonValue, so NaN and infinities keep their meaning.
      const body = `{"latest":[${latest
        .map((l) => `{"device":${JSON.stringify(l.device)},"metric":${JSON.stringify(l.metric)},"ts":${l.ts},"value":${jsonValue(l.value)}}`)
        .join(',')}]}`;
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.get(
    '/api/v1/telemetry/stats',
    {
      preHandler,
      schema: {
        tags: ['telemetry'],
        summary: 'Storage statistics: series, points, encoded bytes of sealed and open chunks, bytes per point, bytes on disk',
        response: {
          200: {
            type: 'object',
            properties: {
              series: { type: 'integer' },
              points: { type: 'integer' },
              bytes: { type: 'integer' },
              bytesPerPoint: { type: 'number' },
              diskBytes: { type: 'integer' },
            },
          },
        },
      },
    },
    async () => t.stats(),
  );

  if (opts.schemas !== undefined) registerSchemaRoutes(app, opts.auth, opts.schemas);
};

const schemaParams = {
  type: 'object',
  properties: { deviceType: { type: 'string', minLength: 1, maxLength: 128 }, version: { type: 'string', maxLength: 64 } },
} as const;

/**
 * Schemas over the API. A registration answers 201, or a problem document with the list of what
 * is wrong in the extension member `breaking` (RFC 9457 §3.2): 409 TH_SCHEMA_INCOMPATIBLE when
 * the schema breaks compatibility with the current version of the same major, 409
 * TH_VERSION_CONFLICT when the version is not greater than the current one, 400 TH_BAD_REQUEST for
 * a malformed version or a schema that does not compile.
 */
function registerSchemaRoutes(app: Parameters<FastifyPluginAsync>[0], auth: ApiAuth, store: SchemaStore): void {
  const reg = store.registry;
  app.put<{ Params: { deviceType: string; version: string }; Body: unknown }>(
    '/api/v1/telemetry/schemas/:deviceType/:version',
    {
      preHandler: auth.require('operator'),
      schema: {
        tags: ['telemetry'],
        summary: 'Register a payload schema (JSON Schema draft-07) as a semantic version of a device type; refused with the list of breaking changes when incompatible within a major version',
        params: schemaParams,
        body: { type: 'object', description: 'a JSON Schema' },
      },
    },
    async (request, reply) => {
      const { deviceType, version } = request.params;
      const r = await store.register(deviceType, version, request.body as object);
      if (r.ok) {
        reply.header('location', `/api/v1/telemetry/schemas/${encodeURIComponent(deviceType)}`);
        return reply.code(201).send({ deviceType, version, schema: reg.current(deviceType)!.schema });
      }
      const detail = `${deviceType}@${version} refused: ${r.breaking.join('; ')}`;
      const p =
        r.reason === 'incompatible'
          ? problem(409, Errors.SCHEMA_INCOMPATIBLE.code, detail, request.url)
          : r.reason === 'version' && reg.current(deviceType) !== undefined && /not greater/.test(r.breaking[0] ?? '')
            ? problem(409, Errors.VERSION_CONFLICT.code, detail, request.url)
            : problem(400, Errors.BAD_REQUEST.code, detail, request.url);
      return sendProblem(reply, { ...p, breaking: r.breaking } as typeof p);
    },
  );

  app.get(
    '/api/v1/telemetry/schemas',
    { preHandler: auth.require('read-only'), schema: { tags: ['telemetry'], summary: 'Device types with a payload schema: current version and every version' } },
    async () => ({
      items: reg
        .deviceTypes()
        .sort()
        .map((deviceType) => ({ deviceType, current: reg.current(deviceType)!.version, versions: reg.versions(deviceType).map((v) => v.version) })),
    }),
  );

  app.get<{ Params: { deviceType: string } }>(
    '/api/v1/telemetry/schemas/:deviceType',
    { preHandler: auth.require('read-only'), schema: { tags: ['telemetry'], summary: 'Every schema version of a device type, oldest first', params: schemaParams } },
    async (request, reply) => {
      const { deviceType } = request.params;
      const versions = reg.versions(deviceType);
      if (versions.length === 0) return sendProblem(reply, problem(404, Errors.NOT_FOUND.code, `device type ${deviceType} has no payload schema`, request.url));
      return { deviceType, current: versions[versions.length - 1]!.version, versions: versions.map((v) => ({ version: v.version, schema: v.schema })) };
    },
  );
}
