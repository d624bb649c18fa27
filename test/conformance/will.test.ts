// Will messages (MQTT 3.1.1 §3.1.2.5–3.1.2.7; MQTT 5.0 §3.1.2.5–3.1.2.7, §3.1.3.2, §3.14):
// published on abnormal close, discarded on DISCONNECT, retain flag, 5.0 properties, Will Delay.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IConnectPacket } from 'mqtt-packet';
import type { TestHub } from '../helpers/hub.js';
import type { RawClient } from '../helpers/raw-client.js';
import { closeAll, collect, connect, sleep, uid } from '../helpers/mqtt.js';
import type { MessageLog } from '../helpers/mqtt.js';
import type { MqttClient } from 'mqtt';
import { RC, packet, rawConnect, topicRoot, withHub } from './support.js';

let hub: TestHub;

type Will = NonNullable<IConnectPacket['will']>;

/** A subscriber (QoS 2) on `topic` and its message log. */
async function watch(topic: string, v: 4 | 5 = 5): Promise<{ client: MqttClient; log: MessageLog }> {
  const { client } = await connect(hub, { protocolVersion: v });
  const log = collect(client, (t) => t === topic);
  await client.subscribeAsync(topic, { qos: 2 });
  return { client, log };
}

async function willClient(v: 4 | 5, will: Will, extra: Partial<IConnectPacket> = {}): Promise<RawClient> {
  return (await rawConnect(hub, v, { will, ...extra })).client;
}

async function clearRetained(topic: string): Promise<void> {
  const { client } = await connect(hub, { protocolVersion: 4 });
  await client.publishAsync(topic, '', { qos: 1, retain: true });
  await closeAll(client);
}

describe('Will', { concurrency: true }, () => {
  withHub((h) => (hub = h));

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';

    test(`[MQTT-3.1.2-8] ${V}: the will is published when the network connection closes without DISCONNECT`, async () => {
      const topic = `${topicRoot()}/will`;
      const sub = await watch(topic, v);
      const raw = await willClient(v, { topic, payload: Buffer.from('gone'), qos: 1, retain: false });
      raw.destroy();
      const [m] = await sub.log.waitFor(1, 3000);
      assert.equal(m!.payload.toString(), 'gone');
      assert.equal(m!.packet.qos, 1, 'delivered at min(will QoS 1, subscription QoS 2)');
      assert.equal(m!.packet.retain, false);
      await sub.log.expectAtMost(1, 300);
      await closeAll(sub.client);
    });

    test(`[MQTT-3.1.2-8] ${V}: the will is published when the Keep Alive expires (client_test.py keepalive test)`, async () => {
      const topic = `${topicRoot()}/will`;
      const sub = await watch(topic, v);
      const raw = await willClient(v, { topic, payload: Buffer.from('keepalive expiry'), qos: 0, retain: false }, { keepalive: 1 });
      await sub.log.waitFor(1, 5000);
      await raw.expectClose(1000);
      await closeAll(sub.client);
    });

    test(`[MQTT-3.1.2-8] ${V}: the will is published when the server closes the connection for a protocol error`, async () => {
      const topic = `${topicRoot()}/will`;
      const sub = await watch(topic, v);
      const raw = await willClient(v, { topic, payload: Buffer.from('bad packet'), qos: 0, retain: false });
      raw.sendBytes(packet(0x00, [])); // packet type 0 is reserved: malformed
      await raw.expectClose(3000);
      await sub.log.waitFor(1, 3000);
      await closeAll(sub.client);
    });

    const discardIds = v === 4 ? '[MQTT-3.1.2-10] [MQTT-3.14.4-3]' : '[MQTT-3.1.2-10] [MQTT-3.14.4-3]';
    test(`${discardIds} ${V}: DISCONNECT${v === 5 ? ' with reason 0x00' : ''} discards the will`, async () => {
      const topic = `${topicRoot()}/will`;
      const sub = await watch(topic, v);
      const raw = await willClient(v, { topic, payload: Buffer.from('must not appear'), qos: 1, retain: false });
      await raw.disconnect(RC.SUCCESS);
      await sub.log.expectAtMost(0, 700);
      await closeAll(sub.client);
    });

    const retainId = v === 4 ? '[MQTT-3.1.2-17]' : '[MQTT-3.1.2-15]';
    test(`${retainId} ${V}: a will with Will Retain 1 is published as a retained message`, async () => {
      const topic = `${topicRoot()}/will`;
      const raw = await willClient(v, { topic, payload: Buffer.from('retained will'), qos: 1, retain: true });
      const live = await watch(topic, v);
      raw.destroy();
      await live.log.waitFor(1, 3000);
      // A subscriber arriving afterwards receives it as a retained message [MQTT-3.3.1-8 3.1.1].
      const late = await watch(topic, v);
      const [m] = await late.log.waitFor(1, 3000);
      assert.equal(m!.payload.toString(), 'retained will');
      assert.equal(m!.packet.retain, true);
      await closeAll(live.client, late.client);
      await clearRetained(topic);
    });

    const noRetainId = v === 4 ? '[MQTT-3.1.2-16]' : '[MQTT-3.1.2-14]';
    test(`${noRetainId} ${V}: a will with Will Retain 0 is published as a non-retained message`, async () => {
      const topic = `${topicRoot()}/will`;
      const live = await watch(topic, v);
      const raw = await willClient(v, { topic, payload: Buffer.from('plain will'), qos: 1, retain: false });
      raw.destroy();
      const [m] = await live.log.waitFor(1, 3000);
      assert.equal(m!.packet.retain, false);
      const late = await watch(topic, v);
      await late.log.expectAtMost(0, 400);
      await closeAll(live.client, late.client);
    });

    const takeoverId = v === 4 ? '[MQTT-3.1.4-2]' : '[MQTT-3.1.4-3]';
    test(`${takeoverId} ${V}: a session takeover publishes the will of the existing connection`, async () => {
      const topic = `${topicRoot()}/will`;
      const id = uid('tw');
      const sub = await watch(topic, v);
      const old = await willClient(v, { topic, payload: Buffer.from('taken over'), qos: 1, retain: false }, { clientId: id });
      const { client: fresh } = await rawConnect(hub, v, { clientId: id });
      await old.expectClose(3000);
      const [m] = await sub.log.waitFor(1, 3000);
      assert.equal(m!.payload.toString(), 'taken over');
      await fresh.disconnect();
      await closeAll(sub.client);
    });
  }

  test('MQTT 5.0 §3.14.2.1: DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the will', async () => {
    const topic = `${topicRoot()}/will`;
    const sub = await watch(topic);
    const raw = await willClient(5, { topic, payload: Buffer.from('asked for'), qos: 1, retain: false });
    await raw.disconnect(RC.DISCONNECT_WITH_WILL);
    const [m] = await sub.log.waitFor(1, 3000);
    assert.equal(m!.payload.toString(), 'asked for');
    await closeAll(sub.client);
  });

  test('[MQTT-3.1.3-10] 5.0: will properties are published, user properties in their order (client_test5.py)', async () => {
    const topic = `${topicRoot()}/will`;
    const sub = await watch(topic);
    const raw = await willClient(5, {
      topic,
      payload: Buffer.from('{"state":"offline"}'),
      qos: 1,
      retain: false,
      properties: {
        willDelayInterval: 0,
        payloadFormatIndicator: true,
        contentType: 'application/json',
        responseTopic: `${topic}/reply`,
        correlationData: Buffer.from([1, 2, 3]),
        userProperties: { zeta: '1', alpha: ['2', '3'], mid: '4' },
      },
    });
    raw.destroy();
    const [m] = await sub.log.waitFor(1, 3000);
    const p = m!.packet.properties ?? {};
    assert.equal(p.payloadFormatIndicator, true);
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.responseTopic, `${topic}/reply`);
    assert.deepEqual([...(p.correlationData ?? [])], [1, 2, 3]);
    assert.deepEqual(Object.entries(p.userProperties ?? {}), [
      ['zeta', '1'],
      ['alpha', ['2', '3']],
      ['mid', '4'],
    ]);
    await closeAll(sub.client);
  });

  test('[MQTT-3.1.2-8] [MQTT-3.1.3-9] 5.0: a will with a Will Delay Interval is published after the delay, not before', async () => {
    const topic = `${topicRoot()}/will`;
    const sub = await watch(topic);
    const raw = await willClient(
      5,
      { topic, payload: Buffer.from('delayed'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
      { clean: true, properties: { sessionExpiryInterval: 10 } },
    );
    raw.destroy();
    const start = performance.now();
    const [m] = await sub.log.waitFor(1, 5000);
    const elapsed = m!.at - start;
    assert.ok(elapsed >= 1700, `published after ${Math.round(elapsed)} ms, before the 2 s Will Delay Interval`);
    assert.ok(elapsed <= 4500, `published after ${Math.round(elapsed)} ms, expected about 2 s`);
    await closeAll(sub.client);
  });

  test('[MQTT-3.1.3-9] 5.0: the will is not published when the client reconnects to its session within the Will Delay Interval', async () => {
    const topic = `${topicRoot()}/will`;
    const id = uid('wd');
    const sub = await watch(topic);
    const raw = await willClient(
      5,
      { topic, payload: Buffer.from('must not appear'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
      { clientId: id, properties: { sessionExpiryInterval: 10 } },
    );
    raw.destroy();
    await sleep(500);
    const back = await rawConnect(hub, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 10 } });
    assert.equal(back.connack.sessionPresent, true);
    await sub.log.expectAtMost(0, 2500);
    // End the session: DISCONNECT with Session Expiry 0.
    await back.client.disconnect(RC.SUCCESS, { sessionExpiryInterval: 0 });
    await closeAll(sub.client);
  });

  test('MQTT 5.0 §3.1.3.2.2: a reconnect with Clean Start 1 ends the session, so the delayed will is published at once', async () => {
    const topic = `${topicRoot()}/will`;
    const id = uid('wd');
    const sub = await watch(topic);
    const raw = await willClient(
      5,
      { topic, payload: Buffer.from('session ended'), qos: 1, retain: false, properties: { willDelayInterval: 5 } },
      { clientId: id, properties: { sessionExpiryInterval: 10 } },
    );
    raw.destroy();
    await sleep(300);
    const back = await rawConnect(hub, 5, { clientId: id, clean: true });
    await sub.log.waitFor(1, 2500);
    await back.client.disconnect();
    await closeAll(sub.client);
  });

  test('[MQTT-3.1.2-8] 5.0: a Session Expiry shorter than the Will Delay publishes the will when the session ends (client_test5.py)', async () => {
    const topic = `${topicRoot()}/will`;
    const sub = await watch(topic);
    const raw = await willClient(
      5,
      { topic, payload: Buffer.from('expired'), qos: 1, retain: false, properties: { willDelayInterval: 5 } },
      { properties: { sessionExpiryInterval: 1 } },
    );
    raw.destroy();
    const start = performance.now();
    const [m] = await sub.log.waitFor(1, 4000);
    const elapsed = m!.at - start;
    assert.ok(elapsed >= 700, `published after ${Math.round(elapsed)} ms, before the 1 s session expiry`);
    assert.ok(elapsed <= 3500, `published after ${Math.round(elapsed)} ms, expected about 1 s`);
    await closeAll(sub.client);
  });

  test('[MQTT-3.1.2-8] 5.0: with Session Expiry 0 the will is published at close despite a Will Delay (client_test5.py)', async () => {
    const topic = `${topicRoot()}/will`;
    const sub = await watch(topic);
    const raw = await willClient(5, {
      topic,
      payload: Buffer.from('no session'),
      qos: 1,
      retain: false,
      properties: { willDelayInterval: 5 },
    });
    raw.destroy();
    await sub.log.waitFor(1, 1800);
    await closeAll(sub.client);
  });
});
