// Persistence across a hub restart (persistence on): sessions, queued and in-flight messages,
// QoS 2 state and retained messages survive; 5.0 clients are told the server is shutting down.
// A restart disrupts every connection, so these tests run one after the other.
// Hub-specific (restart): skipped against an external broker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import { startTestHub } from '../helpers/hub.js';
import type { TestHub } from '../helpers/hub.js';
import { cleanupClients, closeAll, collect, connect, uid } from '../helpers/mqtt.js';
import { NEEDS_CONFIG, RC, expectServerDisconnect, pid, rawConnect, rawSubscribe, topicRoot } from './support.js';

let hub: TestHub;

describe('Restart', { concurrency: false }, () => {
  before(async () => {
    hub = await startTestHub({ persistence: true });
  });
  after(async () => {
    cleanupClients();
    await hub?.stop();
  });

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';
    const opts = (clientId: string) =>
      v === 4 ? { protocolVersion: v, clientId, clean: false } : { protocolVersion: v, clientId, clean: false, properties: { sessionExpiryInterval: 300 } };

    test(`[MQTT-3.1.2-5] [MQTT-4.4.0-1] ${V}: a persistent session, its queued and its unacknowledged messages survive a restart`, async (t) => {
      if (hub.external) return t.skip(NEEDS_CONFIG);
      const topic = `${topicRoot()}/persist`;
      const id = uid('rs');
      // Unacknowledged delivery: received but never PUBACKed.
      const first = await rawConnect(hub, v, opts(id));
      await rawSubscribe(first.client, [{ topic, qos: 1 }]);
      const { client: p } = await connect(hub, { protocolVersion: v });
      await p.publishAsync(topic, 'in flight', { qos: 1 });
      const inflight = await first.client.expectPacket('publish');
      first.client.destroy();
      // Queued while offline.
      await p.publishAsync(topic, 'queued', { qos: 1 });
      await closeAll(p);
      hub = await hub.restart();
      const back = await rawConnect(hub, v, opts(id));
      assert.equal(back.connack.sessionPresent, true, 'the session survived');
      const again = await back.client.expectPacket('publish', 4000);
      assert.deepEqual([again.payload.toString(), again.messageId, again.dup], ['in flight', inflight.messageId, true]);
      back.client.send({ cmd: 'puback', messageId: again.messageId });
      const queued = await back.client.expectPacket('publish', 4000);
      assert.equal(queued.payload.toString(), 'queued');
      back.client.send({ cmd: 'puback', messageId: queued.messageId });
      // The subscription is still there: a message published after the restart arrives.
      const { client: p2 } = await connect(hub, { protocolVersion: v });
      await p2.publishAsync(topic, 'after restart', { qos: 1 });
      const live = await back.client.expectPacket('publish');
      assert.equal(live.payload.toString(), 'after restart');
      back.client.send({ cmd: 'puback', messageId: live.messageId });
      await closeAll(p2);
      await back.client.disconnect();
      const { client: end } = await rawConnect(hub, v, { clientId: id, clean: true });
      await end.disconnect();
    });
  }

  test('[MQTT-3.3.1-5] retained messages survive a restart', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const topic = `${topicRoot()}/kept`;
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    await p.publishAsync(topic, 'survives', { qos: 1, retain: true });
    await closeAll(p);
    hub = await hub.restart();
    const { client } = await connect(hub, { protocolVersion: 5 });
    const log = collect(client);
    await client.subscribeAsync(topic, { qos: 1 });
    const [m] = await log.waitFor(1, 4000);
    assert.equal(m!.payload.toString(), 'survives');
    assert.equal(m!.packet.retain, true);
    await client.publishAsync(topic, '', { qos: 1, retain: true });
    await closeAll(client);
  });

  test('[MQTT-4.3.3-10] [MQTT-4.4.0-1] an inbound QoS 2 message acknowledged with PUBREC before a restart is delivered exactly once', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const topic = `${topicRoot()}/q2`;
    const pubId = uid('rp');
    const subId = uid('rs');
    const sub = await rawConnect(hub, 5, { clientId: subId, clean: false, properties: { sessionExpiryInterval: 300 } });
    await rawSubscribe(sub.client, [{ topic, qos: 1 }]);
    await sub.client.disconnect();
    const first = await rawConnect(hub, 5, { clientId: pubId, clean: false, properties: { sessionExpiryInterval: 300 } });
    const messageId = pid();
    const publish: IPublishPacket = { cmd: 'publish', topic, payload: Buffer.from('once'), qos: 2, dup: false, retain: false, messageId };
    first.client.send(publish);
    await first.client.expectPacket('pubrec');
    first.client.destroy();
    hub = await hub.restart();
    const second = await rawConnect(hub, 5, { clientId: pubId, clean: false, properties: { sessionExpiryInterval: 0 } });
    assert.equal(second.connack.sessionPresent, true);
    second.client.send({ ...publish, dup: true });
    await second.client.expectPacket('pubrec');
    second.client.send({ cmd: 'pubrel', messageId });
    await second.client.expectPacket('pubcomp');
    await second.client.disconnect();
    const back = await rawConnect(hub, 5, { clientId: subId, clean: false, properties: { sessionExpiryInterval: 0 } });
    const m = await back.client.expectPacket('publish', 4000);
    assert.equal(m.payload.toString(), 'once');
    back.client.send({ cmd: 'puback', messageId: m.messageId });
    await back.client.expectNothing(500, 'publish');
    await back.client.disconnect();
  });

  test('MQTT 5.0 §3.14.2.1: a 5.0 client is sent DISCONNECT 0x8B (Server shutting down) when the hub stops', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const { client: raw } = await rawConnect(hub, 5);
    const restarted = hub.restart();
    await expectServerDisconnect(raw, RC.SERVER_SHUTTING_DOWN, { required: true, timeoutMs: 5000 });
    hub = await restarted;
  });
});
