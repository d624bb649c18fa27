// CONNECT / CONNACK / PINGREQ / DISCONNECT conformance (MQTT 3.1.1 §3.1–3.2, §3.12; MQTT 5.0
// §3.1–3.2, §3.12, §3.14): first packet, protocol name and level, flags, client identifiers,
// session present, takeover, keep alive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub } from '../helpers/hub.js';
import type { TestHub } from '../helpers/hub.js';
import { RawClient } from '../helpers/raw-client.js';
import { cleanupClients, closeAll, collect, connect, sleep, uid } from '../helpers/mqtt.js';
import { NEEDS_CONFIG, RC, expectConnectRefused, expectServerDisconnect, packet, rawConnect, str, topicRoot } from './support.js';

let hub: TestHub;

describe('CONNECT', { concurrency: true }, () => {
  before(async () => {
    // maxKeepAlive 60: the Server Keep Alive test asks for 120 s.
    hub = await startTestHub({ config: { limits: { maxKeepAlive: 60 } } });
  });
  after(async () => {
    cleanupClients();
    await hub?.stop();
  });

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';

    test(`[MQTT-3.1.0-1] ${V}: a first packet other than CONNECT closes the connection unanswered`, async () => {
      const raw = await RawClient.open(hub, { protocolVersion: v });
      raw.send({ cmd: 'pingreq' });
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b', qos: 0 }] });
      await raw.expectClose(3000);
      // Not even a DISCONNECT: nothing may precede a successful CONNACK [MQTT-3.14.0-1].
      assert.deepEqual(raw.received.map((p) => p.cmd), []);
    });

    test(`[MQTT-3.1.0-2] ${V}: a second CONNECT is a protocol violation and closes the connection`, async () => {
      const id = uid('dup');
      const { client: raw } = await rawConnect(hub, v, { clientId: id });
      raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: v, clean: true, keepalive: 30, clientId: id });
      await expectServerDisconnect(raw, RC.PROTOCOL_ERROR, { required: !hub.external });
      // [MQTT-3.2.0-2]: never a second CONNACK.
      assert.equal(raw.received.filter((p) => p.cmd === 'connack').length, 1);
    });

    test(`[MQTT-3.1.2-1] ${V}: a wrong protocol name is not accepted and the connection closes`, async () => {
      const raw = await RawClient.open(hub, { protocolVersion: v });
      // Protocol name "hj" (client_test.py uses it), level v, clean start, keep alive 30.
      const props = v === 5 ? [0] : [];
      raw.sendBytes(packet(0x10, [...str('hj'), v, 0x02, 0, 30, ...props, ...str(uid('pn'))]));
      await raw.expectClose(3000);
      for (const p of raw.received) {
        assert.equal(p.cmd, 'connack', `only a refusing CONNACK may precede the close, got ${p.cmd}`);
        const code = v === 5 ? p.reasonCode : p.returnCode;
        assert.ok((code ?? 0) !== 0, 'a connection with a wrong protocol name must not be accepted');
      }
    });

    test(`[MQTT-3.1.2-3] [MQTT-3.1.4-1] ${V}: a CONNECT with the reserved flag set closes the connection`, async () => {
      const raw = await RawClient.open(hub, { protocolVersion: v });
      const props = v === 5 ? [0] : [];
      // Connect flags 0x03: clean start + reserved bit 0.
      raw.sendBytes(packet(0x10, [...str('MQTT'), v, 0x03, 0, 30, ...props, ...str(uid('rf'))]));
      await expectConnectRefused(raw, [RC.MALFORMED, RC.PROTOCOL_ERROR]);
    });

    test(`[MQTT-3.12.4-1] ${V}: PINGREQ is answered with PINGRESP`, async () => {
      const { client: raw } = await rawConnect(hub, v);
      for (let i = 0; i < 3; i++) {
        raw.send({ cmd: 'pingreq' });
        await raw.expectPacket('pingresp', 2000);
      }
      await raw.disconnect();
    });

    const kaId = v === 4 ? '[MQTT-3.1.2-24]' : '[MQTT-3.1.2-22]';
    test(`${kaId} ${V}: no packet within 1.5 × Keep Alive closes the connection`, async () => {
      const { client: raw } = await rawConnect(hub, v, { keepalive: 1 });
      const start = performance.now();
      // 5.0: a DISCONNECT before the close, if any, says Keep alive timeout (§3.14.2.1).
      await expectServerDisconnect(raw, RC.KEEP_ALIVE_TIMEOUT, { required: false, timeoutMs: 5000 });
      const elapsed = (raw.closedAt ?? performance.now()) - start;
      // Due at 1.5 × 1 s. Never early; late only by the broker's timer granularity (Mosquitto
      // checks in whole seconds and closes after about 3.3 s).
      assert.ok(elapsed >= 1000, `closed after ${Math.round(elapsed)} ms, before the keep-alive period`);
      assert.ok(elapsed <= 4800, `closed after ${Math.round(elapsed)} ms, expected about 1500 ms`);
    });

    test(`${kaId} ${V}: any control packet within the Keep Alive keeps the connection open`, async () => {
      const { client: raw } = await rawConnect(hub, v, { keepalive: 1 });
      for (let i = 0; i < 6; i++) {
        await sleep(500);
        assert.equal(raw.closed, false, `closed after ${(i + 1) * 500} ms although the client pinged`);
        raw.send({ cmd: 'pingreq' });
      }
      await raw.expectPacket('pingresp');
      await raw.disconnect();
    });
  }

  test('[MQTT-3.1.2-2] an unsupported protocol level is refused (CONNACK 0x01 in 3.1.1 / 0x84 in 5.0) and the connection closes', async () => {
    const raw = await RawClient.open(hub, { protocolVersion: 4 });
    raw.sendBytes(packet(0x10, [...str('MQTT'), 0x07, 0x02, 0, 30, ...str(uid('lv'))]));
    await raw.expectClose(3000);
    const bytes = raw.rawBytes();
    assert.ok(bytes.length >= 4, 'expected a refusing CONNACK before the close');
    assert.equal(bytes[0], 0x20, 'the only packet sent is a CONNACK');
    // Byte 3 is the 3.1.1 return code or the 5.0 reason code (both follow the flags byte).
    assert.ok(bytes[3] === 0x01 || bytes[3] === RC.UNSUPPORTED_PROTOCOL_VERSION, `refusal code 0x${bytes[3]?.toString(16)}`);
    assert.equal(bytes[2], 0, 'Session Present must be 0 when refusing [MQTT-3.2.2-4]/[MQTT-3.2.2-6]');
  });

  test('[MQTT-3.1.3-8] 3.1.1: a zero-length Client Identifier with CleanSession 0 is refused with 0x02 and closed', async () => {
    // Hand-built: mqtt-packet refuses to encode this CONNECT.
    const raw = await RawClient.open(hub, { protocolVersion: 4 });
    raw.sendBytes(packet(0x10, [...str('MQTT'), 4, 0x00, 0, 30, ...str('')]));
    const connack = await raw.expectPacket('connack');
    assert.equal(connack.returnCode, 2);
    assert.equal(connack.sessionPresent, false, '[MQTT-3.2.2-4] Session Present 0 with a non-zero return code');
    await raw.expectClose(3000);
  });

  test('[MQTT-3.1.3-6] 3.1.1: a zero-length Client Identifier with CleanSession 1 is accepted', async () => {
    const { client, connack } = await connect(hub, { protocolVersion: 4, clientId: '', clean: true });
    assert.equal(connack.returnCode, 0);
    await closeAll(client);
  });

  test('[MQTT-3.2.2-16] 5.0: a zero-length Client Identifier gets a new unique Assigned Client Identifier', async () => {
    const a = await rawConnect(hub, 5, { clientId: '' });
    const b = await rawConnect(hub, 5, { clientId: '' });
    const idA = a.connack.properties?.assignedClientIdentifier;
    const idB = b.connack.properties?.assignedClientIdentifier;
    assert.ok(idA && idA.length > 0, 'CONNACK must carry an Assigned Client Identifier');
    assert.ok(idB && idB.length > 0, 'CONNACK must carry an Assigned Client Identifier');
    assert.notEqual(idA, idB, 'assigned identifiers are unique');
    await a.client.disconnect();
    await b.client.disconnect();
  });

  test('[MQTT-3.1.3-7] 5.0: a zero-length Client Identifier with Clean Start 0 is processed with the assigned id (client_test5.py)', async () => {
    const raw = await RawClient.open(hub, { protocolVersion: 5 });
    raw.sendBytes(packet(0x10, [...str('MQTT'), 5, 0x00, 0, 30, 0, ...str('')]));
    const connack = await raw.expectPacket('connack');
    assert.equal(connack.reasonCode, 0);
    assert.ok(connack.properties?.assignedClientIdentifier, 'Assigned Client Identifier present');
    await raw.disconnect();
  });

  test('[MQTT-3.2.2-1] 3.1.1: CleanSession 1 gives Session Present 0 even when a session was stored', async () => {
    const id = uid('sp');
    const a = await connect(hub, { protocolVersion: 4, clientId: id, clean: false });
    await a.client.subscribeAsync(`${topicRoot()}/t`, { qos: 1 });
    await closeAll(a.client);
    const b = await connect(hub, { protocolVersion: 4, clientId: id, clean: true });
    assert.equal(b.connack.sessionPresent, false);
    await closeAll(b.client);
  });

  test('[MQTT-3.2.2-2] [MQTT-3.2.2-3] 3.1.1: Session Present is 1 when a stored session resumes, 0 when there is none', async () => {
    const id = uid('sp');
    const first = await connect(hub, { protocolVersion: 4, clientId: id, clean: false });
    assert.equal(first.connack.sessionPresent, false, 'no session stored yet');
    await first.client.subscribeAsync(`${topicRoot()}/t`, { qos: 1 });
    await closeAll(first.client);
    const second = await connect(hub, { protocolVersion: 4, clientId: id, clean: false });
    assert.equal(second.connack.sessionPresent, true, 'the stored session resumes');
    await closeAll(second.client);
    // Clean up the persistent session.
    await closeAll((await connect(hub, { protocolVersion: 4, clientId: id, clean: true })).client);
  });

  test('[MQTT-3.2.2-2] 5.0: Clean Start 1 gives Session Present 0 even when a session was stored', async () => {
    const id = uid('sp');
    const a = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    await a.client.subscribeAsync(`${topicRoot()}/t`, { qos: 1 });
    await closeAll(a.client);
    const b = await connect(hub, { protocolVersion: 5, clientId: id, clean: true });
    assert.equal(b.connack.sessionPresent, false);
    await closeAll(b.client);
  });

  test('[MQTT-3.2.2-3] 5.0: Session Present is 1 when a stored session resumes, 0 when there is none', async () => {
    const id = uid('sp');
    const props = { sessionExpiryInterval: 60 };
    const first = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: props });
    assert.equal(first.connack.sessionPresent, false);
    await closeAll(first.client);
    const second = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: props });
    assert.equal(second.connack.sessionPresent, true);
    await closeAll(second.client);
    await closeAll((await connect(hub, { protocolVersion: 5, clientId: id, clean: true })).client);
  });

  test('[MQTT-3.1.2-6] 3.1.1: CleanSession 1 discards the previous session and its subscriptions', async () => {
    const id = uid('cs');
    const topic = `${topicRoot()}/t`;
    const a = await connect(hub, { protocolVersion: 4, clientId: id, clean: false });
    await a.client.subscribeAsync(topic, { qos: 1 });
    await closeAll(a.client);
    const b = await connect(hub, { protocolVersion: 4, clientId: id, clean: true });
    const log = b.log;
    const pub = await connect(hub, { protocolVersion: 4 });
    await pub.client.publishAsync(topic, 'x', { qos: 1 });
    await log.expectAtMost(0, 400);
    await closeAll(b.client, pub.client);
  });

  test('[MQTT-3.1.2-4] 5.0: Clean Start 1 discards the existing session, its subscriptions and queued messages', async () => {
    const id = uid('cs');
    const topic = `${topicRoot()}/t`;
    const a = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
    await a.client.subscribeAsync(topic, { qos: 1 });
    await closeAll(a.client);
    const pub = await connect(hub, { protocolVersion: 5 });
    await pub.client.publishAsync(topic, 'queued', { qos: 1 });
    const b = await connect(hub, { protocolVersion: 5, clientId: id, clean: true, properties: { sessionExpiryInterval: 60 } });
    const log = b.log;
    await pub.client.publishAsync(topic, 'after', { qos: 1 });
    await log.expectAtMost(0, 400);
    await closeAll(b.client, pub.client);
    await closeAll((await connect(hub, { protocolVersion: 5, clientId: id, clean: true })).client);
  });

  test('[MQTT-3.1.4-2] 3.1.1: a CONNECT with the Client Identifier of a connected client disconnects the existing client', async () => {
    const id = uid('to');
    const { client: old } = await rawConnect(hub, 4, { clientId: id });
    const { client: fresh } = await rawConnect(hub, 4, { clientId: id });
    await old.expectClose(3000);
    assert.equal(fresh.closed, false, 'the new connection stays');
    fresh.send({ cmd: 'pingreq' });
    await fresh.expectPacket('pingresp');
    await fresh.disconnect();
  });

  test('[MQTT-3.1.4-3] 5.0: session takeover sends DISCONNECT 0x8E to the existing client and closes it', async () => {
    const id = uid('to');
    const { client: old } = await rawConnect(hub, 5, { clientId: id });
    const { client: fresh } = await rawConnect(hub, 5, { clientId: id });
    await expectServerDisconnect(old, RC.SESSION_TAKEN_OVER, { required: true });
    fresh.send({ cmd: 'pingreq' });
    await fresh.expectPacket('pingresp');
    await fresh.disconnect();
  });

  test('[MQTT-3.2.2-21] 5.0: a Keep Alive above the hub maximum is answered with Server Keep Alive (client_test5.py)', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const { client, connack } = await rawConnect(hub, 5, { keepalive: 120 });
    assert.equal(connack.properties?.serverKeepAlive, 60);
    await client.disconnect();
  });
});
