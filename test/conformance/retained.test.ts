// Retained messages (MQTT 3.1.1 §3.3.1.3; MQTT 5.0 §3.3.1.3, §3.8.3.1): store, replace, clear,
// delivery on subscribe, RETAIN flag on forwarding, Retain Handling, Retain As Published, expiry.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestHub } from '../helpers/hub.js';
import { closeAll, collect, connect, sleep } from '../helpers/mqtt.js';
import type { MessageLog } from '../helpers/mqtt.js';
import type { MqttClient } from 'mqtt';
import { clearRetained, topicRoot, withHub } from './support.js';

let hub: TestHub;

async function publisher(v: 4 | 5): Promise<MqttClient> {
  return (await connect(hub, { protocolVersion: v })).client;
}

/** A fresh subscriber on `filter`; returns once the SUBACK arrived. */
async function subscriber(
  v: 4 | 5,
  filter: string,
  opts: { qos: 0 | 1 | 2; rh?: number; rap?: boolean } = { qos: 2 },
): Promise<{ client: MqttClient; log: MessageLog }> {
  const { client } = await connect(hub, { protocolVersion: v });
  const log = collect(client);
  await client.subscribeAsync(filter, opts);
  return { client, log };
}

describe('Retained messages', { concurrency: true }, () => {
  withHub((h) => (hub = h));

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';

    const storeIds = v === 4 ? '[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8]' : '[MQTT-3.3.1-5] [MQTT-3.3.1-9]';
    test(`${storeIds} ${V}: a retained message is stored and sent to a new subscriber with RETAIN 1`, async () => {
      const topic = `${topicRoot()}/state`;
      const pub = await publisher(v);
      await pub.publishAsync(topic, 'on', { qos: 1, retain: true });
      const sub = await subscriber(v, topic);
      const [m] = await sub.log.waitFor(1);
      assert.equal(m!.payload.toString(), 'on');
      assert.equal(m!.packet.retain, true);
      assert.equal(m!.packet.qos, 1);
      await sub.log.expectAtMost(1, 200);
      await closeAll(pub, sub.client);
      await clearRetained(hub, topic);
    });

    test(`[MQTT-3.3.1-5] ${V}: a retained message replaces the one stored for its topic`, async () => {
      const topic = `${topicRoot()}/state`;
      const pub = await publisher(v);
      await pub.publishAsync(topic, 'v1', { qos: 1, retain: true });
      await pub.publishAsync(topic, 'v2', { qos: 1, retain: true });
      const sub = await subscriber(v, topic);
      await sub.log.waitFor(1);
      await sub.log.expectAtMost(1, 300);
      assert.deepEqual(sub.log.payloads(), ['v2']);
      await closeAll(pub, sub.client);
      await clearRetained(hub, topic);
    });

    if (v === 4) {
      test('[MQTT-3.3.1-7] 3.1.1: a retained QoS 0 message discards the message previously retained for its topic', async () => {
        const topic = `${topicRoot()}/state`;
        const pub = await publisher(4);
        await pub.publishAsync(topic, 'qos1', { qos: 1, retain: true });
        await pub.publishAsync(topic, 'qos0', { qos: 0, retain: true });
        await sleep(100);
        const sub = await subscriber(4, topic);
        await sub.log.expectAtMost(1, 400);
        // The server SHOULD keep the QoS 0 message; it MAY drop it, never keep the old one.
        if (hub.external) assert.ok(sub.log.payloads().every((p) => p === 'qos0'), `got ${sub.log.payloads()}`);
        else assert.deepEqual(sub.log.payloads(), ['qos0']);
        await closeAll(pub, sub.client);
        await clearRetained(hub, topic);
      });
    }

    const clearIds = v === 4 ? '[MQTT-3.3.1-10]' : '[MQTT-3.3.1-6]';
    test(`${clearIds} ${V}: a zero-byte retained message is forwarded normally and clears the retained message`, async () => {
      const topic = `${topicRoot()}/state`;
      const pub = await publisher(v);
      await pub.publishAsync(topic, 'to be cleared', { qos: 1, retain: true });
      const existing = await subscriber(v, topic);
      await existing.log.waitFor(1); // the retained message itself
      await pub.publishAsync(topic, '', { qos: 1, retain: true });
      const [, cleared] = await existing.log.waitFor(2);
      assert.equal(cleared!.payload.length, 0, 'existing subscribers receive the zero-byte message');
      const late = await subscriber(v, topic);
      await late.log.expectAtMost(0, 400);
      await closeAll(pub, existing.client, late.client);
    });

    const notStoredIds = v === 4 ? '[MQTT-3.3.1-11]' : '[MQTT-3.3.1-7]';
    test(`${notStoredIds} ${V}: a zero-byte retained message is not stored`, async () => {
      const topic = `${topicRoot()}/state`;
      const pub = await publisher(v);
      await pub.publishAsync(topic, '', { qos: 1, retain: true });
      const sub = await subscriber(v, topic);
      await sub.log.expectAtMost(0, 400);
      await closeAll(pub, sub.client);
    });

    const keepIds = v === 4 ? '[MQTT-3.3.1-12]' : '[MQTT-3.3.1-8]';
    test(`${keepIds} ${V}: a message with RETAIN 0 neither stores nor replaces nor removes the retained message`, async () => {
      const topic = `${topicRoot()}/state`;
      const other = `${topicRoot()}/plain`;
      const pub = await publisher(v);
      await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
      await pub.publishAsync(topic, 'live only', { qos: 1, retain: false });
      await pub.publishAsync(topic, '', { qos: 1, retain: false });
      await pub.publishAsync(other, 'not retained', { qos: 1, retain: false });
      const sub = await subscriber(v, topic);
      const subOther = await subscriber(v, other);
      await sub.log.waitFor(1);
      await sub.log.expectAtMost(1, 300);
      assert.deepEqual(sub.log.payloads(), ['kept']);
      await subOther.log.expectAtMost(0, 100);
      await closeAll(pub, sub.client, subOther.client);
      await clearRetained(hub, topic);
    });

    const flagIds = v === 4 ? '[MQTT-3.3.1-9]' : '[MQTT-3.3.1-12]';
    test(`${flagIds} ${V}: a retained message forwarded to an established subscription has RETAIN 0${v === 5 ? ' (Retain As Published 0)' : ''}`, async () => {
      const topic = `${topicRoot()}/state`;
      const sub = await subscriber(v, topic);
      const pub = await publisher(v);
      await pub.publishAsync(topic, 'live', { qos: 1, retain: true });
      const [m] = await sub.log.waitFor(1);
      assert.equal(m!.packet.retain, false);
      await closeAll(pub, sub.client);
      await clearRetained(hub, topic);
    });

    test(`[MQTT-3.3.1-6] ${V}: a wildcard subscription receives every matching retained message at min(QoS) (client_test.py retained)`, async () => {
      const root = topicRoot();
      const topics = [`${root}/TopicA/B`, `${root}/Topic/C`, `${root}/TopicA/C`];
      const pub = await publisher(v);
      const props = v === 5 ? { properties: { userProperties: { a: '2', c: '3' } } } : {};
      for (const [i, t] of topics.entries()) await pub.publishAsync(t, `qos ${i}`, { qos: i as 0 | 1 | 2, retain: true, ...props });
      await sleep(100);
      const sub = await subscriber(v, `${root}/+/+`);
      await sub.log.waitFor(3);
      await sub.log.expectAtMost(3, 300);
      assert.deepEqual(sub.log.messages.map((m) => m.packet.qos).sort(), [0, 1, 2]);
      for (const m of sub.log.messages) {
        assert.equal(m.packet.retain, true);
        if (v === 5) assert.deepEqual(Object.entries(m.packet.properties?.userProperties ?? {}), [['a', '2'], ['c', '3']], `[MQTT-3.3.2-17] user properties kept on retained messages: ${JSON.stringify(m.packet.properties)}`);
      }
      await closeAll(pub, sub.client);
      await clearRetained(hub, ...topics);
    });

    const resubIds = v === 4 ? '[MQTT-3.8.4-3]' : '[MQTT-3.8.4-4]';
    test(`${resubIds} ${V}: re-subscribing to an existing filter sends the matching retained messages again`, async () => {
      const topic = `${topicRoot()}/state`;
      const pub = await publisher(v);
      await pub.publishAsync(topic, 'again', { qos: 1, retain: true });
      const sub = await subscriber(v, topic);
      await sub.log.waitFor(1);
      await sub.client.subscribeAsync(topic, { qos: 1 });
      await sub.log.waitFor(2);
      assert.deepEqual(sub.log.payloads(), ['again', 'again']);
      await closeAll(pub, sub.client);
      await clearRetained(hub, topic);
    });
  }

  test('[MQTT-3.3.1-10] 5.0: Retain Handling 1 sends retained messages only when the subscription is new (client_test5.py)', async () => {
    const root = topicRoot();
    const topics = [`${root}/a/b`, `${root}/c/d`];
    const pub = await publisher(5);
    for (const t of topics) await pub.publishAsync(t, t, { qos: 1, retain: true });
    const sub = await subscriber(5, `${root}/+/+`, { qos: 2, rh: 1 });
    await sub.log.waitFor(2);
    await sub.client.subscribeAsync(`${root}/+/+`, { qos: 2, rh: 1 });
    await sub.log.expectAtMost(2, 400);
    await closeAll(pub, sub.client);
    await clearRetained(hub, ...topics);
  });

  test('[MQTT-3.3.1-11] 5.0: Retain Handling 2 never sends retained messages at subscribe (client_test5.py)', async () => {
    const topic = `${topicRoot()}/state`;
    const pub = await publisher(5);
    await pub.publishAsync(topic, 'hidden', { qos: 1, retain: true });
    const sub = await subscriber(5, topic, { qos: 2, rh: 2 });
    await sub.client.subscribeAsync(topic, { qos: 2, rh: 2 });
    await sub.log.expectAtMost(0, 400);
    // New messages still flow.
    await pub.publishAsync(topic, 'live', { qos: 1, retain: true });
    await sub.log.waitFor(1);
    await closeAll(pub, sub.client);
    await clearRetained(hub, topic);
  });

  test('[MQTT-3.3.1-9] 5.0: Retain Handling 0 sends retained messages on every subscribe (client_test5.py)', async () => {
    const topic = `${topicRoot()}/state`;
    const pub = await publisher(5);
    await pub.publishAsync(topic, 'each time', { qos: 1, retain: true });
    const sub = await subscriber(5, topic, { qos: 2, rh: 0 });
    await sub.log.waitFor(1);
    await sub.client.subscribeAsync(topic, { qos: 2, rh: 0 });
    await sub.log.waitFor(2);
    await closeAll(pub, sub.client);
    await clearRetained(hub, topic);
  });

  test('[MQTT-3.3.1-13] 5.0: Retain As Published 1 forwards the RETAIN flag as published (client_test5.py)', async () => {
    const topic = `${topicRoot()}/state`;
    const sub = await subscriber(5, topic, { qos: 1, rap: true });
    const pub = await publisher(5);
    await pub.publishAsync(topic, 'not retained', { qos: 1, retain: false });
    await pub.publishAsync(topic, 'retained', { qos: 1, retain: true });
    await sub.log.waitFor(2);
    assert.deepEqual(
      sub.log.messages.map((m) => [m.payload.toString(), m.packet.retain]),
      [
        ['not retained', false],
        ['retained', true],
      ],
    );
    await closeAll(pub, sub.client);
    await clearRetained(hub, topic);
  });

  test('[MQTT-3.3.2-5] 5.0: an expired retained message is no longer sent to new subscribers', async () => {
    const topic = `${topicRoot()}/state`;
    const pub = await publisher(5);
    await pub.publishAsync(topic, 'short-lived', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await sleep(2200);
    const sub = await subscriber(5, topic);
    await sub.log.expectAtMost(0, 400);
    await closeAll(pub, sub.client);
    await clearRetained(hub, topic);
  });

  test('[MQTT-3.3.2-6] 5.0: a retained message is sent with its Message Expiry Interval minus the time it waited', async () => {
    const topic = `${topicRoot()}/state`;
    const pub = await publisher(5);
    await pub.publishAsync(topic, 'ageing', { qos: 1, retain: true, properties: { messageExpiryInterval: 60 } });
    await sleep(2100);
    const sub = await subscriber(5, topic);
    const [m] = await sub.log.waitFor(1);
    const left = m!.packet.properties?.messageExpiryInterval;
    assert.ok(left !== undefined, 'the Message Expiry Interval is forwarded');
    assert.ok(left <= 58 && left >= 55, `remaining expiry ${left}, expected about 58`);
    await closeAll(pub, sub.client);
    await clearRetained(hub, topic);
  });
});
