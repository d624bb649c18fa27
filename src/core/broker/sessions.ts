// The life of sessions (MQTT 5.0 §4.1, §3.1.2.4, §3.1.2.11.2): open, take over, resume, end
// with the connection or after the Session Expiry Interval, with their wills (§3.1.3.2.2), and
// their persistence in the store.
import type { ProtocolVersion } from '../../codec/mqtt/packets.js';
import type { SessionRecord, StoredSubscription, StoredWill } from '../../ports/broker-store.js';
import type { Delivery, SessionLink } from '../session/session.js';
import { Session } from '../session/session.js';
import type { Broker } from './broker.js';
import { fromStoredMessage } from './records.js';

export const NEVER_EXPIRES = 0xffffffff;
/** setTimeout's longest delay; longer session expiries re-arm. */
const MAX_TIMER_MS = 2_147_000_000;

export class SessionRegistry {
  private readonly map = new Map<string, Session>();

  constructor(private readonly b: Broker) {}

  get size(): number {
    return this.map.size;
  }

  get(clientId: string): Session | undefined {
    return this.map.get(clientId);
  }

  values(): IterableIterator<Session> {
    return this.map.values();
  }

  /**
   * Attach a freshly accepted client to its session: take over a connected one [MQTT-3.1.4-3],
   * discard it on Clean Start [MQTT-3.1.2-4], or resume it [MQTT-3.1.2-5]. Returns the session
   * and the Session Present flag [MQTT-3.2.2-2..3]. The caller sends CONNACK, then `resume`.
   */
  open(
    clientId: string,
    version: ProtocolVersion,
    clean: boolean,
    expiryInterval: number,
    link: SessionLink,
    deviceId: string | undefined,
  ): { session: Session; present: boolean } {
    let session = this.map.get(clientId);
    if (session !== undefined) {
      if (session.link !== null) {
        // The old connection's will goes out unless this one resumes the session and the will
        // has a delay (§3.1.3.2.2); `closed` settles it when the old connection reports.
        const old = session.link;
        session.link = null;
        this.b.connected--;
        old.disconnect(0x8e, 'takeover');
      }
      if (session.willTimer !== undefined) {
        clearTimeout(session.willTimer);
        session.willTimer = undefined;
        const will = session.pendingWill;
        session.pendingWill = undefined;
        // Reconnected within the Will Delay Interval: the will is not sent [MQTT-3.1.3-9] —
        // unless Clean Start ends the old session, which makes it due now (§3.1.3.2.2).
        if (will !== undefined && clean) this.publishWill(session, will);
      }
      if (session.expiryTimer !== undefined) {
        clearTimeout(session.expiryTimer);
        session.expiryTimer = undefined;
      }
    }
    let present = false;
    if (session !== undefined && !clean) {
      present = true;
      session.version = version;
      session.expiryInterval = expiryInterval;
      session.disconnectedAt = 0;
    } else {
      if (session !== undefined) this.discard(session);
      session = new Session(clientId, version, expiryInterval);
      this.map.set(clientId, session);
    }
    session.deviceId = deviceId;
    session.link = link;
    this.b.connected++;
    if (session.persistent) this.persist(session);
    return { session, present };
  }

  /**
   * After CONNACK: resend unacknowledged deliveries with their packet ids (DUP set) and PUBRELs
   * [MQTT-4.4.0-1], then send what was queued while offline.
   */
  resume(session: Session): void {
    const link = session.link;
    if (link === null) return;
    const dispatcher = this.b.dispatcher;
    if (session.inflight !== null) {
      const list = [...session.inflight.values()].sort((a, b) => a.seq - b.seq);
      for (const d of list) {
        if (d.state === 'await-pubcomp') link.sendPubrel(d.packetId);
        else if (!dispatcher.expired(d.message)) link.sendPublish(d, true);
        else dispatcher.complete(session, d, 'expired');
      }
    }
    dispatcher.pump(session);
  }

  /**
   * A connection ended. `will` is the will to publish (undefined after a normal DISCONNECT
   * [MQTT-3.1.2-10]); the session's expiry interval is the one now in force (a 5.0 DISCONNECT
   * may have changed it).
   */
  closed(session: Session, link: SessionLink, will: StoredWill | undefined): void {
    if (session.link !== link) {
      // Taken over: the session belongs to the new connection; only the will is ours to settle.
      const resumed = this.map.get(session.clientId) === session;
      if (will !== undefined && !(resumed && will.delayInterval > 0)) this.publishWill(session, will);
      return;
    }
    session.link = null;
    this.b.connected--;
    if (session.expiryInterval === 0) {
      // The session ends with the connection; a will with a delay is due now (§3.1.3.2.2).
      this.end(session, will);
      return;
    }
    session.disconnectedAt = this.b.now();
    if (will !== undefined) {
      if (will.delayInterval === 0) this.publishWill(session, will);
      else this.scheduleWill(session, will, will.delayInterval);
    }
    this.persist(session);
    this.scheduleExpiry(session, session.expiryInterval * 1000);
  }

  /** Add or replace a subscription [MQTT-3.8.4-3]; true when one with the filter existed. */
  subscribe(session: Session, sub: StoredSubscription): boolean {
    const subs = (session.subscriptions ??= new Map());
    const existed = subs.has(sub.filter);
    subs.set(sub.filter, sub);
    this.b.routes.add(session, sub);
    return existed;
  }

  unsubscribe(session: Session, filter: string): boolean {
    const subs = session.subscriptions;
    if (subs === null || !subs.delete(filter)) return false;
    this.b.routes.remove(session, filter);
    return true;
  }

  /** Persist the session's subscriptions after a SUBSCRIBE/UNSUBSCRIBE. */
  save(session: Session): void {
    if (session.persistent) this.persist(session);
  }

  /** Stop every timer (shutdown); delayed wills stay in the store with their sessions. */
  stopTimers(): void {
    for (const s of this.map.values()) {
      if (s.willTimer !== undefined) clearTimeout(s.willTimer);
      if (s.expiryTimer !== undefined) clearTimeout(s.expiryTimer);
    }
  }

  /** Rebuild a stored session at start-up, or end it when it expired while the hub was down. */
  async restore(rec: SessionRecord, now: number): Promise<void> {
    const session = new Session(rec.clientId, rec.protocolVersion, rec.expiryInterval);
    session.stored = true;
    // A session connected when the process stopped counts as disconnected at restart.
    session.disconnectedAt = rec.disconnectedAt === 0 ? now : rec.disconnectedAt;
    session.deviceId = rec.deviceId;
    if (session.expiryInterval !== NEVER_EXPIRES && session.disconnectedAt + session.expiryInterval * 1000 <= now) {
      if (rec.pendingWill !== undefined) this.publishWill(session, rec.pendingWill);
      this.b.committer.add({ op: 'deleteSession', clientId: rec.clientId });
      return;
    }
    this.map.set(rec.clientId, session);
    for (const sub of rec.subscriptions) {
      (session.subscriptions ??= new Map()).set(sub.filter, sub);
      this.b.routes.add(session, sub);
    }
    for (const r of await this.b.store.loadOutbound(rec.clientId)) {
      const d: Delivery = {
        seq: r.seq,
        message: fromStoredMessage(r.message, r.message.priority),
        qos: r.qos,
        retain: r.retain === true,
        subscriptionIds: r.subscriptionIds,
        packetId: r.packetId,
        state: r.state,
        persisted: true,
      };
      if (r.seq >= session.nextSeq) session.nextSeq = r.seq + 1;
      if (r.packetId !== 0 && r.state !== 'queued') session.ensureInflight().set(r.packetId, d);
      else session.ensureQueue().push(d, d.message.priority, Number.MAX_SAFE_INTEGER);
    }
    const q2 = await this.b.store.loadInboundQos2(rec.clientId);
    if (q2.length > 0) session.inboundQos2 = new Set(q2);
    if (rec.pendingWill !== undefined) {
      const dueIn = session.disconnectedAt + rec.pendingWill.delayInterval * 1000 - now;
      if (dueIn <= 0) this.publishWill(session, rec.pendingWill);
      else this.scheduleWill(session, rec.pendingWill, Math.ceil(dueIn / 1000));
    }
    this.scheduleExpiry(session, session.disconnectedAt + session.expiryInterval * 1000 - now);
  }

  private publishWill(session: Session, will: StoredWill): void {
    this.b.publishWill(session.clientId, session.version, session.deviceId, will);
  }

  private scheduleWill(session: Session, will: StoredWill, delaySeconds: number): void {
    session.pendingWill = will;
    session.willTimer = setTimeout(() => {
      session.willTimer = undefined;
      const w = session.pendingWill;
      session.pendingWill = undefined;
      if (w === undefined) return;
      this.publishWill(session, w);
      if (this.map.get(session.clientId) === session && session.persistent) this.persist(session);
    }, Math.min(delaySeconds, session.expiryInterval) * 1000);
    session.willTimer.unref();
  }

  private scheduleExpiry(session: Session, ms: number): void {
    if (session.expiryInterval === NEVER_EXPIRES) return;
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = undefined;
      if (session.link !== null || this.map.get(session.clientId) !== session) return;
      const left = session.disconnectedAt + session.expiryInterval * 1000 - this.b.now();
      if (left > 0) this.scheduleExpiry(session, left);
      else this.end(session, undefined);
    }, Math.min(ms, MAX_TIMER_MS));
    session.expiryTimer.unref();
  }

  /** The session is over: publish a pending will (§3.1.3.2.2), drop its state. */
  private end(session: Session, will: StoredWill | undefined): void {
    if (session.willTimer !== undefined) clearTimeout(session.willTimer);
    const w = will ?? session.pendingWill;
    session.pendingWill = undefined;
    if (w !== undefined) this.publishWill(session, w);
    if (this.map.get(session.clientId) === session) this.discard(session);
  }

  private discard(session: Session): void {
    if (session.subscriptions !== null) for (const f of session.subscriptions.keys()) this.b.routes.remove(session, f);
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer);
    this.map.delete(session.clientId);
    // A session that never reached the store (clean sessions) costs no write when it ends.
    if (session.stored) this.b.committer.add({ op: 'deleteSession', clientId: session.clientId });
  }

  private persist(session: Session): void {
    session.stored = true;
    this.b.committer.add({ op: 'putSession', session: sessionRecord(session) });
  }
}

export function sessionRecord(session: Session): SessionRecord {
  const rec: SessionRecord = {
    clientId: session.clientId,
    protocolVersion: session.version,
    expiryInterval: session.expiryInterval,
    disconnectedAt: session.disconnectedAt,
    subscriptions: session.subscriptions === null ? [] : [...session.subscriptions.values()],
  };
  if (session.pendingWill !== undefined) rec.pendingWill = session.pendingWill;
  if (session.deviceId !== undefined) rec.deviceId = session.deviceId;
  return rec;
}
