// Values of the broker's sub-databases (data format 1): a compact binary layout of our own rather
// than a general serializer, so the bytes on disk are defined here, are versioned by the data
// folder's format version (env.ts), and Buffers come back byte for byte.
//
//   message     u8 flags (qos | retain << 2 | has properties << 3), f64 receivedAt, f64 expiresAt,
//               u16 priority, str topic, str originClientId, [properties], bytes payload
//   properties  (u8 MQTT 5.0 property id, value)… 0x00; value by kind: int u32, string str,
//               binary bytes, ints u32 count + u32…, pairs u32 count + (str, str)… in order
//   outbound    u8 tag 1, u8 qos, u8 state, u16 packetId, u8 has ids [u32 count, u32…], message
//               (the seq is in the key)
//   session     u8 tag 2, str clientId, u8 protocolVersion, u32 expiryInterval, f64 disconnectedAt,
//               u8 flags (will | deviceId << 1), u32 count, subscription…, [will], [str deviceId]
//   subscription str filter, u8 (qos | noLocal << 2 | rap << 3 | retainHandling << 4 | has id << 6),
//               [u32 subscriptionId]
//   will        str topic, u8 (qos | retain << 2 | has properties << 3), u32 delayInterval,
//               [properties], bytes payload
//   retained    u8 tag 3, message
// str = u32 byte length + UTF-8; bytes = u32 length + bytes; integers big-endian.
//
// Encoders trust their input: the store runs checkStoreOp on every op first.
import type { Properties, QoS, UserProperty } from '../../codec/mqtt/packets.js';
import type { OutboundRecord, SessionRecord, StoredMessage, StoredSubscription, StoredWill } from '../../ports/broker-store.js';
import { PROPERTY_FIELDS, type PropertyKind } from '../check-store-op.js';
import { Reader, type Slab } from './binary.js';

const TAG_OUTBOUND = 1;
const TAG_SESSION = 2;
const TAG_RETAINED = 3;

const STATES: ReadonlyArray<OutboundRecord['state']> = ['queued', 'await-puback', 'await-pubrec', 'await-pubcomp'];
const STATE_CODE: Record<OutboundRecord['state'], number> = {
  queued: 0,
  'await-puback': 1,
  'await-pubrec': 2,
  'await-pubcomp': 3,
};

const FIELD_OF_ID: Array<readonly [keyof Properties, PropertyKind] | undefined> = [];
const ID_OF_FIELD = new Map<string, readonly [number, PropertyKind]>();
for (const [field, id, kind] of PROPERTY_FIELDS) {
  FIELD_OF_ID[id] = [field, kind];
  ID_OF_FIELD.set(field, [id, kind]);
}

// Fan-out stores one message in the outbound record of every matching persistent session, one
// after the other: its encoding is kept and copied instead of encoded again. Slab bytes are never
// rewritten, so the kept view stays valid; messages are immutable by the port's convention.
let lastMessage: StoredMessage | undefined;
let lastMessageBytes: Buffer | undefined;

export function encodeOutbound(w: Slab, r: OutboundRecord): Buffer {
  w.begin();
  w.ensure(5);
  const b = w.buf;
  b[w.pos++] = TAG_OUTBOUND;
  b[w.pos++] = r.qos;
  b[w.pos++] = STATE_CODE[r.state];
  w.u16(r.packetId);
  const ids = r.subscriptionIds;
  if (ids === undefined) {
    w.u8(0);
  } else {
    w.u8(1);
    w.u32(ids.length);
    for (let i = 0; i < ids.length; i++) w.u32(ids[i]!);
  }
  if (r.message === lastMessage && lastMessageBytes !== undefined) {
    w.raw(lastMessageBytes);
  } else {
    const at = w.offset;
    writeMessage(w, r.message);
    lastMessage = r.message;
    lastMessageBytes = w.since(at);
  }
  return w.end();
}

export function decodeOutbound(value: Buffer, seq: number): OutboundRecord {
  const r = new Reader(value);
  tag(r, TAG_OUTBOUND, 'outbound');
  const qos = r.u8() as QoS;
  const state = STATES[r.u8()];
  if (state === undefined) throw new RangeError('corrupt outbound record: unknown state');
  const packetId = r.u16();
  let subscriptionIds: number[] | undefined;
  if (r.u8() === 1) {
    const n = r.u32();
    subscriptionIds = new Array<number>(n);
    for (let i = 0; i < n; i++) subscriptionIds[i] = r.u32();
  }
  const rec: OutboundRecord = { seq, message: readMessage(r), qos, packetId, state };
  if (subscriptionIds !== undefined) rec.subscriptionIds = subscriptionIds;
  return rec;
}

export function encodeRetained(w: Slab, m: StoredMessage): Buffer {
  w.begin();
  w.u8(TAG_RETAINED);
  writeMessage(w, m);
  return w.end();
}

export function decodeRetained(value: Buffer): StoredMessage {
  const r = new Reader(value);
  tag(r, TAG_RETAINED, 'retained');
  return readMessage(r);
}

export function encodeSession(w: Slab, s: SessionRecord): Buffer {
  w.begin();
  w.u8(TAG_SESSION);
  w.str(s.clientId);
  w.u8(s.protocolVersion);
  w.u32(s.expiryInterval);
  w.f64(s.disconnectedAt);
  const will = s.pendingWill;
  w.u8((will !== undefined ? 1 : 0) | (s.deviceId !== undefined ? 2 : 0));
  const subs = s.subscriptions;
  w.u32(subs.length);
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i]!;
    w.str(sub.filter);
    const hasId = sub.subscriptionId !== undefined;
    w.u8(
      sub.qos | (sub.noLocal ? 4 : 0) | (sub.retainAsPublished ? 8 : 0) | (sub.retainHandling << 4) | (hasId ? 64 : 0),
    );
    if (hasId) w.u32(sub.subscriptionId!);
  }
  if (will !== undefined) {
    w.str(will.topic);
    w.u8(will.qos | (will.retain ? 4 : 0) | (will.properties !== undefined ? 8 : 0));
    w.u32(will.delayInterval);
    if (will.properties !== undefined) writeProperties(w, will.properties);
    w.bytes(will.payload);
  }
  if (s.deviceId !== undefined) w.str(s.deviceId);
  return w.end();
}

export function decodeSession(value: Buffer): SessionRecord {
  const r = new Reader(value);
  tag(r, TAG_SESSION, 'session');
  const clientId = r.str();
  const protocolVersion = r.u8() as SessionRecord['protocolVersion'];
  const expiryInterval = r.u32();
  const disconnectedAt = r.f64();
  const flags = r.u8();
  const n = r.u32();
  const subscriptions: StoredSubscription[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const filter = r.str();
    const bits = r.u8();
    const sub: StoredSubscription = {
      filter,
      qos: (bits & 3) as QoS,
      noLocal: (bits & 4) !== 0,
      retainAsPublished: (bits & 8) !== 0,
      retainHandling: ((bits >> 4) & 3) as 0 | 1 | 2,
    };
    if ((bits & 64) !== 0) sub.subscriptionId = r.u32();
    subscriptions[i] = sub;
  }
  const s: SessionRecord = { clientId, protocolVersion, expiryInterval, disconnectedAt, subscriptions };
  if ((flags & 1) !== 0) {
    const topic = r.str();
    const bits = r.u8();
    const delayInterval = r.u32();
    const properties = (bits & 8) !== 0 ? readProperties(r) : undefined;
    const will: StoredWill = { topic, payload: r.bytes(), qos: (bits & 3) as QoS, retain: (bits & 4) !== 0, delayInterval };
    if (properties !== undefined) will.properties = properties;
    s.pendingWill = will;
  }
  if ((flags & 2) !== 0) s.deviceId = r.str();
  return s;
}

function writeMessage(w: Slab, m: StoredMessage): void {
  const props = m.properties;
  w.u8(m.qos | (m.retain ? 4 : 0) | (props !== undefined ? 8 : 0));
  w.f64(m.receivedAt);
  w.f64(m.expiresAt);
  w.u16(m.priority);
  w.str(m.topic);
  w.str(m.originClientId);
  if (props !== undefined) writeProperties(w, props);
  w.bytes(m.payload);
}

function readMessage(r: Reader): StoredMessage {
  const flags = r.u8();
  const receivedAt = r.f64();
  const expiresAt = r.f64();
  const priority = r.u16();
  const topic = r.str();
  const originClientId = r.str();
  const properties = (flags & 8) !== 0 ? readProperties(r) : undefined;
  const m: StoredMessage = {
    topic,
    payload: r.bytes(),
    qos: (flags & 3) as QoS,
    retain: (flags & 4) !== 0,
    receivedAt,
    expiresAt,
    priority,
    originClientId,
  };
  if (properties !== undefined) m.properties = properties;
  return m;
}

function writeProperties(w: Slab, p: Properties): void {
  for (const field in p) {
    const v = (p as Record<string, unknown>)[field];
    if (v === undefined) continue;
    const entry = ID_OF_FIELD.get(field)!;
    w.u8(entry[0]);
    switch (entry[1]) {
      case 'int':
        w.u32(v as number);
        break;
      case 'string':
        w.str(v as string);
        break;
      case 'binary':
        w.bytes(v as Buffer);
        break;
      case 'ints': {
        const a = v as number[];
        w.u32(a.length);
        for (let i = 0; i < a.length; i++) w.u32(a[i]!);
        break;
      }
      case 'pairs': {
        // User Property order and duplicates are kept (MQTT 5.0 §3.3.2.3.7).
        const a = v as UserProperty[];
        w.u32(a.length);
        for (let i = 0; i < a.length; i++) {
          w.str(a[i]![0]);
          w.str(a[i]![1]);
        }
        break;
      }
    }
  }
  w.u8(0);
}

function readProperties(r: Reader): Properties {
  const p: Record<string, unknown> = {};
  for (let id = r.u8(); id !== 0; id = r.u8()) {
    const entry = FIELD_OF_ID[id];
    if (entry === undefined) throw new RangeError(`corrupt record: unknown property id ${id}`);
    const [field, kind] = entry;
    switch (kind) {
      case 'int':
        p[field] = r.u32();
        break;
      case 'string':
        p[field] = r.str();
        break;
      case 'binary':
        p[field] = r.bytes();
        break;
      case 'ints': {
        const n = r.u32();
        const a = new Array<number>(n);
        for (let i = 0; i < n; i++) a[i] = r.u32();
        p[field] = a;
        break;
      }
      case 'pairs': {
        const n = r.u32();
        const a = new Array<UserProperty>(n);
        for (let i = 0; i < n; i++) a[i] = [r.str(), r.str()];
        p[field] = a;
        break;
      }
    }
  }
  return p as Properties;
}

function tag(r: Reader, expected: number, what: string): void {
  const t = r.u8();
  if (t !== expected) throw new RangeError(`corrupt ${what} record: tag ${t}, expected ${expected}`);
}
