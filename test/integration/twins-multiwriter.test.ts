// Multi-writer twins over the wire (docs/TWINS.md "Multi-writer state"): an edge node that was
// offline syncs a change made against an older version by sending its version vector (MQTT 5
// user property `twinhub-vector`) and when it made the change (`twinhub-changed-at`). Concurrent
// changes to different fields merge; to the same field, the later change wins and the loser is in
// the history; a replayed or out-of-order change is rejected 409 "Stale update".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect, waitFor } from '../helpers/mqtt.js';

describe('multi-writer twins over MQTT and HTTP', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
    assert.equal((await api(t, 'POST', '/api/v1/devices', { id: 'mw-1' })).status, 201);
  });
  after(async () => {
    cleanupClients();
    await t.stop();
  });

  test('an offline edge change merges with a later API change: different fields both apply, the same field goes to the later one and the loser is in the history', async () => {
    const before = Math.floor(Date.now() / 1000) - 600; // the edge made its change ten minutes ago
    const api1 = await api(t, 'PATCH', '/api/v1/devices/mw-1/twin', { state: { desired: { mode: 'eco', fan: 1 } } });
    assert.equal(api1.status, 200, api1.text);

    const edge = await connect(t, { clientId: 'edge-1', protocolVersion: 5 });
    await edge.client.subscribeAsync('$aws/things/mw-1/shadow/update/+', { qos: 1 });
    // The edge saw nothing of the API's change: its vector has only its own first change.
    await edge.client.publishAsync('$aws/things/mw-1/shadow/update', JSON.stringify({ state: { desired: { mode: 'away', temp: 19 } }, clientToken: 'e1' }), {
      qos: 1,
      properties: { userProperties: { 'twinhub-vector': JSON.stringify({ 'mqtt:edge-1': 1 }), 'twinhub-changed-at': String(before) } },
    });
    const accepted = await waitFor(() => edge.log.messages.find((m) => m.topic.endsWith('/update/accepted')), 3000, 'accepted');
    assert.equal(JSON.parse(accepted.payload.toString()).clientToken, 'e1');
    const twin = await api(t, 'GET', '/api/v1/devices/mw-1/twin');
    assert.deepEqual(twin.body.state.desired, { mode: 'eco', fan: 1, temp: 19 }, 'temp merged; mode kept by the later API change');
    const history = await api(t, 'GET', '/api/v1/devices/mw-1/twin/history');
    assert.equal(history.status, 200, history.text);
    const lost = JSON.stringify(history.body).includes('"away"');
    assert.ok(lost, `the losing value is in the history: ${history.text}`);

    // The same change again (a replay) is stale: 409 on /rejected, nothing changes.
    await edge.client.publishAsync('$aws/things/mw-1/shadow/update', JSON.stringify({ state: { desired: { temp: 25 } }, clientToken: 'e2' }), {
      qos: 1,
      properties: { userProperties: { 'twinhub-vector': JSON.stringify({ 'mqtt:edge-1': 1 }) } },
    });
    const rejected = await waitFor(() => edge.log.messages.find((m) => m.topic.endsWith('/update/rejected')), 3000, 'rejected');
    const err = JSON.parse(rejected.payload.toString());
    assert.equal(err.code, 409);
    assert.match(err.message, /^Stale update/);
    assert.equal((await api(t, 'GET', '/api/v1/devices/mw-1/twin')).body.state.desired.temp, 19);
    edge.client.end(true);
  });

  test('plain AWS clients (no vector) get last-writer-wins; a malformed Twinhub-Vector header is a 400 problem', async () => {
    const plain = await connect(t, { clientId: 'plain-1', protocolVersion: 4 });
    await plain.client.publishAsync('$aws/things/mw-1/shadow/update', JSON.stringify({ state: { desired: { mode: 'boost' } } }), { qos: 1 });
    plain.client.end(true);
    await waitFor(async () => (await api(t, 'GET', '/api/v1/devices/mw-1/twin')).body.state.desired.mode === 'boost', 3000, 'last writer wins');
    const bad = await fetch(`${t.httpUrl}/api/v1/devices/mw-1/twin`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer twinhub-test-admin-key-0001', 'content-type': 'application/json', 'twinhub-vector': '{not json' },
      body: JSON.stringify({ state: { desired: { fan: 2 } } }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'TH_TWIN_INVALID');
  });
});
