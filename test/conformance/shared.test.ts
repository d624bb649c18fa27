// Shared subscriptions (MQTT 5.0 §4.8.2, §3.8.3.1, §3.8.4): one member per message, no
// retained messages, independent share groups, per-member QoS, filter syntax, No Local.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestHub } from '../helpers/hub.js';
import { closeAll, collect, connect, sleep, uid } from '../helpers/mqtt.js';
import type { MessageLog } from '../helpers/mqtt.js';
import type { MqttClient } from 'mqtt';
import { RC, clearRetained, expectServerDisconnect, pid, rawConnect, rawSubscribe, topicRoot, withHub } from './support.js';

let hub: TestHub;

async function member(filter: string, qos: 0 | 1 | 2 = 2): Promise<{ client: MqttClient; log: MessageLog }> {
  const { client } = await connect(hub, { protocolVersion: 5 });
  const log = collect(client);
  await client.subscribeAsync(filter, { qos });
  return { client, log };
}

describe('Shared subscriptions', { concurrency: true }, () => {
  withHub((h) => (hub = h));

  test('MQTT 5.0 §4.8.2: each message on a shared subscription goes to exactly one member, spread over the members', async () => {
    const topic = `${topicRoot()}/work`;
    const group = uid('g');
    const members = await Promise.all([1, 2, 3].map(() => member(`$share/${group}/${topic}`, 1)));
    const { client: pub } = await connect(hub, { protocolVersion: 5 });
    const n = 30;
    for (let i = 0; i < n; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    await sleep(100);
    const all = members.flatMap((m) => m.log.payloads());
    await waitTotal(members.map((m) => m.log), n);
    await sleep(300);
    const got = members.flatMap((m) => m.log.payloads());
    assert.equal(got.length, n, `each message exactly once (got ${got.length}: ${all.length} early)`);
    assert.equal(new Set(got).size, n, 'no message delivered twice');
    for (const [i, m] of members.entries()) assert.ok(m.log.length > 0, `member ${i + 1} received none of ${n} messages`);
    await closeAll(pub, ...members.map((m) => m.client));
  });

  test('MQTT 5.0 §4.8.2: shared and non-shared subscriptions of the same clients are served independently (client_test5.py)', async () => {
    const root = topicRoot();
    const shared = `$share/${uid('g')}/${root}/x`;
    const plain = `${root}/TopicA`;
    const a = await member(shared);
    await a.client.subscribeAsync(plain, { qos: 2 });
    const b = await member(shared);
    await b.client.subscribeAsync(plain, { qos: 2 });
    await b.client.publishAsync(plain, 'message 0', { qos: 0 });
    await a.log.waitFor(1);
    await b.log.waitFor(1);
    a.log.clear();
    b.log.clear();
    await b.client.publishAsync(`${root}/x`, 'message 0', { qos: 0 });
    await waitTotal([a.log, b.log], 1);
    await sleep(400);
    assert.equal(a.log.length + b.log.length, 1, 'a shared message is received once');
    await closeAll(a.client, b.client);
  });

  test('MQTT 5.0 §4.8.2 / §3.8.4: retained messages are not sent when joining a shared subscription', async () => {
    const topic = `${topicRoot()}/state`;
    const { client: pub } = await connect(hub, { protocolVersion: 5 });
    await pub.publishAsync(topic, 'retained', { qos: 1, retain: true });
    const m = await member(`$share/${uid('g')}/${topic}`);
    await m.log.expectAtMost(0, 500);
    // Later messages do arrive (and the retained flag follows Retain As Published 0).
    await pub.publishAsync(topic, 'live', { qos: 1, retain: true });
    const [live] = await m.log.waitFor(1);
    assert.equal(live!.payload.toString(), 'live');
    await closeAll(pub, m.client);
    await clearRetained(hub, topic);
  });

  test('MQTT 5.0 §4.8.2: every share group gets its own copy, and non-shared subscribers theirs', async () => {
    const topic = `${topicRoot()}/sport/tennis/x`;
    const g1 = await member(`$share/${uid('g')}/${topic}`);
    const g2 = await member(`$share/${uid('g')}/${topic}`);
    const plain = await member(topic);
    const { client: pub } = await connect(hub, { protocolVersion: 5 });
    await pub.publishAsync(topic, 'fan out', { qos: 1 });
    await Promise.all([g1.log.waitFor(1), g2.log.waitFor(1), plain.log.waitFor(1)]);
    await closeAll(pub, g1.client, g2.client, plain.client);
  });

  test('[MQTT-4.8.2-3] 5.0: each member receives messages at its own granted QoS', async () => {
    const topic = `${topicRoot()}/q`;
    const group = uid('g');
    const low = await member(`$share/${group}/${topic}`, 0);
    const high = await member(`$share/${group}/${topic}`, 2);
    const { client: pub } = await connect(hub, { protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await pub.publishAsync(topic, String(i), { qos: 2 });
    await waitTotal([low.log, high.log], 10);
    for (const m of low.log.messages) assert.equal(m.packet.qos, 0);
    for (const m of high.log.messages) assert.equal(m.packet.qos, 2);
    await closeAll(pub, low.client, high.client);
  });

  test('MQTT 5.0 §4.8.2: a member that unsubscribes leaves the group; the others receive everything', async () => {
    const topic = `${topicRoot()}/u`;
    const filter = `$share/${uid('g')}/${topic}`;
    const stay = await member(filter, 1);
    const leave = await member(filter, 1);
    await leave.client.unsubscribeAsync(filter);
    const { client: pub } = await connect(hub, { protocolVersion: 5 });
    for (let i = 0; i < 6; i++) await pub.publishAsync(topic, String(i), { qos: 1 });
    await stay.log.waitFor(6);
    await leave.log.expectAtMost(0, 200);
    await closeAll(pub, stay.client, leave.client);
  });

  test('[MQTT-4.8.2-6] 5.0: a message refused by the chosen member (PUBACK ≥ 0x80) is not sent to another member', async () => {
    const topic = `${topicRoot()}/refuse`;
    const filter = `$share/${uid('g')}/${topic}`;
    const { client: raw } = await rawConnect(hub, 5);
    await rawSubscribe(raw, [{ topic: filter, qos: 1 }]);
    const { client: pub } = await connect(hub, { protocolVersion: 5 });
    await pub.publishAsync(topic, 'refused', { qos: 1 });
    const p = await raw.expectPacket('publish');
    // Only now a second member joins; then the first refuses the message.
    const other = await member(filter, 1);
    raw.send({ cmd: 'puback', messageId: p.messageId, reasonCode: RC.UNSPECIFIED });
    await other.log.expectAtMost(0, 600);
    await raw.disconnect();
    await closeAll(pub, other.client);
  });

  test('[MQTT-3.8.3-4] 5.0: No Local on a shared subscription is a protocol error', async () => {
    const { client: raw } = await rawConnect(hub, 5);
    raw.send({ cmd: 'subscribe', messageId: pid(), subscriptions: [{ topic: `$share/${uid('g')}/${topicRoot()}/nl`, qos: 1, nl: true }] });
    await expectServerDisconnect(raw, RC.PROTOCOL_ERROR, { required: !hub.external });
    assert.equal(raw.received.filter((p) => p.cmd === 'suback').length, 0, 'the SUBSCRIBE is not granted');
  });

  test('[MQTT-4.8.2-1] [MQTT-4.8.2-2] 5.0: a shared filter without a ShareName, with a wildcard in it, or without a filter is refused', async () => {
    const root = topicRoot();
    const problems: string[] = [];
    for (const bad of ['$share//x', `$share/a+b/${root}`, `$share/a#/${root}`, '$share/grouponly']) {
      const { client: raw } = await rawConnect(hub, 5);
      raw.send({ cmd: 'subscribe', messageId: pid(), subscriptions: [{ topic: bad, qos: 1 }] });
      const got = await raw.expectPacket('suback', 3000).catch((e: Error) => {
        if (raw.closed) return 'closed' as const;
        throw e;
      });
      if (got === 'closed') {
        // A Malformed Packet / Protocol Error close is allowed; twinhub answers 0x8F.
        if (!hub.external) problems.push(`${bad}: closed the connection instead of SUBACK 0x8F`);
        continue;
      }
      const [code] = got.granted as number[];
      if (code === undefined || code < 0x80) problems.push(`${bad}: granted QoS ${code}`);
      else if (!hub.external && code !== RC.TOPIC_FILTER_INVALID) problems.push(`${bad}: SUBACK 0x${code.toString(16)}, expected 0x8f`);
      await raw.disconnect();
    }
    assert.deepEqual(problems, []);
  });
});

async function waitTotal(logs: MessageLog[], n: number, timeoutMs = 4000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (logs.reduce((s, l) => s + l.length, 0) < n) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${n} messages across members (have ${logs.map((l) => l.length).join('+')})`);
    await sleep(10);
  }
}
