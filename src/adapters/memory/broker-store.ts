// The in-memory BrokerStore: used by tests and when persistence is off (`persistence.enabled:
// false`), so nothing survives the process. It keeps the same rules as the durable adapters
// (test/contracts/broker-store.contract.ts): a commit checks every op before it applies any, then
// applies them in order; one bad op refuses the whole commit.
//
// Records are copied on the way in and out (the core may change its own session and delivery
// objects after a commit), but Buffers and StoredMessage objects are shared, not copied: they are
// immutable by convention on both sides of the port, and fan-out to many sessions stores one
// message many times.
import { Errors, TwinhubError } from '../../common/errors.js';
import type {
  BrokerStore,
  OutboundRecord,
  SessionRecord,
  StoredSubscription,
  StoredMessage,
  StoreOp,
} from '../../ports/broker-store.js';
import { checkStoreOp, malformedOpError } from '../check-store-op.js';

const RESOLVED: Promise<void> = Promise.resolve();

export class MemoryBrokerStore implements BrokerStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly outbound = new Map<string, Map<number, OutboundRecord>>();
  private readonly inbound = new Map<string, Set<number>>();
  private readonly retained = new Map<string, StoredMessage>();
  private failures = 0;
  private failure: unknown;
  private closed = false;

  /**
   * Test hook: the next `count` commits reject with TwinhubError(STORE_WRITE_FAILED) (caused by
   * `cause`) and apply nothing, as a durable store does when its disk is full.
   */
  failNextCommits(count: number, cause: unknown = new Error('injected store failure')): void {
    this.failures = count;
    this.failure = cause;
  }

  commit(ops: readonly StoreOp[]): Promise<void> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'the broker store is closed'));
    if (this.failures > 0) {
      this.failures--;
      const cause = this.failure;
      return Promise.reject(
        new TwinhubError(Errors.STORE_WRITE_FAILED, `store write failed: ${messageOf(cause)}`, undefined, { cause }),
      );
    }
    for (let i = 0; i < ops.length; i++) {
      try {
        checkStoreOp(ops[i]!);
      } catch (err) {
        return Promise.reject(malformedOpError(i, err));
      }
    }
    // Nothing below throws for checked ops, so the commit applies whole or not at all.
    for (let i = 0; i < ops.length; i++) this.apply(ops[i]!);
    return RESOLVED;
  }

  private apply(op: StoreOp): void {
    switch (op.op) {
      case 'putSession':
        this.sessions.set(op.session.clientId, copySession(op.session));
        break;
      case 'deleteSession':
        this.sessions.delete(op.clientId);
        this.outbound.delete(op.clientId);
        this.inbound.delete(op.clientId);
        break;
      case 'putOutbound': {
        let queue = this.outbound.get(op.clientId);
        if (queue === undefined) this.outbound.set(op.clientId, (queue = new Map()));
        queue.set(op.record.seq, copyOutbound(op.record));
        break;
      }
      case 'deleteOutbound':
        this.outbound.get(op.clientId)?.delete(op.seq);
        break;
      case 'putInboundQos2': {
        let ids = this.inbound.get(op.clientId);
        if (ids === undefined) this.inbound.set(op.clientId, (ids = new Set()));
        ids.add(op.packetId);
        break;
      }
      case 'deleteInboundQos2':
        this.inbound.get(op.clientId)?.delete(op.packetId);
        break;
      case 'putRetained':
        this.retained.set(op.message.topic, op.message);
        break;
      case 'deleteRetained':
        this.retained.delete(op.topic);
        break;
    }
  }

  loadSessions(): Promise<SessionRecord[]> {
    return this.read(() => Array.from(this.sessions.values(), copySession));
  }

  loadOutbound(clientId: string): Promise<OutboundRecord[]> {
    return this.read(() => {
      const queue = this.outbound.get(clientId);
      if (queue === undefined) return [];
      return Array.from(queue.values(), copyOutbound).sort(bySeq);
    });
  }

  loadInboundQos2(clientId: string): Promise<number[]> {
    return this.read(() => Array.from(this.inbound.get(clientId) ?? []).sort(byNumber));
  }

  loadRetained(): Promise<StoredMessage[]> {
    return this.read(() => Array.from(this.retained.values()));
  }

  close(): Promise<void> {
    this.closed = true;
    return RESOLVED;
  }

  private read<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_OPEN_FAILED, 'the broker store is closed'));
    return Promise.resolve(fn());
  }
}

function copySession(s: SessionRecord): SessionRecord {
  const c: SessionRecord = {
    clientId: s.clientId,
    protocolVersion: s.protocolVersion,
    expiryInterval: s.expiryInterval,
    disconnectedAt: s.disconnectedAt,
    subscriptions: s.subscriptions.map(copySubscription),
  };
  if (s.pendingWill !== undefined) c.pendingWill = { ...s.pendingWill };
  if (s.deviceId !== undefined) c.deviceId = s.deviceId;
  return c;
}

function copySubscription(s: StoredSubscription): StoredSubscription {
  const c: StoredSubscription = {
    filter: s.filter,
    qos: s.qos,
    noLocal: s.noLocal,
    retainAsPublished: s.retainAsPublished,
    retainHandling: s.retainHandling,
  };
  if (s.subscriptionId !== undefined) c.subscriptionId = s.subscriptionId;
  return c;
}

function copyOutbound(r: OutboundRecord): OutboundRecord {
  const c: OutboundRecord = { seq: r.seq, message: r.message, qos: r.qos, packetId: r.packetId, state: r.state };
  if (r.subscriptionIds !== undefined) c.subscriptionIds = r.subscriptionIds.slice();
  if (r.retain !== undefined) c.retain = r.retain;
  return c;
}

function bySeq(a: OutboundRecord, b: OutboundRecord): number {
  return a.seq - b.seq;
}
function byNumber(a: number, b: number): number {
  return a - b;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
