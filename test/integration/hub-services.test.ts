// The hub as `twinhub start` wires it: a registered device publishes telemetry and updates its
// shadow over MQTT under the registry's ACL; operators read both over the API with their key;
// everything survives a restart; deleting the device removes its twins and telemetry unless the
// request keeps them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect, waitFor } from '../helpers/mqtt.js';

async function register(t: TestHub, id: string): Promise<void> {
  assert.equal((await api(t, 'POST', '/api/v1/devices', { id, type: 'meter' })).status, 201);
  assert.equal((await api(t, 'POST', `/api/v1/devices/${id}/credentials`, { type: 'password', password: `pw-of-${id}` })).status, 201);
}

async function deviceClient(t: TestHub, id: string) {
  return connect(t, { clientId: id, username: id, password: `pw-of-${id}`, protocolVersion: 5 });
}

describe('hub services end to end', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub({ config: { allowAnonymous: false } });
  });
  after(async () => {
    cleanupClients();
    await t.stop();
  });

  test('telemetry and shadow over MQTT, read over the API, survive a restart', async () => {
    await register(t, 'm-1');
    const d = await deviceClient(t, 'm-1');
    await d.client.subscribeAsync('$aws/things/m-1/shadow/update/accepted', { qos: 1 });
    const ts = Date.now() - 5000;
    await d.client.publishAsync('devices/m-1/telemetry', JSON.stringify({ temp: 21.5, hum: 40, ts }), { qos: 1 });
    await d.client.publishAsync('$aws/things/m-1/shadow/update', JSON.stringify({ state: { reported: { fw: '1.2.0' } } }), { qos: 1 });
    await waitFor(() => d.log.messages.find((m) => m.topic.endsWith('/update/accepted')), 3000, 'update accepted');
    d.client.end(true);

    const q = await api(t, 'GET', `/api/v1/telemetry/query?device=m-1&metric=temp&from=${ts - 1000}&to=${ts + 1000}`);
    assert.equal(q.status, 200, q.text);
    assert.deepEqual(q.body.series, [{ device: 'm-1', metric: 'temp', points: [[ts, 21.5]] }]);
    const twin = await api(t, 'GET', '/api/v1/devices/m-1/twin');
    assert.equal(twin.status, 200, twin.text);
    assert.equal(twin.body.state.reported.fw, '1.2.0');
    assert.equal(twin.headers.get('etag'), `"${twin.body.version}"`);
    const unauth = await api(t, 'GET', '/api/v1/devices/m-1/twin', undefined, { key: null });
    assert.equal(unauth.status, 401);

    t = await t.restart();
    const q2 = await api(t, 'GET', `/api/v1/telemetry/query?device=m-1&metric=temp&from=${ts - 1000}&to=${ts + 1000}`);
    assert.deepEqual(q2.body.series, [{ device: 'm-1', metric: 'temp', points: [[ts, 21.5]] }], 'the acknowledged point is there after a restart');
    assert.equal((await api(t, 'GET', '/api/v1/devices/m-1/twin')).body.state.reported.fw, '1.2.0');
    const stats = await api(t, 'GET', '/api/v1/telemetry/stats');
    assert.ok(stats.body.points >= 2);
  });

  test('a device cannot touch another device\'s shadow or telemetry topics (registry ACL)', async () => {
    await register(t, 'm-2');
    const d = await deviceClient(t, 'm-2');
    // PUBACK 0x87 Not authorized (the mqtt client turns it into a rejected publish).
    await assert.rejects(d.client.publishAsync('$aws/things/m-1/shadow/update', JSON.stringify({ state: { reported: { fw: 'evil' } } }), { qos: 1 }), /Not authorized/);
    await assert.rejects(d.client.publishAsync('devices/m-1/telemetry', JSON.stringify({ temp: -99 }), { qos: 1 }), /Not authorized/);
    d.client.end(true);
    assert.equal((await api(t, 'GET', '/api/v1/devices/m-1/twin')).body.state.reported.fw, '1.2.0');
  });

  test('deleting a device removes its twin and telemetry; keepData=true keeps them', async () => {
    for (const id of ['gone-1', 'kept-1']) {
      await register(t, id);
      const d = await deviceClient(t, id);
      await d.client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ v: 1 }), { qos: 1 });
      await d.client.publishAsync(`$aws/things/${id}/shadow/update`, JSON.stringify({ state: { reported: { on: true } } }), { qos: 1 });
      d.client.end(true);
      await waitFor(async () => (await api(t, 'GET', `/api/v1/devices/${id}/twin`)).status === 200, 3000, 'twin stored');
    }
    assert.equal((await api(t, 'DELETE', '/api/v1/devices/gone-1')).status, 204);
    assert.equal((await api(t, 'DELETE', '/api/v1/devices/kept-1?keepData=true')).status, 204);
    const latestGone = await api(t, 'GET', '/api/v1/telemetry/latest?device=gone-1');
    const latestKept = await api(t, 'GET', '/api/v1/telemetry/latest?device=kept-1');
    assert.equal(JSON.stringify(latestGone.body).includes('"v"'), false, JSON.stringify(latestGone.body));
    assert.equal(JSON.stringify(latestKept.body).includes('"v"'), true, JSON.stringify(latestKept.body));
    assert.equal((await t.hub.twins.get('gone-1', '')) === undefined, true);
    assert.notEqual(await t.hub.twins.get('kept-1', ''), undefined);
  });
});
