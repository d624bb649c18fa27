// The default answers of the auth hook points, from the config file alone (until the device
// registry fills them): anonymous access per listener, and static ACL rules.
//
// ACL rules are evaluated in order and the first rule whose action applies and whose filter
// matches decides; no matching rule allows. For publish the rule filter is matched against the
// topic. For subscribe it is matched against the requested filter read as a topic, so a rule
// `secret/#` covers subscriptions `secret/+` and `secret/#` but not `#` (a broader filter is not
// refused for the sake of one of its branches; deny the broad filter with its own rule).
import type { AclRule, TwinhubConfig } from '../../config/types.js';
import type { AuthenticateRequest, AuthResult, ClientInfo, HookPoints } from '../hooks.js';
import { topicMatches } from '../router/topic.js';

const allow = (): boolean => true;

export function aclChecker(rules: readonly AclRule[], action: 'publish' | 'subscribe'): (client: ClientInfo, topic: string) => boolean {
  const applicable = rules.filter((r) => r.action === action || r.action === 'all');
  if (applicable.length === 0) return allow;
  return (_client, topic) => {
    for (const r of applicable) if (topicMatches(r.filter, topic)) return r.allow;
    return true;
  };
}

/**
 * A client no credential store knows: allowed where anonymous access is allowed (as Mosquitto 2
 * with no password file), else refused — 0x87 without credentials, 0x86 (`why`) with unknown ones.
 */
export function authenticateAnonymous(req: AuthenticateRequest, why = 'no credential store configured'): AuthResult {
  if (req.anonymousAllowed) return { ok: true };
  return req.username === undefined && req.password === undefined
    ? { ok: false, reason: 'not-authorized', message: 'anonymous clients are not allowed on this listener' }
    : { ok: false, reason: 'bad-credentials', message: why };
}

export function createStaticAuthHooks(config: Pick<TwinhubConfig, 'acl'>): HookPoints {
  return {
    'client.authenticate': (req) => authenticateAnonymous(req),
    'client.authorize.publish': aclChecker(config.acl, 'publish'),
    'client.authorize.subscribe': aclChecker(config.acl, 'subscribe'),
  };
}
