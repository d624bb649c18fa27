// fast-check generators of MQTT packets in the shape the decoder returns ("normalised": no
// empty properties objects, optional fields absent rather than undefined), shared by the
// codec's round-trip, differential and fuzz tests.
import fc from 'fast-check';
import type {
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  Subscription,
  UserProperty,
  Will,
} from '../../src/codec/mqtt/packets.js';
import { PROPERTY_DEFS, PropertyType, WILL_PROPERTIES } from '../../src/codec/mqtt/properties.js';
import { allowedReasonCodes } from '../../src/codec/mqtt/reason-codes.js';

/** MQTT strings: mostly ASCII (topics), sometimes any Unicode scalar; never U+0000. */
export function mqttString(maxLength = 12): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    )
    .map((s) => s.replaceAll('\0', '_'));
}

export function bytes(maxLength = 24): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
}

const qos: fc.Arbitrary<QoS> = fc.constantFrom(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 0xffff });

function valueArb(type: number, ptype: number): fc.Arbitrary<unknown> {
  switch (type) {
    case PropertyType.Byte:
      return fc.integer({ min: 0, max: 0xff });
    case PropertyType.TwoByteInteger:
      return fc.integer({ min: 0, max: 0xffff });
    case PropertyType.FourByteInteger:
      return fc.integer({ min: 0, max: 0xffffffff });
    case PropertyType.VariableByteInteger:
      return fc.array(fc.integer({ min: 1, max: 268_435_455 }), { minLength: 1, maxLength: ptype === 3 ? 3 : 1 });
    case PropertyType.Utf8String:
      return mqttString();
    case PropertyType.BinaryData:
      return bytes(8);
    default:
      return fc.array(fc.tuple(mqttString(6), mqttString(6)), { minLength: 1, maxLength: 3 }) as fc.Arbitrary<UserProperty[]>;
  }
}

/** Properties a packet of type `ptype` (or WILL_PROPERTIES) may carry; undefined when none. */
export function propertiesArb(ptype: number): fc.Arbitrary<Properties | undefined> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const d of PROPERTY_DEFS) {
    if ((d.allowed & (1 << ptype)) !== 0) model[d.key] = valueArb(d.type, ptype);
  }
  const rec = fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<Properties>;
  return fc.oneof(fc.constant(undefined), rec.map((p) => (Object.keys(p).length === 0 ? undefined : { ...p })));
}

/** Sets `key` only when `value` is defined, as the decoder does. */
function opt<T extends object>(obj: T, key: string, value: unknown): T {
  if (value !== undefined) (obj as Record<string, unknown>)[key] = value;
  return obj;
}

export function connectArb(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const v5 = version === 5;
  const will: fc.Arbitrary<Will | undefined> = fc.option(
    fc
      .record({ topic: mqttString(), payload: bytes(), qos, retain: fc.boolean(), properties: v5 ? propertiesArb(WILL_PROPERTIES) : fc.constant(undefined) })
      .map((w) => opt({ topic: w.topic, payload: w.payload, qos: w.qos, retain: w.retain } as Will, 'properties', w.properties)),
    { nil: undefined },
  );
  return fc
    .record({
      clean: fc.boolean(),
      keepAlive: fc.integer({ min: 0, max: 0xffff }),
      clientId: mqttString(23),
      will,
      username: fc.option(mqttString(), { nil: undefined }),
      password: fc.option(bytes(), { nil: undefined }),
      properties: v5 ? propertiesArb(1) : fc.constant(undefined),
    })
    .map((c) => {
      const p = {
        type: 1,
        protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: version,
        clean: c.clean,
        keepAlive: c.keepAlive,
        clientId: c.clientId,
      } as Packet;
      opt(p, 'properties', c.properties);
      opt(p, 'will', c.will);
      opt(p, 'username', c.username);
      // 3.1.1 [MQTT-3.1.2-22]: no password without a user name.
      opt(p, 'password', v5 || c.username !== undefined ? c.password : undefined);
      return p;
    });
}

export function publishArb(v5: boolean): fc.Arbitrary<PublishPacket> {
  return fc
    .record({
      dup: fc.boolean(),
      qos,
      retain: fc.boolean(),
      topic: mqttString(),
      packetId,
      properties: v5 ? propertiesArb(3) : fc.constant(undefined),
      payload: bytes(40),
    })
    .map((r) => {
      const p: PublishPacket = { type: 3, dup: r.dup, qos: r.qos, retain: r.retain, topic: r.topic, payload: r.payload };
      if (r.qos > 0) p.packetId = r.packetId;
      return opt(p, 'properties', r.properties);
    });
}

function codeArb(type: number, v5: boolean): fc.Arbitrary<number> {
  return fc.constantFrom(...allowedReasonCodes(type, v5));
}

const subscriptionArb = (v5: boolean): fc.Arbitrary<Subscription> =>
  fc
    .record({
      filter: mqttString(),
      qos,
      noLocal: v5 ? fc.boolean() : fc.constant(false),
      retainAsPublished: v5 ? fc.boolean() : fc.constant(false),
      retainHandling: v5 ? fc.constantFrom(0 as const, 1 as const, 2 as const) : fc.constant(0 as const),
    })
    .map((s) => ({ ...s }));

/** Every packet type of `version` except CONNECT (which changes the parser's version). */
export function nonConnectArb(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const v5 = version === 5;
  const props = (t: number): fc.Arbitrary<Properties | undefined> => (v5 ? propertiesArb(t) : fc.constant(undefined));
  const arbs: fc.Arbitrary<Packet>[] = [
    fc
      .record({ sessionPresent: fc.boolean(), reasonCode: codeArb(2, v5), properties: props(2) })
      .map((r) => opt({ type: 2, sessionPresent: r.sessionPresent, reasonCode: r.reasonCode } as Packet, 'properties', r.properties)),
    publishArb(v5),
    fc
      .record({ type: fc.constantFrom(4 as const, 5 as const, 6 as const, 7 as const), packetId: fc.integer({ min: 0, max: 0xffff }), seed: fc.nat() })
      .chain((r) =>
        fc
          .record({ reasonCode: v5 ? codeArb(r.type, true) : fc.constant(0), properties: props(r.type) })
          .map((x) => opt({ type: r.type, packetId: r.packetId, reasonCode: x.reasonCode } as Packet, 'properties', x.properties)),
      ),
    fc
      .record({ packetId, subscriptions: fc.array(subscriptionArb(v5), { minLength: 1, maxLength: 4 }), properties: props(8) })
      .map((r) => opt({ type: 8, packetId: r.packetId, subscriptions: r.subscriptions } as Packet, 'properties', r.properties)),
    fc
      .record({ packetId, reasonCodes: fc.array(codeArb(9, v5), { maxLength: 4 }), properties: props(9) })
      .map((r) => opt({ type: 9, packetId: r.packetId, reasonCodes: r.reasonCodes } as Packet, 'properties', r.properties)),
    fc
      .record({ packetId, filters: fc.array(mqttString(), { minLength: 1, maxLength: 4 }), properties: props(10) })
      .map((r) => opt({ type: 10, packetId: r.packetId, filters: r.filters } as Packet, 'properties', r.properties)),
    fc
      .record({ packetId, reasonCodes: v5 ? fc.array(codeArb(11, true), { maxLength: 4 }) : fc.constant([]), properties: props(11) })
      .map((r) => opt({ type: 11, packetId: r.packetId, reasonCodes: r.reasonCodes } as Packet, 'properties', r.properties)),
    fc.constant({ type: 12 } as Packet),
    fc.constant({ type: 13 } as Packet),
    fc
      .record({ reasonCode: v5 ? codeArb(14, true) : fc.constant(0), properties: props(14) })
      .map((r) => opt({ type: 14, reasonCode: r.reasonCode } as Packet, 'properties', r.properties)),
  ];
  if (v5) {
    arbs.push(
      fc
        .record({ reasonCode: codeArb(15, true), properties: props(15) })
        .map((r) => opt({ type: 15, reasonCode: r.reasonCode } as Packet, 'properties', r.properties)),
    );
  }
  return fc.oneof(...arbs);
}

/** Any packet a parser in `version` decodes, CONNECT of the same protocol family included. */
export function packetArb(version: 4 | 5): fc.Arbitrary<Packet> {
  const connect = version === 5 ? connectArb(5) : fc.oneof(connectArb(3), connectArb(4));
  return fc.oneof({ weight: 1, arbitrary: connect }, { weight: 6, arbitrary: nonConnectArb(version) });
}

/**
 * A decoded packet in comparable form: `frame` dropped, keys whose value is undefined dropped
 * (a decoded PUBLISH always has packetId and properties keys, for a stable object shape).
 */
export function normalise(p: Packet): Packet {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined || k === 'frame') continue;
    out[k] = v;
  }
  return out as unknown as Packet;
}
