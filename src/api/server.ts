// The HTTP server (fastify). Each resource is a plugin under api/plugins/; this file only
// assembles them, installs the RFC 9457 error handling and binds the listener.
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { formatHostPort } from '../config/address.js';
import type { ListenAddress } from '../config/types.js';
import { listenError } from '../transport/listener.js';
import { healthPlugin, type Readiness } from './plugins/health.js';
import { installProblemHandlers } from './problem.js';

export interface ApiDeps {
  log: Logger;
  /** The hub's readiness (listeners up, store writable). */
  readiness: () => Readiness;
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
  await app.register(healthPlugin, { readiness: deps.readiness });
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
