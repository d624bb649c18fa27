// The bench's own encoders, checked by decoding their output with mqtt-packet (a dev dependency,
// used here only as the reference decoder), and its frame scanner fed byte streams cut anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import fc from 'fast-check';
import {
  FrameScanner,
  PacketType,
  encodeConnect,
  encodePublishTemplate,
  encodeSubscribe,
  parseConnack,
  parseSuback,
  readVarint,
  varintSize,
  writeAck,
  writeVarint,
  type FrameSink,
  type ProtocolVersion,
} from './wire.js';

function decode(version: ProtocolVersion, buf: Buffer): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const out: mqttPacket.Packet[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p) => out.push(p));
  parser.on('error', (e) => errors.push(e));
  parser.parse(buf);
  assert.deepEqual(errors, []);
  return out;
}

for (const version of [4, 5] as const) {
  test(`CONNECT v${version} decodes with the given id, clean flag and keep-alive (3.1.1 §3.1, 5.0 §3.1)`, () => {
    const buf = encodeConnect({ version, clientId: 'tbabc123p7', clean: false, keepAlive: 42, sessionExpiry: 3600 });
    const [p] = decode(version, buf) as mqttPacket.IConnectPacket[];
    assert.equal(p.cmd, 'connect');
    assert.equal(p.protocolVersion, version);
    assert.equal(p.clientId, 'tbabc123p7');
    assert.equal(p.clean, false);
    assert.equal(p.keepalive, 42);
    if (version === 5) assert.equal(p.properties?.sessionExpiryInterval, 3600);
  });

  test(`SUBSCRIBE v${version} carries the filter and QoS with flags 0b0010 [MQTT-3.8.1-1]`, () => {
    const buf = encodeSubscribe(version, 9, 'tb/x/+', 2);
    assert.equal(buf[0], 0x82);
    const [p] = decode(version, buf) as mqttPacket.ISubscribePacket[];
    assert.equal(p.messageId, 9);
    assert.equal(p.subscriptions[0].topic, 'tb/x/+');
    assert.equal(p.subscriptions[0].qos, 2);
  });

  for (const qos of [0, 1, 2] as const) {
    test(`PUBLISH template v${version} QoS ${qos}: packet id only when QoS > 0 (MQTT 3.1.1 §3.3.2.2)`, () => {
      const t = encodePublishTemplate(version, 'tb/r/3', qos, 64);
      if (qos > 0) t.frame.writeUInt16BE(4242, t.packetIdOffset);
      else assert.equal(t.packetIdOffset, -1);
      t.frame.fill(7, t.payloadOffset);
      assert.equal(t.frame.length - t.payloadOffset, 64);
      const [p] = decode(version, t.frame) as mqttPacket.IPublishPacket[];
      assert.equal(p.topic, 'tb/r/3');
      assert.equal(p.qos, qos);
      assert.equal(p.retain, false);
      assert.equal(p.dup, false);
      if (qos > 0) assert.equal(p.messageId, 4242);
      assert.deepEqual(Buffer.from(p.payload as Buffer), Buffer.alloc(64, 7));
    });
  }

  test(`acks v${version}: PUBACK, PUBREC, PUBREL (flags 0b0010 [MQTT-3.6.1-1]), PUBCOMP with the packet id`, () => {
    const buf = Buffer.alloc(16);
    let off = 0;
    off = writeAck(buf, off, PacketType.PUBACK, 1);
    off = writeAck(buf, off, PacketType.PUBREC, 300);
    off = writeAck(buf, off, PacketType.PUBREL, 65535);
    writeAck(buf, off, PacketType.PUBCOMP, 2);
    assert.equal(buf[8], 0x62);
    const ps = decode(version, buf);
    assert.deepEqual(
      ps.map((p) => [p.cmd, (p as mqttPacket.IPubackPacket).messageId]),
      [
        ['puback', 1],
        ['pubrec', 300],
        ['pubrel', 65535],
        ['pubcomp', 2],
      ],
    );
  });

  test(`CONNACK and SUBACK v${version} parse what mqtt-packet encodes`, () => {
    const connack = mqttPacket.generate(
      version === 5
        ? { cmd: 'connack', sessionPresent: true, reasonCode: 0, properties: { receiveMaximum: 20, serverKeepAlive: 30, assignedClientIdentifier: 'x', userProperties: { a: 'b' } } }
        : { cmd: 'connack', sessionPresent: true, returnCode: 0 },
      { protocolVersion: version },
    );
    const c = parseConnack(version, connack, 2, connack.length);
    assert.equal(c.sessionPresent, true);
    assert.equal(c.code, 0);
    assert.equal(c.receiveMaximum, version === 5 ? 20 : 65535);
    assert.equal(c.serverKeepAlive, version === 5 ? 30 : -1);
    const suback = mqttPacket.generate({ cmd: 'suback', messageId: 1, granted: [1, 0x80] }, { protocolVersion: version });
    assert.deepEqual(parseSuback(version, suback, 2, suback.length), [1, 0x80]);
  });
}

test('Variable Byte Integer round trip at every size boundary (MQTT 5.0 §1.5.5)', () => {
  for (const n of [0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455]) {
    const buf = Buffer.alloc(4);
    const end = writeVarint(buf, 0, n);
    assert.equal(end, varintSize(n));
    assert.deepEqual(readVarint(buf, 0), [n, end]);
  }
  assert.throws(() => readVarint(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01]), 0));
});

class Collect implements FrameSink {
  frames: string[] = [];
  onFrame(type: number, flags: number, buf: Buffer, start: number, end: number): void {
    this.frames.push(`${type}/${flags}/${buf.subarray(start, end).toString('hex')}`);
  }
}

test('frame scanner yields the same frames however the stream is cut (MQTT 3.1.1 §2.2)', () => {
  const frames = [
    encodePublishTemplate(4, 'a/b', 1, 300).frame, // two-byte Remaining Length
    Buffer.from([0xd0, 0x00]),
    encodePublishTemplate(4, 'c', 0, 16).frame,
    encodePublishTemplate(4, 'big', 0, 20000).frame, // three-byte Remaining Length
  ];
  const stream = Buffer.concat(frames);
  const whole = new Collect();
  new FrameScanner(whole).push(stream);
  assert.equal(whole.frames.length, frames.length);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 20 }), (cuts) => {
      const sink = new Collect();
      const scanner = new FrameScanner(sink);
      let at = 0;
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        scanner.push(stream.subarray(at, cut));
        at = cut;
      }
      scanner.push(stream.subarray(at));
      assert.deepEqual(sink.frames, whole.frames);
    }),
  );
});

test('frame scanner rejects a Remaining Length longer than four bytes (MQTT 3.1.1 §2.2.3)', () => {
  const scanner = new FrameScanner(new Collect());
  assert.throws(() => scanner.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), /Remaining Length/);
});
