// /api/v1/rules and /api/v1/alerts: the rule engine over HTTP.
//
// - Rules live in the rules folder; PUT writes `<folder>/<id>.yaml` (from a JSON body, or a YAML
//   body kept as sent, comments included) and answers with the rule as loaded from there. A rule
//   that does not parse or compile is refused with 400 and the errors (line, column, key path) in
//   the problem's `errors` extension member (RFC 9457 §3.2); nothing is written then.
// - POST /api/v1/rules/test is a dry run: the output rows and the actions that would run, with
//   their templates rendered; nothing is executed.
// - /api/v1/alerts lists open alerts; POST /api/v1/alerts/{key}/clear clears one.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { RuleTestMessage } from '../../core/rules/dry-run.js';
import type { RuleEngine } from '../../core/rules/engine.js';
import type { RuleFileError } from '../../core/rules/rule-file.js';
import { SEVERITIES, type Severity } from '../../core/rules/rule-file.js';
import type { ApiAuth } from '../context.js';
import { principalOf } from '../context.js';
import { problem, sendProblem } from '../problem.js';
import { errorResponses, problemProperties } from '../schemas.js';

export interface RulesPluginOptions {
  auth: ApiAuth;
  engine: RuleEngine;
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

const open = { type: 'object', additionalProperties: true } as const;
const loadError = {
  type: 'object',
  properties: { file: { type: 'string' }, line: { type: 'integer' }, column: { type: 'integer' }, path: { type: 'string' }, message: { type: 'string' } },
  required: ['path', 'message'],
} as const;
const countersSchema = {
  type: 'object',
  properties: Object.fromEntries(
    ['matched', 'passedWhere', 'actionsOk', 'actionsFailed', 'actionsDropped', 'pendingDropped', 'evalErrors', 'evalCount', 'evalTimeSumUs', 'evalTimeMaxUs'].map((k) => [k, { type: 'number' }]),
  ),
} as const;
const ruleSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    file: { type: 'string' },
    status: { type: 'string', enum: ['active', 'disabled', 'invalid'], description: 'invalid: the file never loaded; active/disabled with loadErrors: the last good version runs, the file on disk was refused' },
    sql: { type: 'string' },
    priority: { type: 'integer' },
    enabled: { type: 'boolean' },
    actions: { type: 'array', items: open },
    loadErrors: { type: 'array', items: loadError },
    loadErrorAt: { type: 'string', format: 'date-time' },
    counters: countersSchema,
    windows: { type: 'object', properties: { keys: { type: 'integer' }, memoryBytes: { type: 'integer' } } },
    pending: { type: 'integer' },
    yaml: { type: 'string', description: 'the rule file as on disk (GET one)' },
  },
  required: ['id', 'file', 'status', 'counters'],
} as const;
const alertSchema = {
  type: 'object',
  properties: {
    key: { type: 'string' },
    ruleId: { type: 'string' },
    severity: { type: 'string', enum: [...SEVERITIES] },
    message: { type: 'string' },
    count: { type: 'integer' },
    firstAt: { type: 'string', format: 'date-time' },
    lastAt: { type: 'string', format: 'date-time' },
  },
  required: ['key', 'ruleId', 'severity', 'count', 'firstAt', 'lastAt'],
} as const;
const ruleInputSchema = {
  type: ['object', 'string'],
  description:
    'The rule as JSON `{sql, priority?, enabled?, actions}` (the id is the path parameter), or the rule file as YAML (Content-Type application/yaml), kept as sent.',
  additionalProperties: true,
} as const;
const messageSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    topic: { type: 'string', minLength: 1 },
    payload: { description: 'a string is the payload text; other JSON values are sent as JSON' },
    payloadBase64: { type: 'string' },
    clientid: { type: 'string' },
    deviceid: { type: 'string' },
    qos: { type: 'integer', minimum: 0, maximum: 2 },
    retain: { type: 'boolean' },
    timestamp: { type: 'integer', description: 'epoch ms' },
    userProperties: { type: 'object', additionalProperties: { type: 'string' } },
    device: open,
    twin: open,
  },
  required: ['topic'],
} as const;
const idParam = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['id'] } as const;

/** 400 with the rule's errors in the `errors` extension member (RFC 9457 §3.2). */
const invalidSchema = {
  type: 'object',
  description: 'RFC 9457 problem document; for TH_RULE_INVALID, `errors` lists each error with its position',
  properties: { ...problemProperties, errors: { type: 'array', items: loadError } },
  required: ['type', 'title', 'status', 'detail', 'code'],
} as const;

function invalid(reply: FastifyReply, request: FastifyRequest, errors: RuleFileError[]): FastifyReply {
  const first = errors[0];
  const where = first === undefined ? '' : `${first.line !== undefined ? `line ${first.line}, column ${first.column}: ` : ''}${first.path !== '' ? `${first.path}: ` : ''}`;
  const detail = `rule refused: ${where}${first?.message ?? 'invalid'}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`;
  const p = problem(400, Errors.RULE_INVALID.code, detail, request.url);
  return sendProblem(reply, { ...p, errors } as typeof p);
}

const iso = (t: number): string => new Date(t).toISOString();

export const rulesPlugin: FastifyPluginAsync<RulesPluginOptions> = async (app, opts) => {
  const { engine } = opts;
  const read = opts.auth.require('read-only');
  const write = opts.auth.require('operator');
  const tags = ['rules'];

  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) => done(null, body));

  const notFound = (id: string): TwinhubError => new TwinhubError(Errors.RULE_NOT_FOUND, `no rule ${id}`);

  app.get(
    '/api/v1/rules',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List rules with their status, load errors and counters, and the engine counters',
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: ruleSchema }, stats: open }, required: ['items', 'stats'] }, ...errorResponses() },
      },
    },
    async () => ({ items: engine.list(), stats: engine.stats() }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/rules/:id',
    { preHandler: read, schema: { tags, summary: 'Get a rule, with its file as on disk', params: idParam, response: { 200: ruleSchema, ...errorResponses(404) } } },
    async (request) => {
      const r = engine.get(request.params.id);
      if (r === undefined) throw notFound(request.params.id);
      return { ...r, yaml: engine.source(request.params.id) };
    },
  );

  app.put<{ Params: { id: string }; Body: unknown }>(
    '/api/v1/rules/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Create or replace a rule (written to <rules folder>/<id>.yaml)',
        description: 'Refused with 400 TH_RULE_INVALID and an `errors` list (line, column, key path, message) when the rule does not parse or compile; nothing is written then.',
        params: idParam,
        body: ruleInputSchema,
        response: { 200: ruleSchema, 201: ruleSchema, ...errorResponses(), 400: invalidSchema },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const r = await engine.put(request.params.id, typeof body === 'string' ? { yaml: body } : { json: body });
      if (!r.ok) return invalid(reply, request, r.errors);
      request.log.info({ rule: request.params.id, by: principalOf(request)?.id }, r.created ? 'rule created' : 'rule replaced');
      if (r.created) reply.code(201).header('location', `/api/v1/rules/${encodeURIComponent(r.rule.id)}`);
      return r.rule;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/rules/:id',
    { preHandler: write, schema: { tags, summary: 'Delete a rule (its file)', params: idParam, response: { 204: { type: 'null' }, ...errorResponses(404) } } },
    async (request, reply) => {
      if (!(await engine.remove(request.params.id))) throw notFound(request.params.id);
      request.log.info({ rule: request.params.id, by: principalOf(request)?.id }, 'rule deleted');
      return reply.code(204).send();
    },
  );

  for (const verb of ['enable', 'disable'] as const) {
    app.post<{ Params: { id: string } }>(
      `/api/v1/rules/:id/${verb}`,
      { preHandler: write, schema: { tags, summary: `${verb === 'enable' ? 'Enable' : 'Disable'} a rule (sets \`enabled\` in its file)`, params: idParam, response: { 200: ruleSchema, ...errorResponses(404) } } },
      async (request) => {
        const r = await engine.setEnabled(request.params.id, verb === 'enable');
        if (r === undefined) throw notFound(request.params.id);
        return r;
      },
    );
  }

  app.get<{ Params: { id: string } }>(
    '/api/v1/rules/:id/errors',
    {
      preHandler: read,
      schema: {
        tags,
        summary: "The rule's recent errors (bounded log), oldest first, each with the message that caused it",
        params: idParam,
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: open } }, required: ['items'] }, ...errorResponses(404) },
      },
    },
    async (request) => {
      const items = engine.errors(request.params.id);
      if (items === undefined) throw notFound(request.params.id);
      return { items };
    },
  );

  app.post<{ Body: { sql?: string; rule?: unknown; message: RuleTestMessage } }>(
    '/api/v1/rules/test',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Dry-run a rule against a sample message: the output rows and the actions that would run; nothing is executed',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            sql: { type: 'string' },
            rule: { type: ['object', 'string'], description: 'a rule as JSON, or a rule file as YAML text', additionalProperties: true },
            message: messageSchema,
          },
          required: ['message'],
        },
        response: {
          200: {
            type: 'object',
            properties: { matched: { type: 'boolean' }, rows: { type: 'array', items: open }, actions: { type: 'array', items: open }, clears: { type: 'array', items: open } },
            required: ['matched', 'rows', 'actions', 'clears'],
          },
          ...errorResponses(),
          400: invalidSchema,
        },
      },
    },
    async (request, reply) => {
      const r = await engine.test(request.body);
      if (!r.ok) return invalid(reply, request, r.errors);
      return r.result;
    },
  );

  const alertTags = ['alerts'];
  app.get<{ Querystring: { rule?: string; severity?: Severity } }>(
    '/api/v1/alerts',
    {
      preHandler: read,
      schema: {
        tags: alertTags,
        summary: 'Open alerts, most recently raised first',
        querystring: { type: 'object', additionalProperties: false, properties: { rule: { type: 'string' }, severity: { type: 'string', enum: [...SEVERITIES] } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: alertSchema } }, required: ['items'] }, ...errorResponses() },
      },
    },
    async (request) => {
      const f: { ruleId?: string; severity?: Severity } = {};
      if (request.query.rule !== undefined) f.ruleId = request.query.rule;
      if (request.query.severity !== undefined) f.severity = request.query.severity;
      return { items: engine.alerts.list(f).map((a) => ({ ...a, firstAt: iso(a.firstAt), lastAt: iso(a.lastAt) })) };
    },
  );

  app.post<{ Params: { key: string } }>(
    '/api/v1/alerts/:key/clear',
    {
      preHandler: write,
      schema: {
        tags: alertTags,
        summary: 'Clear an open alert (by its dedup key, URL-encoded)',
        params: { type: 'object', properties: { key: { type: 'string', minLength: 1 } }, required: ['key'] },
        response: { 200: alertSchema, ...errorResponses(404) },
      },
    },
    async (request) => {
      const by = principalOf(request)?.id ?? 'operator';
      const a = engine.alerts.clear(request.params.key, `operator:${by}`);
      if (a === undefined) throw new TwinhubError(Errors.ALERT_NOT_FOUND, `no open alert ${request.params.key}`);
      return { ...a, firstAt: iso(a.firstAt), lastAt: iso(a.lastAt) };
    },
  );
};
