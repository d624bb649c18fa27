// Acknowledged means durable (DESIGN.md "Writes and acks"; MQTT 5.0 §4.3.2 the receiver takes
// ownership of a QoS 1 message when it sends PUBACK):
// - SIGKILL of the hub during a QoS 1 load loses no acknowledged message, and every persistent
//   session resumes with its subscriptions and queued messages;
// - a store write that fails is never acknowledged: 5.0 publishers get PUBACK 0x80, 3.1.1
//   publishers are disconnected, and /readyz reports the store as not writable.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { startHubProcess, startTestHub } from '../helpers/hub.js';
import type { HubProcess, TestHub } from '../helpers/hub.js';
import type { MemoryBrokerStore } from '../../src/adapters/memory/broker-store.js';

const clients: MqttClient[] = [];
after(async () => {
  for (const c of clients) c.end(true);
});

/** Connect; `onMessage` is attached before CONNACK, as a resumed session's queue follows it at once. */
async function connect(url: string, opts: mqtt.IClientOptions, onMessage?: (payload: Buffer) => void): Promise<MqttClient> {
  const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  if (onMessage !== undefined) c.on('message', (_t, p) => onMessage(p));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

function waitUntil(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (pred()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 20);
    };
    check();
  });
}

describe('SIGKILL during a QoS 1 load', () => {
  test('no acknowledged message is lost and persistent sessions resume', async () => {
    // The offline session must hold the whole load: raise the per-session queue bound, whose
    // drops are documented and are not what this test is about.
    const env = { TWINHUB_LIMITS__MAX_QUEUED_MESSAGES: '100000' };
    let hub: HubProcess | undefined = await startHubProcess([], env);
    const dataDir = hub.dataDir;
    try {
      // Two persistent sessions: one offline during the load, one online and acknowledging.
      const offline = await connect(hub.mqttUrl, { clientId: 'dur-offline', clean: false, protocolVersion: 4 });
      await offline.subscribeAsync('dur/#', { qos: 1 });
      await offline.endAsync();
      const online = await connect(hub.mqttUrl, {
        clientId: 'dur-online',
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      });
      await online.subscribeAsync('dur/#', { qos: 1 });
      const seenOnline = new Set<number>();
      online.on('message', (_t, p) => seenOnline.add(Number(p.toString())));

      const pub = await connect(hub.mqttUrl, { clientId: 'dur-pub', protocolVersion: 4 });
      pub.on('error', () => undefined);
      const acked = new Set<number>();
      let seq = 0;
      let stop = false;
      // Keep up to 50 QoS 1 PUBLISHes in flight; record each PUBACK.
      const pump = (): void => {
        while (!stop && seq - acked.size < 50 && seq < 20_000) {
          const n = ++seq;
          pub.publish('dur/load', String(n), { qos: 1 }, (err) => {
            if (err === undefined || err === null) acked.add(n);
            pump();
          });
        }
      };
      pump();
      await waitUntil(() => acked.size >= 2000, 20_000, '2000 acknowledged messages');
      await hub.kill('SIGKILL');
      stop = true;
      hub = undefined;
      const ackedAtKill = [...acked];
      pub.end(true);
      online.end(true);

      hub = await startHubProcess(['--data', dataDir], env);
      const gotOffline = new Set<number>();
      const off2 = await connect(hub.mqttUrl, { clientId: 'dur-offline', clean: false, protocolVersion: 4 }, (p) =>
        gotOffline.add(Number(p.toString())),
      );
      await connect(
        hub.mqttUrl,
        { clientId: 'dur-online', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } },
        (p) => seenOnline.add(Number(p.toString())),
      );
      const missing = (set: Set<number>): number[] => ackedAtKill.filter((n) => !set.has(n));
      await waitUntil(() => missing(gotOffline).length === 0 && missing(seenOnline).length === 0, 15_000, 'every acknowledged message').catch(
        () => undefined,
      );
      assert.deepEqual(missing(gotOffline).slice(0, 10), [], `offline session lost ${missing(gotOffline).length} acknowledged messages of ${ackedAtKill.length}, got ${gotOffline.size} (min ${Math.min(...gotOffline)}, max ${Math.max(...gotOffline)}) first missing ${missing(gotOffline).slice(0,5)} last ${missing(gotOffline).slice(-5)}`);
      assert.deepEqual(missing(seenOnline).slice(0, 10), [], `online session lost ${missing(seenOnline).length} acknowledged messages`);
      // The subscriptions were restored too: a new message reaches both.
      const pub2 = await connect(hub.mqttUrl, { clientId: 'dur-pub2', protocolVersion: 5 });
      await pub2.publishAsync('dur/after', '999999', { qos: 1 });
      await waitUntil(() => gotOffline.has(999999) && seenOnline.has(999999), 5000, 'delivery after restart');
    } finally {
      if (hub !== undefined) await hub.kill('SIGKILL').catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a store write that fails is never acknowledged', () => {
  let hub: TestHub;
  after(async () => hub?.stop());

  test('5.0 gets PUBACK 0x80, 3.1.1 is disconnected, /readyz reports it, then recovers', async () => {
    hub = await startTestHub({ persistence: false });
    const store = hub.hub.broker.store as MemoryBrokerStore;
    // A persistent subscriber makes every QoS 1 message a store write.
    const sub = await connect(hub.mqttUrl, { clientId: 'fail-sub', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 600 } });
    await sub.subscribeAsync('fail/#', { qos: 1 });
    await sub.endAsync();

    const p5 = await connect(hub.mqttUrl, { clientId: 'fail-pub5', protocolVersion: 5 });
    store.failNextCommits(1);
    const err = await p5.publishAsync('fail/a', 'x', { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: number },
    );
    assert.ok(err !== undefined, 'the failed write was acknowledged as a success');
    assert.equal(err.code, 0x80, `PUBACK reason ${String(err.code)}`);

    const ready = await fetch(`${hub.httpUrl}/readyz`);
    assert.equal(ready.status, 503, '/readyz must report the unwritable store');

    const p4 = await connect(hub.mqttUrl, { clientId: 'fail-pub4', protocolVersion: 4 });
    p4.on('error', () => undefined);
    store.failNextCommits(1);
    let acked = false;
    p4.publish('fail/b', 'y', { qos: 1 }, (e) => {
      if (!e) acked = true;
    });
    await waitUntil(() => p4.disconnected || !p4.connected, 5000, '3.1.1 publisher disconnected');
    assert.equal(acked, false, 'a 3.1.1 publisher must not be acknowledged');

    // The next successful commit makes the hub ready again.
    await p5.publishAsync('fail/c', 'z', { qos: 1 });
    const again = await fetch(`${hub.httpUrl}/readyz`);
    assert.equal(again.status, 200);
  });
});
