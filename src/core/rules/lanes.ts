// Priority lanes: one bounded FIFO per rule priority, taken from the highest priority first.
// Under overload (more work queued than a drain runs) alerts of a priority-100 rule run before
// the telemetry copies of a priority-0 rule. Each lane counts what it queued, ran and dropped:
// a job offered to a full lane is dropped (tail drop) and counted, never blocks the caller.

/** A FIFO on a growing ring: O(1) push and shift without Array#shift's copying. */
class Fifo<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  size = 0;

  push(v: T): void {
    if (this.size === this.items.length) {
      const next = new Array<T | undefined>(this.items.length * 2);
      for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) % this.items.length];
      this.items = next;
      this.head = 0;
    }
    this.items[(this.head + this.size) % this.items.length] = v;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const v = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return v;
  }
}

export interface LaneStats {
  priority: number;
  /** Jobs waiting now. */
  depth: number;
  queued: number;
  ran: number;
  /** Jobs refused because the lane was full. */
  dropped: number;
}

class Lane<T> {
  readonly q = new Fifo<T>();
  queued = 0;
  ran = 0;
  dropped = 0;
  constructor(readonly priority: number) {}
}

export class PriorityLanes<T> {
  /** Sorted by priority, highest first. */
  private lanes: Lane<T>[] = [];
  private readonly byPriority = new Map<number, Lane<T>>();
  private total = 0;

  /** `capacity`: the most jobs one lane holds. */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.total;
  }

  /** Queue a job; false (and counted) when its lane is full. */
  push(priority: number, job: T): boolean {
    let lane = this.byPriority.get(priority);
    if (lane === undefined) {
      lane = new Lane<T>(priority);
      this.byPriority.set(priority, lane);
      this.lanes.push(lane);
      this.lanes.sort((a, b) => b.priority - a.priority);
    }
    if (lane.q.size >= this.capacity) {
      lane.dropped++;
      return false;
    }
    lane.q.push(job);
    lane.queued++;
    this.total++;
    return true;
  }

  /** The oldest job of the highest non-empty lane. */
  shift(): T | undefined {
    if (this.total === 0) return undefined;
    for (let i = 0; i < this.lanes.length; i++) {
      const lane = this.lanes[i]!;
      if (lane.q.size === 0) continue;
      this.total--;
      lane.ran++;
      return lane.q.shift();
    }
    return undefined;
  }

  stats(): LaneStats[] {
    return this.lanes.map((l) => ({ priority: l.priority, depth: l.q.size, queued: l.queued, ran: l.ran, dropped: l.dropped }));
  }
}
