// SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK and topic matching (MQTT 3.1.1 §3.8–3.11, §4.7;
// MQTT 5.0 §3.8–3.11, §4.7, §3.3.4): codes per filter, replacement, wildcards, '$' topics,
// overlapping subscriptions, Subscription Identifiers, No Local.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestHub } from '../helpers/hub.js';
import { closeAll, collect, connect, sleep, uid } from '../helpers/mqtt.js';
import { HUB_CHOICE, RC, pid, rawConnect, rawSubscribe, topicRoot, withHub } from './support.js';

let hub: TestHub;

describe('SUBSCRIBE and UNSUBSCRIBE', { concurrency: true }, () => {
  withHub((h) => (hub = h));

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';

    const subackIds = v === 4 ? '[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1]' : '[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.9.3-1]';
    test(`${subackIds} ${V}: one SUBSCRIBE with several filters gets one SUBACK with its packet id and a code per filter, in order`, async () => {
      const root = topicRoot();
      const { client: raw } = await rawConnect(hub, v);
      const granted = await rawSubscribe(raw, [
        { topic: `${root}/two`, qos: 2 },
        { topic: `${root}/zero`, qos: 0 },
        { topic: `${root}/one/#`, qos: 1 },
      ]);
      assert.deepEqual(granted, [2, 0, 1]);
      await raw.expectNothing(200, 'suback');
      await raw.disconnect();
    });

    const invalidIds = v === 4 ? '[MQTT-4.7.1-2] [MQTT-4.7.1-3]' : '[MQTT-4.7.1-1] [MQTT-4.7.1-2]';
    test(`${invalidIds} ${V}: an invalid Topic Filter is refused (${v === 4 ? '0x80' : '0x8F'}) while the other filters are granted`, async () => {
      const root = topicRoot();
      for (const bad of [`${root}/#/x`, `${root}/a+`, `${root}#`, `${root}/+x/y`]) {
        const { client: raw } = await rawConnect(hub, v);
        const messageId = pid();
        raw.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic: `${root}/ok`, qos: 1 }, { topic: bad, qos: 1 }] });
        const got = await raw.expectPacket('suback', 3000).catch((e: Error) => {
          if (raw.closed) return 'closed' as const;
          throw e;
        });
        if (got === 'closed') {
          // Treating the whole SUBSCRIBE as a Malformed Packet and closing is allowed (§4.13);
          // twinhub refuses just that filter.
          assert.ok(hub.external, `${bad}: twinhub answers with a SUBACK failure code, not a close`);
          continue;
        }
        assert.equal(got.messageId, messageId);
        assert.deepEqual(got.granted, [1, v === 4 ? 0x80 : RC.TOPIC_FILTER_INVALID], `SUBACK for ${bad}`);
        await raw.disconnect();
      }
    });

    test(`[MQTT-3.8.4-3] ${V}: a SUBSCRIBE to an existing filter replaces the subscription (one copy, new QoS)`, async () => {
      const topic = `${topicRoot()}/t`;
      const { client } = await connect(hub, { protocolVersion: v });
      const log = collect(client);
      await client.subscribeAsync(topic, { qos: 2 });
      await client.subscribeAsync(topic, { qos: 0 });
      await client.publishAsync(topic, 'once', { qos: 2 });
      const [m] = await log.waitFor(1);
      assert.equal(m!.packet.qos, 0, 'delivered at the replacing subscription QoS');
      await log.expectAtMost(1, 300);
      await closeAll(client);
    });

    const unsubackIds = v === 4 ? '[MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6]' : '[MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6] [MQTT-3.11.3-1]';
    test(`${unsubackIds} ${V}: UNSUBSCRIBE is answered with one UNSUBACK with its packet id, even when nothing was subscribed`, async () => {
      const root = topicRoot();
      const { client: raw } = await rawConnect(hub, v);
      await rawSubscribe(raw, [{ topic: `${root}/yes`, qos: 1 }]);
      const messageId = pid();
      raw.send({ cmd: 'unsubscribe', messageId, unsubscriptions: [`${root}/never`, `${root}/yes`, `${root}/+`] });
      const ack = await raw.expectPacket('unsuback');
      assert.equal(ack.messageId, messageId);
      if (v === 5) {
        assert.deepEqual(ack.granted, [RC.NO_SUBSCRIPTION_EXISTED, RC.SUCCESS, RC.NO_SUBSCRIPTION_EXISTED]);
      }
      await raw.expectNothing(200, 'unsuback');
      await raw.disconnect();
    });

    test(`[MQTT-3.10.4-1] [MQTT-3.10.4-2] ${V}: unsubscribing stops delivery for exactly that filter (client_test.py unsubscribe)`, async () => {
      const root = topicRoot();
      const topics = [`${root}/TopicA`, `${root}/TopicA/B`, `${root}/Topic/C`];
      const { client: b } = await connect(hub, { protocolVersion: v });
      const log = collect(b);
      for (const t of topics) await b.subscribeAsync(t, { qos: 2 });
      // Unsubscribe matches filters character by character: "root/+" removes nothing.
      await b.unsubscribeAsync([topics[0]!, `${root}/+`]);
      const { client: a } = await connect(hub, { protocolVersion: v });
      for (const t of topics) await a.publishAsync(t, t, { qos: 1 });
      await log.waitFor(2);
      await log.expectAtMost(2, 300);
      assert.deepEqual(log.messages.map((m) => m.topic).sort(), [topics[1], topics[2]].sort());
      await closeAll(a, b);
    });

    test(`[MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-3.3.2-3] ${V}: '#' and '+' match as specified (client_test.py topics and wildcards)`, async () => {
      const r = topicRoot();
      const topics = ['TopicA', 'TopicA/B', 'Topic/C', 'TopicA/C', '/TopicA', 'sport', 'sport/', 'a//c'];
      const expected: Record<string, string[]> = {
        'TopicA/+': ['TopicA/B', 'TopicA/C'],
        '+/C': ['Topic/C', 'TopicA/C'],
        '#': topics,
        '/#': ['/TopicA'],
        '/+': ['/TopicA'],
        '+/+': ['TopicA/B', 'Topic/C', 'TopicA/C', '/TopicA', 'sport/'],
        'TopicA/#': ['TopicA', 'TopicA/B', 'TopicA/C'],
        'sport/#': ['sport', 'sport/'], // '#' includes the parent level (§4.7.1.2)
        'sport/+': ['sport/'], // '+' matches an empty level, never a missing one (§4.7.1.3)
        'a/+/c': ['a//c'],
        '+': ['TopicA', 'sport'],
      };
      const subs = await Promise.all(
        Object.keys(expected).map(async (f) => {
          const { client } = await connect(hub, { protocolVersion: v });
          const log = collect(client);
          await client.subscribeAsync(`${r}/${f}`, { qos: 1 });
          return { f, client, log };
        }),
      );
      const { client: pub } = await connect(hub, { protocolVersion: v });
      for (const t of topics) await pub.publishAsync(`${r}/${t}`, t, { qos: 1 });
      await sleep(500);
      for (const s of subs) {
        const got = s.log.messages.map((m) => m.payload.toString()).sort();
        assert.deepEqual(got, [...expected[s.f]!].sort(), `filter "${s.f}"`);
        for (const m of s.log.messages) assert.equal(m.topic, `${r}/${m.payload.toString()}`, '[MQTT-3.3.2-3] the topic is the published one');
      }
      await closeAll(pub, ...subs.map((s) => s.client));
    });

    test(`[MQTT-4.7.2-1] ${V}: filters starting with a wildcard do not match topics starting with '$' (client_test.py dollar topics)`, async () => {
      const id = uid('d');
      const dollar = `$${id}/m`;
      const plain = `${id}/m`;
      const { client } = await connect(hub, { protocolVersion: v });
      const wild = collect(client, (t) => t === dollar || t === plain);
      await client.subscribeAsync(['#', '+/m', '+/+'], { qos: 1 });
      const { client: control } = await connect(hub, { protocolVersion: v });
      const direct = collect(control);
      await control.subscribeAsync(`$${id}/#`, { qos: 1 });
      const { client: pub } = await connect(hub, { protocolVersion: v });
      await pub.publishAsync(dollar, 'dollar', { qos: 1 });
      await pub.publishAsync(plain, 'plain', { qos: 1 });
      await direct.waitFor(1); // a filter starting with '$…' does match
      await wild.waitFor(1);
      await sleep(300);
      // (Overlapping subscriptions may each deliver a copy: compare the distinct payloads.)
      assert.deepEqual([...new Set(wild.payloads())], ['plain'], 'only the topic without $ reaches the wildcard subscriptions');
      await closeAll(client, control, pub);
    });

    const overlapIds = v === 4 ? '[MQTT-3.3.5-1]' : '[MQTT-3.3.4-2]';
    test(`${overlapIds} ${V}: overlapping subscriptions deliver at the highest matching QoS (client_test.py overlapping)`, async () => {
      const r = topicRoot();
      const { client } = await connect(hub, { protocolVersion: v });
      const log = collect(client);
      await client.subscribeAsync({ [`${r}/TopicA/#`]: { qos: 2 }, [`${r}/TopicA/+`]: { qos: 1 } });
      await client.publishAsync(`${r}/TopicA/C`, 'overlapping topic filters', { qos: 2 });
      await log.waitFor(1);
      await log.expectAtMost(2, 400);
      const qos = log.messages.map((m) => m.packet.qos).sort();
      const seen = JSON.stringify(log.messages.map((m) => ({ qos: m.packet.qos, topic: m.topic })));
      // One copy at the highest QoS, or (MAY) one copy per subscription at its own QoS.
      if (log.length === 1) assert.deepEqual(qos, [2], seen);
      else assert.deepEqual(qos, [1, 2], seen);
      if (!hub.external) assert.equal(log.length, 1, `${HUB_CHOICE}: twinhub sends one copy`);
      await closeAll(client);
    });
  }

  test('[MQTT-3.3.4-3] [MQTT-3.3.4-4] [MQTT-3.3.4-5] 5.0: deliveries carry the Subscription Identifiers of the matching subscriptions (client_test5.py)', async () => {
    const r = topicRoot();
    const topic = `${r}/TopicA`;
    const { client: a } = await connect(hub, { protocolVersion: 5 });
    const logA = collect(a);
    await a.subscribeAsync(topic, { qos: 2, properties: { subscriptionIdentifier: 456789 } });
    const { client: b } = await connect(hub, { protocolVersion: 5 });
    const logB = collect(b);
    await b.subscribeAsync(topic, { qos: 2, properties: { subscriptionIdentifier: 2 } });
    await b.subscribeAsync(`${topic}/#`, { qos: 2, properties: { subscriptionIdentifier: 3 } });
    await b.publishAsync(topic, 'sub identifier test', { qos: 1 });
    const [ma] = await logA.waitFor(1);
    assert.deepEqual(ids(ma!.packet.properties?.subscriptionIdentifier), [456789]);
    await logB.waitFor(1);
    await logB.expectAtMost(2, 300);
    if (logB.length === 1) {
      assert.deepEqual(ids(logB.messages[0]!.packet.properties?.subscriptionIdentifier).sort(), [2, 3], 'one copy carries both identifiers [MQTT-3.3.4-4]');
    } else {
      const each = logB.messages.map((m) => ids(m.packet.properties?.subscriptionIdentifier)).sort();
      assert.deepEqual(each, [[2], [3]], 'each copy carries its own identifier [MQTT-3.3.4-5]');
    }
    if (!hub.external) assert.equal(logB.length, 1, `${HUB_CHOICE}: twinhub sends one copy with every identifier`);
    await closeAll(a, b);
  });

  test('[MQTT-3.3.4-3] 5.0: retained messages sent at subscribe carry the Subscription Identifier', async () => {
    const topic = `${topicRoot()}/kept`;
    const { client } = await connect(hub, { protocolVersion: 5 });
    await client.publishAsync(topic, 'kept', { qos: 1, retain: true });
    const log = collect(client);
    await client.subscribeAsync(topic, { qos: 1, properties: { subscriptionIdentifier: 77 } });
    const [m] = await log.waitFor(1);
    assert.deepEqual(ids(m!.packet.properties?.subscriptionIdentifier), [77]);
    await client.publishAsync(topic, '', { qos: 1, retain: true });
    await closeAll(client);
  });

  test('MQTT 5.0 §3.8.4: re-subscribing without a Subscription Identifier removes the identifier', async () => {
    const topic = `${topicRoot()}/t`;
    const { client } = await connect(hub, { protocolVersion: 5 });
    const log = collect(client);
    await client.subscribeAsync(topic, { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, 'x', { qos: 1 });
    const [m] = await log.waitFor(1);
    assert.equal(m!.packet.properties?.subscriptionIdentifier, undefined);
    await closeAll(client);
  });

  test('[MQTT-3.8.3-3] 5.0: with No Local a client does not receive its own messages; others do (client_test5.py)', async () => {
    const topic = `${topicRoot()}/TopicA`;
    const { client: a } = await connect(hub, { protocolVersion: 5 });
    const { client: b } = await connect(hub, { protocolVersion: 5 });
    const logA = collect(a);
    const logB = collect(b);
    await a.subscribeAsync(topic, { qos: 2, nl: true });
    await b.subscribeAsync(topic, { qos: 2, nl: true });
    await a.publishAsync(topic, 'noLocal test', { qos: 1 });
    await logB.waitFor(1);
    await logA.expectAtMost(0, 400);
    await closeAll(a, b);
  });
});

function ids(v: number | number[] | undefined): number[] {
  return v === undefined ? [] : Array.isArray(v) ? [...v] : [v];
}
