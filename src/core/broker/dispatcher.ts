// Hands messages to sessions: now, through the in-flight window, or into the session's priority
// queue; and ends deliveries on PUBACK/PUBREC/PUBCOMP. Every bound it enforces is counted
// (docs/PROTOCOLS.md "Bounds and what is dropped").
import type { QoS } from '../../codec/mqtt/packets.js';
import type { DropCause } from '../hooks.js';
import type { Message } from '../message.js';
import type { Delivery, Session, SessionLink } from '../session/session.js';
import type { Broker } from './broker.js';
import { toOutboundRecord } from './records.js';

const isQos0 = (d: Delivery): boolean => d.qos === 0;

export class Dispatcher {
  constructor(private readonly b: Broker) {}

  expired(msg: Message): boolean {
    return msg.expiresAt !== 0 && msg.expiresAt <= this.b.clock;
  }

  /** Hand a message to a session: now, queued, or persisted for an offline session. */
  deliver(session: Session, msg: Message, qos: QoS, retain: boolean, ids: number[] | undefined): void {
    if (msg.expiresAt !== 0 && msg.expiresAt <= this.b.now()) {
      this.drop(msg, session, 'expired');
      return;
    }
    const link = session.link;
    if (qos === 0) {
      if (link === null) return; // QoS 0 is not queued for offline sessions (§4.1 allows either)
      if (session.queue === null || session.queue.length === 0) {
        if (link.sendQos0(msg, retain, ids)) return;
      }
      this.enqueue(session, this.delivery(session, msg, 0, retain, ids));
      return;
    }
    const d = this.delivery(session, msg, qos, retain, ids);
    if (session.persistent) {
      d.persisted = true;
      this.b.committer.add({ op: 'putOutbound', clientId: session.clientId, record: toOutboundRecord(d) });
    }
    if (link !== null && (session.queue === null || session.queue.length === 0) && this.windowOpen(session, link)) {
      this.sendInflight(session, link, d);
    } else {
      if (link !== null && session.inflightCount >= link.inflightLimit) this.b.limitsHit.maxInflight++;
      this.enqueue(session, d);
    }
  }

  /** Send queued deliveries while the link can take them (after acks, drain, reconnect). */
  pump(session: Session): void {
    const link = session.link;
    const q = session.queue;
    if (link === null || q === null) return;
    let d: Delivery | undefined;
    while ((d = q.peek()) !== undefined) {
      if (this.expired(d.message)) {
        q.shift();
        this.complete(session, d, 'expired');
        continue;
      }
      if (d.qos === 0) {
        if (link.congested) return;
        q.shift();
        link.sendQos0(d.message, d.retain, d.subscriptionIds);
        continue;
      }
      if (!this.windowOpen(session, link)) return;
      q.shift();
      this.sendInflight(session, link, d);
    }
  }

  /** PUBACK, or PUBCOMP, or a PUBREC with an error reason: the delivery is over. */
  acknowledge(session: Session, packetId: number, expect: Delivery['state']): Delivery | undefined {
    const d = session.inflight?.get(packetId);
    if (d === undefined || d.state !== expect) return undefined;
    session.inflight!.delete(packetId);
    if (d.persisted) this.b.committer.add({ op: 'deleteOutbound', clientId: session.clientId, seq: d.seq });
    if (session.queue !== null && session.queue.length > 0) this.pump(session);
    return d;
  }

  /** PUBREC: the QoS 2 delivery now waits for PUBCOMP (the caller sends PUBREL). */
  received(session: Session, packetId: number): boolean {
    const d = session.inflight?.get(packetId);
    if (d === undefined || d.state !== 'await-pubrec') return d?.state === 'await-pubcomp';
    d.state = 'await-pubcomp';
    if (d.persisted) this.b.committer.add({ op: 'putOutbound', clientId: session.clientId, record: toOutboundRecord(d) });
    return true;
  }

  /** End a delivery that will not be sent (expired, too large for the client). */
  complete(session: Session, d: Delivery, cause: DropCause): void {
    if (d.packetId !== 0) session.inflight?.delete(d.packetId);
    if (d.persisted) this.b.committer.add({ op: 'deleteOutbound', clientId: session.clientId, seq: d.seq });
    this.drop(d.message, session, cause);
  }

  drop(msg: Message, session: Session, cause: DropCause): void {
    this.b.dropped[cause]++;
    const ls = this.b.hooks.listenersOf('message.dropped');
    for (let i = 0; i < ls.length; i++) ls[i]!(msg, session.clientId, cause);
  }

  private delivery(session: Session, msg: Message, qos: QoS, retain: boolean, ids: number[] | undefined): Delivery {
    return { seq: session.nextSeq++, message: msg, qos, retain, subscriptionIds: ids, packetId: 0, state: 'queued', persisted: false };
  }

  private windowOpen(session: Session, link: SessionLink): boolean {
    return session.inflightCount < link.inflightLimit && !link.congested;
  }

  private sendInflight(session: Session, link: SessionLink, d: Delivery): void {
    d.packetId = session.allocatePacketId();
    d.state = d.qos === 1 ? 'await-puback' : 'await-pubrec';
    session.ensureInflight().set(d.packetId, d);
    if (d.persisted) this.b.committer.add({ op: 'putOutbound', clientId: session.clientId, record: toOutboundRecord(d) });
    if (!link.sendPublish(d, false)) {
      // Larger than the client's Maximum Packet Size: discarded as if sent [MQTT-3.1.2-25].
      this.complete(session, d, 'too-large');
    }
  }

  private enqueue(session: Session, d: Delivery): void {
    // A message needing the payload after this turn must not hold a view of a socket buffer.
    if (d.message.frame !== undefined) d.message = detach(d.message);
    const dropped = session.ensureQueue().push(d, d.message.priority, this.b.config.limits.maxQueuedMessages, isQos0);
    if (dropped !== undefined) {
      this.b.limitsHit.maxQueuedMessages++;
      this.drop(dropped.message, session, 'queue-full');
      if (dropped.persisted) this.b.committer.add({ op: 'deleteOutbound', clientId: session.clientId, seq: dropped.seq });
    }
  }
}

/** A copy of a message that owns its payload (not a view of a socket read buffer). */
function detach(m: Message): Message {
  return { ...m, payload: Buffer.from(m.payload), frame: undefined };
}
