// Conversions between in-memory messages/deliveries and their stored records.
import type { OutboundRecord, StoredMessage } from '../../ports/broker-store.js';
import type { Message } from '../message.js';
import type { Delivery } from '../session/session.js';

// Fan-out to many persistent sessions converts the same message repeatedly in one route call;
// one cached conversion avoids a copy per session.
let lastMessage: Message | undefined;
let lastStored: StoredMessage | undefined;

export function toStoredMessage(m: Message): StoredMessage {
  if (m === lastMessage && lastStored !== undefined) return lastStored;
  const s: StoredMessage = {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    receivedAt: m.receivedAt,
    expiresAt: m.expiresAt,
    priority: m.priority,
    originClientId: m.origin.clientId,
  };
  if (m.properties !== undefined) s.properties = m.properties;
  lastMessage = m;
  lastStored = s;
  return s;
}

export function fromStoredMessage(s: StoredMessage, priority: number): Message {
  return {
    topic: s.topic,
    payload: s.payload,
    qos: s.qos,
    retain: s.retain,
    origin: { protocol: 'mqtt', clientId: s.originClientId },
    properties: s.properties,
    receivedAt: s.receivedAt,
    expiresAt: s.expiresAt,
    priority,
    hops: 0,
    frame: undefined,
  };
}

export function toOutboundRecord(d: Delivery): OutboundRecord {
  const r: OutboundRecord = {
    seq: d.seq,
    message: toStoredMessage(d.message),
    qos: d.qos,
    packetId: d.packetId,
    state: d.state,
  };
  if (d.subscriptionIds !== undefined) r.subscriptionIds = d.subscriptionIds;
  if (d.retain) r.retain = true;
  return r;
}
