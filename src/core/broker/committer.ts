// Groups the store writes of one event-loop turn into one commit and releases that turn's
// acknowledgements (PUBACK, PUBREC, SUBACK…) only when the commit is durable, in the order they
// were registered (MQTT 5.0 §4.6: PUBACKs in the order the PUBLISHes were received). A commit that
// fails releases its waiters as failures: the caller answers 0x80 (5.0) or closes (3.1.1), and
// nothing is acknowledged that is not stored (DESIGN.md "Writes and acks").
import type { BrokerStore, StoreOp } from '../../ports/broker-store.js';

/** Whoever waits for an acknowledgement to be released; implemented by channels. */
export interface AckWaiter {
  /** The commit holding the write this ack depends on is durable: send `ack`. */
  ackReady(ack: Buffer): void;
  /** The commit failed: the ack must not be sent as a success. */
  ackFailed(ack: Buffer, error: unknown): void;
}

interface Batch {
  ops: StoreOp[];
  waiters: AckWaiter[];
  acks: Buffer[];
}

export class Committer {
  private current: Batch | null = null;
  private scheduled = false;
  /** Settlement of the batches in flight, in order; each batch's acks chain after the previous one's. */
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  storeWritable = true;
  lastError: string | undefined;
  commits = 0;
  opsCommitted = 0;
  failures = 0;

  constructor(
    private readonly store: BrokerStore,
    private readonly onHealthChange: (writable: boolean, error: string | undefined) => void,
  ) {}

  /** Ops waiting for the next commit (callers compare before/after to know if they wrote). */
  get pendingOps(): number {
    return this.current === null ? 0 : this.current.ops.length;
  }

  /** True while an ack registered now would wait for a commit. */
  get busy(): boolean {
    return this.current !== null || this.inFlight > 0;
  }

  add(op: StoreOp): void {
    this.batch().ops.push(op);
  }

  /** Send `ack` through `waiter` once every write registered so far is durable. */
  afterCommit(waiter: AckWaiter, ack: Buffer): void {
    const b = this.batch();
    b.waiters.push(waiter);
    b.acks.push(ack);
  }

  /** Commit whatever is pending now and wait for every commit so far. */
  async flush(): Promise<void> {
    this.run();
    await this.tail;
  }

  private batch(): Batch {
    let b = this.current;
    if (b === null) {
      b = this.current = { ops: [], waiters: [], acks: [] };
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.runBound);
      }
    }
    return b;
  }

  private readonly runBound = (): void => this.run();

  private run(): void {
    this.scheduled = false;
    const b = this.current;
    if (b === null) return;
    this.current = null;
    this.inFlight++;
    const ops = b.ops;
    // Issue the commit now (stores settle commits in call order, so commits overlap on the
    // writer thread), but release this batch's acks only after every earlier batch's.
    const written = ops.length === 0 ? undefined : this.store.commit(ops);
    this.tail = this.tail.then(
      () => written,
    ).then(
      () => this.settle(b, undefined),
      (err: unknown) => this.settle(b, err ?? new Error('store commit failed')),
    );
  }

  private settle(b: Batch, err: unknown): void {
    this.inFlight--;
    if (err === undefined) {
      this.commits++;
      this.opsCommitted += b.ops.length;
      if (!this.storeWritable && b.ops.length > 0) {
        this.storeWritable = true;
        this.lastError = undefined;
        this.onHealthChange(true, undefined);
      }
      for (let i = 0; i < b.waiters.length; i++) b.waiters[i]!.ackReady(b.acks[i]!);
    } else {
      this.failures++;
      const message = err instanceof Error ? err.message : String(err);
      this.lastError = message;
      if (this.storeWritable) {
        this.storeWritable = false;
        this.onHealthChange(false, message);
      }
      for (let i = 0; i < b.waiters.length; i++) b.waiters[i]!.ackFailed(b.acks[i]!, err);
    }
  }
}
