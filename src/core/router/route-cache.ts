// A per-topic cache of routing results (matching subscribers, ACL verdict, priority class…), so
// the trie is walked once per distinct topic rather than once per message. Any change that can
// alter a result (subscribe, unsubscribe, ACL or rule change) calls invalidate(), which bumps an
// epoch; the entries are dropped lazily on the next access, so a burst of N subscriptions costs N
// counter increments and one clear.
//
// Bounded by two generations instead of a full clear when full: new entries go to `young`; when
// `young` holds half the budget it becomes `old` and the previous `old` is dropped. A hit in `old`
// moves the entry back to `young`, so topics in use survive and a full cache never turns every
// hot topic into a miss at once. At most maxEntries results are held.

/** A route cache; R must not be undefined (undefined means "not cached"). */
export class RouteCache<R> {
  readonly maxEntries: number;
  /** Lookups answered from the cache. */
  hits = 0;
  /** Lookups that found nothing (the caller then computes and set()s the route). */
  misses = 0;
  /** Generations dropped because the cache was full. */
  evictions = 0;
  private young = new Map<string, R>();
  private old = new Map<string, R>();
  private readonly half: number;
  private epochNow = 0;
  private epochSeen = 0;

  constructor(maxEntries: number) {
    if (!(maxEntries >= 2)) throw new RangeError('RouteCache maxEntries must be at least 2');
    this.maxEntries = maxEntries;
    this.half = Math.floor(maxEntries / 2);
  }

  /** Bumped by every invalidate(); a result computed under an older epoch is stale. */
  get epoch(): number {
    return this.epochNow;
  }

  /** Number of cached results (stale ones included until the next access drops them). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  get(topic: string): R | undefined {
    if (this.epochSeen !== this.epochNow) this.drop();
    let r = this.young.get(topic);
    if (r !== undefined) {
      this.hits++;
      return r;
    }
    r = this.old.get(topic);
    if (r !== undefined) {
      this.hits++;
      this.old.delete(topic);
      this.store(topic, r);
      return r;
    }
    this.misses++;
    return undefined;
  }

  set(topic: string, r: R): void {
    if (this.epochSeen !== this.epochNow) this.drop();
    this.store(topic, r);
  }

  /** Marks every cached result stale. */
  invalidate(): void {
    this.epochNow++;
  }

  private store(topic: string, r: R): void {
    const young = this.young;
    if (young.size >= this.half && !young.has(topic)) {
      this.old = young;
      this.young = new Map();
      this.evictions++;
    }
    this.young.set(topic, r);
  }

  private drop(): void {
    this.young.clear();
    this.old.clear();
    this.epochSeen = this.epochNow;
  }
}
