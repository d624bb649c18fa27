// Differential tests against mqtt-packet, the reference decoder (MQTT.js's codec):
// (a) for random valid packets encoded by mqtt-packet, our decoder gives the same fields;
// (b) for our encodings, mqtt-packet decodes the same fields.
// mqtt-packet's model differs in names (messageId, granted, protocolId…) and keeps user
// properties as an object, which loses the order between different names; the comparison
// therefore orders user properties by name (stably, so the order of repeated names counts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { MqttParser } from './parser.js';
import { encode } from './encoder.js';
import type { Packet, Properties, ProtocolVersion, UserProperty } from './packets.js';
import { normalise, packetArb } from '../../../test/fuzz/arbitraries.js';

type Obj = Record<string, unknown>;
/** Byte properties mqtt-packet models as booleans (so only 0 and 1 are comparable). */
const BOOLEAN_PROPS = new Set([
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
]);
const CMD = ['', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth'];

function toMpProps(p: Properties | undefined): Obj | undefined {
  if (p === undefined) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'subscriptionIdentifiers') {
      const ids = v as number[];
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    } else if (k === 'userProperties') {
      const up: Record<string, string | string[]> = Object.create(null);
      for (const [name, value] of v as UserProperty[]) {
        const prev = up[name];
        up[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
      }
      out.userProperties = up;
    } else if (BOOLEAN_PROPS.has(k)) out[k] = v === 1;
    else out[k] = v;
  }
  return out;
}

function fromMpProps(p: Obj | undefined): Properties | undefined {
  if (p === undefined || Object.keys(p).length === 0) return undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'subscriptionIdentifier') out.subscriptionIdentifiers = Array.isArray(v) ? v : [v];
    else if (k === 'userProperties') {
      const pairs: UserProperty[] = [];
      for (const [name, value] of Object.entries(v as Obj)) {
        for (const one of Array.isArray(value) ? value : [value]) pairs.push([name, one as string]);
      }
      out.userProperties = pairs;
    } else if (typeof v === 'boolean') out[k] = v ? 1 : 0;
    else out[k] = v;
  }
  return out as Properties;
}

/** Our packet model to mqtt-packet's. */
function toMp(p: Packet, v5: boolean): Obj {
  const o: Obj = { cmd: CMD[p.type] };
  switch (p.type) {
    case 1:
      Object.assign(o, { protocolId: p.protocolName, protocolVersion: p.protocolVersion, clean: p.clean, keepalive: p.keepAlive, clientId: p.clientId });
      if (p.will) o.will = { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain, properties: toMpProps(p.will.properties) };
      if (p.username !== undefined) o.username = p.username;
      if (p.password !== undefined) o.password = p.password;
      break;
    case 2:
      o.sessionPresent = p.sessionPresent;
      o[v5 ? 'reasonCode' : 'returnCode'] = p.reasonCode;
      break;
    case 3:
      Object.assign(o, { topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup, messageId: p.packetId });
      break;
    case 4:
    case 5:
    case 6:
    case 7:
      Object.assign(o, { messageId: p.packetId, reasonCode: p.reasonCode });
      break;
    case 8:
      o.messageId = p.packetId;
      o.subscriptions = p.subscriptions.map((s) => (v5 ? { topic: s.filter, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling } : { topic: s.filter, qos: s.qos }));
      break;
    case 9:
      Object.assign(o, { messageId: p.packetId, granted: p.reasonCodes });
      break;
    case 10:
      Object.assign(o, { messageId: p.packetId, unsubscriptions: p.filters });
      break;
    case 11:
      Object.assign(o, { messageId: p.packetId, granted: p.reasonCodes });
      break;
    case 14:
    case 15:
      o.reasonCode = p.reasonCode;
      break;
  }
  if ('properties' in p && p.properties !== undefined) o.properties = toMpProps(p.properties);
  return o;
}

/** mqtt-packet's decoded packet to our model (normalised). */
function fromMp(o: Obj, v5: boolean): Packet {
  const props = fromMpProps(o.properties as Obj | undefined);
  const withProps = (p: Obj): Packet => (props !== undefined ? { ...p, properties: props } : p) as unknown as Packet;
  const type = CMD.indexOf(o.cmd as string);
  switch (type) {
    case 1: {
      const p: Obj = { type, protocolName: o.protocolId, protocolVersion: o.protocolVersion, clean: o.clean, keepAlive: o.keepalive, clientId: o.clientId };
      const result = withProps(p) as unknown as Obj;
      const w = o.will as Obj | undefined;
      if (w) {
        const will: Obj = { topic: w.topic, payload: w.payload, qos: w.qos, retain: w.retain };
        const wp = fromMpProps(w.properties as Obj | undefined);
        if (wp !== undefined) will.properties = wp;
        result.will = will;
      }
      if (o.username !== undefined) result.username = o.username;
      if (o.password !== undefined) result.password = o.password;
      return result as unknown as Packet;
    }
    case 2:
      return withProps({ type, sessionPresent: o.sessionPresent, reasonCode: v5 ? o.reasonCode : o.returnCode });
    case 3: {
      const p: Obj = { type, dup: o.dup, qos: o.qos, retain: o.retain, topic: o.topic };
      if ((o.qos as number) > 0) p.packetId = o.messageId;
      const r = withProps(p) as unknown as Obj;
      r.payload = o.payload;
      return r as unknown as Packet;
    }
    case 4:
    case 5:
    case 6:
    case 7:
      return withProps({ type, packetId: o.messageId, reasonCode: o.reasonCode ?? 0 });
    case 8:
      return withProps({
        type,
        packetId: o.messageId,
        subscriptions: (o.subscriptions as Obj[]).map((s) => ({
          filter: s.topic,
          qos: s.qos,
          noLocal: v5 ? s.nl : false,
          retainAsPublished: v5 ? s.rap : false,
          retainHandling: v5 ? s.rh : 0,
        })),
      });
    case 9:
      return withProps({ type, packetId: o.messageId, reasonCodes: o.granted });
    case 10:
      return withProps({ type, packetId: o.messageId, filters: o.unsubscriptions });
    case 11:
      return withProps({ type, packetId: o.messageId, reasonCodes: v5 ? o.granted : [] });
    case 14:
    case 15:
      return withProps({ type, reasonCode: o.reasonCode ?? 0 });
    default:
      return { type } as Packet;
  }
}

/** Orders user properties by name, stably, wherever they occur (mqtt-packet loses the rest). */
function comparable(p: Packet): unknown {
  return JSON.parse(
    JSON.stringify(normalise(p), (k, v: unknown) => {
      if (k === 'userProperties') return [...(v as UserProperty[])].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return v;
    }),
  );
}

/** Packets mqtt-packet refuses to generate or cannot represent, though they are valid MQTT. */
function mqttPacketCanCarry(p: Packet, v5: boolean): boolean {
  const booleansFit = (props: Properties | undefined): boolean =>
    props === undefined || Object.entries(props).every(([k, v]) => !BOOLEAN_PROPS.has(k) || v === 0 || v === 1);
  if ('properties' in p && !booleansFit(p.properties)) return false;
  if (p.type === 1 && !booleansFit(p.will?.properties)) return false;
  if (p.type === 1) {
    if (p.will !== undefined && p.will.topic === '') return false; // "Invalid will topic"
    if (p.clientId === '' && (!p.clean || p.protocolVersion === 3)) return false;
    if (p.password !== undefined && p.username === undefined) return false; // mqtt-packet requires a user name
  }
  if (p.type === 11 && v5 && p.reasonCodes.length === 0) return false; // "Invalid qos vector"
  if (p.type === 9 && p.reasonCodes.length === 0) return false; // "Malformed suback, no payload specified"
  return true;
}

/**
 * Our encodings mqtt-packet's parser gets wrong though the spec allows them: AUTH with Remaining
 * Length 0 (MQTT 5.0 §3.15.2.1 lets Success without properties omit both fields) is refused, and
 * a user property name that repeats after an empty value keeps only the last value (its
 * "already seen" test is on the value's truthiness).
 */
function mqttPacketParses(p: Packet): boolean {
  if (p.type === 15 && p.reasonCode === 0 && p.properties === undefined) return false;
  const lists = [('properties' in p ? p.properties : undefined)?.userProperties, p.type === 1 ? p.will?.properties?.userProperties : undefined];
  for (const list of lists) {
    const seen = new Map<string, string>();
    for (const [name, value] of list ?? []) {
      if (seen.get(name) === '') return false;
      if (!seen.has(name)) seen.set(name, value);
    }
  }
  return true;
}

function ourDecode(buf: Buffer, version: ProtocolVersion): Packet[] {
  const out: Packet[] = [];
  const parser = new MqttParser((p) => out.push(p), 1 << 24);
  parser.version = version;
  parser.feed(buf);
  return out;
}

function mpDecode(buf: Buffer, version: ProtocolVersion): Obj[] {
  const out: Obj[] = [];
  const errors: Error[] = [];
  const parser = mqttPacket.parser({ protocolVersion: version });
  parser.on('packet', (p) => out.push(p as unknown as Obj));
  parser.on('error', (e: Error) => errors.push(e));
  parser.parse(buf);
  if (errors.length > 0) throw errors[0];
  return out;
}

for (const version of [4, 5] as const) {
  const label = version === 5 ? '5.0' : '3.1.1';

  test(`${label}: packets encoded by mqtt-packet decode to the same fields with our parser`, () => {
    fc.assert(
      fc.property(packetArb(version), (p) => {
        const v = p.type === 1 ? p.protocolVersion : version;
        fc.pre(mqttPacketCanCarry(p, v === 5));
        const wire = mqttPacket.generate(toMp(p, v === 5) as never, { protocolVersion: v });
        const decoded = ourDecode(wire, version);
        assert.equal(decoded.length, 1);
        assert.deepStrictEqual(comparable(decoded[0]!), comparable(p));
      }),
      { numRuns: 1500 },
    );
  });

  test(`${label}: our encodings decode to the same fields with mqtt-packet`, () => {
    fc.assert(
      fc.property(packetArb(version), (p) => {
        const v = p.type === 1 ? p.protocolVersion : version;
        fc.pre(mqttPacketCanCarry(p, v === 5) && mqttPacketParses(p));
        const decoded = mpDecode(encode(p, v), version);
        assert.equal(decoded.length, 1);
        assert.deepStrictEqual(comparable(fromMp(decoded[0]!, v === 5)), comparable(p));
      }),
      { numRuns: 1500 },
    );
  });
}
