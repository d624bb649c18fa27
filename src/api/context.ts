// What every API plugin receives from the server: the operator authentication (roles) and the
// conventions of route options. A resource plugin registers its routes with
//   { preHandler: opts.auth.require('operator'), schema: { tags: ['devices'], summary, params,
//     querystring, body, response } }
// so every route is authenticated, validated and described in the OpenAPI document
// (/api/v1/openapi.json, generated from the route schemas).
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { ApiRole } from '../ports/registry-store.js';

/** Who made a request: an API key or a JWT bearer token, with its role. */
export interface ApiPrincipal {
  kind: 'api-key' | 'jwt';
  /** API key id, or the JWT `sub`. */
  id: string;
  role: ApiRole;
}

export const ROLE_RANK: Readonly<Record<ApiRole, number>> = { 'read-only': 0, operator: 1, admin: 2 };

export interface ApiAuth {
  /**
   * A preHandler that answers 401 (no or unknown credential, problem code TH_UNAUTHENTICATED) or
   * 403 (role below `role`, TH_FORBIDDEN) or 429 (the key's request rate exceeded,
   * TH_RATE_LIMITED), and otherwise sets request.principal.
   */
  require(role: ApiRole): preHandlerAsyncHookHandler;
}

/** The principal of an authenticated request (set by ApiAuth.require's preHandler). */
export function principalOf(request: FastifyRequest): ApiPrincipal | undefined {
  return (request as FastifyRequest & { principal?: ApiPrincipal }).principal;
}

export interface ApiPluginOptions {
  auth: ApiAuth;
}
