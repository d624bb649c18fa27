// Topic aliases (MQTT 5.0 §3.3.2.3.4, §3.3.4, §3.1.2.11.5, §3.2.2.3.8): client→server mappings
// and their errors, server→client aliases within the client's Topic Alias Maximum.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import type { TestHub } from '../helpers/hub.js';
import type { RawClient } from '../helpers/raw-client.js';
import { closeAll, collect, connect, uid } from '../helpers/mqtt.js';
import { HUB_CHOICE, RC, expectServerDisconnect, rawConnect, rawSubscribe, topicRoot, withHub } from './support.js';

let hub: TestHub;
const HUB_TOPIC_ALIAS_MAXIMUM = 8;

function pub(topic: string, alias: number | undefined, payload: string, qos: 0 | 1 = 0): IPublishPacket {
  return {
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    dup: false,
    retain: false,
    ...(qos > 0 ? { messageId: 1 + Math.floor(Math.random() * 60000) } : {}),
    ...(alias !== undefined ? { properties: { topicAlias: alias } } : {}),
  };
}

/** A raw 5.0 publisher and the hub's Topic Alias Maximum (0 when absent). */
async function aliasPublisher(clientId = uid('ta')): Promise<{ raw: RawClient; max: number }> {
  const { client, connack } = await rawConnect(hub, 5, { clientId });
  return { raw: client, max: connack.properties?.topicAliasMaximum ?? 0 };
}

describe('Topic aliases', { concurrency: true }, () => {
  withHub((h) => (hub = h), { config: { limits: { topicAliasMaximum: HUB_TOPIC_ALIAS_MAXIMUM } } });

  test('[MQTT-3.3.2-12] 5.0: a client alias set with a topic resolves later PUBLISHes with an empty topic (client_test5.py)', async (t) => {
    const topic = `${topicRoot()}/aliased`;
    const { client: sub } = await connect(hub, { protocolVersion: 5 });
    const log = collect(sub);
    await sub.subscribeAsync(topic, { qos: 1 });
    const { raw, max } = await aliasPublisher();
    if (max === 0) {
      assert.ok(hub.external, 'twinhub announces a Topic Alias Maximum');
      return t.skip('the broker accepts no topic aliases');
    }
    raw.send(pub(topic, 1, 'topic alias 1', 1));
    await raw.expectPacket('puback');
    raw.send(pub('', 1, 'topic alias 2', 1));
    await raw.expectPacket('puback');
    await log.waitFor(2);
    assert.deepEqual(
      log.messages.map((m) => [m.topic, m.payload.toString()]),
      [
        [topic, 'topic alias 1'],
        [topic, 'topic alias 2'],
      ],
    );
    await raw.disconnect();
    await closeAll(sub);
  });

  test('MQTT 5.0 §3.3.2.3.4: a PUBLISH with a known alias and a new topic remaps the alias', async (t) => {
    const root = topicRoot();
    const { client: sub } = await connect(hub, { protocolVersion: 5 });
    const log = collect(sub);
    await sub.subscribeAsync(`${root}/#`, { qos: 0 });
    const { raw, max } = await aliasPublisher();
    if (max === 0) return t.skip('the broker accepts no topic aliases');
    raw.send(pub(`${root}/one`, max, 'a'));
    raw.send(pub(`${root}/two`, max, 'b'));
    raw.send(pub('', max, 'c'));
    await log.waitFor(3);
    assert.deepEqual(log.messages.map((m) => m.topic), [`${root}/one`, `${root}/two`, `${root}/two`]);
    await raw.disconnect();
    await closeAll(sub);
  });

  test('[MQTT-3.3.2-8] 5.0: a PUBLISH with Topic Alias 0 is answered with DISCONNECT 0x94 (client_test5.py)', async () => {
    const { raw } = await aliasPublisher();
    raw.send(pub(`${topicRoot()}/zero`, 0, 'topic alias 0', 1));
    await expectServerDisconnect(raw, RC.TOPIC_ALIAS_INVALID, { required: !hub.external });
  });

  test('[MQTT-3.3.2-9] [MQTT-3.2.2-17] 5.0: a Topic Alias above the announced maximum is answered with DISCONNECT 0x94', async () => {
    const { raw, max } = await aliasPublisher();
    if (!hub.external) assert.equal(max, HUB_TOPIC_ALIAS_MAXIMUM, 'CONNACK announces limits.topicAliasMaximum (§3.2.2.3.8)');
    raw.send(pub(`${topicRoot()}/big`, max + 1, 'too big', 1));
    await expectServerDisconnect(raw, RC.TOPIC_ALIAS_INVALID, { required: !hub.external });
  });

  test('MQTT 5.0 §3.3.4: an empty topic with an alias that has no mapping is a protocol error (0x82)', async (t) => {
    const { raw, max } = await aliasPublisher();
    if (max === 0) return t.skip('the broker accepts no topic aliases');
    raw.send(pub('', 1, 'unknown alias', 1));
    await expectServerDisconnect(raw, RC.PROTOCOL_ERROR, { required: !hub.external });
  });

  test('MQTT 5.0 §3.3.2.1: an empty Topic Name without a Topic Alias is a protocol error', async () => {
    const { raw } = await aliasPublisher();
    // mqtt-packet will not encode this one: PUBLISH QoS 0, topic "", no properties, payload "x".
    raw.sendBytes([0x30, 0x04, 0x00, 0x00, 0x00, 0x78]);
    await expectServerDisconnect(raw, RC.PROTOCOL_ERROR, { required: !hub.external });
  });

  test('[MQTT-3.3.2-7] 5.0: topic alias mappings do not carry over to a new connection (client_test5.py)', async (t) => {
    const id = uid('ta');
    const topic = `${topicRoot()}/alias`;
    const first = await aliasPublisher(id);
    if (first.max === 0) return t.skip('the broker accepts no topic aliases');
    first.raw.send(pub(topic, 1, 'topic alias 1', 1));
    await first.raw.expectPacket('puback');
    await first.raw.disconnect();
    const { client: again } = await rawConnect(hub, 5, { clientId: id, clean: false });
    again.send(pub('', 1, 'topic alias 4', 1));
    await expectServerDisconnect(again, RC.PROTOCOL_ERROR, { required: !hub.external });
  });

  for (const [label, props] of [
    ['absent', {}],
    ['0', { topicAliasMaximum: 0 }],
  ] as const) {
    test(`[MQTT-3.1.2-27] 5.0: the server sends no Topic Alias when the client's Topic Alias Maximum is ${label} (client_test5.py)`, async () => {
      const topic = `${topicRoot()}/noalias`;
      const { client: raw } = await rawConnect(hub, 5, { properties: props });
      await rawSubscribe(raw, [{ topic, qos: 2 }]);
      const { client: p } = await connect(hub, { protocolVersion: 5 });
      for (const qos of [0, 1, 2] as const) await p.publishAsync(topic, 'topic alias 1', { qos });
      for (let i = 0; i < 3; i++) {
        const m = await raw.expectPacket('publish');
        assert.equal(m.properties?.topicAlias, undefined);
        assert.equal(m.topic, topic);
        ack(raw, m);
      }
      await raw.disconnect();
      await closeAll(p);
    });
  }

  test('[MQTT-3.3.2-11] [MQTT-3.1.2-26] 5.0: server aliases stay within the client maximum and always resolve to the right topic', async () => {
    const root = topicRoot();
    const { client: raw } = await rawConnect(hub, 5, { properties: { topicAliasMaximum: 1 } });
    await rawSubscribe(raw, [{ topic: `${root}/+`, qos: 1 }]);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    const sent = ['a', 'b', 'a', 'a', 'b', 'b', 'a'];
    for (const s of sent) await p.publishAsync(`${root}/${s}`, s, { qos: 1 });
    const map = new Map<number, string>();
    for (const s of sent) {
      const m = await raw.expectPacket('publish');
      const alias = m.properties?.topicAlias;
      let topic = m.topic;
      if (alias !== undefined) {
        assert.ok(alias >= 1 && alias <= 1, `alias ${alias} outside 1..1`);
        if (topic === '') topic = map.get(alias) ?? assert.fail(`alias ${alias} used before it was mapped`);
        else map.set(alias, topic);
      }
      assert.equal(topic, `${root}/${s}`);
      assert.equal(m.payload.toString(), s);
      ack(raw, m);
    }
    await raw.disconnect();
    await closeAll(p);
  });

  test('MQTT 5.0 §3.3.2.3.4: twinhub sends repeated topics as an alias with an empty Topic Name (client_test5.py server topic alias)', async (t) => {
    if (hub.external) return t.skip(HUB_CHOICE);
    const topic = `${topicRoot()}/repeat`;
    const { client: raw } = await rawConnect(hub, 5, { properties: { topicAliasMaximum: 5 } });
    await rawSubscribe(raw, [{ topic, qos: 2 }]);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    for (const qos of [0, 1, 2] as const) await p.publishAsync(topic, 'topic alias 1', { qos });
    const first = await raw.expectPacket('publish');
    const alias = first.properties?.topicAlias;
    assert.ok(alias !== undefined && alias > 0 && alias <= 5, `first delivery sets an alias (got ${alias})`);
    assert.equal(first.topic, topic);
    ack(raw, first);
    for (let i = 0; i < 2; i++) {
      const m = await raw.expectPacket('publish');
      assert.equal(m.properties?.topicAlias, alias);
      assert.equal(m.topic, '', 'the alias replaces the Topic Name');
      ack(raw, m);
    }
    await raw.disconnect();
    await closeAll(p);
  });

  test('[MQTT-3.3.2-10] 5.0: the mqtt client resolves the server aliases it allowed: messages arrive under their topics', async () => {
    const root = topicRoot();
    const { client: sub } = await connect(hub, { protocolVersion: 5, properties: { topicAliasMaximum: 2 } });
    const log = collect(sub);
    await sub.subscribeAsync(`${root}/#`, { qos: 1 });
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    const order = ['x', 'y', 'z', 'x', 'y', 'z', 'x'];
    for (const s of order) await p.publishAsync(`${root}/${s}`, s, { qos: 1 });
    await log.waitFor(order.length);
    assert.deepEqual(
      log.messages.map((m) => m.topic),
      order.map((s) => `${root}/${s}`),
    );
    await closeAll(p, sub);
  });
});

function ack(raw: RawClient, m: IPublishPacket): void {
  if (m.qos === 1) raw.send({ cmd: 'puback', messageId: m.messageId });
  else if (m.qos === 2) raw.send({ cmd: 'pubrec', messageId: m.messageId });
}
