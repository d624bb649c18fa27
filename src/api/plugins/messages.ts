// POST /api/v1/publish: back ends talk to devices without an MQTT client. The message takes the
// same path as one from an MQTT client (retained store, twins/telemetry/rules listeners,
// subscribers); for QoS 1/2 the response comes after the writes it caused are durable, as a
// PUBACK would. GET /api/v1/stats: broker and registry counters.
import type { FastifyPluginAsync } from 'fastify';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { QoS, UserProperty } from '../../codec/mqtt/packets.js';
import type { Broker } from '../../core/broker/broker.js';
import type { Message } from '../../core/message.js';
import type { Registry } from '../../core/registry/registry.js';
import type { ApiPluginOptions } from '../context.js';
import { principalOf } from '../context.js';
import { errorResponses } from '../schemas.js';

export interface MessagesPluginOptions extends ApiPluginOptions {
  broker: Broker;
  registry: Registry;
}

interface PublishBody {
  topic: string;
  payload?: unknown;
  encoding?: 'utf8' | 'base64' | 'json';
  qos?: QoS;
  retain?: boolean;
  userProperties?: Record<string, string> | [string, string][];
  contentType?: string;
  responseTopic?: string;
  messageExpiryInterval?: number;
}

function payloadOf(b: PublishBody): Buffer {
  const enc = b.encoding ?? (typeof b.payload === 'string' || b.payload === undefined ? 'utf8' : 'json');
  if (enc === 'json') return Buffer.from(JSON.stringify(b.payload ?? null));
  if (b.payload === undefined) return Buffer.alloc(0);
  if (typeof b.payload !== 'string') throw new TwinhubError(Errors.BAD_REQUEST, `payload: must be a string with encoding ${enc}`, { field: 'payload' });
  if (enc === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b.payload)) throw new TwinhubError(Errors.BAD_REQUEST, 'payload: not valid base64', { field: 'payload' });
    return Buffer.from(b.payload, 'base64');
  }
  return Buffer.from(b.payload, 'utf8');
}

export const messagesPlugin: FastifyPluginAsync<MessagesPluginOptions> = async (app, opts) => {
  const { broker, registry, auth } = opts;

  app.post<{ Body: PublishBody }>(
    '/api/v1/publish',
    {
      preHandler: auth.require('operator'),
      bodyLimit: broker.config.limits.maxPacketSize + 64 * 1024,
      schema: {
        tags: ['messages'],
        summary: 'Publish a message to devices',
        description: '`payload` is text (`encoding: utf8`, default for strings), base64 (`encoding: base64`) or any JSON value (`encoding: json`, default for non-strings). QoS 1/2 answer once the writes the message caused are durable.',
        body: {
          type: 'object',
          required: ['topic'],
          properties: {
            topic: { type: 'string', minLength: 1, maxLength: 65535 },
            payload: {},
            encoding: { type: 'string', enum: ['utf8', 'base64', 'json'] },
            qos: { type: 'integer', enum: [0, 1, 2], default: 0 },
            retain: { type: 'boolean', default: false },
            userProperties: {
              anyOf: [
                { type: 'object', additionalProperties: { type: 'string' } },
                { type: 'array', items: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2 } },
              ],
            },
            contentType: { type: 'string' },
            responseTopic: { type: 'string' },
            messageExpiryInterval: { type: 'integer', minimum: 0, maximum: 4294967295 },
          },
        },
        response: { 200: { type: 'object', properties: { topic: { type: 'string' }, bytes: { type: 'integer' }, subscribers: { type: 'integer' } } }, ...errorResponses(413, 503) },
      },
    },
    async (request) => {
      const b = request.body;
      const bad = broker.validateTopic(b.topic);
      if (bad !== null) throw new TwinhubError(Errors.TOPIC_INVALID, `topic: ${bad}`, { field: 'topic' });
      const badResponse = b.responseTopic === undefined ? null : broker.validateTopic(b.responseTopic);
      if (badResponse !== null) throw new TwinhubError(Errors.TOPIC_INVALID, `responseTopic: ${badResponse}`, { field: 'responseTopic' });
      const payload = payloadOf(b);
      if (payload.length > broker.config.limits.maxPacketSize) {
        throw new TwinhubError(Errors.PAYLOAD_TOO_LARGE, `payload: ${payload.length} bytes is more than limits.maxPacketSize (${broker.config.limits.maxPacketSize})`);
      }
      const now = broker.now();
      const properties: Message['properties'] = {};
      if (b.userProperties !== undefined) {
        properties.userProperties = Array.isArray(b.userProperties) ? b.userProperties.map(([k, v]) => [k, v] as UserProperty) : Object.entries(b.userProperties);
      }
      if (b.contentType !== undefined) properties.contentType = b.contentType;
      if (b.responseTopic !== undefined) properties.responseTopic = b.responseTopic;
      const qos = b.qos ?? 0;
      const msg: Message = {
        topic: b.topic,
        payload,
        qos,
        retain: b.retain ?? false,
        origin: { protocol: 'http', clientId: `api:${principalOf(request)?.id ?? ''}` },
        properties: Object.keys(properties).length === 0 ? undefined : properties,
        receivedAt: now,
        expiresAt: b.messageExpiryInterval !== undefined && b.messageExpiryInterval > 0 ? now + b.messageExpiryInterval * 1000 : 0,
        priority: 0,
        hops: 0,
        frame: undefined,
      };
      broker.messagesIn++;
      const subscribers = broker.publish(msg);
      if (qos > 0) {
        await broker.committer.flush();
        if (!broker.health().storeWritable) throw new TwinhubError(Errors.STORE_WRITE_FAILED, 'the message could not be stored; see /readyz');
      }
      return { topic: b.topic, bytes: payload.length, subscribers };
    },
  );

  app.get(
    '/api/v1/stats',
    {
      preHandler: auth.require('read-only'),
      schema: { tags: ['stats'], summary: 'Broker and registry counters', response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses() } },
    },
    async () => ({ broker: broker.stats(), registry: { devices: await registry.store.countDevices(), ...registry.stats() } }),
  );
};
