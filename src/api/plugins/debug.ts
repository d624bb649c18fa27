// Profiling a running hub, for admins: a V8 CPU profile over N seconds and a heap snapshot,
// downloaded over the API so a slow or growing hub is diagnosed in place (open the files in Chrome
// DevTools, speedscope, or VS Code). One job at a time per process: a second one answers 409.
//   POST /api/v1/debug/cpu-profile?seconds=N   (1 ≤ N ≤ 60, default 10) → .cpuprofile JSON
//   POST /api/v1/debug/heap-snapshot            → .heapsnapshot JSON, streamed
import type { FastifyPluginAsync } from 'fastify';
import { Errors, TwinhubError } from '../../common/errors.js';
import { cpuProfileFor, heapSnapshot, profilerBusy, ProfilerBusyError } from '../../obs/profile.js';
import type { ApiPluginOptions } from '../context.js';

const PROFILER_BUSY = Errors.PROFILER_BUSY;

export const MAX_PROFILE_SECONDS = 60;

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

function busyError(running: string): TwinhubError {
  return new TwinhubError(PROFILER_BUSY, `a ${running} is already running in this hub; try again when it has finished`, { running });
}

export const debugPlugin: FastifyPluginAsync<ApiPluginOptions> = async (app, opts) => {
  const admin = opts.auth.require('admin');
  // A profile still recording when the server closes ends early, so closing does not wait a minute.
  const closing = new AbortController();
  app.addHook('onClose', async () => closing.abort());

  app.post(
    '/api/v1/debug/cpu-profile',
    {
      preHandler: admin,
      schema: {
        tags: ['debug'],
        summary: 'Record a V8 CPU profile of the hub for N seconds (admin)',
        description: 'Answers when the profile ends with a .cpuprofile document (Chrome DevTools, speedscope). 409 TH_PROFILER_BUSY while another profile or heap snapshot runs.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { seconds: { type: 'integer', minimum: 1, maximum: MAX_PROFILE_SECONDS, default: 10 } },
        },
      },
    },
    async (request, reply) => {
      const { seconds } = request.query as { seconds: number };
      let profile;
      try {
        profile = await cpuProfileFor(seconds * 1000, closing.signal);
      } catch (err) {
        if (err instanceof ProfilerBusyError) throw busyError(err.running);
        throw err;
      }
      reply.header('content-type', 'application/json');
      reply.header('content-disposition', `attachment; filename="twinhub-${stamp()}.cpuprofile"`);
      return JSON.stringify(profile);
    },
  );

  app.post(
    '/api/v1/debug/heap-snapshot',
    {
      preHandler: admin,
      schema: {
        tags: ['debug'],
        summary: 'Take a V8 heap snapshot of the hub (admin)',
        description: 'Streams a .heapsnapshot document. The hub pauses while the snapshot is taken (about a second per few hundred MB of heap). 409 TH_PROFILER_BUSY while another profile or snapshot runs.',
      },
    },
    async (_request, reply) => {
      const running = profilerBusy();
      if (running !== undefined) throw busyError(running);
      let stream;
      try {
        stream = heapSnapshot();
      } catch (err) {
        if (err instanceof ProfilerBusyError) throw busyError(err.running);
        throw err;
      }
      reply.header('content-type', 'application/json');
      reply.header('content-disposition', `attachment; filename="twinhub-${stamp()}.heapsnapshot"`);
      return reply.send(stream);
    },
  );
};
