// A session's outbound queue: messages waiting for an in-flight slot (QoS 1/2 beyond the
// Receive Maximum window), for a slow subscriber's socket to drain, or for an offline
// persistent session to reconnect. Priority classes (config.priorities) are served highest
// first; within a class order is kept (MQTT 5.0 §4.6 ordering applies per topic, and a topic
// always maps to one class). When full, the lowest class loses first, so an alarm is never
// stuck behind routine traffic to a slow subscriber. Created lazily: most sessions never queue.

export interface Queued<T> {
  item: T;
  priority: number;
}

/** FIFO of one class; a head index instead of shift() so dequeue is O(1). */
class Lane<T> {
  items: T[] = [];
  head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head]!;
    (this.items as (T | undefined)[])[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }
  /** Remove the first item the predicate accepts. */
  removeFirst(pred: (x: T) => boolean): T | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const x = this.items[i]!;
      if (pred(x)) {
        this.items.splice(i, 1);
        return x;
      }
    }
    return undefined;
  }
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

export class OutboundQueue<T> {
  private readonly lanes: Lane<T>[] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  /**
   * Add `item` in class `priority` (0 = highest). When the queue holds `max` items, the oldest
   * item of the lowest non-empty class is evicted if that class is lower than the new item's
   * (preferring an evictable item, e.g. QoS 0, when `preferEvict` says so); otherwise the new
   * item is refused. Returns what was dropped: the evicted item, the new item, or undefined.
   */
  push(item: T, priority: number, max: number, preferEvict?: (x: T) => boolean): T | undefined {
    if (this.count >= max) {
      const low = this.lowestNonEmpty();
      if (low < 0 || low <= priority) {
        // Same or higher class than the newcomer: keep what is queued, refuse the new item
        // (order within a class is kept; an older message is not displaced by a newer one).
        if (low === priority && preferEvict && !preferEvict(item)) {
          const ev = this.lanes[low]!.removeFirst(preferEvict);
          if (ev !== undefined) {
            this.count--;
            this.enqueue(item, priority);
            return ev;
          }
        }
        return item;
      }
      const lane = this.lanes[low]!;
      const evicted = (preferEvict && lane.removeFirst(preferEvict)) ?? lane.shift();
      this.count--;
      this.enqueue(item, priority);
      return evicted;
    }
    this.enqueue(item, priority);
    return undefined;
  }

  /** Put an item back at the head of its class (used when a send is deferred). */
  unshift(item: T, priority: number): void {
    const lane = this.lane(priority);
    if (lane.head > 0) {
      lane.head--;
      lane.items[lane.head] = item;
    } else {
      lane.items.unshift(item);
    }
    this.count++;
  }

  shift(): T | undefined {
    for (let p = 0; p < this.lanes.length; p++) {
      const lane = this.lanes[p];
      if (lane !== undefined && lane.length > 0) {
        this.count--;
        return lane.shift();
      }
    }
    return undefined;
  }

  peek(): T | undefined {
    for (let p = 0; p < this.lanes.length; p++) {
      const lane = this.lanes[p];
      if (lane !== undefined && lane.length > 0) return lane.peek();
    }
    return undefined;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const lane of this.lanes) if (lane !== undefined) yield* lane;
  }

  /** Remove every item the predicate accepts; returns them. */
  removeWhere(pred: (x: T) => boolean): T[] {
    const out: T[] = [];
    for (const lane of this.lanes) {
      if (lane === undefined) continue;
      const keep: T[] = [];
      for (const x of lane) (pred(x) ? out : keep).push(x);
      lane.items = keep;
      lane.head = 0;
    }
    this.count -= out.length;
    return out;
  }

  private enqueue(item: T, priority: number): void {
    this.lane(priority).push(item);
    this.count++;
  }

  private lane(priority: number): Lane<T> {
    let lane = this.lanes[priority];
    if (lane === undefined) lane = this.lanes[priority] = new Lane<T>();
    return lane;
  }

  private lowestNonEmpty(): number {
    for (let p = this.lanes.length - 1; p >= 0; p--) {
      const lane = this.lanes[p];
      if (lane !== undefined && lane.length > 0) return p;
    }
    return -1;
  }
}
