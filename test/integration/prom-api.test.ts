// The Prometheus-compatible read API as Grafana's Prometheus data source uses it: a real hub, a
// device publishing over MQTT, and the prom plugin (src/api/plugins/prom.ts) registered on an app
// of its own over the hub's telemetry service, its registry (labels) and its operator auth.
// Response shapes are those of the Prometheus HTTP API (prometheus.io/docs/prometheus/latest/
// querying/api/): {"status":"success","data":{"resultType","result"}}, errors
// {"status":"error","errorType":"bad_data","error"} with HTTP 400.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createApiAuth } from '../../src/api/auth.js';
import { promPlugin } from '../../src/api/plugins/prom.js';
import { installProblemHandlers } from '../../src/api/problem.js';
import { api } from '../helpers/api.js';
import { startTestHub, TEST_ADMIN_KEY, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect } from '../helpers/mqtt.js';

const P = '/api/v1/prom/api/v1';
let t: TestHub;
let app: FastifyInstance;
// Whole seconds, so Prometheus timestamps (Unix seconds) are exact in the assertions.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const auth = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

async function get(path: string): Promise<{ status: number; body: any }> {
  const r = await app.inject({ method: 'GET', url: path, headers: auth });
  return { status: r.statusCode, body: r.json() };
}

before(async () => {
  t = await startTestHub();
  for (const [id, type, site] of [['pm-1', 'meter', 'paris'], ['pm-2', 'meter', 'lyon']] as const) {
    const r = await api(t, 'POST', '/api/v1/devices', { id, type, tags: { site } });
    assert.equal(r.status, 201, r.text);
  }
  const d = await connect(t, { clientId: 'prom-pub', protocolVersion: 5 });
  // pm-1: temp every 15 s for 2 minutes (0, 1, 2, …), a counter rising 2 per 15 s; pm-2: one temp.
  for (let i = 0; i <= 8; i++) {
    await d.client.publishAsync('devices/pm-1/telemetry', JSON.stringify({ ts: T0 + i * 15_000, temp: i, count: 2 * i }), { qos: 1 });
  }
  await d.client.publishAsync('devices/pm-2/telemetry', JSON.stringify({ ts: T0 + 60_000, temp: 99.5 }), { qos: 1 });
  d.client.end(true);
  const hub = t.hub;
  app = Fastify();
  installProblemHandlers(app);
  await app.register(promPlugin, {
    auth: createApiAuth({ registry: hub.registry, config: hub.config }),
    telemetry: hub.telemetry!,
    deviceLabels: (id) => hub.registry.store.getDevice(id),
  });
  await app.ready();
});

after(async () => {
  cleanupClients();
  await app?.close();
  await t?.stop();
});

describe('Prometheus HTTP API under /api/v1/prom', () => {
  test('query_range of avg_over_time: a matrix, [unix seconds, "value"] pairs, labels from the registry', async () => {
    const q = encodeURIComponent('avg_over_time(temp{device="pm-1"}[1m])');
    const r = await get(`${P}/query_range?query=${q}&start=${T0 / 1000 + 60}&end=${T0 / 1000 + 120}&step=30s`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // (T0, T0+60] holds temps 1..4 → 2.5; (T0+30, T0+90] → 3..6 → 4.5; (T0+60, T0+120] → 5..8 → 6.5
    assert.deepEqual(r.body, {
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [{ metric: { device: 'pm-1', type: 'meter', site: 'paris' }, values: [[T0 / 1000 + 60, '2.5'], [T0 / 1000 + 90, '4.5'], [T0 / 1000 + 120, '6.5']] }],
      },
    });
  });

  test('POST with a form body, as Grafana sends it; rate of a counter in per-second units', async () => {
    const body = new URLSearchParams({ query: 'rate(count{site="paris"}[1m])', start: String(T0 / 1000 + 120), end: String(T0 / 1000 + 120), step: '15' }).toString();
    const r = await app.inject({ method: 'POST', url: `${P}/query_range`, headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
    assert.equal(r.statusCode, 200, r.body);
    const res = r.json().data.result;
    assert.equal(res.length, 1);
    assert.deepEqual(res[0].metric, { device: 'pm-1', type: 'meter', site: 'paris' });
    // 2 per 15 s, samples at both edges' 15 s spacing: exactly 2/15 per second.
    assert.equal(Number(res[0].values[0][1]), 2 / 15);
  });

  test('instant query: a vector of the newest sample per series, [time, "value"]', async () => {
    const r = await get(`${P}/query?query=temp&time=${T0 / 1000 + 100}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      status: 'success',
      data: {
        resultType: 'vector',
        result: [
          { metric: { __name__: 'temp', device: 'pm-1', type: 'meter', site: 'paris' }, value: [T0 / 1000 + 100, '6'] },
          { metric: { __name__: 'temp', device: 'pm-2', type: 'meter', site: 'lyon' }, value: [T0 / 1000 + 100, '99.5'] },
        ],
      },
    });
    const time = new Date(T0 + 100_000).toISOString();
    const rfc = await get(`${P}/query?query=${encodeURIComponent('temp{site=~"ly.*"}')}&time=${time}`);
    assert.equal(rfc.body.data.result.length, 1, 'RFC 3339 times are accepted');
  });

  test('Grafana\'s data source check (1+1) answers a scalar', async () => {
    const r = await get(`${P}/query?query=${encodeURIComponent('1+1')}&time=1700000000.5`);
    assert.deepEqual(r.body, { status: 'success', data: { resultType: 'scalar', result: [1700000000.5, '2'] } });
  });

  test('series, labels and label values', async () => {
    const s = await get(`${P}/series?${new URLSearchParams([['match[]', 'temp'], ['match[]', '{device="pm-1",__name__="count"}']])}`);
    assert.deepEqual(s.body, {
      status: 'success',
      data: [
        { __name__: 'count', device: 'pm-1', type: 'meter', site: 'paris' },
        { __name__: 'temp', device: 'pm-1', type: 'meter', site: 'paris' },
        { __name__: 'temp', device: 'pm-2', type: 'meter', site: 'lyon' },
      ],
    });
    assert.deepEqual((await get(`${P}/labels`)).body, { status: 'success', data: ['__name__', 'device', 'site', 'type'] });
    assert.deepEqual((await get(`${P}/label/__name__/values`)).body, { status: 'success', data: ['count', 'temp'] });
    assert.deepEqual((await get(`${P}/label/device/values?match[]=${encodeURIComponent('{site="lyon"}')}`)).body, { status: 'success', data: ['pm-2'] });
    const post = await app.inject({ method: 'POST', url: `${P}/labels`, headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'match[]=count' });
    assert.deepEqual(post.json(), { status: 'success', data: ['__name__', 'device', 'site', 'type'] });
  });

  test('errors: bad_data with 400 naming the problem (Prometheus API "Format overview")', async () => {
    const cases: Array<[string, RegExp]> = [
      [`${P}/query?query=${encodeURIComponent('sum(temp)')}`, /aggregation sum is not supported/],
      [`${P}/query?query=${encodeURIComponent('increase(count[5m])')}`, /function increase is not supported/],
      [`${P}/query`, /invalid parameter "query"/],
      [`${P}/query?query=temp&time=yesterday`, /invalid parameter "time": cannot parse "yesterday"/],
      [`${P}/query_range?query=temp&start=100&end=50&step=15`, /end timestamp must not be before start time/],
      [`${P}/query_range?query=temp&start=0&end=100&step=0`, /zero or negative query resolution step/],
      [`${P}/query_range?query=temp&start=0&end=100000&step=1`, /exceeded maximum resolution of 11,000 points/],
      [`${P}/query_range?query=temp&start=0&end=100`, /invalid parameter "step"/],
      [`${P}/query_range?query=temp&start=0&end=100&step=abc`, /cannot parse "abc" to a valid duration/],
      [`${P}/query_range?query=temp[5m]&start=0&end=100&step=10`, /range vector" for range query/],
      [`${P}/series`, /no match\[\] parameter provided/],
      [`${P}/series?match[]=${encodeURIComponent('rate(temp[5m])')}`, /series selector/],
    ];
    for (const [url, re] of cases) {
      const r = await get(url);
      assert.equal(r.status, 400, url);
      assert.equal(r.body.status, 'error', url);
      assert.equal(r.body.errorType, 'bad_data', url);
      assert.match(r.body.error, re, url);
    }
  });

  test('read-only auth: no bearer token is 401 (the hub\'s problem document)', async () => {
    const r = await app.inject({ method: 'GET', url: `${P}/labels` });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().code, 'TH_UNAUTHENTICATED');
  });
});
