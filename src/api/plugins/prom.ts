// A Prometheus-compatible read API over the telemetry store, so Grafana's Prometheus data source
// (URL http://hub:8080/api/v1/prom, a bearer token header) can chart Twinhub series:
//
//   GET|POST /api/v1/prom/api/v1/query               instant query (query, time)
//   GET|POST /api/v1/prom/api/v1/query_range         range query (query, start, end, step)
//   GET|POST /api/v1/prom/api/v1/series              label sets of match[] selectors
//   GET|POST /api/v1/prom/api/v1/labels              label names (optional match[])
//   GET      /api/v1/prom/api/v1/label/:name/values  values of one label (optional match[])
//
// The envelope and status codes are the Prometheus HTTP API's ("Format overview"):
// {"status":"success","data":…}, or {"status":"error","errorType":"bad_data","error":"…"} with
// 400 when parameters are missing or incorrect, and errorType "execution" with 422 when a query
// cannot be executed (here: it would read too many samples). POST takes the same parameters
// URL-encoded in the body (Content-Type application/x-www-form-urlencoded), as Grafana sends them.
// Authentication failures keep the hub's problem documents (401/403/429).
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, TwinhubError } from '../../common/errors.js';
import { parsePromQL, parsePromDuration, parseSeriesSelector, PromQLError, type LabelMatcher } from '../../core/telemetry/promql.js';
import { MAX_STEPS, PromReader, type DeviceLabelsLookup, type PromSource } from '../../core/telemetry/prom-eval.js';
import type { ApiAuth } from '../context.js';

export interface PromPluginOptions {
  auth: ApiAuth;
  /** The telemetry service (its catalog() and query()). */
  telemetry: PromSource;
  /** Registry facts of a device (type, group, tags) that become labels; without it, only __name__ and device. */
  deviceLabels?: DeviceLabelsLookup;
  /** Clock for a missing `time`/`end` (tests). */
  now?: () => number;
}

export const PROM_PREFIX = '/api/v1/prom/api/v1';

type Params = Record<string, string | string[] | undefined>;

function badData(message: string): PromQLError {
  return new PromQLError(message, 'bad_data');
}

/** The parameters of a request: URL query, then the form body of a POST (Go's r.FormValue order is body first; both are read). */
function paramsOf(request: FastifyRequest): Params {
  const q = (request.query ?? {}) as Params;
  const b = request.body;
  if (b === undefined || b === null || typeof b !== 'object') return q;
  const out: Params = { ...q };
  for (const [k, v] of Object.entries(b as Params)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = [...(Array.isArray(v) ? v : [v!]), ...(Array.isArray(prev) ? prev : [prev])];
  }
  return out;
}

function first(p: Params, name: string): string | undefined {
  const v = p[name];
  return Array.isArray(v) ? v[0] : v;
}

function all(p: Params, name: string): string[] {
  const v = p[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** A time parameter: Unix seconds (a float) or RFC 3339, to epoch milliseconds. */
export function parsePromTime(text: string, name: string): number {
  const t = text.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    const ms = Math.round(Number(t) * 1000);
    if (Number.isSafeInteger(ms)) return ms;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw badData(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
}

/** A step or duration parameter: float seconds or a Prometheus duration ("15s", "1m30s"), to ms. */
export function parsePromStep(text: string, name: string): number {
  const t = text.trim();
  let ms = NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) ms = Math.round(Number(t) * 1000);
  else ms = parsePromDuration(t);
  if (!Number.isSafeInteger(ms)) throw badData(`invalid parameter "${name}": cannot parse "${text}" to a valid duration`);
  return ms;
}

function selectorsOf(p: Params, required: boolean): LabelMatcher[][] | undefined {
  const match = all(p, 'match[]');
  if (match.length === 0) {
    if (required) throw badData('no match[] parameter provided');
    return undefined;
  }
  return match.map((m) => parseSeriesSelector(m));
}

function success(reply: FastifyReply, data: unknown): FastifyReply {
  return reply.type('application/json; charset=utf-8').send({ status: 'success', data });
}

export const promPlugin: FastifyPluginAsync<PromPluginOptions> = async (app, opts) => {
  const reader = new PromReader(opts.telemetry, opts.deviceLabels);
  const now = opts.now ?? Date.now;
  const preHandler = opts.auth.require('read-only');

  // Scoped to this plugin: the form bodies of POST requests, and Prometheus-shaped errors.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const out: Params = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    done(null, out);
  });
  app.setErrorHandler((err: FastifyError | Error, _request, reply) => {
    if (err instanceof PromQLError) {
      return reply.code(err.errorType === 'execution' ? 422 : 400).type('application/json; charset=utf-8').send({ status: 'error', errorType: err.errorType, error: err.message });
    }
    if (err instanceof TwinhubError && err.code === Errors.TELEMETRY_QUERY_INVALID.code) {
      return reply.code(400).type('application/json; charset=utf-8').send({ status: 'error', errorType: 'bad_data', error: err.message });
    }
    const fe = err as FastifyError;
    if (!(err instanceof TwinhubError) && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      // A body the parser refused (bad content type, too large): still the API's envelope.
      return reply.code(fe.statusCode).type('application/json; charset=utf-8').send({ status: 'error', errorType: 'bad_data', error: fe.message });
    }
    // Authentication and everything else: the hub's problem documents.
    throw err;
  });

  const route = (summary: string) => ({ preHandler, schema: { tags: ['prometheus'], summary } });

  app.route({
    method: ['GET', 'POST'],
    url: `${PROM_PREFIX}/query`,
    ...route('Prometheus instant query (a selector, a range function over [w], or a number)'),
    handler: async (request, reply) => {
      const p = paramsOf(request);
      const query = first(p, 'query');
      if (query === undefined || query.trim() === '') throw badData('invalid parameter "query": empty query');
      const time = first(p, 'time');
      const t = time === undefined || time === '' ? now() : parsePromTime(time, 'time');
      const expr = parsePromQL(query);
      return success(reply, await reader.instant(expr, t));
    },
  });

  app.route({
    method: ['GET', 'POST'],
    url: `${PROM_PREFIX}/query_range`,
    ...route('Prometheus range query: the expression at start, start+step, … ≤ end'),
    handler: async (request, reply) => {
      const p = paramsOf(request);
      const need = (name: string): string => {
        const v = first(p, name);
        if (v === undefined || v === '') throw badData(`invalid parameter "${name}": missing`);
        return v;
      };
      const query = first(p, 'query');
      if (query === undefined || query.trim() === '') throw badData('invalid parameter "query": empty query');
      const start = parsePromTime(need('start'), 'start');
      const end = parsePromTime(need('end'), 'end');
      if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
      const step = parsePromStep(need('step'), 'step');
      if (step <= 0) throw badData('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
      if ((end - start) / step > MAX_STEPS) throw badData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
      const expr = parsePromQL(query);
      return success(reply, await reader.range(expr, start, end, step));
    },
  });

  app.route({
    method: ['GET', 'POST'],
    url: `${PROM_PREFIX}/series`,
    ...route('Label sets of the series matching match[] selectors'),
    handler: async (request, reply) => {
      const sel = selectorsOf(paramsOf(request), true)!;
      const series = await reader.selectAll(sel);
      return success(reply, series.map((s) => s.labels));
    },
  });

  app.route({
    method: ['GET', 'POST'],
    url: `${PROM_PREFIX}/labels`,
    ...route('Label names (of the series matching match[], when given)'),
    handler: async (request, reply) => success(reply, await reader.labelNames(selectorsOf(paramsOf(request), false))),
  });

  app.get<{ Params: { name: string } }>(`${PROM_PREFIX}/label/:name/values`, route('Values of one label (of the series matching match[], when given)'), async (request, reply) => {
    // Any name: device tags may use characters outside Prometheus' classic [a-zA-Z_][a-zA-Z0-9_]*.
    const name = request.params.name;
    return success(reply, await reader.labelValues(name, selectorsOf(paramsOf(request), false)));
  });
};
