// Health endpoints for orchestrators (Kubernetes probes, load balancers):
//   /healthz  liveness: 200 while the process can answer at all.
//   /readyz   readiness: 200 only when every listener is up and the store accepts writes; 503
//             with the failing checks otherwise (e.g. while starting, stopping, or after a
//             failed store commit), so traffic is sent elsewhere until it recovers.
import type { FastifyPluginAsync } from 'fastify';

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

export interface HealthPluginOptions {
  readiness: () => Readiness;
}

export const healthPlugin: FastifyPluginAsync<HealthPluginOptions> = async (app, opts) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = opts.readiness();
    reply.code(r.ready ? 200 : 503);
    return { status: r.ready ? 'ready' : 'not-ready', checks: r.checks };
  });
};
