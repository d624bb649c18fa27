// The hub as `twinhub start` wires the Prometheus API and payload schemas: a registered device
// whose type has a schema sees a payload that breaks it refused (issue 5: "Payloads are validated
// against their device type's schema") while valid points are stored; the schema survives a
// restart; Grafana's calls answer over the hub's own HTTP listener with a read-only key.
//
// Until src/main/hub.ts registers promPlugin and a SchemaStore (see the telemetry report), the
// routes answer 404 and these tests skip saying so; once wired, remove nothing: they run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect } from '../helpers/mqtt.js';

let t: TestHub;
let wired = false;
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 600_000;

before(async () => {
  t = await startTestHub({ config: { allowAnonymous: false } });
  const probe = await api(t, 'GET', '/api/v1/telemetry/schemas');
  wired = probe.status === 200 && (await api(t, 'GET', '/api/v1/prom/api/v1/labels')).status === 200;
});
after(async () => {
  cleanupClients();
  await t?.stop();
});

describe('schemas and the Prometheus API through the hub', () => {
  test('a payload breaking its type\'s schema is a dead letter; valid ones are stored and charted', async (c) => {
    if (!wired) return c.skip('src/main/hub.ts does not register the SchemaStore and promPlugin yet');
    const schema = { type: 'object', properties: { temp: { type: 'number', maximum: 100 }, ts: { type: 'integer' } }, required: ['temp'] };
    for (const [path, body] of [
      ['/api/v1/telemetry/schemas/boiler/1.0.0', schema],
      ['/api/v1/devices', { id: 'b-1', type: 'boiler', tags: { site: 'paris' } }],
      ['/api/v1/devices/b-1/credentials', { type: 'password', password: 'pw-of-b-1' }],
    ] as const) {
      const r = await api(t, path.includes('schemas') ? 'PUT' : 'POST', path, body);
      assert.equal(r.status, 201, `${path}: ${r.text}`);
    }
    const d = await connect(t, { clientId: 'b-1', username: 'b-1', password: 'pw-of-b-1', protocolVersion: 5 });
    await d.client.publishAsync('devices/b-1/telemetry', JSON.stringify({ ts: T0, temp: 60 }), { qos: 1 });
    await d.client.publishAsync('devices/b-1/telemetry', JSON.stringify({ ts: T0 + 1000, temp: 250 }), { qos: 1 });
    await d.client.publishAsync('devices/b-1/telemetry', JSON.stringify({ ts: T0 + 2000, hum: 3 }), { qos: 1 });
    d.client.end(true);
    const q = await api(t, 'GET', `/api/v1/telemetry/query?device=b-1&from=${T0 - 1}&to=${T0 + 5000}`);
    assert.deepEqual(q.body.series, [{ device: 'b-1', metric: 'temp', points: [[T0, 60]] }], 'only the valid payload is stored');

    const ro = (await api(t, 'POST', '/api/v1/api-keys', { name: 'grafana', role: 'read-only' })).body.key as string;
    const prom = await api(t, 'GET', `/api/v1/prom/api/v1/query?query=${encodeURIComponent('last_over_time(temp{site="paris"}[1h])')}&time=${T0 / 1000 + 60}`, undefined, { key: ro });
    assert.equal(prom.status, 200, prom.text);
    assert.deepEqual(prom.body.data.result, [{ metric: { __name__: 'temp', device: 'b-1', type: 'boiler', site: 'paris' }, value: [T0 / 1000 + 60, '60'] }]);

    t = await t.restart();
    const after = await api(t, 'GET', '/api/v1/telemetry/schemas/boiler');
    assert.equal(after.status, 200, 'the schema is kept in the data folder');
    assert.equal(after.body.current, '1.0.0');
  });
});
