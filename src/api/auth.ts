// Operator authentication of the HTTP API: `Authorization: Bearer <credential>` where the
// credential is an API key (`thk_…`, or the TWINHUB_ADMIN_KEY text) or, when configured, a JWT
// whose `role` claim is read-only, operator or admin. Each principal has a request-rate token
// bucket; over it requests get 429 with Retry-After.
import type { KeyObject } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { Errors, TwinhubError } from '../common/errors.js';
import type { TwinhubConfig } from '../config/types.js';
import type { JwtAlg } from '../core/registry/credentials/index.js';
import { verifyJwt } from '../core/registry/credentials/index.js';
import { TokenBucket } from '../core/registry/rate-limit.js';
import type { Registry } from '../core/registry/registry.js';
import type { ApiRole } from '../ports/registry-store.js';
import { ROLE_RANK, type ApiAuth, type ApiPrincipal } from './context.js';
import { getOrMake } from '../common/bounded-map.js';

export interface ApiAuthDeps {
  registry: Registry;
  config: Pick<TwinhubConfig, 'api'>;
  /** The operator JWT verification key (config api.jwt.keyFile), when configured. */
  jwtKey?: { alg: JwtAlg; key: KeyObject };
  now?: () => number;
}

/** Every role, lowest first (ROLE_RANK's order). */
const ROLES = Object.keys(ROLE_RANK) as readonly ApiRole[];
const BUCKETS_MAX = 10_000;

export interface ApiAuthCounters {
  unauthenticated: number;
  forbidden: number;
  rateLimited: number;
}

export function createApiAuth(deps: ApiAuthDeps): ApiAuth & { counters: ApiAuthCounters } {
  const now = deps.now ?? Date.now;
  const buckets = new Map<string, TokenBucket>();
  let bucketsRate = deps.config.api.rateLimit;
  let bucketsBurst = deps.config.api.rateBurst;
  const counters: ApiAuthCounters = { unauthenticated: 0, forbidden: 0, rateLimited: 0 };

  async function identify(request: FastifyRequest): Promise<ApiPrincipal> {
    const header = request.headers.authorization;
    if (header === undefined) throw new TwinhubError(Errors.UNAUTHENTICATED, 'missing Authorization header; send `Authorization: Bearer <api key>`');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) throw new TwinhubError(Errors.UNAUTHENTICATED, 'the Authorization header must be `Bearer <api key or token>`');
    const text = m[1]!;
    const jwt = deps.config.api.jwt;
    if (deps.jwtKey !== undefined && text.split('.').length === 3 && !text.startsWith('thk_')) {
      const opts: Parameters<typeof verifyJwt>[2] = { now: now(), clockSkewSeconds: 30 };
      if (jwt.audience !== null) opts.audience = jwt.audience;
      const v = verifyJwt(text, [deps.jwtKey], opts);
      if (!v.ok) throw new TwinhubError(Errors.UNAUTHENTICATED, `bearer token refused: ${v.reason}`);
      if (jwt.issuer !== null && v.claims.iss !== jwt.issuer) throw new TwinhubError(Errors.UNAUTHENTICATED, 'bearer token refused: wrong issuer');
      const role = v.claims.role;
      if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
        throw new TwinhubError(Errors.FORBIDDEN, `bearer token has no valid "role" claim (${ROLES.join(', ')})`);
      }
      const sub = typeof v.claims.sub === 'string' ? v.claims.sub : 'jwt';
      return { kind: 'jwt', id: `jwt:${sub}`, role: role as ApiRole };
    }
    const key = await deps.registry.verifyApiKey(text);
    if (key === undefined) throw new TwinhubError(Errors.UNAUTHENTICATED, 'unknown, revoked or expired API key');
    return { kind: 'api-key', id: key.id, role: key.role };
  }

  // Read per request: a config reload changes the rate of keys seen from then on.
  function admitRate(principal: ApiPrincipal, reply: FastifyReply): void {
    const { rateLimit, rateBurst } = deps.config.api;
    if (rateLimit === 0) return;
    if (bucketsRate !== rateLimit || bucketsBurst !== rateBurst) {
      buckets.clear();
      bucketsRate = rateLimit;
      bucketsBurst = rateBurst;
    }
    const t = now();
    const b = getOrMake(buckets, BUCKETS_MAX, principal.id, () => new TokenBucket(rateLimit, rateBurst, t));
    if (!b.take(1, t)) {
      counters.rateLimited++;
      reply.header('retry-after', String(Math.max(1, Math.ceil(b.msUntil(1, t) / 1000))));
      throw new TwinhubError(Errors.RATE_LIMITED, `more than ${rateLimit} requests per second with this key`);
    }
  }

  return {
    counters,
    require(role: ApiRole): preHandlerAsyncHookHandler {
      return async function requireRole(request, reply) {
        let principal: ApiPrincipal;
        try {
          principal = await identify(request);
        } catch (err) {
          if (err instanceof TwinhubError && err.code === Errors.UNAUTHENTICATED.code) {
            counters.unauthenticated++;
            reply.header('www-authenticate', 'Bearer realm="twinhub"');
          }
          throw err;
        }
        admitRate(principal, reply);
        if (ROLE_RANK[principal.role] < ROLE_RANK[role]) {
          counters.forbidden++;
          throw new TwinhubError(Errors.FORBIDDEN, `this needs the ${role} role; the key has ${principal.role}`);
        }
        (request as FastifyRequest & { principal?: ApiPrincipal }).principal = principal;
      };
    },
  };
}
