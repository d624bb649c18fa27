// Framing behaviour of the streaming parser: zero-copy views, reassembly across chunks, early
// size checks, stopping on demand, and the version switch made by CONNECT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MqttParser } from './parser.js';
import { encode, encodePublish } from './encoder.js';
import { MqttProtocolError, UnsupportedProtocolVersionError } from './packets.js';
import type { Packet, PublishPacket } from './packets.js';

function collect(maxPacketSize = 1 << 20): { parser: MqttParser; out: Packet[] } {
  const out: Packet[] = [];
  const parser = new MqttParser((p) => out.push(p), maxPacketSize);
  return { parser, out };
}

const payload = Buffer.alloc(64, 0xab);

test('PUBLISH wholly inside a chunk: payload and frame are views of that chunk (zero-copy)', () => {
  const { parser, out } = collect();
  const a = encodePublish('bench/0/telemetry', payload, 0, false, false, 0, undefined, 4);
  const b = encodePublish('bench/1/telemetry', payload, 1, true, false, 9, undefined, 4);
  const chunk = Buffer.concat([a, b]);
  parser.feed(chunk);
  assert.equal(out.length, 2);
  const [p1, p2] = out as PublishPacket[];
  for (const p of [p1!, p2!]) {
    assert.equal(p.payload.buffer, chunk.buffer, 'payload shares the chunk memory');
    assert.equal(p.frame!.buffer, chunk.buffer, 'frame shares the chunk memory');
  }
  assert.equal(p1!.frame!.byteOffset, chunk.byteOffset);
  assert.equal(p2!.frame!.byteOffset, chunk.byteOffset + a.length);
  assert.deepStrictEqual(p2!.frame, b);
  assert.equal(p2!.topic, 'bench/1/telemetry');
  assert.equal(p2!.packetId, 9);
  assert.equal(p2!.retain, true);
});

test('a frame cut across chunks is reassembled once, into a buffer of exactly its size', () => {
  const { parser, out } = collect();
  const big = Buffer.alloc(100_000, 7);
  const f = encodePublish('t', big, 1, false, false, 1, undefined, 4);
  parser.feed(f.subarray(0, 10));
  assert.equal(parser.buffered, 10);
  parser.feed(f.subarray(10, 50_000));
  assert.equal(parser.buffered, 50_000);
  parser.feed(f.subarray(50_000));
  assert.equal(parser.buffered, 0);
  const p = out[0] as PublishPacket;
  assert.deepStrictEqual(p.payload, big);
  assert.deepStrictEqual(p.frame, f);
  // The frame fills its buffer exactly: no growth, no slack (a large allocation is not pooled).
  assert.equal(p.frame!.byteOffset, 0);
  assert.equal(p.frame!.buffer.byteLength, f.length);
});

test('a fixed header cut inside its Remaining Length is completed from the next chunk', () => {
  const { parser, out } = collect();
  const f = encodePublish('a/b', Buffer.alloc(20_000, 1), 0, false, false, 0, undefined, 4);
  assert.ok(f[1]! >= 0x80 && f[2]! >= 0x80, 'three-byte Remaining Length');
  parser.feed(f.subarray(0, 2));
  parser.feed(f.subarray(2, 3));
  parser.feed(f.subarray(3));
  assert.equal(out.length, 1);
  assert.deepStrictEqual((out[0] as PublishPacket).frame, f);
});

test('Packet Too Large (0x95) is detected from the fixed header before the body arrives [MQTT-3.2.2-15]', () => {
  const { parser, out } = collect(1000);
  const f = encodePublish('t', Buffer.alloc(2000), 0, false, false, 0, undefined, 5);
  assert.throws(
    () => parser.feed(f.subarray(0, 3)),
    (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === 0x95 && e.statement === 'MQTT-3.2.2-15',
  );
  assert.equal(parser.buffered, 0, 'nothing buffered for the oversized packet');
  assert.equal(parser.destroyed, true);
  parser.feed(f.subarray(3)); // ignored once destroyed
  assert.equal(out.length, 0);
});

test('the size limit counts the whole packet, fixed header included (MQTT 5.0 §3.2.2.3.6)', () => {
  const f = encodePublish('t', Buffer.alloc(50), 0, false, false, 0, undefined, 4);
  const ok = collect(f.length);
  ok.parser.feed(f);
  assert.equal(ok.out.length, 1);
  const tooBig = collect(f.length - 1);
  assert.throws(() => tooBig.parser.feed(f), (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === 0x95);
});

test('setting destroyed from onPacket stops parsing at once, mid-chunk', () => {
  const out: Packet[] = [];
  const parser: MqttParser = new MqttParser((p) => {
    out.push(p);
    parser.destroyed = true;
  }, 1 << 20);
  const chunk = Buffer.concat([encode({ type: 12 }, 4), encode({ type: 12 }, 4), encode({ type: 12 }, 4)]);
  parser.feed(chunk);
  assert.equal(out.length, 1);
  parser.feed(chunk);
  assert.equal(out.length, 1);
});

test('destroy() from onPacket of a reassembled frame stops the rest of the chunk', () => {
  const out: Packet[] = [];
  const parser: MqttParser = new MqttParser((p) => {
    out.push(p);
    parser.destroy();
  }, 1 << 20);
  const f = encodePublish('x', payload, 0, false, false, 0, undefined, 4);
  parser.feed(f.subarray(0, 5));
  parser.feed(Buffer.concat([f.subarray(5), encode({ type: 12 }, 4)]));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.type, 3);
});

test('PINGREQ decodes to a shared frozen packet; no per-ping allocation', () => {
  const { parser, out } = collect();
  parser.feed(Buffer.from([0xc0, 0, 0xc0, 0]));
  assert.equal(out.length, 2);
  assert.equal(out[0], out[1]);
  assert.ok(Object.isFrozen(out[0]));
});

test('5.0 PUBLISH: properties decoded; payload still a view of the chunk', () => {
  const { parser, out } = collect();
  parser.version = 5;
  const f = encodePublish('a', payload, 2, false, true, 77, { topicAlias: 4, userProperties: [['k', 'v'], ['k', 'w']], subscriptionIdentifiers: [1, 300] }, 5);
  parser.feed(f);
  const p = out[0] as PublishPacket;
  assert.deepStrictEqual(p.properties, { topicAlias: 4, userProperties: [['k', 'v'], ['k', 'w']], subscriptionIdentifiers: [1, 300] });
  assert.equal(p.payload.buffer, f.buffer);
  assert.equal(p.dup, true);
  assert.equal(p.qos, 2);
});

test('5.0 PUBLISH with an empty topic (topic alias in use) is well-formed for the codec (MQTT 5.0 §3.3.2.3.4)', () => {
  const { parser, out } = collect();
  parser.version = 5;
  parser.feed(encodePublish('', payload, 0, false, false, 0, { topicAlias: 1 }, 5));
  assert.equal((out[0] as PublishPacket).topic, '');
});

test('3.1.1 PUBLISH topic with wildcards is not a codec error (the channel checks topic names)', () => {
  const { parser, out } = collect();
  parser.feed(encodePublish('a/+/#', payload, 0, false, false, 0, undefined, 4));
  assert.equal((out[0] as PublishPacket).topic, 'a/+/#');
});

test('CONNECT with an unsupported level: 0x84 with the level on the error [MQTT-3.1.2-2]', () => {
  for (const level of [5, 6, 2, 255]) {
    const { parser } = collect();
    // Protocol name "MQTT" + level, then nothing more is needed to decide.
    const body = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, level === 5 ? 6 : level, 0x02, 0, 60, 0, 0]);
    const frame = Buffer.concat([Buffer.from([0x10, body.length]), body]);
    assert.throws(
      () => parser.feed(frame),
      (e: unknown) =>
        e instanceof UnsupportedProtocolVersionError &&
        e.reasonCode === 0x84 &&
        e.statement === 'MQTT-3.1.2-2' &&
        e.protocolVersion === (level === 5 ? 6 : level) &&
        e.protocolName === 'MQTT',
    );
  }
});

test('CONNECT with another protocol name: 0x84 [MQTT-3.1.2-1]; "MQIsdp" is only level 3', () => {
  const mk = (name: string, level: number) => {
    const n = Buffer.from(name);
    const body = Buffer.concat([Buffer.from([0, n.length]), n, Buffer.from([level, 0x02, 0, 60, 0, 0])]);
    return Buffer.concat([Buffer.from([0x10, body.length]), body]);
  };
  const other = collect();
  assert.throws(
    () => other.parser.feed(mk('HTTP', 4)),
    (e: unknown) => e instanceof UnsupportedProtocolVersionError && e.statement === 'MQTT-3.1.2-1' && e.protocolName === 'HTTP',
  );
  const mqisdp4 = collect();
  assert.throws(() => mqisdp4.parser.feed(mk('MQIsdp', 4)), (e: unknown) => e instanceof UnsupportedProtocolVersionError && e.protocolVersion === 4);
  const mqtt3 = collect();
  assert.throws(() => mqtt3.parser.feed(mk('MQTT', 3)), (e: unknown) => e instanceof UnsupportedProtocolVersionError && e.protocolVersion === 3);
  const ok = collect();
  ok.parser.feed(mk('MQIsdp', 3));
  assert.equal(ok.out.length, 1);
  assert.equal(ok.parser.version, 3);
});

test('an error later in a 5.0 CONNECT leaves the parser at version 5, so the CONNACK can be 5.0', () => {
  const { parser } = collect();
  const f = encode({ type: 1, protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 0, clientId: 'c' }, 5);
  f[9] = 0x03; // connect flags: reserved bit set
  assert.throws(() => parser.feed(f), (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === 0x81 && e.statement === 'MQTT-3.1.2-3');
  assert.equal(parser.version, 5);
});

test('CONNECT password and will payload are copies, not views of the socket chunk', () => {
  const { parser, out } = collect();
  const f = encode(
    { type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: 'c', username: 'u', password: Buffer.from('pw'), will: { topic: 'w', payload: Buffer.from('bye'), qos: 0, retain: false } },
    4,
  );
  parser.feed(f);
  const c = out[0] as Extract<Packet, { type: 1 }>;
  f.fill(0); // the socket's buffer is reused
  assert.deepStrictEqual(c.password, Buffer.from('pw'));
  assert.deepStrictEqual(c.will!.payload, Buffer.from('bye'));
});
