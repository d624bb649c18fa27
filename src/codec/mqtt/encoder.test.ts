// Encoder rules: exact bytes where the spec fixes them, what a 3.1.1 encoding leaves out, and
// refusal of values the wire format cannot carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, encodeAck, encodeDisconnect, encodePublish, PINGRESP_FRAME } from './encoder.js';
import { VARINT_MAX, varintSize, writeVarint } from './varint.js';
import type { Properties } from './packets.js';

test('Variable Byte Integer sizes and bytes at each boundary (MQTT 5.0 §1.5.5)', () => {
  const cases: [number, number[]][] = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]],
    [2_097_152, [0x80, 0x80, 0x80, 0x01]],
    [VARINT_MAX, [0xff, 0xff, 0xff, 0x7f]],
  ];
  for (const [n, bytes] of cases) {
    assert.equal(varintSize(n), bytes.length, `size of ${n}`);
    const b = Buffer.alloc(4);
    assert.equal(writeVarint(b, 0, n), bytes.length);
    assert.deepStrictEqual([...b.subarray(0, bytes.length)], bytes);
  }
});

test('5.0 PUBACK: Reason Code and Property Length omitted for Success without properties [MQTT-3.4.2-1] §3.4.2.1', () => {
  assert.deepStrictEqual([...encodeAck(4, 0x1234, 0, 5)], [0x40, 2, 0x12, 0x34]);
  assert.deepStrictEqual([...encodeAck(4, 1, 0x10, 5)], [0x40, 3, 0, 1, 0x10]);
  assert.deepStrictEqual([...encodeAck(4, 1, 0, 5, { reasonString: 'x' })], [0x40, 8, 0, 1, 0, 4, 0x1f, 0, 1, 0x78]);
  assert.deepStrictEqual([...encodeAck(4, 1, 0, 5, {})], [0x40, 2, 0, 1], 'empty properties count as none');
});

test('PUBREL is encoded with fixed-header flags 0010 [MQTT-3.6.1-1]', () => {
  assert.equal(encodeAck(6, 1, 0, 4)[0], 0x62);
  assert.equal(encodeAck(6, 1, 0x92, 5)[0], 0x62);
});

test('3.1.1 encodings never carry properties or reason codes', () => {
  const props: Properties = { userProperties: [['a', 'b']], reasonString: 'r' };
  assert.deepStrictEqual([...encodeAck(4, 7, 0x10, 4, props)], [0x40, 2, 0, 7]);
  const pub = encodePublish('t', Buffer.from('x'), 0, false, false, 0, { contentType: 'c' }, 4);
  assert.deepStrictEqual([...pub], [0x30, 4, 0, 1, 0x74, 0x78]);
  assert.deepStrictEqual([...encode({ type: 9, packetId: 1, reasonCodes: [0, 0x80], properties: props }, 4)], [0x90, 4, 0, 1, 0, 0x80]);
  assert.deepStrictEqual([...encode({ type: 11, packetId: 1, reasonCodes: [0x11], properties: props }, 4)], [0xb0, 2, 0, 1]);
  assert.deepStrictEqual([...encodeDisconnect(0x8e, 4, props)], [0xe0, 0]);
  assert.deepStrictEqual([...encode({ type: 2, sessionPresent: true, reasonCode: 0, properties: props }, 4)], [0x20, 2, 1, 0]);
});

test('5.0 DISCONNECT omits what it may (§3.14.2.1): Normal without properties is two bytes', () => {
  assert.deepStrictEqual([...encodeDisconnect(0, 5)], [0xe0, 0]);
  assert.deepStrictEqual([...encodeDisconnect(0x8e, 5)], [0xe0, 1, 0x8e]);
  assert.deepStrictEqual([...encodeDisconnect(0x81, 5, { reasonString: 'm' })], [0xe0, 6, 0x81, 4, 0x1f, 0, 1, 0x6d]);
});

test('5.0 CONNACK, SUBACK, UNSUBACK carry reason strings and user properties', () => {
  const props: Properties = { reasonString: 'why', userProperties: [['k', 'v']] };
  const connack = encode({ type: 2, sessionPresent: false, reasonCode: 0x87, properties: props }, 5);
  // flags, code, property length 13: 1F 0003 "why" 26 0001 "k" 0001 "v"
  assert.deepStrictEqual([...connack], [0x20, 16, 0, 0x87, 13, 0x1f, 0, 3, 0x77, 0x68, 0x79, 0x26, 0, 1, 0x6b, 0, 1, 0x76]);
  const suback = encode({ type: 9, packetId: 2, reasonCodes: [1, 0x8f], properties: props }, 5);
  assert.deepStrictEqual([...suback.subarray(0, 5)], [0x90, 18, 0, 2, 13]);
  assert.deepStrictEqual([...suback.subarray(-2)], [1, 0x8f]);
  const unsuback = encode({ type: 11, packetId: 3, reasonCodes: [0x11], properties: props }, 5);
  assert.deepStrictEqual([...unsuback.subarray(0, 5)], [0xb0, 17, 0, 3, 13]);
  assert.equal(unsuback[unsuback.length - 1], 0x11);
});

test('PINGRESP is one shared constant frame', () => {
  assert.equal(encode({ type: 13 }, 4), PINGRESP_FRAME);
  assert.deepStrictEqual([...PINGRESP_FRAME], [0xd0, 0]);
});

test('refuses a string longer than 65535 bytes (MQTT 5.0 §1.5.4)', () => {
  assert.throws(() => encodePublish('a'.repeat(65_536), Buffer.alloc(0), 0, false, false, 0, undefined, 4), RangeError);
  assert.throws(() => encodePublish('é'.repeat(32_768), Buffer.alloc(0), 0, false, false, 0, undefined, 4), RangeError, '65536 bytes in UTF-8');
  assert.doesNotThrow(() => encodePublish('a'.repeat(65_535), Buffer.alloc(0), 0, false, false, 0, undefined, 4));
  assert.throws(() => encodeAck(4, 1, 0, 5, { reasonString: 'x'.repeat(70_000) }), RangeError);
});

test('refuses strings a receiver would reject: U+0000 [MQTT-1.5.4-2] and lone surrogates [MQTT-1.5.4-1]', () => {
  assert.throws(() => encodePublish('a\0b', Buffer.alloc(0), 0, false, false, 0, undefined, 4), RangeError);
  assert.throws(() => encodePublish('a\ud800', Buffer.alloc(0), 0, false, false, 0, undefined, 4), RangeError);
});

test('refuses a Remaining Length above 268,435,455 (MQTT 5.0 §1.5.5)', () => {
  const payload = Buffer.allocUnsafe(VARINT_MAX - 2); // + topic "t" (3 bytes) overflows by one
  assert.throws(() => encodePublish('t', payload, 0, false, false, 0, undefined, 4), RangeError);
});

test('refuses Packet Identifier 0 on QoS > 0 PUBLISH, SUBSCRIBE, UNSUBSCRIBE [MQTT-2.2.1-3]', () => {
  assert.throws(() => encodePublish('t', Buffer.alloc(0), 1, false, false, 0, undefined, 5), RangeError);
  assert.throws(() => encodePublish('t', Buffer.alloc(0), 2, false, false, 65_536, undefined, 5), RangeError);
  assert.throws(() => encode({ type: 8, packetId: 0, subscriptions: [{ filter: 'a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] }, 4), RangeError);
  assert.throws(() => encode({ type: 10, packetId: 0, filters: ['a'] }, 4), RangeError);
});

test('refuses a property the packet type may not carry (MQTT 5.0 §2.2.2.2) and out-of-range values', () => {
  assert.throws(() => encodePublish('t', Buffer.alloc(0), 0, false, false, 0, { sessionExpiryInterval: 1 }, 5), RangeError);
  assert.throws(() => encodePublish('t', Buffer.alloc(0), 0, false, false, 0, { topicAlias: 70_000 }, 5), RangeError);
  assert.throws(() => encode({ type: 8, packetId: 1, subscriptions: [{ filter: 'a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }], properties: { subscriptionIdentifiers: [1, 2] } }, 5), RangeError);
});

test('refuses reason codes outside the packet type table (e.g. PUBREL 0x10) [MQTT-3.6.2-1]', () => {
  assert.throws(() => encodeAck(6, 1, 0x10, 5), RangeError);
  assert.throws(() => encode({ type: 2, sessionPresent: false, reasonCode: 6 }, 4), RangeError);
});

test('refuses a 3.1.1 CONNECT with a password but no user name [MQTT-3.1.2-22]', () => {
  assert.throws(
    () => encode({ type: 1, protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: 'c', password: Buffer.from('p') }, 4),
    RangeError,
  );
});

test('PUBLISH fast path writes non-ASCII topics as UTF-8', () => {
  const f = encodePublish('température/é', Buffer.from([1]), 0, false, false, 0, undefined, 4);
  const topicLen = f.readUInt16BE(2);
  assert.equal(f.toString('utf8', 4, 4 + topicLen), 'température/é');
  assert.equal(topicLen, Buffer.byteLength('température/é'));
});
