// JSON schemas shared by the API plugins; they validate requests and describe responses in the
// OpenAPI document. Bodies are checked for shape here and for meaning in core (device-model.ts,
// credential-input.ts), which refuses unknown fields with a problem naming them: the schemas
// therefore leave additionalProperties open rather than letting fastify strip fields silently.

/** The members of an RFC 9457 problem document; plugins extend it (rules add `errors`). */
export const problemProperties = {
  type: { type: 'string' },
  title: { type: 'string' },
  status: { type: 'integer' },
  detail: { type: 'string' },
  code: { type: 'string' },
  instance: { type: 'string' },
} as const;

/**
 * A problem document inline, for plugins that must not depend on the shared `Problem#` schema
 * being registered (they are also mounted on bare apps in tests).
 */
export const problemBody = {
  type: 'object',
  description: 'RFC 9457 problem document with the stable Twinhub error `code`.',
  properties: problemProperties,
  required: ['type', 'title', 'status', 'detail', 'code'],
} as const;

export const problemSchema = { $id: 'Problem', ...problemBody } as const;

export const aclRuleSchema = {
  $id: 'AclRule',
  type: 'object',
  properties: {
    filter: { type: 'string', description: 'Topic filter; placeholders {deviceId}, {clientId}, {username}, {type}, {group}, {tag:NAME}.' },
    action: { type: 'string', enum: ['publish', 'subscribe', 'all'] },
    allow: { type: 'boolean' },
  },
  required: ['filter', 'action', 'allow'],
} as const;

export const deviceSchema = {
  $id: 'Device',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string' },
    group: { type: 'string' },
    tags: { type: 'object', additionalProperties: { type: 'string' } },
    enabled: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    acl: { type: 'array', items: { $ref: 'AclRule#' } },
    limits: {
      type: 'object',
      properties: { messagesPerSecond: { type: 'integer' }, bytesPerSecond: { type: 'integer' } },
    },
    connected: { type: 'boolean' },
    lastSeen: { type: 'string', format: 'date-time' },
    protocol: { type: 'string' },
    remoteAddress: { type: 'string' },
  },
  required: ['id', 'tags', 'enabled', 'createdAt', 'updatedAt', 'connected'],
} as const;

export const deviceInputSchema = {
  type: 'object',
  description: 'Device fields; on PATCH absent fields stay and null clears (RFC 7396 merge patch). Unknown fields are refused.',
  properties: {
    id: { type: 'string', maxLength: 128 },
    name: { type: ['string', 'null'] },
    type: { type: ['string', 'null'] },
    group: { type: ['string', 'null'] },
    tags: { type: ['object', 'null'], additionalProperties: { type: ['string', 'null'] }, description: 'Merged member by member; a null member removes that tag.' },
    enabled: { type: 'boolean' },
    acl: { type: ['array', 'null'], items: { $ref: 'AclRule#' } },
    limits: { type: ['object', 'null'] },
  },
} as const;

export const credentialSchema = {
  $id: 'Credential',
  type: 'object',
  properties: {
    id: { type: 'string' },
    deviceId: { type: 'string' },
    type: { type: 'string', enum: ['password', 'token', 'x509', 'jwt-key'] },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
    label: { type: 'string' },
    fingerprint: { type: 'string' },
    subject: { type: 'string' },
    alg: { type: 'string' },
    key: { type: 'string' },
    token: { type: 'string', description: 'The generated token: shown once, in the creation response only.' },
  },
  required: ['id', 'deviceId', 'type', 'createdAt'],
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 256 } },
  required: ['id'],
} as const;

export const SHARED_SCHEMAS = [problemSchema, aclRuleSchema, deviceSchema, credentialSchema] as const;

/** The error responses every authenticated route can give. */
export function errorResponses(...statuses: number[]): Record<number, { $ref: string }> {
  const out: Record<number, { $ref: string }> = {};
  for (const s of [400, 401, 403, 429, ...statuses]) out[s] = { $ref: 'Problem#' };
  return out;
}
