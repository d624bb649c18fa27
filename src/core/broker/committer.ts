// Groups the store writes of one event-loop turn into one commit (a turn whose messages hold many
// writes of other stores is cut into batches of HOLDS_PER_BATCH, cutIfFull) and releases that
// batch's acknowledgements (PUBACK, PUBREC, SUBACK…) only when the commit is durable, in the order they
// were registered (MQTT 5.0 §4.6: PUBACKs in the order the PUBLISHes were received). A commit that
// fails releases its waiters as failures: the caller answers 0x80 (5.0) or closes (3.1.1), and
// nothing is acknowledged that is not stored (DESIGN.md "Writes and acks").
import type { BrokerStore, StoreOp } from '../../ports/broker-store.js';

/**
 * Held writes per batch before the batch is closed between two messages (cutIfFull): the twin
 * store commits its writes in transactions of 16 (adapters/lmdb/twin-store.ts), so a batch of
 * acks waits for about one of them, and a device's PUBACK leaves with its /update/delta in one
 * socket write instead of after the turn's last transaction (10,000 devices on their own
 * connections, `npm run bench:twins`: 1.7 → 1.0 socket writes per update, 15 k → 21 k updates/s).
 */
const HOLDS_PER_BATCH = 16;

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
  /** Writes of other stores (twins, telemetry WAL) this turn's acks also wait for. */
  held: Promise<unknown>[] | null;
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
  /** Batches whose held writes (other stores) failed. */
  heldFailures = 0;

  constructor(
    private readonly store: BrokerStore,
    private readonly onHealthChange: (writable: boolean, error: string | undefined) => void,
  ) {}

  /** Ops and held writes waiting for the next commit (callers compare before/after to know if they wrote). */
  get pendingOps(): number {
    const b = this.current;
    return b === null ? 0 : b.ops.length + (b.held === null ? 0 : b.held.length);
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

  /**
   * Make this turn's acknowledgements wait for `write` too: a `message.publish` listener that
   * stores what a message caused elsewhere (a twin update, telemetry points in the WAL) holds
   * the PUBACK of that message until its own write is durable. A rejected `write` releases the
   * turn's waiters as failures without marking the broker store unwritable.
   */
  hold(write: Promise<unknown>): void {
    const b = this.batch();
    (b.held ??= []).push(write);
  }

  /**
   * Called between messages (before one is routed): once this turn's batch holds
   * HOLDS_PER_BATCH writes of other stores, it is closed and committed now, so that its acks are
   * released when those writes are durable instead of with the last write of the turn. Never
   * between the holds of one message, which all hold the ack registered after it.
   */
  cutIfFull(): void {
    const b = this.current;
    if (b !== null && b.held !== null && b.held.length >= HOLDS_PER_BATCH) this.run();
  }

  /** Commit whatever is pending now and wait for every commit so far. */
  async flush(): Promise<void> {
    this.run();
    await this.tail;
  }

  private batch(): Batch {
    let b = this.current;
    if (b === null) {
      b = this.current = { ops: [], waiters: [], acks: [], held: null };
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
    const held = b.held === null ? undefined : Promise.all(b.held);
    // Neither promise may reject unobserved while the other is awaited.
    held?.catch(() => undefined);
    this.tail = this.tail.then(
      () => written,
    ).then(
      () => (held === undefined ? this.settle(b, undefined) : held.then(
        () => this.settle(b, undefined),
        (err: unknown) => this.settle(b, err ?? new Error('held write failed'), false),
      )),
      (err: unknown) => this.settle(b, err ?? new Error('store commit failed')),
    );
  }

  private settle(b: Batch, err: unknown, brokerStore = true): void {
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
      if (!brokerStore) {
        this.heldFailures++;
        for (let i = 0; i < b.waiters.length; i++) b.waiters[i]!.ackFailed(b.acks[i]!, err);
        return;
      }
      this.lastError = message;
      if (this.storeWritable) {
        this.storeWritable = false;
        this.onHealthChange(false, message);
      }
      for (let i = 0; i < b.waiters.length; i++) b.waiters[i]!.ackFailed(b.acks[i]!, err);
    }
  }
}
