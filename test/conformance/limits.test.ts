// Hub limits that have no MQTT statement of their own but shape what MQTT delivers: the bounded
// per-session queue (limits.maxQueuedMessages; QoS 0 dropped first) and priority classes.
// Hub-specific configuration: skipped against an external broker. Within the bound, the
// spec still holds: QoS 1/2 messages of an offline session are queued [MQTT-3.1.2-5] in order
// [MQTT-4.6.0-6].
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub } from '../helpers/hub.js';
import type { TestHub } from '../helpers/hub.js';
import { cleanupClients, closeAll, connect, sleep, uid } from '../helpers/mqtt.js';
import { NEEDS_CONFIG, topicRoot } from './support.js';

let hub: TestHub;
const MAX_QUEUED = 5;
const MAX_INFLIGHT = 1;

/** Creates an offline persistent 5.0 session subscribed to `${root}/#` at QoS 1. */
async function offlineSession(root: string): Promise<string> {
  const id = uid('lq');
  const { client } = await connect(hub, { protocolVersion: 5, clientId: id, clean: true, properties: { sessionExpiryInterval: 300 } });
  await client.subscribeAsync(`${root}/#`, { qos: 1 });
  await closeAll(client);
  return id;
}

async function resume(id: string): Promise<string[]> {
  const back = await connect(hub, { protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } });
  assert.equal(back.connack.sessionPresent, true);
  await sleep(700);
  const got = back.log.messages.map((m) => `${m.packet.qos}:${m.topic.split('/').pop()}:${m.payload.toString()}`);
  await closeAll(back.client);
  return got;
}

describe('Queue limits and priority classes', { concurrency: true }, () => {
  before(async () => {
    hub = await startTestHub({
      config: {
        limits: { maxQueuedMessages: MAX_QUEUED, maxInflight: MAX_INFLIGHT },
        priorities: [{ name: 'alarm', filters: ['cf/+/alarm/#'] }],
      },
    });
  });
  after(async () => {
    cleanupClients();
    await hub?.stop();
  });

  test('limits.maxQueuedMessages bounds what an offline session keeps; what is kept stays in order', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const root = topicRoot();
    const id = await offlineSession(root);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    for (let i = 0; i < 15; i++) await p.publishAsync(`${root}/data`, String(i), { qos: 1 });
    await closeAll(p);
    const got = await resume(id);
    assert.ok(got.length >= 1, 'queued messages are delivered');
    assert.ok(got.length <= MAX_QUEUED + MAX_INFLIGHT, `${got.length} messages kept, the bound is ${MAX_QUEUED} (+${MAX_INFLIGHT} in flight)`);
    const seq = got.map((g) => Number(g.split(':')[2]));
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b), 'kept messages keep their order');
  });

  test('a full queue drops QoS 0 messages before QoS 1 messages', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const root = topicRoot();
    const id = await offlineSession(root);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    await p.publishAsync(`${root}/data`, 'zero-a', { qos: 0 });
    await p.publishAsync(`${root}/data`, 'zero-b', { qos: 0 });
    for (let i = 0; i < MAX_QUEUED; i++) await p.publishAsync(`${root}/data`, `one-${i}`, { qos: 1 });
    await closeAll(p);
    const got = await resume(id);
    const ones = got.filter((g) => g.startsWith('1:'));
    assert.equal(ones.length, MAX_QUEUED, `every QoS 1 message is kept while QoS 0 ones can go (got ${got.join(', ')})`);
    assert.ok(got.length <= MAX_QUEUED + MAX_INFLIGHT, `got ${got.join(', ')}`);
  });

  test('a message of a higher priority class is kept when the queue overflows with lower-priority ones', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const id0 = uid('x');
    const root = `cf/${id0}`;
    const id = await offlineSession(root);
    const { client: p } = await connect(hub, { protocolVersion: 5 });
    for (let i = 0; i < MAX_QUEUED + MAX_INFLIGHT + 2; i++) await p.publishAsync(`${root}/data`, `low-${i}`, { qos: 1 });
    await p.publishAsync(`${root}/alarm/fire`, 'ALARM', { qos: 1 });
    await closeAll(p);
    const got = await resume(id);
    assert.ok(got.some((g) => g.endsWith(':ALARM')), `the alarm survived (got ${got.join(', ')})`);
  });
});
