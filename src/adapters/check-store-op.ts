// The one definition of a well-formed StoreOp, shared by every BrokerStore adapter so that they
// accept and refuse the same commits: `commit` checks every op before it applies any, and one bad
// op refuses the whole commit (nothing of it applies). Optional fields may be absent or
// `undefined`; adapters load them back as absent.
import { Errors, TwinhubError } from '../common/errors.js';
import type { Properties } from '../codec/mqtt/packets.js';
import type { OutboundRecord, SessionRecord, StoredMessage, StoredWill, StoreOp } from '../ports/broker-store.js';

/** How each MQTT 5.0 property (§2.2.2.2) is typed in `Properties`, keyed by its field name. */
export type PropertyKind = 'int' | 'string' | 'binary' | 'ints' | 'pairs';

/**
 * Every `Properties` field with its MQTT 5.0 property identifier (§2.2.2.2) and kind. Stores
 * persist properties by identifier, so this table is part of their data format: never renumber.
 */
export const PROPERTY_FIELDS: ReadonlyArray<readonly [field: keyof Properties, id: number, kind: PropertyKind]> = [
  ['payloadFormatIndicator', 0x01, 'int'],
  ['messageExpiryInterval', 0x02, 'int'],
  ['contentType', 0x03, 'string'],
  ['responseTopic', 0x08, 'string'],
  ['correlationData', 0x09, 'binary'],
  ['subscriptionIdentifiers', 0x0b, 'ints'],
  ['sessionExpiryInterval', 0x11, 'int'],
  ['assignedClientIdentifier', 0x12, 'string'],
  ['serverKeepAlive', 0x13, 'int'],
  ['authenticationMethod', 0x15, 'string'],
  ['authenticationData', 0x16, 'binary'],
  ['requestProblemInformation', 0x17, 'int'],
  ['willDelayInterval', 0x18, 'int'],
  ['requestResponseInformation', 0x19, 'int'],
  ['responseInformation', 0x1a, 'string'],
  ['serverReference', 0x1c, 'string'],
  ['reasonString', 0x1f, 'string'],
  ['receiveMaximum', 0x21, 'int'],
  ['topicAliasMaximum', 0x22, 'int'],
  ['topicAlias', 0x23, 'int'],
  ['maximumQoS', 0x24, 'int'],
  ['retainAvailable', 0x25, 'int'],
  ['userProperties', 0x26, 'pairs'],
  ['maximumPacketSize', 0x27, 'int'],
  ['wildcardSubscriptionAvailable', 0x28, 'int'],
  ['subscriptionIdentifiersAvailable', 0x29, 'int'],
  ['sharedSubscriptionAvailable', 0x2a, 'int'],
];

const KIND_OF = new Map<string, PropertyKind>(PROPERTY_FIELDS.map(([f, , k]) => [f, k]));
const STATES = new Set<string>(['queued', 'await-puback', 'await-pubrec', 'await-pubcomp']);
const MAX_U32 = 0xffffffff;

/** Throws a TypeError naming the first problem of `op`; returns normally when it is well formed. */
export function checkStoreOp(op: StoreOp): void {
  if (op === null || typeof op !== 'object') fail('op', 'not an object');
  switch (op.op) {
    case 'putSession':
      checkSession(op.session);
      return;
    case 'deleteSession':
      str(op.clientId, 'clientId');
      return;
    case 'putOutbound':
      str(op.clientId, 'clientId');
      checkOutbound(op.record);
      return;
    case 'deleteOutbound':
      str(op.clientId, 'clientId');
      seq(op.seq);
      return;
    case 'putInboundQos2':
    case 'deleteInboundQos2':
      str(op.clientId, 'clientId');
      // A QoS 2 PUBLISH carries a non-zero Packet Identifier [MQTT-2.3.1-1].
      int(op.packetId, 'packetId', 1, 0xffff);
      return;
    case 'putRetained':
      checkMessage(op.message, 'message');
      return;
    case 'deleteRetained':
      str(op.topic, 'topic');
      return;
    default:
      fail('op', `unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
  }
}

/** The rejection of a commit that carried a malformed op: STORE_WRITE_FAILED, nothing written. */
export function malformedOpError(index: number, err: unknown): TwinhubError {
  const why = err instanceof Error ? err.message : String(err);
  return new TwinhubError(
    Errors.STORE_WRITE_FAILED,
    `commit refused, nothing written: op ${index} is malformed: ${why}`,
    { opIndex: index },
    { cause: err },
  );
}

function checkSession(s: SessionRecord): void {
  obj(s, 'session');
  str(s.clientId, 'session.clientId');
  if (s.protocolVersion !== 3 && s.protocolVersion !== 4 && s.protocolVersion !== 5) {
    fail('session.protocolVersion', String(s.protocolVersion));
  }
  int(s.expiryInterval, 'session.expiryInterval', 0, MAX_U32);
  num(s.disconnectedAt, 'session.disconnectedAt');
  if (!Array.isArray(s.subscriptions)) fail('session.subscriptions', 'not an array');
  for (let i = 0; i < s.subscriptions.length; i++) {
    const sub = s.subscriptions[i]!;
    const at = `session.subscriptions[${i}]`;
    obj(sub, at);
    str(sub.filter, `${at}.filter`);
    qos(sub.qos, `${at}.qos`);
    bool(sub.noLocal, `${at}.noLocal`);
    bool(sub.retainAsPublished, `${at}.retainAsPublished`);
    int(sub.retainHandling, `${at}.retainHandling`, 0, 2);
    // Subscription Identifier: 1 to 268,435,455 (MQTT 5.0 §3.8.2.1.2).
    if (sub.subscriptionId !== undefined) int(sub.subscriptionId, `${at}.subscriptionId`, 1, 268_435_455);
  }
  if (s.pendingWill !== undefined) checkWill(s.pendingWill);
  if (s.deviceId !== undefined) str(s.deviceId, 'session.deviceId');
}

function checkWill(w: StoredWill): void {
  obj(w, 'session.pendingWill');
  str(w.topic, 'session.pendingWill.topic');
  buf(w.payload, 'session.pendingWill.payload');
  qos(w.qos, 'session.pendingWill.qos');
  bool(w.retain, 'session.pendingWill.retain');
  int(w.delayInterval, 'session.pendingWill.delayInterval', 0, MAX_U32);
  if (w.properties !== undefined) checkProperties(w.properties, 'session.pendingWill.properties');
}

function checkOutbound(r: OutboundRecord): void {
  obj(r, 'record');
  seq(r.seq);
  checkMessage(r.message, 'record.message');
  qos(r.qos, 'record.qos');
  if (r.subscriptionIds !== undefined) ints(r.subscriptionIds, 'record.subscriptionIds');
  if (r.retain !== undefined && typeof r.retain !== 'boolean') fail('record.retain', String(r.retain));
  int(r.packetId, 'record.packetId', 0, 0xffff);
  if (!STATES.has(r.state)) fail('record.state', String(r.state));
}

function checkMessage(m: StoredMessage, at: string): void {
  obj(m, at);
  str(m.topic, `${at}.topic`);
  buf(m.payload, `${at}.payload`);
  qos(m.qos, `${at}.qos`);
  bool(m.retain, `${at}.retain`);
  if (m.properties !== undefined) checkProperties(m.properties, `${at}.properties`);
  num(m.receivedAt, `${at}.receivedAt`);
  num(m.expiresAt, `${at}.expiresAt`);
  int(m.priority, `${at}.priority`, 0, 0xffff);
  str(m.originClientId, `${at}.originClientId`);
}

function checkProperties(p: Properties, at: string): void {
  obj(p, at);
  for (const key in p) {
    const v = (p as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const kind = KIND_OF.get(key);
    if (kind === undefined) fail(`${at}.${key}`, 'not an MQTT 5.0 property');
    switch (kind) {
      case 'int':
        int(v, `${at}.${key}`, 0, MAX_U32);
        break;
      case 'string':
        str(v, `${at}.${key}`);
        break;
      case 'binary':
        buf(v, `${at}.${key}`);
        break;
      case 'ints':
        ints(v, `${at}.${key}`);
        break;
      case 'pairs':
        if (!Array.isArray(v)) fail(`${at}.${key}`, 'not an array');
        for (let i = 0; i < v.length; i++) {
          const pair: unknown = v[i];
          if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
            fail(`${at}.${key}[${i}]`, 'not a [string, string] pair');
          }
        }
        break;
    }
  }
}

function fail(field: string, problem: string): never {
  throw new TypeError(`${field}: ${problem}`);
}
function obj(v: unknown, at: string): void {
  if (v === null || typeof v !== 'object') fail(at, 'not an object');
}
function str(v: unknown, at: string): void {
  if (typeof v !== 'string') fail(at, 'not a string');
}
function bool(v: unknown, at: string): void {
  if (typeof v !== 'boolean') fail(at, 'not a boolean');
}
function buf(v: unknown, at: string): void {
  if (!Buffer.isBuffer(v)) fail(at, 'not a Buffer');
}
function num(v: unknown, at: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, 'not a finite number');
}
function int(v: unknown, at: string, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(at, `${String(v)} is not an integer in ${min}..${max}`);
  }
}
function qos(v: unknown, at: string): void {
  if (v !== 0 && v !== 1 && v !== 2) fail(at, `${String(v)} is not a QoS`);
}
function seq(v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail('seq', `${String(v)} is not a safe integer >= 0`);
}
function ints(v: unknown, at: string): void {
  if (!Array.isArray(v)) fail(at, 'not an array');
  for (let i = 0; i < v.length; i++) int(v[i], `${at}[${i}]`, 0, MAX_U32);
}
