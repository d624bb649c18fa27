// GET /metrics: the hub's Prometheus metrics in the text exposition format 0.0.4. Open by default
// like most exporters (Prometheus scrapes without credentials; bind the HTTP listener to a private
// address or set `requireKey`), or behind any API key (read-only is enough) with `requireKey`.
//
// Registering this plugin also times every request of the app (an onResponse hook at the root, so
// routes of every plugin are seen): twinhub_http_request_duration_seconds with the route pattern
// (`/api/v1/devices/:id`), never the URL, as label — an id in a label would make a series per device.
import type { FastifyPluginAsync } from 'fastify';
import type { HubMetrics } from '../../obs/metrics.js';
import type { ApiAuth } from '../context.js';

export interface MetricsPluginOptions {
  metrics: HubMetrics;
  /** Needed when requireKey is true. */
  auth?: ApiAuth;
  /** Answer only requests with an API key or operator token (any role). Default false. */
  requireKey?: boolean;
  /** Time the app's requests (the HTTP histogram). Default true. */
  instrument?: boolean;
}

const plugin: FastifyPluginAsync<MetricsPluginOptions> = async (app, opts) => {
  const { metrics } = opts;
  if (opts.requireKey === true && opts.auth === undefined) throw new Error('metricsPlugin: requireKey needs auth');
  if (opts.instrument ?? true) {
    app.addHook('onResponse', async (request, reply) => {
      // Unmatched URLs (404) share one label value instead of one per URL tried.
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    });
  }
  const guarded = opts.requireKey === true && opts.auth !== undefined;
  app.get(
    '/metrics',
    {
      ...(guarded ? { preHandler: opts.auth!.require('read-only') } : {}),
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text format 0.0.4)',
        description: guarded ? 'Needs an API key of any role.' : 'Unauthenticated (metrics.requireKey is false).',
        ...(guarded ? {} : { security: [] }),
      },
    },
    async (_request, reply) => {
      const text = await metrics.metrics();
      reply.header('content-type', metrics.contentType);
      reply.header('cache-control', 'no-store');
      return text;
    },
  );
};

// Registered in the caller's context (what fastify-plugin does) so the onResponse hook sees the
// routes of sibling plugins, not only its own.
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const metricsPlugin = plugin;
