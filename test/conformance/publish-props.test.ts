// MQTT 5.0 PUBLISH properties (§3.3.2.3, §4.10): User Properties, Payload Format Indicator,
// Content Type, Response Topic, Correlation Data, Message Expiry Interval, and the properties a
// client may not send.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestHub } from '../helpers/hub.js';
import { closeAll, collect, connect, sleep, uid } from '../helpers/mqtt.js';
import { RC, expectServerDisconnect, packet, pid, props, rawConnect, rawSubscribe, str, topicRoot, wireUserProperties, withHub } from './support.js';

let hub: TestHub;

describe('PUBLISH properties (5.0)', { concurrency: true }, () => {
  withHub((h) => (hub = h));

  test('[MQTT-3.3.2-17] 5.0: User Properties are forwarded unchanged at QoS 0, 1 and 2 (client_test5.py)', async () => {
    const topic = `${topicRoot()}/up`;
    const { client } = await connect(hub, { protocolVersion: 5 });
    const log = collect(client);
    await client.subscribeAsync(topic, { qos: 2 });
    const userProperties = { a: '2', c: '3', 'name with spaces': 'välue ✓', dup: ['x', 'y'] };
    for (const qos of [0, 1, 2] as const) await client.publishAsync(topic, '', { qos, properties: { userProperties } });
    await log.waitFor(3);
    for (const m of log.messages) {
      assert.deepEqual(Object.entries(m.packet.properties?.userProperties ?? {}), Object.entries(userProperties));
    }
    assert.deepEqual(log.messages.map((m) => m.packet.qos).sort(), [0, 1, 2]);
    await closeAll(client);
  });

  test('[MQTT-3.3.2-18] 5.0: the order of User Properties, repeated names included, is kept on the wire', async () => {
    const topic = `${topicRoot()}/order`;
    const { client: sub } = await rawConnect(hub, 5);
    await rawSubscribe(sub, [{ topic, qos: 1 }]);
    const { client: pub } = await rawConnect(hub, 5);
    const pairs: Array<[string, string]> = [
      ['a', '1'],
      ['b', '2'],
      ['a', '3'],
      ['z', '4'],
      ['b', '5'],
    ];
    const ups = pairs.flatMap(([k, v]) => [0x26, ...str(k), ...str(v)]);
    const id = pid();
    pub.sendBytes(packet(0x32, [...str(topic), id >> 8, id & 0xff, ...props(...ups), ...Buffer.from('ordered')]));
    await pub.expectPacket('puback');
    const m = await sub.expectPacket('publish');
    sub.send({ cmd: 'puback', messageId: m.messageId });
    const onWire = wireUserProperties(sub.rawBytes());
    assert.deepEqual(onWire, [pairs]);
    await Promise.all([sub.disconnect(), pub.disconnect()]);
  });

  test('[MQTT-3.3.2-4] [MQTT-3.3.2-20] 5.0: Payload Format Indicator and Content Type are forwarded unchanged (client_test5.py)', async () => {
    const topic = `${topicRoot()}/pf`;
    const { client } = await connect(hub, { protocolVersion: 5 });
    const log = collect(client);
    await client.subscribeAsync(topic, { qos: 2 });
    for (const qos of [0, 1, 2] as const) {
      await client.publishAsync(topic, '', { qos, properties: { payloadFormatIndicator: true, contentType: 'My name' } });
    }
    await log.waitFor(3);
    for (const m of log.messages) {
      assert.equal(m.packet.properties?.payloadFormatIndicator, true);
      assert.equal(m.packet.properties?.contentType, 'My name');
    }
    await closeAll(client);
  });

  test('[MQTT-3.3.2-15] [MQTT-3.3.2-16] 5.0: Response Topic and Correlation Data are forwarded; a request/response round trip works (client_test5.py)', async () => {
    const root = topicRoot();
    const requests = `${root}/requests`;
    const replies = `${root}/replies/${uid('r')}`;
    const { client: requester } = await connect(hub, { protocolVersion: 5 });
    const { client: responder } = await connect(hub, { protocolVersion: 5 });
    const asked = collect(responder);
    const answered = collect(requester);
    await requester.subscribeAsync(replies, { qos: 1, nl: true });
    await responder.subscribeAsync(requests, { qos: 1, nl: true });
    const correlationData = Buffer.from([0x33, 0x00, 0x34, 0xff]);
    await requester.publishAsync(requests, 'request', { qos: 1, properties: { responseTopic: replies, correlationData } });
    const [req] = await asked.waitFor(1);
    assert.equal(req!.packet.properties?.responseTopic, replies);
    assert.deepEqual(req!.packet.properties?.correlationData, correlationData);
    await responder.publishAsync(req!.packet.properties!.responseTopic!, 'response', {
      qos: 1,
      properties: { correlationData: req!.packet.properties!.correlationData! },
    });
    const [res] = await answered.waitFor(1);
    assert.equal(res!.payload.toString(), 'response');
    assert.deepEqual(res!.packet.properties?.correlationData, correlationData);
    await closeAll(requester, responder);
  });

  test('[MQTT-3.3.2-5] [MQTT-3.3.2-6] 5.0: queued messages expire; those delivered carry the remaining interval (client_test5.py publication expiry)', async () => {
    const topic = `${topicRoot()}/exp`;
    const id = uid('ex');
    const b = await connect(hub, { protocolVersion: 5, clientId: id, clean: true, properties: { sessionExpiryInterval: 99999 } });
    await b.client.subscribeAsync(topic, { qos: 2 });
    await closeAll(b.client);
    const { client: a } = await connect(hub, { protocolVersion: 5 });
    await a.publishAsync(topic, 'qos 1 - expire', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await a.publishAsync(topic, 'qos 2 - expire', { qos: 2, properties: { messageExpiryInterval: 1 } });
    await a.publishAsync(topic, "qos 1 - don't expire", { qos: 1, properties: { messageExpiryInterval: 6 } });
    await a.publishAsync(topic, "qos 2 - don't expire", { qos: 2, properties: { messageExpiryInterval: 6 } });
    await sleep(2200);
    const back = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 99999 } });
    const log = back.log;
    assert.equal(back.connack.sessionPresent, true);
    await log.waitFor(2);
    await log.expectAtMost(2, 500);
    assert.deepEqual(log.payloads().sort(), ["qos 1 - don't expire", "qos 2 - don't expire"]);
    for (const m of log.messages) {
      const left = m.packet.properties?.messageExpiryInterval;
      assert.ok(left !== undefined && left <= 4 && left >= 1, `remaining expiry ${left}, expected 6 minus about 2 s`);
    }
    await closeAll(a);
    await back.client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
  });

  test('[MQTT-3.3.2-6] 5.0: an online delivery carries the Message Expiry Interval (minus the time waited)', async () => {
    const topic = `${topicRoot()}/exp`;
    const { client } = await connect(hub, { protocolVersion: 5 });
    const log = collect(client);
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, 'x', { qos: 1, properties: { messageExpiryInterval: 30 } });
    const [m] = await log.waitFor(1);
    const left = m!.packet.properties?.messageExpiryInterval;
    assert.ok(left === 30 || left === 29, `expiry ${left}`);
    await closeAll(client);
  });

  test('[MQTT-3.3.2-14] 5.0: a Response Topic containing a wildcard closes the connection', async () => {
    const { client: raw } = await rawConnect(hub, 5);
    raw.sendBytes(packet(0x30, [...str(`${topicRoot()}/req`), ...props(0x08, ...str('replies/#')), 0x78]));
    await expectServerDisconnect(raw, [RC.PROTOCOL_ERROR, RC.MALFORMED, RC.TOPIC_NAME_INVALID], { required: !hub.external });
  });

  test('[MQTT-3.3.4-6] 5.0: a PUBLISH from a client carrying a Subscription Identifier is a protocol error', async () => {
    const { client: raw } = await rawConnect(hub, 5);
    raw.sendBytes(packet(0x30, [...str(`${topicRoot()}/sid`), ...props(0x0b, 0x05), 0x78]));
    await expectServerDisconnect(raw, [RC.PROTOCOL_ERROR, RC.MALFORMED], { required: !hub.external });
  });
});
