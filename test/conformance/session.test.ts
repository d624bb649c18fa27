// Persistent sessions (MQTT 3.1.1 §3.1.2.4, §4.1, §4.4; MQTT 5.0 §3.1.2.4, §3.1.2.11.2, §4.1,
// §4.4): offline queueing, redelivery of unacknowledged messages with DUP, QoS 2 state across
// connections, Session Expiry Interval.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IConnectPacket, IPublishPacket } from 'mqtt-packet';
import type { TestHub } from '../helpers/hub.js';
import { closeAll, collect, connect, sleep, uid } from '../helpers/mqtt.js';
import { RC, pid, rawConnect, rawSubscribe, topicRoot, withHub } from './support.js';

let hub: TestHub;

/**
 * CONNECT fields of a session that outlives its connection. 3.1.1 needs CleanSession 0 from the
 * first connection on; 5.0 may start clean and keep the session with a Session Expiry Interval.
 * (Client ids are unique per test, so there is never an older session to discard.)
 */
function persistent(v: 4 | 5, clientId: string, clean = false): Partial<IConnectPacket> {
  return v === 4 ? { clientId, clean: false } : { clientId, clean, properties: { sessionExpiryInterval: 300 } };
}

/** Ends a session for good (clean connect, then DISCONNECT). */
async function endSession(v: 4 | 5, clientId: string): Promise<void> {
  const { client } = await rawConnect(hub, v, { clientId, clean: true });
  await client.disconnect();
}

describe('Sessions', { concurrency: true }, () => {
  withHub((h) => (hub = h));

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';
    const mqttOpts = (id: string, clean = false) =>
      v === 4 ? { protocolVersion: v, clientId: id, clean: false } : { protocolVersion: v, clientId: id, clean, properties: { sessionExpiryInterval: 300 } };

    const queueIds = v === 4 ? '[MQTT-3.1.2-4] [MQTT-3.1.2-5]' : '[MQTT-3.1.2-5] [MQTT-3.1.2-23]';
    test(`${queueIds} ${V}: QoS 1 and 2 messages published while the client is offline are delivered when it resumes (client_test.py offline queueing)`, async () => {
      const root = topicRoot();
      const id = uid('oq');
      const a = await connect(hub, mqttOpts(id, true));
      await a.client.subscribeAsync(`${root}/+/+`, { qos: 2 });
      await closeAll(a.client);
      const { client: b } = await connect(hub, { protocolVersion: v });
      await b.publishAsync(`${root}/TopicA/B`, 'qos 0', { qos: 0 });
      await b.publishAsync(`${root}/Topic/C`, 'qos 1', { qos: 1 });
      await b.publishAsync(`${root}/TopicA/C`, 'qos 2', { qos: 2 });
      await closeAll(b);
      const back = await connect(hub, mqttOpts(id));
      assert.equal(back.connack.sessionPresent, true);
      await back.log.waitFor(2);
      await sleep(300);
      const got = back.log.payloads();
      assert.ok(got.includes('qos 1') && got.includes('qos 2'), `QoS 1 and 2 messages are queued (got ${got.join(', ')})`);
      assert.ok(got.length <= 3, `no duplicates (got ${got.join(', ')})`);
      // The subscription itself survived: a new message arrives without re-subscribing.
      const { client: c } = await connect(hub, { protocolVersion: v });
      await c.publishAsync(`${root}/TopicA/B`, 'after resume', { qos: 1 });
      await waitPayload(() => back.log.payloads(), 'after resume');
      await closeAll(c, back.client);
      await endSession(v, id);
    });

    test(`[MQTT-4.6.0-6] ${V}: messages queued for an offline session are delivered in publish order`, async () => {
      const topic = `${topicRoot()}/q`;
      const id = uid('oo');
      const a = await connect(hub, mqttOpts(id, true));
      await a.client.subscribeAsync(topic, { qos: 1 });
      await closeAll(a.client);
      const { client: p } = await connect(hub, { protocolVersion: v });
      for (let i = 0; i < 20; i++) await p.publishAsync(topic, String(i), { qos: 1 });
      await closeAll(p);
      const back = await connect(hub, mqttOpts(id));
      await back.log.waitFor(20);
      assert.deepEqual(back.log.payloads(), Array.from({ length: 20 }, (_, i) => String(i)));
      await closeAll(back.client);
      await endSession(v, id);
    });

    test(`[MQTT-4.4.0-1] [MQTT-3.3.1-1] [MQTT-4.6.0-1] ${V}: unacknowledged QoS 1 and 2 PUBLISHes are re-sent on reconnect with DUP 1, their packet ids, in order (client_test.py redelivery)`, async () => {
      const topic = `${topicRoot()}/re`;
      const id = uid('rd');
      const first = await rawConnect(hub, v, persistent(v, id, true));
      await rawSubscribe(first.client, [{ topic, qos: 2 }]);
      const { client: p } = await connect(hub, { protocolVersion: v });
      await p.publishAsync(topic, 'one', { qos: 1 });
      await p.publishAsync(topic, 'two', { qos: 2 });
      const orig = [await first.client.expectPacket('publish'), await first.client.expectPacket('publish')];
      for (const m of orig) assert.equal(m.dup, false);
      first.client.destroy(); // no PUBACK / PUBREC
      await sleep(100);
      const second = await rawConnect(hub, v, persistent(v, id));
      assert.equal(second.connack.sessionPresent, true);
      const again = [await second.client.expectPacket('publish'), await second.client.expectPacket('publish')];
      assert.deepEqual(
        again.map((m) => [m.payload.toString(), m.qos, m.messageId, m.dup]),
        orig.map((m) => [m.payload.toString(), m.qos, m.messageId, true]),
      );
      second.client.send({ cmd: 'puback', messageId: again[0]!.messageId });
      second.client.send({ cmd: 'pubrec', messageId: again[1]!.messageId });
      await second.client.expectPacket('pubrel');
      second.client.send({ cmd: 'pubcomp', messageId: again[1]!.messageId });
      await second.client.disconnect();
      await closeAll(p);
      await endSession(v, id);
    });

    const relIds = v === 4 ? '[MQTT-4.4.0-1] [MQTT-4.3.3-1]' : '[MQTT-4.4.0-1] [MQTT-4.3.3-6]';
    test(`${relIds} ${V}: after PUBREC the server resumes an interrupted QoS 2 delivery with PUBREL, never the PUBLISH`, async () => {
      const topic = `${topicRoot()}/rel`;
      const id = uid('rl');
      const first = await rawConnect(hub, v, persistent(v, id, true));
      await rawSubscribe(first.client, [{ topic, qos: 2 }]);
      const { client: p } = await connect(hub, { protocolVersion: v });
      await p.publishAsync(topic, 'two', { qos: 2 });
      const m = await first.client.expectPacket('publish');
      first.client.send({ cmd: 'pubrec', messageId: m.messageId });
      await first.client.expectPacket('pubrel');
      first.client.destroy(); // no PUBCOMP
      await sleep(100);
      const second = await rawConnect(hub, v, persistent(v, id));
      const rel = await second.client.expectPacket('pubrel');
      assert.equal(rel.messageId, m.messageId);
      second.client.send({ cmd: 'pubcomp', messageId: m.messageId });
      await second.client.expectNothing(400, 'publish');
      await second.client.disconnect();
      await closeAll(p);
      await endSession(v, id);
    });

    const inIds = v === 4 ? '[MQTT-4.3.3-2] [MQTT-4.4.0-1]' : '[MQTT-4.3.3-10] [MQTT-4.4.0-1]';
    test(`${inIds} ${V}: an inbound QoS 2 message acknowledged with PUBREC is delivered once even if re-sent on a new connection`, async () => {
      const topic = `${topicRoot()}/in2`;
      const id = uid('in');
      const { client: sub } = await connect(hub, { protocolVersion: v });
      const log = collect(sub);
      await sub.subscribeAsync(topic, { qos: 2 });
      const first = await rawConnect(hub, v, persistent(v, id, true));
      const msgId = pid();
      const publish: IPublishPacket = { cmd: 'publish', topic, payload: Buffer.from('once'), qos: 2, dup: false, retain: false, messageId: msgId };
      first.client.send(publish);
      await first.client.expectPacket('pubrec');
      first.client.destroy();
      await sleep(100);
      const second = await rawConnect(hub, v, persistent(v, id));
      second.client.send({ ...publish, dup: true });
      assert.equal((await second.client.expectPacket('pubrec')).messageId, msgId);
      second.client.send({ cmd: 'pubrel', messageId: msgId });
      assert.equal((await second.client.expectPacket('pubcomp')).messageId, msgId);
      await log.waitFor(1);
      await log.expectAtMost(1, 400);
      await second.client.disconnect();
      await closeAll(sub);
      await endSession(v, id);
    });
  }

  test('MQTT 5.0 §3.1.2.11.2: with Session Expiry 0 the session ends with the connection (client_test5.py)', async () => {
    const id = uid('se');
    const a = await connect(hub, { protocolVersion: 5, clientId: id, clean: true, properties: { sessionExpiryInterval: 0 } });
    await a.client.subscribeAsync(`${topicRoot()}/t`, { qos: 2 });
    await closeAll(a.client);
    const b = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } });
    assert.equal(b.connack.sessionPresent, false);
    await closeAll(b.client);
  });

  test('[MQTT-3.1.2-23] [MQTT-4.1.0-2] 5.0: a session is kept for its Session Expiry Interval after the connection closes, then discarded (client_test5.py)', async () => {
    const id = uid('se');
    const props = { sessionExpiryInterval: 2 };
    const a = await connect(hub, { protocolVersion: 5, clientId: id, clean: true, properties: props });
    await a.client.subscribeAsync(`${topicRoot()}/t`, { qos: 2 });
    await closeAll(a.client);
    await sleep(1000);
    const b = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: props });
    assert.equal(b.connack.sessionPresent, true, 'the session still exists 1 s after a 2 s expiry started');
    await closeAll(b.client);
    await sleep(3000);
    const c = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: props });
    assert.equal(c.connack.sessionPresent, false, 'the session expired');
    await closeAll(c.client);
  });

  test('MQTT 5.0 §3.14.2.2.2: the Session Expiry Interval on DISCONNECT replaces the one from CONNECT (client_test5.py)', async () => {
    const id = uid('se');
    const props = { sessionExpiryInterval: 1 };
    const { client: a } = await rawConnect(hub, 5, { clientId: id, clean: true, properties: props });
    await a.disconnect(RC.SUCCESS, { sessionExpiryInterval: 10 });
    await sleep(2000);
    const { client: b, connack } = await rawConnect(hub, 5, { clientId: id, clean: false, properties: props });
    assert.equal(connack.sessionPresent, true, 'kept by the longer DISCONNECT interval');
    await b.disconnect(RC.SUCCESS, { sessionExpiryInterval: 0 });
    const { client: c, connack: c2 } = await rawConnect(hub, 5, { clientId: id, clean: false, properties: props });
    assert.equal(c2.sessionPresent, false, 'ended at once by a DISCONNECT with Session Expiry 0');
    await c.disconnect(RC.SUCCESS, { sessionExpiryInterval: 0 });
  });

  test('MQTT 5.0 §3.14.2.2.2: a non-zero Session Expiry on DISCONNECT after 0 in CONNECT is a protocol error; the session still ends', async () => {
    const id = uid('se');
    const { client: a } = await rawConnect(hub, 5, { clientId: id, clean: true });
    a.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    await a.expectClose(3000);
    const discs = a.received.filter((p) => p.cmd === 'disconnect');
    if (discs.length > 0) assert.equal((discs[0] as { reasonCode?: number }).reasonCode, RC.PROTOCOL_ERROR);
    else assert.ok(hub.external, 'twinhub answers with DISCONNECT 0x82');
    const { client: b, connack } = await rawConnect(hub, 5, { clientId: id, clean: false });
    assert.equal(connack.sessionPresent, false);
    await b.disconnect();
  });
});

async function waitPayload(get: () => string[], payload: string, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!get().includes(payload)) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for "${payload}" (have ${get().join(', ')})`);
    await sleep(10);
  }
}
