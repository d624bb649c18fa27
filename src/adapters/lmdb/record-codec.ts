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
import { put16, put32, put8, putBytes, putF64, putStr, Reader, strBound, type Slab } from './binary.js';

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
let lastBuf: Buffer | undefined;
let lastStart = 0;
let lastEnd = 0;

export function encodeOutbound(w: Slab, r: OutboundRecord): Buffer {
  const m = r.message;
  const ids = r.subscriptionIds;
  const cached = m === lastMessage ? lastBuf : undefined;
  w.begin();
  w.reserve(6 + (ids === undefined ? 0 : 4 + 4 * ids.length) + (cached !== undefined ? lastEnd - lastStart : messageBound(m)));
  const b = w.buf;
  let p = w.pos;
  b[p++] = TAG_OUTBOUND;
  b[p++] = r.qos | (r.retain === true ? 0x04 : 0); // bit 2: RETAIN as sent
  b[p++] = STATE_CODE[r.state];
  p = put16(b, p, r.packetId);
  if (ids === undefined) {
    b[p++] = 0;
  } else {
    b[p++] = 1;
    p = put32(b, p, ids.length);
    for (let i = 0; i < ids.length; i++) p = put32(b, p, ids[i]!);
  }
  if (cached !== undefined) {
    p += cached.copy(b, p, lastStart, lastEnd);
  } else {
    lastStart = p;
    p = putMessage(b, p, m);
    lastMessage = m;
    lastBuf = b;
    lastEnd = p;
  }
  w.pos = p;
  return w.end();
}

export function decodeOutbound(value: Buffer, seq: number): OutboundRecord {
  const r = new Reader(value);
  tag(r, TAG_OUTBOUND, 'outbound');
  const qosAndRetain = r.u8();
  const qos = (qosAndRetain & 0x03) as QoS;
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
  if ((qosAndRetain & 0x04) !== 0) rec.retain = true;
  return rec;
}

export function encodeRetained(w: Slab, m: StoredMessage): Buffer {
  w.begin();
  w.reserve(1 + messageBound(m));
  w.pos = putMessage(w.buf, put8(w.buf, w.pos, TAG_RETAINED), m);
  return w.end();
}

export function decodeRetained(value: Buffer): StoredMessage {
  const r = new Reader(value);
  tag(r, TAG_RETAINED, 'retained');
  return readMessage(r);
}

export function encodeSession(w: Slab, s: SessionRecord): Buffer {
  const subs = s.subscriptions;
  const will = s.pendingWill;
  let bound = 1 + strBound(s.clientId) + 1 + 4 + 8 + 1 + 4 + (s.deviceId !== undefined ? strBound(s.deviceId) : 0);
  for (let i = 0; i < subs.length; i++) bound += strBound(subs[i]!.filter) + 5;
  if (will !== undefined) bound += strBound(will.topic) + 5 + propertiesBound(will.properties) + 4 + will.payload.length;
  w.begin();
  w.reserve(bound);
  const b = w.buf;
  let p = put8(b, w.pos, TAG_SESSION);
  p = putStr(b, p, s.clientId);
  p = put8(b, p, s.protocolVersion);
  p = put32(b, p, s.expiryInterval);
  p = putF64(b, p, s.disconnectedAt);
  p = put8(b, p, (will !== undefined ? 1 : 0) | (s.deviceId !== undefined ? 2 : 0));
  p = put32(b, p, subs.length);
  for (let i = 0; i < subs.length; i++) {
    const sub = subs[i]!;
    p = putStr(b, p, sub.filter);
    const hasId = sub.subscriptionId !== undefined;
    p = put8(
      b,
      p,
      sub.qos | (sub.noLocal ? 4 : 0) | (sub.retainAsPublished ? 8 : 0) | (sub.retainHandling << 4) | (hasId ? 64 : 0),
    );
    if (hasId) p = put32(b, p, sub.subscriptionId!);
  }
  if (will !== undefined) {
    p = putStr(b, p, will.topic);
    p = put8(b, p, will.qos | (will.retain ? 4 : 0) | (will.properties !== undefined ? 8 : 0));
    p = put32(b, p, will.delayInterval);
    if (will.properties !== undefined) p = putProperties(b, p, will.properties);
    p = putBytes(b, p, will.payload);
  }
  if (s.deviceId !== undefined) p = putStr(b, p, s.deviceId);
  w.pos = p;
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

function messageBound(m: StoredMessage): number {
  return 1 + 8 + 8 + 2 + strBound(m.topic) + strBound(m.originClientId) + propertiesBound(m.properties) + 4 + m.payload.length;
}

function putMessage(b: Buffer, p: number, m: StoredMessage): number {
  const props = m.properties;
  p = put8(b, p, m.qos | (m.retain ? 4 : 0) | (props !== undefined ? 8 : 0));
  p = putF64(b, p, m.receivedAt);
  p = putF64(b, p, m.expiresAt);
  p = put16(b, p, m.priority);
  p = putStr(b, p, m.topic);
  p = putStr(b, p, m.originClientId);
  if (props !== undefined) p = putProperties(b, p, props);
  return putBytes(b, p, m.payload);
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

function propertiesBound(p: Properties | undefined): number {
  if (p === undefined) return 0;
  let n = 1;
  for (const field in p) {
    const v = (p as Record<string, unknown>)[field];
    if (v === undefined) continue;
    switch (ID_OF_FIELD.get(field)![1]) {
      case 'int':
        n += 5;
        break;
      case 'string':
        n += 1 + strBound(v as string);
        break;
      case 'binary':
        n += 5 + (v as Buffer).length;
        break;
      case 'ints':
        n += 5 + 4 * (v as number[]).length;
        break;
      case 'pairs': {
        const a = v as UserProperty[];
        n += 5;
        for (let i = 0; i < a.length; i++) n += strBound(a[i]![0]) + strBound(a[i]![1]);
        break;
      }
    }
  }
  return n;
}

function putProperties(b: Buffer, p: number, props: Properties): number {
  for (const field in props) {
    const v = (props as Record<string, unknown>)[field];
    if (v === undefined) continue;
    const entry = ID_OF_FIELD.get(field)!;
    p = put8(b, p, entry[0]);
    switch (entry[1]) {
      case 'int':
        p = put32(b, p, v as number);
        break;
      case 'string':
        p = putStr(b, p, v as string);
        break;
      case 'binary':
        p = putBytes(b, p, v as Buffer);
        break;
      case 'ints': {
        const a = v as number[];
        p = put32(b, p, a.length);
        for (let i = 0; i < a.length; i++) p = put32(b, p, a[i]!);
        break;
      }
      case 'pairs': {
        // User Property order and duplicates are kept [MQTT-3.3.2-18].
        const a = v as UserProperty[];
        p = put32(b, p, a.length);
        for (let i = 0; i < a.length; i++) p = putStr(b, putStr(b, p, a[i]![0]), a[i]![1]);
        break;
      }
    }
  }
  return put8(b, p, 0);
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
