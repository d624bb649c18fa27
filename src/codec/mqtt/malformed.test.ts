// Malformed and forbidden input: each case is the bytes a peer might send, the reason code the
// decoder must report and the spec statement it breaks. MQTT 3.1.1 and 5.0 number the same rule
// differently; unnumbered rules cite their section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MqttParser } from './parser.js';
import { MqttProtocolError } from './packets.js';
import type { Packet, ProtocolVersion } from './packets.js';

/** A frame: byte 1, the Remaining Length (one byte here) and the body. */
function frame(b0: number, ...body: (number | string)[]): Buffer {
  const bytes: number[] = [];
  for (const part of body) {
    if (typeof part === 'number') bytes.push(part);
    else bytes.push(...Buffer.from(part, 'latin1'));
  }
  assert.ok(bytes.length < 128);
  return Buffer.from([b0, bytes.length, ...bytes]);
}

/** A two-byte-length-prefixed ASCII string. */
const s = (str: string): number[] => [str.length >> 8, str.length & 0xff, ...Buffer.from(str, 'latin1')];
/** CONNECT variable header up to the keep alive, for level 4 or 5. */
const connectHead = (level: number, flags: number): number[] => [...s('MQTT'), level, flags, 0, 60];

interface Case {
  name: string;
  version: ProtocolVersion;
  bytes: Buffer;
  code: number;
  statement: string | undefined;
}

const cases: Case[] = [
  // Fixed header
  { name: 'Remaining Length of five bytes', version: 4, bytes: Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), code: 0x81, statement: 'MQTT-1.5.5-1' },
  { name: 'Remaining Length of five bytes', version: 5, bytes: Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), code: 0x81, statement: 'MQTT-1.5.5-1' },
  { name: 'Remaining Length not in its shortest form', version: 5, bytes: Buffer.from([0xc0, 0x80, 0x00]), code: 0x81, statement: 'MQTT-1.5.5-1' },
  { name: 'packet type 0 is reserved', version: 4, bytes: frame(0x00), code: 0x81, statement: '3.1.1 §2.2.1' },
  { name: 'packet type 0 is reserved', version: 5, bytes: frame(0x00), code: 0x81, statement: '5.0 §2.1.2' },
  { name: 'packet type 15 (AUTH) is reserved in 3.1.1', version: 4, bytes: frame(0xf0), code: 0x81, statement: '3.1.1 §2.2.1' },
  { name: 'PINGREQ with a reserved flag bit set', version: 4, bytes: frame(0xc1), code: 0x81, statement: 'MQTT-2.2.2-2' },
  { name: 'PINGREQ with a reserved flag bit set', version: 5, bytes: frame(0xc1), code: 0x81, statement: 'MQTT-2.1.3-1' },
  { name: 'PUBREL with flags 0000', version: 4, bytes: frame(0x60, 0, 1), code: 0x81, statement: 'MQTT-3.6.1-1' },
  { name: 'SUBSCRIBE with flags 0000', version: 4, bytes: frame(0x80, 0, 1, ...s('a'), 0), code: 0x81, statement: 'MQTT-3.8.1-1' },
  { name: 'UNSUBSCRIBE with flags 0000', version: 5, bytes: frame(0xa0, 0, 1, 0, ...s('a')), code: 0x81, statement: 'MQTT-3.10.1-1' },
  { name: 'PUBLISH with QoS 3', version: 4, bytes: frame(0x36, ...s('a'), 0, 1), code: 0x81, statement: 'MQTT-3.3.1-4' },
  { name: 'PUBLISH with QoS 3', version: 5, bytes: frame(0x36, ...s('a'), 0, 1, 0), code: 0x81, statement: 'MQTT-3.3.1-4' },

  // Strings
  { name: 'topic that is not UTF-8 (C3 28)', version: 4, bytes: frame(0x30, 0, 2, 0xc3, 0x28), code: 0x81, statement: 'MQTT-1.5.3-1' },
  { name: 'topic that is not UTF-8 (C3 28)', version: 5, bytes: frame(0x30, 0, 2, 0xc3, 0x28, 0), code: 0x81, statement: 'MQTT-1.5.4-1' },
  { name: 'topic with an encoded surrogate U+D800', version: 4, bytes: frame(0x30, 0, 3, 0xed, 0xa0, 0x80), code: 0x81, statement: 'MQTT-1.5.3-1' },
  { name: 'topic with an overlong encoding (C0 80)', version: 5, bytes: frame(0x30, 0, 2, 0xc0, 0x80, 0), code: 0x81, statement: 'MQTT-1.5.4-1' },
  { name: 'topic containing U+0000', version: 4, bytes: frame(0x30, 0, 2, 0x61, 0x00), code: 0x81, statement: 'MQTT-1.5.3-2' },
  { name: 'topic containing U+0000', version: 5, bytes: frame(0x30, 0, 2, 0x61, 0x00, 0), code: 0x81, statement: 'MQTT-1.5.4-2' },
  { name: 'U+0000 next to non-ASCII text', version: 5, bytes: frame(0x30, 0, 3, 0xc3, 0xa9, 0x00, 0), code: 0x81, statement: 'MQTT-1.5.4-2' },
  { name: 'user property name not UTF-8', version: 5, bytes: frame(0x30, ...s('a'), 6, 0x26, 0, 1, 0xff, 0, 0), code: 0x81, statement: 'MQTT-1.5.4-1' },

  // PUBLISH
  { name: 'QoS 1 PUBLISH with Packet Identifier 0', version: 4, bytes: frame(0x32, ...s('a'), 0, 0), code: 0x81, statement: 'MQTT-2.3.1-1' },
  { name: 'QoS 2 PUBLISH with Packet Identifier 0', version: 5, bytes: frame(0x34, ...s('a'), 0, 0, 0), code: 0x81, statement: 'MQTT-2.2.1-3' },
  { name: 'PUBLISH ending inside the topic length', version: 4, bytes: frame(0x30, 0), code: 0x81, statement: undefined },
  { name: 'PUBLISH topic longer than the packet', version: 4, bytes: frame(0x30, 0, 5, 0x61), code: 0x81, statement: undefined },
  { name: 'QoS 1 PUBLISH without a Packet Identifier', version: 4, bytes: frame(0x32, ...s('a')), code: 0x81, statement: undefined },
  { name: '5.0 PUBLISH without a Property Length', version: 5, bytes: frame(0x30, ...s('a')), code: 0x81, statement: undefined },
  { name: 'Property Length beyond the packet', version: 5, bytes: frame(0x30, ...s('a'), 9, 0x23, 0, 1), code: 0x81, statement: undefined },
  { name: 'property value running past the Property Length', version: 5, bytes: frame(0x30, ...s('a'), 2, 0x23, 0, 1, 2, 3), code: 0x81, statement: undefined },
  { name: 'Session Expiry Interval is not a PUBLISH property', version: 5, bytes: frame(0x30, ...s('a'), 5, 0x11, 0, 0, 0, 1), code: 0x81, statement: '5.0 §2.2.2.2' },
  { name: 'unknown property identifier 0x7F', version: 5, bytes: frame(0x30, ...s('a'), 2, 0x7f, 0), code: 0x81, statement: '5.0 §2.2.2.2' },
  { name: 'property identifier in a non-shortest Variable Byte Integer', version: 5, bytes: frame(0x30, ...s('a'), 4, 0xa3, 0x00, 0, 1), code: 0x81, statement: 'MQTT-1.5.5-1' },
  { name: 'Topic Alias twice', version: 5, bytes: frame(0x30, ...s('a'), 6, 0x23, 0, 1, 0x23, 0, 2), code: 0x82, statement: '5.0 §3.3.2.3.4' },
  { name: 'Payload Format Indicator twice', version: 5, bytes: frame(0x30, ...s('a'), 4, 0x01, 1, 0x01, 1), code: 0x82, statement: '5.0 §3.3.2.3.2' },

  // CONNECT
  { name: 'CONNECT reserved flag set', version: 4, bytes: frame(0x10, ...connectHead(4, 0x03), ...s('c')), code: 0x81, statement: 'MQTT-3.1.2-3' },
  { name: 'CONNECT reserved flag set', version: 4, bytes: frame(0x10, ...connectHead(5, 0x03), 0, ...s('c')), code: 0x81, statement: 'MQTT-3.1.2-3' },
  { name: 'Will QoS without Will Flag', version: 4, bytes: frame(0x10, ...connectHead(4, 0x0a), ...s('c')), code: 0x81, statement: 'MQTT-3.1.2-13' },
  { name: 'Will QoS without Will Flag', version: 4, bytes: frame(0x10, ...connectHead(5, 0x0a), 0, ...s('c')), code: 0x81, statement: 'MQTT-3.1.2-11' },
  { name: 'Will Retain without Will Flag', version: 4, bytes: frame(0x10, ...connectHead(4, 0x22), ...s('c')), code: 0x81, statement: 'MQTT-3.1.2-15' },
  { name: 'Will Retain without Will Flag', version: 4, bytes: frame(0x10, ...connectHead(5, 0x22), 0, ...s('c')), code: 0x81, statement: 'MQTT-3.1.2-13' },
  { name: 'Will QoS 3', version: 4, bytes: frame(0x10, ...connectHead(4, 0x1e), ...s('c'), ...s('w'), 0, 0), code: 0x81, statement: 'MQTT-3.1.2-14' },
  { name: 'Will QoS 3', version: 4, bytes: frame(0x10, ...connectHead(5, 0x1e), 0, ...s('c'), 0, ...s('w'), 0, 0), code: 0x81, statement: 'MQTT-3.1.2-12' },
  { name: '3.1.1 Password Flag without User Name Flag', version: 4, bytes: frame(0x10, ...connectHead(4, 0x42), ...s('c'), 0, 1, 0x70), code: 0x81, statement: 'MQTT-3.1.2-22' },
  { name: 'CONNECT with bytes after its last field', version: 4, bytes: frame(0x10, ...connectHead(4, 0x02), ...s('c'), 0xee), code: 0x81, statement: undefined },
  { name: 'CONNECT Client Identifier not UTF-8', version: 4, bytes: frame(0x10, ...connectHead(4, 0x02), 0, 1, 0xfe), code: 0x81, statement: 'MQTT-1.5.3-1' },
  { name: 'Will Delay Interval is not a CONNECT property', version: 4, bytes: frame(0x10, ...connectHead(5, 0x02), 5, 0x18, 0, 0, 0, 1, ...s('c')), code: 0x81, statement: '5.0 §2.2.2.2' },
  { name: 'Session Expiry Interval is not a Will property', version: 4, bytes: frame(0x10, ...connectHead(5, 0x06), 0, ...s('c'), 5, 0x11, 0, 0, 0, 1, ...s('w'), 0, 0), code: 0x81, statement: '5.0 §2.2.2.2' },
  { name: 'Receive Maximum twice in CONNECT', version: 4, bytes: frame(0x10, ...connectHead(5, 0x02), 6, 0x21, 0, 1, 0x21, 0, 2, ...s('c')), code: 0x82, statement: '5.0 §3.1.2.11.3' },

  // SUBSCRIBE / UNSUBSCRIBE
  { name: 'SUBSCRIBE with Packet Identifier 0', version: 4, bytes: frame(0x82, 0, 0, ...s('a'), 0), code: 0x81, statement: 'MQTT-2.3.1-1' },
  { name: 'SUBSCRIBE with Packet Identifier 0', version: 5, bytes: frame(0x82, 0, 0, 0, ...s('a'), 0), code: 0x81, statement: 'MQTT-2.2.1-3' },
  { name: 'SUBSCRIBE without topic filters', version: 4, bytes: frame(0x82, 0, 1), code: 0x82, statement: 'MQTT-3.8.3-3' },
  { name: 'SUBSCRIBE without topic filters', version: 5, bytes: frame(0x82, 0, 1, 0), code: 0x82, statement: 'MQTT-3.8.3-2' },
  { name: '3.1.1 SUBSCRIBE requested-QoS byte with reserved bits', version: 4, bytes: frame(0x82, 0, 1, ...s('a'), 0x04), code: 0x81, statement: 'MQTT-3-8.3-4' },
  { name: '3.1.1 SUBSCRIBE requesting QoS 3', version: 4, bytes: frame(0x82, 0, 1, ...s('a'), 0x03), code: 0x81, statement: 'MQTT-3-8.3-4' },
  { name: '5.0 subscription options with reserved bits 6-7 set', version: 5, bytes: frame(0x82, 0, 1, 0, ...s('a'), 0x40), code: 0x81, statement: 'MQTT-3.8.3-5' },
  { name: '5.0 subscription options with Retain Handling 3', version: 5, bytes: frame(0x82, 0, 1, 0, ...s('a'), 0x30), code: 0x82, statement: '5.0 §3.8.3.1' },
  { name: '5.0 subscription options with Maximum QoS 3', version: 5, bytes: frame(0x82, 0, 1, 0, ...s('a'), 0x03), code: 0x82, statement: '5.0 §3.8.3.1' },
  { name: 'SUBSCRIBE with two Subscription Identifiers', version: 5, bytes: frame(0x82, 0, 1, 4, 0x0b, 1, 0x0b, 2, ...s('a'), 0), code: 0x82, statement: '5.0 §3.8.2.1.2' },
  { name: 'topic filter cut by the end of the packet', version: 4, bytes: frame(0x82, 0, 1, 0, 4, 0x61), code: 0x81, statement: undefined },
  { name: 'UNSUBSCRIBE without topic filters', version: 4, bytes: frame(0xa2, 0, 1), code: 0x82, statement: 'MQTT-3.10.3-2' },
  { name: 'UNSUBSCRIBE without topic filters', version: 5, bytes: frame(0xa2, 0, 1, 0), code: 0x82, statement: 'MQTT-3.10.3-2' },
  { name: 'UNSUBSCRIBE with Packet Identifier 0', version: 4, bytes: frame(0xa2, 0, 0, ...s('a')), code: 0x81, statement: 'MQTT-2.3.1-1' },

  // Acknowledgements, DISCONNECT, PINGREQ, CONNACK, SUBACK
  { name: '3.1.1 PUBACK with a third byte', version: 4, bytes: frame(0x40, 0, 1, 0), code: 0x81, statement: undefined },
  { name: 'PUBACK with reason code 0x05', version: 5, bytes: frame(0x40, 0, 1, 0x05), code: 0x81, statement: 'MQTT-3.4.2-1' },
  { name: 'PUBREC with reason code 0x92', version: 5, bytes: frame(0x50, 0, 1, 0x92), code: 0x81, statement: 'MQTT-3.5.2-1' },
  { name: 'PUBREL with reason code 0x10', version: 5, bytes: frame(0x62, 0, 1, 0x10), code: 0x81, statement: 'MQTT-3.6.2-1' },
  { name: 'PUBCOMP with reason code 0x80', version: 5, bytes: frame(0x70, 0, 1, 0x80), code: 0x81, statement: 'MQTT-3.7.2-1' },
  { name: 'PUBACK carrying a Topic Alias', version: 5, bytes: frame(0x40, 0, 1, 0, 3, 0x23, 0, 1), code: 0x81, statement: '5.0 §2.2.2.2' },
  { name: 'DISCONNECT with reason code 0x05', version: 5, bytes: frame(0xe0, 0x05), code: 0x81, statement: 'MQTT-3.14.2-1' },
  { name: 'AUTH with reason code 0x01', version: 5, bytes: frame(0xf0, 0x01, 0), code: 0x81, statement: 'MQTT-3.15.2-1' },
  { name: '3.1.1 DISCONNECT with a body', version: 4, bytes: frame(0xe0, 0), code: 0x81, statement: undefined },
  { name: 'PINGREQ with a body', version: 4, bytes: frame(0xc0, 0), code: 0x81, statement: undefined },
  { name: 'CONNACK reserved flag bits', version: 4, bytes: frame(0x20, 0x02, 0), code: 0x81, statement: '3.1.1 §3.2.2.1' },
  { name: 'CONNACK reserved flag bits', version: 5, bytes: frame(0x20, 0x02, 0, 0), code: 0x81, statement: 'MQTT-3.2.2-1' },
  { name: '3.1.1 CONNACK return code 6', version: 4, bytes: frame(0x20, 0, 6), code: 0x81, statement: '3.1.1 §3.2.2.3' },
  { name: '3.1.1 SUBACK return code 3', version: 4, bytes: frame(0x90, 0, 1, 3), code: 0x81, statement: 'MQTT-3.9.3-2' },
  { name: 'UNSUBACK reason code 0x01', version: 5, bytes: frame(0xb0, 0, 1, 0, 0x01), code: 0x81, statement: 'MQTT-3.11.3-2' },
];

for (const c of cases) {
  // A CONNECT is decoded in the version it names (byte 8: the Protocol Level after "MQTT").
  const v5 = c.bytes[0] === 0x10 ? c.bytes[8] === 5 : c.version === 5;
  const label = v5 ? '5.0' : '3.1.1';
  test(`${label}: ${c.name} → 0x${c.code.toString(16)}${c.statement ? ` [${c.statement}]` : ''}`, () => {
    const delivered: Packet[] = [];
    const parser = new MqttParser((p) => delivered.push(p), 1 << 20);
    parser.version = c.version;
    assert.throws(
      () => parser.feed(c.bytes),
      (e: unknown) => {
        assert.ok(e instanceof MqttProtocolError, `not an MqttProtocolError: ${String(e)}`);
        assert.equal(e.reasonCode, c.code, e.message);
        assert.equal(e.statement, c.statement, e.message);
        return true;
      },
    );
    assert.equal(delivered.length, 0);
    assert.equal(parser.destroyed, true);
    // Byte at a time, the same verdict.
    const slow = new MqttParser(() => {}, 1 << 20);
    slow.version = c.version;
    assert.throws(
      () => {
        for (const b of c.bytes) slow.feed(Buffer.from([b]));
      },
      (e: unknown) => e instanceof MqttProtocolError && e.reasonCode === c.code && e.statement === c.statement,
    );
  });
}

test('5.0 allows a password without a user name (MQTT 5.0 §3.1.2.9), 3.1.1 does not [MQTT-3.1.2-22]', () => {
  const out: Packet[] = [];
  const parser = new MqttParser((p) => out.push(p), 1 << 20);
  parser.feed(frame(0x10, ...connectHead(5, 0x42), 0, ...s('c'), 0, 2, 0x70, 0x77));
  assert.equal(out.length, 1);
  assert.deepStrictEqual((out[0] as Extract<Packet, { type: 1 }>).password, Buffer.from('pw'));
});

test('3.1.1 accepts a Remaining Length in a longer form than needed (3.1.1 §2.2.3 does not forbid it)', () => {
  const out: Packet[] = [];
  const parser = new MqttParser((p) => out.push(p), 1 << 20);
  parser.feed(Buffer.from([0xc0, 0x80, 0x00]));
  assert.equal(out.length, 1);
});
