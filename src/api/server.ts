// The HTTP server (fastify). Each resource is a plugin under api/plugins/; this file only
// assembles them, installs the RFC 9457 error handling and binds the listener.
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { formatHostPort } from '../config/address.js';
import type { ListenAddress } from '../config/types.js';
import { listenError } from '../transport/listener.js';
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import { VERSION } from '../common/version.js';
import { healthPlugin, type Readiness } from './plugins/health.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { installProblemHandlers } from './problem.js';

export interface ApiDeps {
  log: Logger;
  /** The hub's readiness (listeners up, store writable). */
  readiness: () => Readiness;
  /** Registers the resource plugins (devices, twins, telemetry…); the composition root decides which. */
  resources?: (app: FastifyInstance) => Promise<void>;
}

export interface HttpServer {
  readonly app: FastifyInstance;
  readonly address: ListenAddress;
  /** 'http://127.0.0.1:8080' */
  readonly url: string;
  close(): Promise<void>;
}

/** The app with every plugin registered, not listening (tests use app.inject()). */
export async function buildApiApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Probes hit /healthz every few seconds; per-request lines would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
  });
  installProblemHandlers(app);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // Bodies are validated without type coercion: a number where a string belongs is an error, not
  // silently "3". Query strings and path parameters are text, so they are coerced (limit=7 → 7).
  // Neither strips unknown fields: an unknown query parameter is refused rather than ignored.
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false, validateFormats: false });
  const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false, validateFormats: false });
  for (const schema of SHARED_SCHEMAS) {
    strict.addSchema(schema);
    coercing.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
  // The OpenAPI document is generated from the route schemas, so it cannot drift from what the
  // routes validate. Registered before the routes: @fastify/swagger collects them as they come.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Twinhub API', version: VERSION, description: 'Devices, credentials, ACLs, twins, telemetry and messages of a Twinhub hub. Errors are RFC 9457 problem documents with a stable `code`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (`thk_…`) or an operator JWT with a `role` claim.' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(healthPlugin, { readiness: deps.readiness });
  if (deps.resources !== undefined) await deps.resources(app);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}

export async function startHttpServer(address: ListenAddress, deps: ApiDeps): Promise<HttpServer> {
  const app = await buildApiApp(deps);
  let bound: ListenAddress;
  try {
    await app.listen({ host: address.host, port: address.port });
    const a = app.server.address();
    bound = a !== null && typeof a === 'object' ? { host: a.address, port: a.port } : address;
  } catch (err) {
    await app.close();
    // The same message as the MQTT listeners give, naming --http.
    throw listenError('http', address, err as NodeJS.ErrnoException);
  }
  return {
    app,
    address: bound,
    url: `http://${formatHostPort(bound)}`,
    close: () => app.close(),
  };
}
