// Device twins over HTTP: the classic twin at /api/v1/devices/{id}/twin, named twins at
// /api/v1/devices/{id}/twins/{name}, their history, and a Server-Sent Events stream of changes.
//
// - GET returns the twin as /get/accepted shows it (desired, reported, delta, metadata, version)
//   with `ETag: "<version>"`.
// - PATCH is a JSON merge patch (RFC 7396: fields merge, null deletes) of the AWS update request
//   `{state: {desired, reported}, clientToken?, version?}`: the same model and rules as an MQTT
//   /update, so the device gets its /update/delta.
// - PUT replaces the sections it sends (`{state: {desired: {...}}}` replaces desired whole).
// - `If-Match: "<version>"` makes PUT, PATCH and DELETE conditional: 412 when the twin is at
//   another version (RFC 9110 §13.1.1); a `version` in the body is the AWS optimistic lock (409).
// - /twin-events streams every accepted change of the device's twins (text/event-stream), one
//   event per change with `id:` = the twin's version, until the client closes.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, TwinhubError } from '../../common/errors.js';
import { validateShadowName, validateThingName } from '../../core/twin/limits.js';
import type { TwinChange, TwinService } from '../../core/twin/service.js';
import type { ApiAuth } from '../context.js';
import { principalOf } from '../context.js';
import { problemBody } from '../schemas.js';

export interface TwinsPluginOptions {
  auth: ApiAuth;
  twins: TwinService;
  /** When given, routes of an unknown device answer 404 TH_DEVICE_NOT_FOUND. */
  deviceExists?: (id: string) => Promise<boolean>;
  /** Seconds between SSE keep-alive comments (default 15). */
  sseKeepAliveSeconds?: number;
}

const TAGS = ['twins'];

const problemSchema = problemBody;

const section = { type: 'object', additionalProperties: true } as const;

const twinSchema = {
  type: 'object',
  description: 'The twin as the AWS /get/accepted document shows it',
  properties: {
    state: {
      type: 'object',
      properties: { desired: section, reported: section, delta: section },
    },
    metadata: {
      type: 'object',
      properties: { desired: section, reported: section },
    },
    version: { type: 'integer' },
    timestamp: { type: 'integer', description: 'epoch seconds' },
  },
} as const;

const updateBody = {
  type: 'object',
  description: 'AWS update request state document: {state: {desired?, reported?}, clientToken?, version?}',
  additionalProperties: true,
  properties: {
    state: { type: ['object', 'null'], additionalProperties: true },
    clientToken: { type: 'string' },
    version: { type: 'integer', minimum: 0 },
  },
  required: ['state'],
} as const;

const historySchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      op: { type: 'string', enum: ['update', 'delete'] },
      version: { type: 'integer' },
      at: { type: 'integer', description: 'epoch ms' },
      writer: { type: 'string' },
      state: section,
      lost: { type: 'array', items: { type: 'object', additionalProperties: true } },
    },
  },
} as const;

const deleteSchema = {
  type: 'object',
  properties: { version: { type: 'integer' }, timestamp: { type: 'integer' } },
} as const;

const idParam = { type: 'string', minLength: 1, maxLength: 128 } as const;
const classicParams = { type: 'object', properties: { id: idParam }, required: ['id'] } as const;
const namedParams = { type: 'object', properties: { id: idParam, name: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['id', 'name'] } as const;
const ifMatchHeader = { type: 'object', properties: { 'if-match': { type: 'string', description: 'ETag of the twin version the change applies to' } } } as const;

interface Params {
  id: string;
  name?: string;
}

export const twinsPlugin: FastifyPluginAsync<TwinsPluginOptions> = async (app, opts) => {
  const { twins } = opts;
  const read = opts.auth.require('read-only');
  const write = opts.auth.require('operator');
  const keepAliveMs = (opts.sseKeepAliveSeconds ?? 15) * 1000;

  // RFC 7396 media type; the body is the same JSON document.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new TwinhubError(Errors.TWIN_INVALID, 'body is not JSON'), undefined);
    }
  });

  async function target(request: FastifyRequest): Promise<{ id: string; name: string }> {
    const p = request.params as Params;
    const badId = validateThingName(p.id);
    if (badId !== null) throw new TwinhubError(Errors.DEVICE_ID_INVALID, badId);
    const name = p.name ?? '';
    if (name !== '') {
      const badName = validateShadowName(name);
      if (badName !== null) throw new TwinhubError(Errors.TWIN_INVALID, badName);
    }
    if (opts.deviceExists !== undefined && !(await opts.deviceExists(p.id))) {
      throw new TwinhubError(Errors.DEVICE_NOT_FOUND, `no device ${p.id}`);
    }
    return { id: p.id, name };
  }

  /**
   * The multi-writer extension over HTTP (docs/TWINS.md): `Twinhub-Vector` (the writer's version
   * vector as JSON) and `Twinhub-Changed-At` (epoch seconds of a change synced later). The writer
   * is the authenticated key: `api:<key id>`.
   */
  const multiWriterHeaders = (request: FastifyRequest): { vector?: unknown; changedAt?: number } => {
    const out: { vector?: unknown; changedAt?: number } = {};
    const v = request.headers['twinhub-vector'];
    if (typeof v === 'string') {
      try {
        out.vector = JSON.parse(v) as unknown;
      } catch {
        throw new TwinhubError(Errors.TWIN_INVALID, 'Twinhub-Vector: must be a JSON object of writer ids to change numbers');
      }
    }
    const c = request.headers['twinhub-changed-at'];
    if (typeof c === 'string') {
      const n = Number(c);
      if (!Number.isFinite(n) || n <= 0) throw new TwinhubError(Errors.TWIN_INVALID, 'Twinhub-Changed-At: must be epoch seconds');
      out.changedAt = n;
    }
    return out;
  };

  const writerOf = (request: FastifyRequest): string => `api:${principalOf(request)?.id ?? 'anonymous'}`;

  const getTwin = async (request: FastifyRequest, reply: FastifyReply) => {
    const { id, name } = await target(request);
    const twin = await twins.get(id, name);
    if (twin === undefined) throw new TwinhubError(Errors.TWIN_NOT_FOUND, `device ${id} has no twin${name === '' ? '' : ` named ${name}`}`);
    reply.header('etag', etag(twin.version));
    return twin;
  };

  const updateTwin = (mode: 'merge' | 'replace') => async (request: FastifyRequest, reply: FastifyReply) => {
    const { id, name } = await target(request);
    const expectedVersion = ifMatch(request);
    const r = await twins.update(id, name, request.body, {
      writer: writerOf(request),
      mode,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
      ...multiWriterHeaders(request),
    });
    reply.header('etag', etag(r.twin.version));
    return r.twin;
  };

  const deleteTwin = async (request: FastifyRequest) => {
    const { id, name } = await target(request);
    return twins.delete(id, name, ifMatch(request), writerOf(request));
  };

  const historyOf = async (request: FastifyRequest) => {
    const { id, name } = await target(request);
    const { limit } = request.query as { limit?: number };
    return twins.history(id, name, limit);
  };

  for (const [path, params, what] of [
    ['/api/v1/devices/:id/twin', classicParams, 'the classic twin'],
    ['/api/v1/devices/:id/twins/:name', namedParams, 'a named twin'],
  ] as const) {
    app.get(path, {
      preHandler: read,
      schema: { tags: TAGS, summary: `Get ${what}`, params, response: { 200: twinSchema, '4xx': problemSchema } },
      handler: getTwin,
    });
    app.patch(path, {
      preHandler: write,
      schema: {
        tags: TAGS,
        summary: `Update ${what} (JSON merge patch, as an MQTT /update)`,
        description: 'Fields sent merge into the twin, null deletes; `version` in the body → 409 on mismatch; If-Match → 412 on mismatch.',
        params,
        headers: ifMatchHeader,
        body: updateBody,
        response: { 200: twinSchema, '4xx': problemSchema },
      },
      handler: updateTwin('merge'),
    });
    app.put(path, {
      preHandler: write,
      schema: {
        tags: TAGS,
        summary: `Replace sections of ${what}`,
        description: 'Each section sent (desired, reported) replaces the stored one whole; null removes it.',
        params,
        headers: ifMatchHeader,
        body: updateBody,
        response: { 200: twinSchema, '4xx': problemSchema },
      },
      handler: updateTwin('replace'),
    });
    app.delete(path, {
      preHandler: write,
      schema: { tags: TAGS, summary: `Delete ${what}`, params, headers: ifMatchHeader, response: { 200: deleteSchema, '4xx': problemSchema } },
      handler: deleteTwin,
    });
    app.get(`${path}/history`, {
      preHandler: read,
      schema: {
        tags: TAGS,
        summary: `The last changes of ${what}, newest first`,
        params,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
        response: { 200: historySchema, '4xx': problemSchema },
      },
      handler: historyOf,
    });
  }

  app.get('/api/v1/devices/:id/twins', {
    preHandler: read,
    schema: {
      tags: TAGS,
      summary: "Names of the device's twins ('' is the classic twin)",
      params: classicParams,
      response: { 200: { type: 'array', items: { type: 'string' } }, '4xx': problemSchema },
    },
    handler: async (request) => twins.list((await target(request)).id),
  });

  app.get('/api/v1/devices/:id/twin-events', {
    preHandler: read,
    schema: {
      tags: TAGS,
      summary: "Server-Sent Events: every change of the device's twins",
      description: 'text/event-stream; `event: update|delete`, `id:` the twin version, `data:` {op, name, version, timestamp, writer, changed?, state?}.',
      params: classicParams,
    },
    handler: async (request, reply) => {
      const { id } = await target(request);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': twin events\n\n');
      const unsubscribe = twins.subscribe(id, (c: TwinChange) => {
        res.write(sseEvent(c));
      });
      const timer = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
      timer.unref();
      const end = (): void => {
        clearInterval(timer);
        unsubscribe();
      };
      request.raw.once('close', end);
      res.once('close', end);
    },
  });
};

function sseEvent(c: TwinChange): string {
  const data: Record<string, unknown> = { op: c.op, name: c.name, version: c.version, timestamp: c.timestamp, writer: c.writer };
  if (c.changed !== undefined) data.changed = c.changed;
  if (c.state !== undefined) data.state = c.state;
  return `event: ${c.op}\nid: ${c.version}\ndata: ${JSON.stringify(data)}\n\n`;
}

function etag(version: number): string {
  return `"${version}"`;
}

/**
 * The version an If-Match header names, undefined when there is none (or `*`). A value that names
 * no version of ours can match no twin: 412 (RFC 9110 §13.1.1).
 */
function ifMatch(request: FastifyRequest): number | undefined {
  const h = request.headers['if-match'];
  if (h === undefined) return undefined;
  const v = h.trim();
  if (v === '*') return undefined;
  // Strong comparison (RFC 9110 §13.1.1): a weak tag W/"…" never matches.
  const m = /^"(\d{1,15})"$/.exec(v);
  if (m === null) throw new TwinhubError(Errors.PRECONDITION_FAILED, `If-Match ${v} names no version of this twin`);
  return Number(m[1]);
}
