// Flow control and packet size limits (MQTT 5.0 §3.3.4, §4.9, §3.1.2.11.3–4, §3.2.2.3.3,
// §3.2.2.3.6): the client's Receive Maximum and Maximum Packet Size, and the hub's own limits.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import type { TestHub } from '../helpers/hub.js';
import { closeAll, connect } from '../helpers/mqtt.js';
import { NEEDS_CONFIG, RC, expectServerDisconnect, pid, rawConnect, rawSubscribe, topicRoot, withHub } from './support.js';

let hub: TestHub;
const HUB_RECEIVE_MAXIMUM = 5;
const HUB_MAX_PACKET = 4096;

describe('Flow control', { concurrency: true }, () => {
  withHub((h) => (hub = h), { config: { limits: { receiveMaximum: HUB_RECEIVE_MAXIMUM, maxPacketSize: HUB_MAX_PACKET } } });

  test('[MQTT-3.3.4-9] [MQTT-4.9.0-2] 5.0: the server never has more unacknowledged QoS 1 PUBLISHes out than the client Receive Maximum (client_test5.py)', async () => {
    const topic = `${topicRoot()}/rm`;
    const { client: raw } = await rawConnect(hub, 5, { properties: { receiveMaximum: 2 } });
    await rawSubscribe(raw, [{ topic, qos: 1 }]);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    for (let i = 1; i <= 5; i++) await p.publishAsync(topic, `message ${i}`, { qos: 1 });
    const first = await raw.expectPacket('publish');
    const second = await raw.expectPacket('publish');
    await raw.expectNothing(500, 'publish');
    raw.send({ cmd: 'puback', messageId: first.messageId });
    const third = await raw.expectPacket('publish');
    await raw.expectNothing(300, 'publish');
    const got = [first, second, third];
    for (const m of [second, third]) raw.send({ cmd: 'puback', messageId: m.messageId });
    got.push(await raw.expectPacket('publish'), await raw.expectPacket('publish'));
    assert.deepEqual(
      got.map((m) => m.payload.toString()),
      [1, 2, 3, 4, 5].map((i) => `message ${i}`),
      'delivered in order',
    );
    for (const m of got.slice(3)) raw.send({ cmd: 'puback', messageId: m.messageId });
    await raw.disconnect();
    await closeAll(p);
  });

  test('[MQTT-3.3.4-9] MQTT 5.0 §4.9: for QoS 2 the quota is released by PUBCOMP, not by PUBREC', async () => {
    const topic = `${topicRoot()}/rm2`;
    const { client: raw } = await rawConnect(hub, 5, { properties: { receiveMaximum: 1 } });
    await rawSubscribe(raw, [{ topic, qos: 2 }]);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    await p.publishAsync(topic, 'one', { qos: 2 });
    await p.publishAsync(topic, 'two', { qos: 2 });
    const one = await raw.expectPacket('publish');
    raw.send({ cmd: 'pubrec', messageId: one.messageId });
    const rel = await raw.expectPacket('pubrel');
    assert.equal(rel.messageId, one.messageId);
    await raw.expectNothing(500, 'publish');
    raw.send({ cmd: 'pubcomp', messageId: one.messageId });
    const two = await raw.expectPacket('publish');
    assert.equal(two.payload.toString(), 'two');
    raw.send({ cmd: 'pubrec', messageId: two.messageId });
    await raw.expectPacket('pubrel');
    raw.send({ cmd: 'pubcomp', messageId: two.messageId });
    await raw.disconnect();
    await closeAll(p);
  });

  test('[MQTT-3.3.4-10] [MQTT-4.9.0-3] 5.0: with the send quota exhausted the server still answers other packets', async () => {
    const topic = `${topicRoot()}/busy`;
    const { client: raw } = await rawConnect(hub, 5, { properties: { receiveMaximum: 1 } });
    await rawSubscribe(raw, [{ topic, qos: 1 }]);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    await p.publishAsync(topic, 'held', { qos: 1 });
    await p.publishAsync(topic, 'waiting', { qos: 1 });
    const held = await raw.expectPacket('publish');
    raw.send({ cmd: 'pingreq' });
    await raw.expectPacket('pingresp');
    await rawSubscribe(raw, [{ topic: `${topic}/other`, qos: 0 }]);
    raw.send({ cmd: 'publish', topic: `${topic}/x`, payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: pid() });
    await raw.expectPacket('puback');
    raw.send({ cmd: 'puback', messageId: held.messageId });
    const next = await raw.expectPacket('publish');
    assert.equal(next.payload.toString(), 'waiting');
    raw.send({ cmd: 'puback', messageId: next.messageId });
    await raw.disconnect();
    await closeAll(p);
  });

  test('MQTT 5.0 §3.3.4: a client exceeding the server Receive Maximum gets DISCONNECT 0x93 (client_test5.py flow control 2)', async (t) => {
    const { client: raw, connack } = await rawConnect(hub, 5);
    const max = connack.properties?.receiveMaximum;
    if (!hub.external) assert.equal(max, HUB_RECEIVE_MAXIMUM, 'CONNACK announces limits.receiveMaximum (§3.2.2.3.3)');
    if (max === undefined) {
      await raw.disconnect();
      return t.skip(NEEDS_CONFIG);
    }
    const topic = `${topicRoot()}/flood`;
    // QoS 2 PUBLISHes without PUBREL stay unacknowledged (no PUBCOMP) until the quota overflows.
    for (let i = 0; i <= max; i++) {
      raw.send({ cmd: 'publish', topic, payload: Buffer.from(`message ${i}`), qos: 2, dup: false, retain: false, messageId: i + 1 });
    }
    await expectServerDisconnect(raw, RC.RECEIVE_MAXIMUM_EXCEEDED, { required: true });
  });

  test('[MQTT-3.1.2-24] 5.0: the server never sends a packet above the client Maximum Packet Size (client_test5.py)', async () => {
    const topic = `${topicRoot()}/mps`;
    const { client: raw } = await rawConnect(hub, 5, { properties: { maximumPacketSize: 128 } });
    await rawSubscribe(raw, [{ topic, qos: 1 }]);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    await p.publishAsync(topic, Buffer.alloc(32, 0x2e), { qos: 0 });
    await p.publishAsync(topic, Buffer.alloc(200, 0x2e), { qos: 1 });
    await p.publishAsync(topic, Buffer.alloc(200, 0x2e), { qos: 0 });
    await p.publishAsync(topic, 'last', { qos: 0 });
    const small = await raw.expectPacket('publish');
    assert.equal(small.payload.length, 32);
    const last = await raw.expectPacket('publish');
    assert.equal(last.payload.toString(), 'last', 'the oversized messages are not sent');
    for (const m of raw.received) {
      if (m.cmd === 'publish') assert.ok(m.length !== undefined && m.length + 2 <= 128, `a ${m.length}-byte packet was sent`);
    }
    assert.equal(raw.closed, false);
    await raw.disconnect();
    await closeAll(p);
  });

  test('[MQTT-3.1.2-25] 5.0: a QoS 1 message too large for the client is treated as sent: it does not hold a Receive Maximum slot', async () => {
    const topic = `${topicRoot()}/mps1`;
    const { client: raw } = await rawConnect(hub, 5, { properties: { maximumPacketSize: 128, receiveMaximum: 1 } });
    await rawSubscribe(raw, [{ topic, qos: 1 }]);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    await p.publishAsync(topic, Buffer.alloc(200, 0x2e), { qos: 1 });
    await p.publishAsync(topic, 'small', { qos: 1 });
    const s = await raw.expectPacket('publish', 3000);
    assert.equal(s.payload.toString(), 'small');
    raw.send({ cmd: 'puback', messageId: s.messageId });
    await raw.disconnect();
    await closeAll(p);
  });

  test('MQTT 5.0 §3.2.2.3.6: a packet above the server Maximum Packet Size gets DISCONNECT 0x95 (client_test5.py)', async (t) => {
    const { client: raw, connack } = await rawConnect(hub, 5);
    const max = connack.properties?.maximumPacketSize;
    if (!hub.external) assert.equal(max, HUB_MAX_PACKET, 'CONNACK announces limits.maxPacketSize');
    if (max === undefined) {
      await raw.disconnect();
      return t.skip(NEEDS_CONFIG);
    }
    const big: IPublishPacket = { cmd: 'publish', topic: `${topicRoot()}/big`, payload: Buffer.alloc(max, 0x2e), qos: 0, dup: false, retain: false };
    raw.send(big);
    await expectServerDisconnect(raw, RC.PACKET_TOO_LARGE, { required: true });
  });

  test('3.1.1: a packet above the hub maxPacketSize closes the connection (MQTT 3.1.1 §4.8)', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const { client: raw } = await rawConnect(hub, 4);
    raw.send({ cmd: 'publish', topic: `${topicRoot()}/big`, payload: Buffer.alloc(HUB_MAX_PACKET + 10, 0x2e), qos: 0, dup: false, retain: false });
    await raw.expectClose(3000);
  });
});
