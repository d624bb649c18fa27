// PUBLISH and its QoS flows (MQTT 3.1.1 §3.3–3.7, §4.3, §4.6; MQTT 5.0 §3.3–3.7, §4.3, §4.6):
// acknowledgements, QoS 2 exactly-once, delivered QoS, ordering, topic names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import type { TestHub } from '../helpers/hub.js';
import { closeAll, collect, connect, waitFor } from '../helpers/mqtt.js';
import { RC, expectServerDisconnect, packet, pid, rawConnect, rawSubscribe, str, topicRoot, withHub } from './support.js';

let hub: TestHub;

function publish(topic: string, qos: 0 | 1 | 2, payload: string, messageId?: number, dup = false): IPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos, dup, retain: false, ...(qos > 0 ? { messageId: messageId ?? pid() } : {}) };
}

describe('PUBLISH and QoS', { concurrency: true }, () => {
  withHub((h) => (hub = h));

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';

    test(`[MQTT-4.5.0-1] ${V}: messages published at QoS 0, 1 and 2 reach a matching subscriber (client_test.py basic)`, async () => {
      const topic = `${topicRoot()}/TopicA`;
      const { client } = await connect(hub, { protocolVersion: v });
      const log = collect(client);
      await client.subscribeAsync(topic, { qos: 2 });
      await client.publishAsync(topic, 'qos 0', { qos: 0 });
      await client.publishAsync(topic, 'qos 1', { qos: 1 });
      await client.publishAsync(topic, 'qos 2', { qos: 2 });
      await log.waitFor(3);
      assert.deepEqual(log.messages.map((m) => m.packet.qos).sort(), [0, 1, 2]);
      await log.expectAtMost(3, 200);
      await closeAll(client);
    });

    test(`[MQTT-3.3.4-1] ${V}: a QoS 0 PUBLISH gets no response`, async () => {
      const { client: raw } = await rawConnect(hub, v);
      raw.send(publish(`${topicRoot()}/q0`, 0, 'x'));
      await raw.expectNothing(300);
      await raw.disconnect();
    });

    const q1Ids = v === 4 ? '[MQTT-3.3.4-1] [MQTT-4.3.2-2]' : '[MQTT-3.3.4-1] [MQTT-4.3.2-4]';
    test(`${q1Ids} ${V}: a QoS 1 PUBLISH is answered with a PUBACK carrying its packet id`, async () => {
      const { client: raw } = await rawConnect(hub, v);
      for (const id of [1, 4242, 65535]) {
        raw.send(publish(`${topicRoot()}/q1`, 1, 'x', id));
        const ack = await raw.expectPacket('puback');
        assert.equal(ack.messageId, id);
        if (v === 5) assert.ok([RC.SUCCESS, RC.NO_MATCHING_SUBSCRIBERS].includes((ack.reasonCode ?? 0) as 0), `PUBACK reason ${ack.reasonCode}`);
      }
      await raw.disconnect();
    });

    const q2Ids = v === 4 ? '[MQTT-3.3.4-1] [MQTT-4.3.3-2]' : '[MQTT-3.3.4-1] [MQTT-4.3.3-8] [MQTT-4.3.3-11]';
    test(`${q2Ids} ${V}: QoS 2 inbound: PUBLISH → PUBREC, PUBREL → PUBCOMP with the same packet id`, async () => {
      const { client: raw } = await rawConnect(hub, v);
      const id = pid();
      raw.send(publish(`${topicRoot()}/q2`, 2, 'x', id));
      const rec = await raw.expectPacket('pubrec');
      assert.equal(rec.messageId, id);
      raw.send({ cmd: 'pubrel', messageId: id });
      const comp = await raw.expectPacket('pubcomp');
      assert.equal(comp.messageId, id);
      await raw.disconnect();
    });

    const exactIds = v === 4 ? '[MQTT-4.3.3-2]' : '[MQTT-4.3.3-10]';
    test(`${exactIds} ${V}: a QoS 2 PUBLISH re-sent with DUP before PUBREL is acknowledged again but delivered once`, async () => {
      const topic = `${topicRoot()}/once`;
      const { client: sub } = await connect(hub, { protocolVersion: v });
      const log = collect(sub);
      await sub.subscribeAsync(topic, { qos: 2 });
      const { client: raw } = await rawConnect(hub, v);
      const id = pid();
      raw.send(publish(topic, 2, 'exactly once', id));
      assert.equal((await raw.expectPacket('pubrec')).messageId, id);
      // "any subsequent PUBLISH packet with the same Packet Identifier" until PUBREL: try twice.
      for (const attempt of ['first', 'second']) {
        raw.send(publish(topic, 2, 'exactly once', id, true));
        const rec = await raw.expectPacket('pubrec').catch((e: Error) => {
          throw new Error(`no PUBREC for the ${attempt} DUP re-send: ${e.message}`);
        });
        assert.equal(rec.messageId, id);
      }
      raw.send({ cmd: 'pubrel', messageId: id });
      await raw.expectPacket('pubcomp');
      await log.waitFor(1);
      await log.expectAtMost(1, 400);
      await raw.disconnect();
      await closeAll(sub);
    });

    const newAfterCompIds = v === 4 ? '[MQTT-4.3.3-2]' : '[MQTT-4.3.3-12]';
    test(`${newAfterCompIds} ${V}: after PUBCOMP a PUBLISH reusing the packet id is a new message`, async () => {
      const topic = `${topicRoot()}/reuse2`;
      const { client: sub } = await connect(hub, { protocolVersion: v });
      const log = collect(sub);
      await sub.subscribeAsync(topic, { qos: 2 });
      const { client: raw } = await rawConnect(hub, v);
      const id = pid();
      for (const payload of ['first', 'second']) {
        raw.send(publish(topic, 2, payload, id));
        await raw.expectPacket('pubrec');
        raw.send({ cmd: 'pubrel', messageId: id });
        await raw.expectPacket('pubcomp');
      }
      await log.waitFor(2);
      assert.deepEqual(log.payloads(), ['first', 'second']);
      await raw.disconnect();
      await closeAll(sub);
    });

    const newAfterAckIds = v === 4 ? '[MQTT-4.3.2-2]' : '[MQTT-4.3.2-5]';
    test(`${newAfterAckIds} ${V}: after PUBACK a QoS 1 PUBLISH reusing the packet id is a new message, whatever its DUP flag`, async () => {
      const topic = `${topicRoot()}/reuse1`;
      const { client: sub } = await connect(hub, { protocolVersion: v });
      const log = collect(sub);
      await sub.subscribeAsync(topic, { qos: 1 });
      const { client: raw } = await rawConnect(hub, v);
      const id = pid();
      raw.send(publish(topic, 1, 'one', id));
      await raw.expectPacket('puback');
      raw.send(publish(topic, 1, 'two', id, true));
      await raw.expectPacket('puback');
      await log.waitFor(2);
      assert.deepEqual(log.payloads(), ['one', 'two']);
      await raw.disconnect();
      await closeAll(sub);
    });

    const compUnknownId = v === 4 ? '[MQTT-4.3.3-2]' : '[MQTT-4.3.3-11]';
    test(`${compUnknownId} ${V}: a PUBREL is always answered with a PUBCOMP carrying its packet id`, async () => {
      const { client: raw } = await rawConnect(hub, v);
      raw.send({ cmd: 'pubrel', messageId: 31337 });
      const comp = await raw.expectPacket('pubcomp');
      assert.equal(comp.messageId, 31337);
      if (v === 5) assert.ok([0x00, 0x92].includes(comp.reasonCode ?? 0), `PUBCOMP reason ${comp.reasonCode} (0x92: Packet Identifier not found)`);
      await raw.disconnect();
    });

    const outIds = v === 4 ? '[MQTT-2.3.1-1] [MQTT-3.3.1-2] [MQTT-4.3.2-1]' : '[MQTT-2.2.1-2] [MQTT-2.2.1-4] [MQTT-4.3.1-1] [MQTT-4.3.2-2]';
    test(`${outIds} ${V}: outbound QoS 0 has no packet id and DUP 0; outbound QoS 1 has a non-zero id and DUP 0`, async () => {
      const topic = `${topicRoot()}/out`;
      const { client: raw } = await rawConnect(hub, v);
      await rawSubscribe(raw, [{ topic, qos: 1 }]);
      const { client: pub } = await connect(hub, { protocolVersion: v });
      await pub.publishAsync(topic, 'zero', { qos: 0 });
      const p0 = await raw.expectPacket('publish');
      assert.equal(p0.qos, 0);
      assert.equal(p0.dup, false);
      assert.equal(p0.messageId, undefined);
      await pub.publishAsync(topic, 'one', { qos: 1 });
      const p1 = await raw.expectPacket('publish');
      assert.equal(p1.qos, 1);
      assert.equal(p1.dup, false);
      assert.ok(p1.messageId && p1.messageId > 0);
      raw.send({ cmd: 'puback', messageId: p1.messageId });
      await raw.disconnect();
      await closeAll(pub);
    });

    const out2Ids = v === 4 ? '[MQTT-4.3.3-1]' : '[MQTT-4.3.3-2] [MQTT-4.3.3-4] [MQTT-4.3.3-6]';
    test(`${out2Ids} ${V}: QoS 2 outbound: PUBLISH (DUP 0) → PUBREC → PUBREL with the same id → PUBCOMP, no re-sent PUBLISH`, async () => {
      const topic = `${topicRoot()}/out2`;
      const { client: raw } = await rawConnect(hub, v);
      await rawSubscribe(raw, [{ topic, qos: 2 }]);
      const { client: pub } = await connect(hub, { protocolVersion: v });
      await pub.publishAsync(topic, 'two', { qos: 2 });
      const p = await raw.expectPacket('publish');
      assert.equal(p.qos, 2);
      assert.equal(p.dup, false);
      raw.send({ cmd: 'pubrec', messageId: p.messageId });
      const rel = await raw.expectPacket('pubrel');
      assert.equal(rel.messageId, p.messageId);
      raw.send({ cmd: 'pubcomp', messageId: p.messageId });
      await raw.expectNothing(300, 'publish');
      await raw.disconnect();
      await closeAll(pub);
    });

    const minIds = v === 4 ? '[MQTT-3.8.4-6]' : '[MQTT-3.8.4-8]';
    test(`${minIds} ${V}: a message is delivered at the minimum of its QoS and the subscription's granted QoS`, async () => {
      const topic = `${topicRoot()}/min`;
      const subs = await Promise.all(
        ([0, 1, 2] as const).map(async (q) => {
          const { client } = await connect(hub, { protocolVersion: v });
          const log = collect(client);
          const [granted] = (await client.subscribeAsync(topic, { qos: q })).map((g) => g.qos);
          assert.equal(granted, q, `granted QoS for a QoS ${q} subscription`);
          return { q, client, log };
        }),
      );
      const { client: pub } = await connect(hub, { protocolVersion: v });
      for (const pq of [0, 1, 2] as const) await pub.publishAsync(topic, `p${pq}`, { qos: pq });
      for (const s of subs) {
        await s.log.waitFor(3);
        for (const m of s.log.messages) {
          const pq = Number(m.payload.toString().slice(1));
          assert.equal(m.packet.qos, Math.min(pq, s.q), `publish QoS ${pq} to a QoS ${s.q} subscription`);
        }
      }
      await closeAll(pub, ...subs.map((s) => s.client));
    });

    test(`[MQTT-4.6.0-5] [MQTT-4.6.0-6] ${V}: messages from one client on one topic arrive in publish order, per QoS`, async () => {
      const topic = `${topicRoot()}/order`;
      const { client: sub } = await connect(hub, { protocolVersion: v });
      const log = collect(sub);
      await sub.subscribeAsync(topic, { qos: 2 });
      const { client: pub } = await connect(hub, { protocolVersion: v });
      const n = 60;
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        const qos = (i % 3) as 0 | 1 | 2;
        sends.push(pub.publishAsync(topic, `${qos}:${i}`, { qos }));
      }
      await Promise.all(sends);
      await log.waitFor(n, 5000);
      for (const qos of [0, 1, 2]) {
        const seq = log.payloads().filter((p) => p.startsWith(`${qos}:`)).map((p) => Number(p.split(':')[1]));
        assert.deepEqual(seq, [...seq].sort((a, b) => a - b), `QoS ${qos} messages out of order: ${seq.join(',')}`);
        assert.equal(seq.length, n / 3);
      }
      await closeAll(pub, sub);
    });

    test(`[MQTT-3.3.2-2] ${V}: a PUBLISH whose Topic Name contains a wildcard closes the connection`, async () => {
      for (const bad of ['a/+/c', 'a/#']) {
        const { client: raw } = await rawConnect(hub, v);
        // Hand-built QoS 0 PUBLISH (5.0: empty property list).
        raw.sendBytes(packet(0x30, [...str(`${topicRoot()}/${bad}`), ...(v === 5 ? [0] : []), 0x78]));
        await expectServerDisconnect(raw, [RC.TOPIC_NAME_INVALID, RC.PROTOCOL_ERROR, RC.MALFORMED], { required: !hub.external });
      }
    });
  }

  test('[MQTT-4.5.0-1] a message crosses protocol versions: 5.0 publisher → 3.1.1 subscriber and back', async () => {
    const root = topicRoot();
    const { client: v4 } = await connect(hub, { protocolVersion: 4 });
    const { client: v5 } = await connect(hub, { protocolVersion: 5 });
    const log4 = collect(v4);
    const log5 = collect(v5);
    await v4.subscribeAsync(`${root}/to4`, { qos: 1 });
    await v5.subscribeAsync(`${root}/to5`, { qos: 1 });
    await v5.publishAsync(`${root}/to4`, 'from five', { qos: 1, properties: { userProperties: { a: 'b' }, contentType: 'text/plain' } });
    await v4.publishAsync(`${root}/to5`, 'from four', { qos: 1 });
    const [m4] = await log4.waitFor(1);
    const [m5] = await log5.waitFor(1);
    assert.equal(m4!.payload.toString(), 'from five');
    assert.equal(m5!.payload.toString(), 'from four');
    await closeAll(v4, v5);
  });

  test('[MQTT-3.3.1-3] the outbound DUP flag is set independently of the inbound one', async () => {
    const topic = `${topicRoot()}/dup`;
    const { client: raw } = await rawConnect(hub, 4);
    await rawSubscribe(raw, [{ topic, qos: 1 }]);
    const { client: pubRaw } = await rawConnect(hub, 4);
    pubRaw.send(publish(topic, 1, 'first try, flagged dup', pid(), true));
    await pubRaw.expectPacket('puback');
    const p = await raw.expectPacket('publish');
    assert.equal(p.dup, false, 'a first delivery to the subscriber has DUP 0');
    raw.send({ cmd: 'puback', messageId: p.messageId });
    await waitFor(() => true);
    await Promise.all([raw.disconnect(), pubRaw.disconnect()]);
  });
});
