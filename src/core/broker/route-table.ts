// Which sessions receive a topic: the subscription trie, shared subscription groups and a
// per-topic route cache invalidated by any (un)subscribe. A cached entry is what the message path
// reads: matching sessions already merged (one copy per session for overlapping subscriptions,
// MQTT 5.0 §3.3.4), shared groups, and the topic's priority class.
import type { StoredSubscription } from '../../ports/broker-store.js';
import type { Session } from '../session/session.js';
import type { SharedGroup } from '../router/shared.js';
import { SharedSubscriptions } from '../router/shared.js';
import { TopicTrie } from '../router/trie.js';
import { parseShared } from '../router/topic.js';
import type { PriorityClassifier } from './priorities.js';
import { setBounded } from '../../common/bounded-map.js';

export interface SubEntry {
  session: Session;
  sub: StoredSubscription;
}

/** One session's matching subscriptions for a topic. `more` is set only when several match. */
export interface RouteTarget {
  session: Session;
  sub: StoredSubscription;
  more: StoredSubscription[] | null;
}

export interface RouteEntry {
  targets: RouteTarget[];
  groups: SharedGroup<SubEntry>[];
  priority: number;
}

const MAX_CACHED_ROUTES = 100_000;

export class RouteTable {
  private readonly trie = new TopicTrie<SubEntry>();
  private readonly shared = new SharedSubscriptions<SubEntry>();
  private readonly cache = new Map<string, RouteEntry>();
  private building: Map<Session, RouteTarget> | null = null;
  private buildingGroups: SharedGroup<SubEntry>[] | null = null;
  cacheHits = 0;
  cacheMisses = 0;
  /** Increases on every change of the subscriptions (or priorities): a route read at one epoch holds until the next. */
  epoch = 0;

  constructor(private priorities: PriorityClassifier) {}

  /** New priority classes (config reload): cached routes carry the old classes, so they go. */
  setPriorities(priorities: PriorityClassifier): void {
    this.priorities = priorities;
    this.invalidate();
  }

  get subscriptionCount(): number {
    return this.trie.size + this.shared.size;
  }

  /** Adds or replaces the session's subscription (keyed by its filter, shared prefix included). */
  add(session: Session, sub: StoredSubscription): void {
    const s = parseShared(sub.filter);
    if (s === null) this.trie.add(sub.filter, session.clientId, { session, sub });
    else this.shared.add(s.group, s.filter, session.clientId, { session, sub });
    this.invalidate();
  }

  remove(session: Session, filter: string): boolean {
    const s = parseShared(filter);
    const removed =
      s === null ? this.trie.remove(filter, session.clientId) : this.shared.remove(s.group, s.filter, session.clientId);
    if (removed !== undefined) this.invalidate();
    return removed !== undefined;
  }

  /** Subscriptions and shared memberships currently held for this client id. */
  has(session: Session, filter: string): boolean {
    const s = parseShared(filter);
    return s === null
      ? this.trie.get(filter, session.clientId) !== undefined
      : this.shared.getGroup(s.group, s.filter)?.has(session.clientId) === true;
  }

  invalidate(): void {
    this.epoch++;
    if (this.cache.size > 0) this.cache.clear();
  }

  /** The route of a topic name (validated by the caller). */
  lookup(topic: string): RouteEntry {
    const hit = this.cache.get(topic);
    if (hit !== undefined) {
      this.cacheHits++;
      return hit;
    }
    this.cacheMisses++;
    const entry = this.build(topic);
    setBounded(this.cache, MAX_CACHED_ROUTES, topic, entry);
    return entry;
  }

  private build(topic: string): RouteEntry {
    const byS = (this.building = new Map());
    const groups: SharedGroup<SubEntry>[] = (this.buildingGroups = []);
    this.trie.match(topic, this.collect);
    this.shared.match(topic, this.collectGroup);
    this.building = null;
    this.buildingGroups = null;
    return { targets: [...byS.values()], groups, priority: this.priorities.classify(topic) };
  }

  private readonly collect = (_key: string, e: SubEntry): void => {
    const byS = this.building!;
    const t = byS.get(e.session);
    if (t === undefined) byS.set(e.session, { session: e.session, sub: e.sub, more: null });
    else (t.more ??= []).push(e.sub);
  };

  private readonly collectGroup = (g: SharedGroup<SubEntry>): void => {
    this.buildingGroups!.push(g);
  };
}
