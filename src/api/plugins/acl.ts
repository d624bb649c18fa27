// /api/v1/acl: ACL policies applied per device type, group or fleet-wide, and a check endpoint
// that answers with the same code live sessions use. /api/v1/api-keys: operator keys (admin).
import type { FastifyPluginAsync } from 'fastify';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { Registry } from '../../core/registry/registry.js';
import type { AclPolicyRecord, ApiKeyRecord, ApiRole } from '../../ports/registry-store.js';
import type { ApiPluginOptions } from '../context.js';
import { errorResponses } from '../schemas.js';

export interface AclPluginOptions extends ApiPluginOptions {
  registry: Registry;
}

const policySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    description: { type: 'string' },
    type: { type: 'string', description: 'Applies to devices of this type.' },
    group: { type: 'string', description: 'Applies to devices in this group.' },
    rules: { type: 'array', items: { $ref: 'AclRule#' } },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

function policyJson(p: AclPolicyRecord): Record<string, unknown> {
  return { ...p, createdAt: new Date(p.createdAt).toISOString(), updatedAt: new Date(p.updatedAt).toISOString() };
}

/** An API key as the API shows it: never its hash. */
function apiKeyJson(k: ApiKeyRecord): Record<string, unknown> {
  const o: Record<string, unknown> = { id: k.id, name: k.name, role: k.role, createdAt: new Date(k.createdAt).toISOString() };
  if (k.expiresAt !== undefined) o.expiresAt = new Date(k.expiresAt).toISOString();
  return o;
}

export const aclPlugin: FastifyPluginAsync<AclPluginOptions> = async (app, opts) => {
  const { registry, auth } = opts;
  const tags = ['acl'];

  app.get(
    '/api/v1/acl',
    {
      preHandler: auth.require('read-only'),
      schema: {
        tags,
        summary: 'ACL policies and the default own-topics rules',
        description: 'Evaluation for a registered device, first match decides: its own rules, policies of its group, of its type, fleet-wide policies, then the own-topics defaults (config registry.ownTopics); nothing matched is denied.',
        response: { 200: { type: 'object', properties: { policies: { type: 'array', items: policySchema }, ownTopics: { type: 'array', items: { type: 'string' } } } }, ...errorResponses() },
      },
    },
    async () => ({ policies: registry.listPolicies().map(policyJson), ownTopics: registry.ownTopics }),
  );

  app.put<{ Params: { id: string } }>(
    '/api/v1/acl/:id',
    {
      preHandler: auth.require('admin'),
      schema: {
        tags,
        summary: 'Create or replace an ACL policy',
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        body: { type: 'object', required: ['rules'], properties: { description: { type: 'string' }, type: { type: 'string' }, group: { type: 'string' }, rules: { type: 'array', items: { $ref: 'AclRule#' } } } },
        response: { 200: policySchema, ...errorResponses() },
      },
    },
    async (request) => policyJson(await registry.putPolicy(request.params.id, request.body)),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/acl/:id',
    { preHandler: auth.require('admin'), schema: { tags, summary: 'Delete an ACL policy', params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: { 204: { type: 'null' }, ...errorResponses(404) } } },
    async (request, reply) => {
      await registry.removePolicy(request.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { device: string; action: 'publish' | 'subscribe'; topic: string } }>(
    '/api/v1/acl/check',
    {
      preHandler: auth.require('read-only'),
      schema: {
        tags,
        summary: 'Would this device be allowed to publish to a topic or subscribe to a filter?',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['device', 'action', 'topic'],
          properties: { device: { type: 'string' }, action: { type: 'string', enum: ['publish', 'subscribe'] }, topic: { type: 'string', minLength: 1 } },
        },
        response: { 200: { type: 'object', properties: { allowed: { type: 'boolean' } } }, ...errorResponses(404) },
      },
    },
    async (request) => {
      const q = request.query;
      return { allowed: await registry.checkAcl(q.device, q.action, q.topic) };
    },
  );

  // ---------------------------------------------------------------- operator API keys

  const keySchema = {
    type: 'object',
    properties: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, createdAt: { type: 'string' }, expiresAt: { type: 'string' }, key: { type: 'string', description: 'Shown once, at creation.' } },
  } as const;

  app.get(
    '/api/v1/api-keys',
    { preHandler: auth.require('admin'), schema: { tags: ['admin'], summary: 'Operator API keys (never the keys themselves)', response: { 200: { type: 'object', properties: { items: { type: 'array', items: keySchema } } }, ...errorResponses() } } },
    async () => ({
      items: (await registry.store.listApiKeys()).map(apiKeyJson),
    }),
  );

  app.post<{ Body: { name: string; role: ApiRole; expiresAt?: string } }>(
    '/api/v1/api-keys',
    {
      preHandler: auth.require('admin'),
      schema: {
        tags: ['admin'],
        summary: 'Create an operator API key (returned once)',
        body: {
          type: 'object',
          required: ['name', 'role'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, role: { type: 'string', enum: ['read-only', 'operator', 'admin'] }, expiresAt: { type: 'string' } },
        },
        response: { 201: keySchema, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const b = request.body;
      let expiresAt: number | undefined;
      if (b.expiresAt !== undefined) {
        expiresAt = Date.parse(b.expiresAt);
        if (!Number.isFinite(expiresAt) || expiresAt <= Date.now()) throw new TwinhubError(Errors.BAD_REQUEST, 'expiresAt: must be a future ISO 8601 time', { field: 'expiresAt' });
      }
      const { record, key } = await registry.createApiKey(b.name, b.role, expiresAt);
      reply.code(201).header('cache-control', 'no-store');
      return { ...apiKeyJson(record), key };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/api-keys/:id',
    { preHandler: auth.require('admin'), schema: { tags: ['admin'], summary: 'Revoke an operator API key', params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: { 204: { type: 'null' }, ...errorResponses(404) } } },
    async (request, reply) => {
      await registry.removeApiKey(request.params.id);
      return reply.code(204).send();
    },
  );
};
