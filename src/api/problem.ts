// HTTP errors as RFC 9457 problem documents ("application/problem+json"): `type` (a URI naming
// the problem kind), `title`, `status`, `detail`, plus the stable Twinhub error `code`.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, TwinhubError } from '../common/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
}

/** The problem type URI of an error code (RFC 9457 §3.1.1: a URI; a URN needs no server). */
export function problemType(code: string): string {
  return `urn:twinhub:problem:${code}`;
}

export function problem(status: number, code: string, detail: string, instance?: string): Problem {
  const p: Problem = { type: problemType(code), title: STATUS_CODES[status] ?? 'Error', status, detail, code };
  if (instance !== undefined) p.instance = instance;
  return p;
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(p);
}

function toProblem(err: FastifyError | TwinhubError | Error, request: FastifyRequest): Problem {
  if (err instanceof TwinhubError) return problem(err.status, err.code, err.message, request.url);
  const fe = err as FastifyError;
  if (fe.validation) return problem(400, Errors.BAD_REQUEST.code, fe.message, request.url);
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  if (status >= 500) return problem(status, Errors.INTERNAL.code, 'internal error; see the hub log', request.url);
  return problem(status, fe.code ?? Errors.BAD_REQUEST.code, fe.message, request.url);
}

/** Route every error and unknown route of the app (and its plugins) to a problem document. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const p = toProblem(err, request);
    if (p.status >= 500) request.log.error({ err, url: request.url }, 'HTTP request failed');
    return sendProblem(reply, p);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, Errors.NOT_FOUND.code, `no route ${request.method} ${request.url}`, request.url)),
  );
}
