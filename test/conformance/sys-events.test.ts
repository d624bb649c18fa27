// Hub status topics: $SYS/broker/... (Mosquitto-compatible) and the $events presence topics.
// Hub-specific: skipped against an external broker. MQTT 5.0 §4.7.2 keeps them away from '#'.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestHub } from '../helpers/hub.js';
import { closeAll, collect, connect, sleep, uid, waitFor } from '../helpers/mqtt.js';
import { NEEDS_CONFIG, rawConnect, withHub } from './support.js';

let hub: TestHub;

describe('$SYS and $events', { concurrency: true }, () => {
  withHub((h) => (hub = h), { config: { sys: { interval: 1 } } });

  test('$SYS/broker/clients/connected reports the number of connected clients', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const { client } = await connect(hub, { protocolVersion: 4 });
    const log = collect(client);
    await client.subscribeAsync('$SYS/broker/clients/connected', { qos: 0 });
    const [m] = await log.waitFor(1, 3500);
    const n = Number(m!.payload.toString());
    assert.ok(Number.isInteger(n) && n >= 1, `payload "${m!.payload.toString()}" is a count including this client`);
    await closeAll(client);
  });

  for (const v of [4, 5] as const) {
    test(`$events/client_connected and $events/client_disconnected carry the client id (${v === 4 ? '3.1.1' : '5.0'} client)`, async (t) => {
      if (hub.external) return t.skip(NEEDS_CONFIG);
      const id = uid('ev');
      const { client: watcher } = await connect(hub, { protocolVersion: 5 });
      const connected = collect(watcher, (topic) => topic.startsWith('$events/client_connected'));
      const disconnected = collect(watcher, (topic) => topic.startsWith('$events/client_disconnected'));
      // '/#' also matches the bare topic (§4.7.1.2), so per-client subtopics would do too.
      await watcher.subscribeAsync(['$events/client_connected/#', '$events/client_disconnected/#'], { qos: 1 });
      const { client: raw } = await rawConnect(hub, v, { clientId: id });
      await waitFor(() => connected.payloads().some((p) => p.includes(id)), 3000, `$events/client_connected for ${id}`);
      await raw.disconnect();
      await waitFor(() => disconnected.payloads().some((p) => p.includes(id)), 3000, `$events/client_disconnected for ${id}`);
      await closeAll(watcher);
    });
  }

  test('[MQTT-4.7.2-1] hub status topics do not reach a "#" subscriber', async (t) => {
    if (hub.external) return t.skip(NEEDS_CONFIG);
    const { client } = await connect(hub, { protocolVersion: 5 });
    const dollar = collect(client, (topic) => topic.startsWith('$'));
    await client.subscribeAsync(['#', '+/broker/#'], { qos: 0 });
    const { client: raw } = await rawConnect(hub, 4, { clientId: uid('ev') });
    await raw.disconnect();
    await sleep(1500); // at least one $SYS interval
    assert.deepEqual(dollar.messages.map((m) => m.topic), []);
    await closeAll(client);
  });
});
