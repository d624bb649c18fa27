// Static ACL rules (config `acl`, first match decides, no match allows) and how MQTT reports a
// refusal: SUBACK 0x80 (3.1.1 §3.9.3) / 0x87 (5.0 §3.9.3), PUBACK/PUBREC 0x87 (5.0 §3.4.2.1,
// §3.5.2.1), and in 3.1.1 a positive acknowledgement or a close [MQTT-3.3.5-2].
// Hub-specific configuration: skipped against an external broker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub } from '../helpers/hub.js';
import type { TestHub } from '../helpers/hub.js';
import { RawClient } from '../helpers/raw-client.js';
import { cleanupClients, closeAll, collect, connect, uid } from '../helpers/mqtt.js';
import { NEEDS_CONFIG, RC, pid, rawConnect, rawSubscribe } from './support.js';

let hub: TestHub;

/** A root unique to the test that the ACL rules below apply to. */
const root = (): string => `acl/${uid('a')}`;

describe('ACL', { concurrency: true }, () => {
  before(async () => {
    hub = await startTestHub({
      config: {
        // Small, so the test below would exceed it if refused QoS 2 exchanges stayed counted.
        limits: { receiveMaximum: 4 },
        acl: [
          { filter: 'acl/+/open/#', action: 'all', allow: true },
          { filter: 'acl/+/open', action: 'all', allow: true },
          { filter: 'acl/+/nosub/#', action: 'subscribe', allow: false },
          { filter: 'acl/+/nopub/#', action: 'publish', allow: false },
          { filter: 'acl/+/closed/#', action: 'all', allow: false },
          // client_test.py / client_test5.py subscribe failure test
          { filter: 'test/nosubscribe', action: 'subscribe', allow: false },
        ],
      },
    });
  });
  after(async () => {
    cleanupClients();
    await hub?.stop();
  });

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';
    const refused = v === 4 ? 0x80 : RC.NOT_AUTHORIZED;

    test(`${V}: a subscription the ACL denies is refused with ${v === 4 ? '0x80' : '0x87'}; the others in the SUBSCRIBE are granted (client_test${v === 5 ? '5' : ''}.py subscribe failure)`, async (t) => {
      if (hub.external) return t.skip(NEEDS_CONFIG);
      const r = root();
      const { client: raw } = await rawConnect(hub, v);
      const granted = await rawSubscribe(raw, [
        { topic: 'test/nosubscribe', qos: 2 },
        { topic: `${r}/nosub/x`, qos: 1 },
        { topic: `${r}/fine`, qos: 1 },
        { topic: `${r}/closed/#`, qos: 0 },
      ]);
      assert.deepEqual(granted, [refused, refused, 1, refused]);
      await raw.disconnect();
    });

    test(`${V}: a message published where the ACL denies it is not delivered${v === 5 ? ' and its PUBACK/PUBREC says 0x87' : ' (PUBACK or close, [MQTT-3.3.5-2])'}`, async (t) => {
      if (hub.external) return t.skip(NEEDS_CONFIG);
      const r = root();
      const { client: sub } = await connect(hub, { protocolVersion: v });
      const log = collect(sub);
      await sub.subscribeAsync(`${r}/nopub/#`, { qos: 2 });
      const { client: raw } = await rawConnect(hub, v);
      raw.send({ cmd: 'publish', topic: `${r}/nopub/x`, payload: Buffer.from('q1'), qos: 1, dup: false, retain: false, messageId: pid() });
      const ack = await raw.expectPacket('puback', 3000).catch(() => undefined);
      if (v === 5) {
        assert.equal(ack?.reasonCode, RC.NOT_AUTHORIZED);
        raw.send({ cmd: 'publish', topic: `${r}/nopub/y`, payload: Buffer.from('q2'), qos: 2, dup: false, retain: false, messageId: pid() });
        const rec = await raw.expectPacket('pubrec');
        assert.equal(rec.reasonCode, RC.NOT_AUTHORIZED);
      } else {
        assert.ok(ack !== undefined || raw.closed, 'either a positive PUBACK or a close [MQTT-3.3.5-2]');
      }
      await log.expectAtMost(0, 400);
      await raw.end();
      await closeAll(sub);
    });

    if (v === 5) {
      test('5.0: a PUBREC with 0x87 ends the QoS 2 exchange, so refused publishes do not count against Receive Maximum (MQTT 5.0 §4.9, §4.3.3)', async (t) => {
        if (hub.external) return t.skip(NEEDS_CONFIG);
        const r = root();
        const { client: raw } = await rawConnect(hub, 5);
        for (let i = 0; i < 8; i++) {
          raw.send({ cmd: 'publish', topic: `${r}/nopub/x`, payload: Buffer.from('n'), qos: 2, dup: false, retain: false, messageId: pid() });
          const rec = await raw.expectPacket('pubrec');
          assert.equal(rec.reasonCode, RC.NOT_AUTHORIZED);
        }
        raw.send({ cmd: 'publish', topic: `${r}/open/x`, payload: Buffer.from('ok'), qos: 1, dup: false, retain: false, messageId: pid() });
        const ack = await raw.expectPacket('puback');
        assert.equal(ack.reasonCode ?? 0, 0);
        assert.equal(raw.closed, false);
        await raw.end();
      });
    }

    test(`${V}: the first matching ACL rule decides; a topic no rule matches is allowed`, async (t) => {
      if (hub.external) return t.skip(NEEDS_CONFIG);
      const r = root();
      const { client } = await connect(hub, { protocolVersion: v });
      const log = collect(client);
      await client.subscribeAsync([`${r}/open/#`, `${r}/other`], { qos: 1 });
      await client.publishAsync(`${r}/open/x`, 'open', { qos: 1 });
      await client.publishAsync(`${r}/other`, 'unmatched', { qos: 1 });
      await log.waitFor(2);
      assert.deepEqual(log.payloads().sort(), ['open', 'unmatched']);
      await closeAll(client);
    });

    test(`${V}: a will on a topic the client may not publish to is never published`, async (t) => {
      if (hub.external) return t.skip(NEEDS_CONFIG);
      const r = root();
      const { client: sub } = await connect(hub, { protocolVersion: v });
      const log = collect(sub);
      await sub.subscribeAsync(`${r}/nopub/#`, { qos: 1 });
      const { client: raw, connack } = await RawClient.connect(
        hub,
        { clientId: uid('w'), protocolVersion: v, will: { topic: `${r}/nopub/will`, payload: Buffer.from('denied'), qos: 1, retain: false } },
        { protocolVersion: v },
      );
      // Refusing the CONNECT (5.0: 0x87) or accepting it and dropping the will are both fine.
      raw.destroy();
      assert.ok(connack.cmd === 'connack');
      await log.expectAtMost(0, 600);
      await closeAll(sub);
    });
  }
});
