// /api/v1/devices: the fleet. CRUD with filtering, sorting and paging; credentials; live
// sessions (list, kick); bulk import/export under /api/v1/bulk/devices (a path of its own, so no
// device id is shadowed by a verb).
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { Errors, TwinhubError } from '../../common/errors.js';
import { exportDevices, type BulkFormat } from '../../core/registry/bulk.js';
import { publicCredential } from '../../core/registry/credential-input.js';
import { DEVICE_SORTS, listDevices, type DeviceQuery, type DeviceSort } from '../../core/registry/device-list.js';
import type { DeviceView, Registry } from '../../core/registry/registry.js';
import type { DeviceRecord } from '../../ports/registry-store.js';
import type { ApiPluginOptions } from '../context.js';
import { principalOf } from '../context.js';
import { deviceInputSchema, errorResponses, idParams } from '../schemas.js';

export interface DevicesPluginOptions extends ApiPluginOptions {
  registry: Registry;
}

const iso = (t: number): string => new Date(t).toISOString();

export function deviceJson(d: DeviceView | DeviceRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { id: d.id };
  if (d.name !== undefined) out.name = d.name;
  if (d.type !== undefined) out.type = d.type;
  if (d.group !== undefined) out.group = d.group;
  out.tags = d.tags;
  out.enabled = d.enabled;
  out.createdAt = iso(d.createdAt);
  out.updatedAt = iso(d.updatedAt);
  if (d.acl !== undefined) out.acl = d.acl;
  if (d.limits !== undefined) out.limits = d.limits;
  const v = d as Partial<DeviceView>;
  out.connected = v.connected ?? false;
  if (v.presence !== undefined) {
    out.lastSeen = iso(v.presence.lastSeen);
    if (v.presence.protocol !== undefined) out.protocol = v.presence.protocol;
    if (v.presence.remoteAddress !== undefined) out.remoteAddress = v.presence.remoteAddress;
  }
  return out;
}

function parseTags(raw: string | string[] | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const tags: Record<string, string> = {};
  for (const t of Array.isArray(raw) ? raw : [raw]) {
    const i = t.indexOf(':');
    if (i <= 0) throw new TwinhubError(Errors.BAD_REQUEST, `tag: expected KEY:VALUE, got ${JSON.stringify(t)}`, { field: 'tag' });
    tags[t.slice(0, i)] = t.slice(i + 1);
  }
  return tags;
}

interface ListQuery {
  type?: string;
  group?: string;
  tag?: string | string[];
  connected?: boolean;
  prefix?: string;
  sort?: DeviceSort;
  limit?: number;
  cursor?: string;
}

export const devicesPlugin: FastifyPluginAsync<DevicesPluginOptions> = async (app, opts) => {
  const { registry, auth } = opts;
  const read = auth.require('read-only');
  const write = auth.require('operator');
  const tags = ['devices'];

  // RFC 7396's media type for PATCH bodies, read as JSON.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addContentTypeParser(['text/csv', 'application/x-ndjson', 'application/jsonl', 'text/plain'], { parseAs: 'string', bodyLimit: 64 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.get<{ Querystring: ListQuery }>(
    '/api/v1/devices',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List devices',
        description: 'Filter by type, group, tags (`tag=KEY:VALUE`, repeatable, all must match), connection state and id prefix; sort; page with `cursor` from the previous page.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'string' },
            group: { type: 'string' },
            tag: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
            connected: { type: 'boolean' },
            prefix: { type: 'string' },
            sort: { type: 'string', enum: [...DEVICE_SORTS] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string', maxLength: 1024 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: { $ref: 'Device#' } }, next: { type: 'string' } },
            required: ['items'],
          },
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const query: DeviceQuery = { limit: q.limit ?? 100 };
      if (q.type !== undefined) query.type = q.type;
      if (q.group !== undefined) query.group = q.group;
      const t = parseTags(q.tag);
      if (t !== undefined) query.tags = t;
      if (q.connected !== undefined) query.connected = q.connected;
      if (q.prefix !== undefined) query.prefix = q.prefix;
      if (q.sort !== undefined) query.sort = q.sort;
      if (q.cursor !== undefined) query.cursor = q.cursor;
      const page = await listDevices(registry.store, query, (id) => registry.isConnected(id));
      const items = await Promise.all(page.items.map(async (d) => deviceJson(await registry.view(d))));
      return page.next === undefined ? { items } : { items, next: page.next };
    },
  );

  app.post(
    '/api/v1/devices',
    {
      preHandler: write,
      schema: { tags, summary: 'Register a device', body: { ...deviceInputSchema, required: ['id'] }, response: { 201: { $ref: 'Device#' }, ...errorResponses(409) } },
    },
    async (request, reply) => {
      const device = await registry.createDevice(request.body);
      reply.code(201).header('location', `/api/v1/devices/${encodeURIComponent(device.id)}`);
      return deviceJson(device);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/devices/:id',
    { preHandler: read, schema: { tags, summary: 'Get a device with its connection state', params: idParams, response: { 200: { $ref: 'Device#' }, ...errorResponses(404) } } },
    async (request) => deviceJson(await registry.getDevice(request.params.id)),
  );

  app.patch<{ Params: { id: string } }>(
    '/api/v1/devices/:id',
    {
      preHandler: write,
      schema: { tags, summary: 'Update a device (merge patch: absent fields stay, null clears)', params: idParams, body: deviceInputSchema, response: { 200: { $ref: 'Device#' }, ...errorResponses(404) } },
    },
    async (request) => deviceJson(await registry.view(await registry.updateDevice(request.params.id, request.body))),
  );

  app.delete<{ Params: { id: string }; Querystring: { keepData?: boolean } }>(
    '/api/v1/devices/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Delete a device',
        description: 'Disconnects it and removes its credentials; its twins and telemetry go too unless `keepData=true`.',
        params: idParams,
        querystring: { type: 'object', additionalProperties: false, properties: { keepData: { type: 'boolean', default: false } } },
        response: { 204: { type: 'null' }, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      await registry.deleteDevice(request.params.id, { keepData: request.query.keepData ?? false });
      return reply.code(204).send();
    },
  );

  // ---------------------------------------------------------------- credentials

  app.get<{ Params: { id: string } }>(
    '/api/v1/devices/:id/credentials',
    { preHandler: read, schema: { tags, summary: "List a device's credentials (never hashes or secrets)", params: idParams, response: { 200: { type: 'object', properties: { items: { type: 'array', items: { $ref: 'Credential#' } } } }, ...errorResponses(404) } } },
    async (request) => ({ items: await registry.listCredentials(request.params.id) }),
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/devices/:id/credentials',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Add a credential',
        description: '`{"type":"password","password":"…"}` (or a pre-hashed `hash`), `{"type":"token"}` (the token is returned once), `{"type":"x509","fingerprint":"…"}` or `"subject"`, `{"type":"jwt-key","alg":"RS256","key":"<PEM>"}`; optional `label` and `expiresAt`.',
        params: idParams,
        body: {
          type: 'object',
          required: ['type'],
          properties: {
            type: { type: 'string', enum: ['password', 'token', 'x509', 'jwt-key'] },
            password: { type: 'string' },
            hash: { type: 'string' },
            fingerprint: { type: 'string' },
            subject: { type: 'string' },
            alg: { type: 'string', enum: ['HS256', 'RS256', 'ES256'] },
            key: { type: 'string' },
            label: { type: 'string' },
            expiresAt: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
          },
        },
        response: { 201: { $ref: 'Credential#' }, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const { record, secret } = await registry.addCredential(request.params.id, request.body);
      const body = publicCredential(record);
      if (secret !== undefined) body.token = secret;
      reply.code(201).header('cache-control', 'no-store');
      return body;
    },
  );

  app.delete<{ Params: { id: string; credentialId: string } }>(
    '/api/v1/devices/:id/credentials/:credentialId',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Revoke a credential; sessions that used it are disconnected',
        params: { type: 'object', properties: { id: { type: 'string' }, credentialId: { type: 'string' } }, required: ['id', 'credentialId'] },
        response: { 200: { type: 'object', properties: { disconnected: { type: 'integer' } } }, ...errorResponses(404) },
      },
    },
    async (request) => ({ disconnected: await registry.revokeCredential(request.params.id, request.params.credentialId) }),
  );

  // ---------------------------------------------------------------- sessions

  const sessionSchema = {
    type: 'object',
    properties: {
      clientId: { type: 'string' },
      protocol: { type: 'string' },
      listener: { type: 'string' },
      remoteAddress: { type: 'string' },
      connectedAt: { type: 'string' },
      credentialId: { type: 'string' },
      expiresAt: { type: 'string' },
    },
  } as const;

  app.get<{ Params: { id: string } }>(
    '/api/v1/devices/:id/sessions',
    { preHandler: read, schema: { tags, summary: "A device's connected sessions", params: idParams, response: { 200: { type: 'object', properties: { items: { type: 'array', items: sessionSchema } } }, ...errorResponses(404) } } },
    async (request) => {
      await registry.requireDevice(request.params.id);
      return { items: registry.sessionsOf(request.params.id) };
    },
  );

  app.delete<{ Params: { id: string; clientId?: string } }>(
    '/api/v1/devices/:id/sessions',
    { preHandler: write, schema: { tags, summary: 'Disconnect every session of a device (5.0: DISCONNECT 0x98 Administrative action)', params: idParams, response: { 200: { type: 'object', properties: { disconnected: { type: 'integer' } } }, ...errorResponses(404) } } },
    async (request) => ({ disconnected: await registry.kick(request.params.id) }),
  );

  app.delete<{ Params: { id: string; clientId: string } }>(
    '/api/v1/devices/:id/sessions/:clientId',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Disconnect one session of a device',
        params: { type: 'object', properties: { id: { type: 'string' }, clientId: { type: 'string' } }, required: ['id', 'clientId'] },
        response: { 200: { type: 'object', properties: { disconnected: { type: 'integer' } } }, ...errorResponses(404) },
      },
    },
    async (request) => ({ disconnected: await registry.kick(request.params.id, request.params.clientId) }),
  );

  // ---------------------------------------------------------------- bulk

  app.post<{ Querystring: { format?: BulkFormat } }>(
    '/api/v1/bulk/devices',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Import devices from JSON lines or CSV',
        description: 'Body `application/x-ndjson` (one device per line, optional `credentials` list) or `text/csv` (header row; columns id, name, type, group, enabled, tags as k=v;k=v, passwordHash, tokenHash). Every valid line is stored; the report lists each refused line.',
        querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['jsonl', 'csv'] } } },
        response: {
          200: {
            type: 'object',
            properties: {
              lines: { type: 'integer' },
              created: { type: 'integer' },
              failed: { type: 'integer' },
              credentials: { type: 'integer' },
              errors: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    line: { type: 'integer' },
                    id: { type: 'string' },
                    scope: { type: 'string', enum: ['device', 'credential'], description: 'device: the line was not stored; credential: the device was created but a credential was refused' },
                    code: { type: 'string' },
                    message: { type: 'string' },
                  },
                },
              },
            },
          },
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      const body = request.body;
      if (typeof body !== 'string') throw new TwinhubError(Errors.IMPORT_INVALID, 'send the import as text/csv or application/x-ndjson');
      const ct = request.headers['content-type'] ?? '';
      const format: BulkFormat = request.query.format ?? (ct.startsWith('text/csv') ? 'csv' : 'jsonl');
      return registry.importDevices(body, format);
    },
  );

  app.get<{ Querystring: { format?: BulkFormat; credentials?: boolean } }>(
    '/api/v1/bulk/devices',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Export every device as JSON lines or CSV (streamed)',
        description: '`credentials=true` (admin only) adds importable credential hashes to JSON lines.',
        querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl' }, credentials: { type: 'boolean', default: false } } },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'jsonl';
      const withCredentials = request.query.credentials ?? false;
      if (withCredentials && principalOf(request)?.role !== 'admin') {
        throw new TwinhubError(Errors.FORBIDDEN, 'exporting credentials needs the admin role');
      }
      reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
      return reply.send(Readable.from(exportDevices(registry.store, format, withCredentials)));
    },
  );
};
