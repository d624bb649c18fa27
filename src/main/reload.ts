// Live configuration (issue 7): a new validated config is compared key by key with the running
// one. Keys the running parts read at use time are changed in place and the parts that compiled
// something from them are told; keys that need a restart (listeners, the data folder, TLS, keys
// announced to clients in CONNACK) are reported and left as they are, so the running hub keeps
// one consistent configuration. An invalid file never gets here: it is refused by validation
// with the bad key named, and the running config stays.
import { CONFIG_KEYS, getAt, setAt } from '../config/schema.js';
import type { TwinhubConfig } from '../config/types.js';

/**
 * Keys applied without a restart. Not here, on purpose: `limits.receiveMaximum`,
 * `limits.topicAliasMaximum` and `limits.maxPacketSize` are announced to each client in its
 * CONNACK (MQTT 5.0 §3.2.2.3), so changing them under a connected client would make the hub break
 * the contract it gave; listeners, TLS, the data folder and persistence belong to start-up.
 */
const LIVE_KEYS: ReadonlySet<string> = new Set([
  'limits.maxConnections',
  'limits.maxKeepAlive',
  'limits.maxQueuedMessages',
  'limits.maxInflight',
  'limits.maxTopicLevels',
  'limits.maxSessionExpiry',
  'limits.maxOutboundBuffer',
  'acl',
  'priorities',
  'log.level',
  'log.components',
  'registry.clientIdMustMatch',
  'registry.ownTopics',
  'registry.password.costLog2',
  'registry.password.blockSize',
  'registry.password.parallelization',
  'registry.limits.messagesPerSecond',
  'registry.limits.bytesPerSecond',
  'registry.limits.burstSeconds',
  'registry.limits.maxViolations',
  'api.rateLimit',
  'api.rateBurst',
  'telemetry.mappings',
]);

export interface ConfigDiff {
  /** Changed keys applied live. */
  live: string[];
  /** Changed keys that take effect only after a restart. */
  restart: string[];
}

export function diffConfig(running: TwinhubConfig, next: TwinhubConfig): ConfigDiff {
  const diff: ConfigDiff = { live: [], restart: [] };
  for (const k of CONFIG_KEYS) {
    if (JSON.stringify(getAt(running, k.segments)) === JSON.stringify(getAt(next, k.segments))) continue;
    (LIVE_KEYS.has(k.path) ? diff.live : diff.restart).push(k.path);
  }
  return diff;
}

/** Copy the live keys of `diff` from `next` into `running` (deep copies: nothing is shared). */
export function applyLiveKeys(running: TwinhubConfig, next: TwinhubConfig, diff: ConfigDiff): void {
  const byPath = new Map(CONFIG_KEYS.map((k) => [k.path, k.segments]));
  for (const path of diff.live) {
    const segments = byPath.get(path)!;
    setAt(running, segments, structuredClone(getAt(next, segments)));
  }
}
