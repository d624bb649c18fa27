// One immutable generation of the enabled rules: a topic trie of their FROM filters and a cache
// topic → interested rules (with what those rules need from the message). The engine swaps whole
// generations, so a message is evaluated against one consistent set, and the cache needs no
// invalidation beyond being thrown away with its generation.
import { TopicTrie } from '../router/trie.js';
import type { RuleRuntime } from './rule-runtime.js';

export interface TopicRules {
  /** Interested rules, highest priority first. */
  readonly rules: readonly RuleRuntime[];
  readonly needsJson: boolean;
  /** Some rule needs the device record (needsDevice) or the twin (needsTwin): evaluated after an async fetch. */
  readonly needsDevice: boolean;
  readonly needsTwin: boolean;
}

const NONE: TopicRules = { rules: [], needsJson: false, needsDevice: false, needsTwin: false };
/** Distinct topics cached at most; past it the cache restarts (a fleet's topics are bounded in practice). */
const CACHE_MAX = 200_000;

export class RuleSet {
  readonly active: readonly RuleRuntime[];
  readonly empty: boolean;
  private readonly trie = new TopicTrie<RuleRuntime>();
  private cache = new Map<string, TopicRules>();

  constructor(rules: readonly RuleRuntime[]) {
    this.active = [...rules].sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));
    this.empty = this.active.length === 0;
    for (const r of this.active) r.compiled.from.forEach((f, i) => this.trie.add(f, `${r.id}\u0000${i}`, r));
  }

  /** The rules whose FROM matches the topic; one Map lookup once the topic was seen. */
  match(topic: string): TopicRules {
    const hit = this.cache.get(topic);
    if (hit !== undefined) return hit;
    const found = new Set<RuleRuntime>();
    this.trie.match(topic, (_k, r) => found.add(r));
    let out = NONE;
    if (found.size > 0) {
      const rules = this.active.filter((r) => found.has(r));
      let needsJson = false;
      let needsDevice = false;
      let needsTwin = false;
      for (const r of rules) {
        const n = r.compiled.needs;
        needsJson ||= n.json || r.clearsNeedJson;
        needsDevice ||= n.device;
        needsTwin ||= n.twin;
      }
      out = { rules, needsJson, needsDevice, needsTwin };
    }
    if (this.cache.size >= CACHE_MAX) this.cache = new Map();
    this.cache.set(topic, out);
    return out;
  }
}
