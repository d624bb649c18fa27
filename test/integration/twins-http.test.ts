// The twins HTTP API (src/api/plugins/twins.ts) on a fastify app with the problem handlers and a
// TwinService over a real broker (so API changes also reach MQTT subscribers) and the memory store.
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { MemoryTwinStore } from '../../src/adapters/memory/twin-store.js';
import type { ApiAuth } from '../../src/api/context.js';
import { twinsPlugin } from '../../src/api/plugins/twins.js';
import { installProblemHandlers } from '../../src/api/problem.js';
import { AWS_SHADOW_LIMITS } from '../../src/core/twin/index.js';
import { TwinService } from '../../src/core/twin/service.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, closeAll, connect, subscribe, waitFor } from '../helpers/mqtt.js';

const auth: ApiAuth = { require: () => async () => {} };

let hub: TestHub;
let service: TwinService;
let app: FastifyInstance;
let base: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies under test

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Record<string, unknown> }> {
  const r = await app.inject({
    method: method as 'GET',
    url,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: r.statusCode, body: r.body === '' ? {} : (JSON.parse(r.body) as Json), headers: r.headers };
}

describe('twins HTTP API', () => {
  before(async () => {
    hub = await startTestHub();
    await hub.hub.twins.stop(); // the suite's own service (small history) replaces the hub's
    service = new TwinService({ broker: hub.hub.broker, store: new MemoryTwinStore({ historySize: 5 }), limits: AWS_SHADOW_LIMITS, log: pino({ level: 'silent' }) });
    service.start();
    app = Fastify({ logger: false });
    installProblemHandlers(app);
    await app.register(twinsPlugin, { auth, twins: service, deviceExists: async (id) => id !== 'ghost', sseKeepAliveSeconds: 1 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    cleanupClients();
    await app.close();
    await service.stop();
    await hub.stop();
  });

  it('GET of a device without a twin → 404 problem TH_TWIN_NOT_FOUND; unknown device → TH_DEVICE_NOT_FOUND; bad id → 400', async () => {
    const r = await call('GET', '/api/v1/devices/d0/twin');
    assert.equal(r.status, 404);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(r.body.code, 'TH_TWIN_NOT_FOUND');
    assert.equal((await call('GET', '/api/v1/devices/ghost/twin')).body.code, 'TH_DEVICE_NOT_FOUND');
    const bad = await call('GET', '/api/v1/devices/bad.id/twin');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'TH_DEVICE_ID_INVALID');
  });

  it('PATCH merges like an MQTT update (RFC 7396: null deletes), answers the twin with delta and ETag: "<version>"; GET agrees', async () => {
    let r = await call('PATCH', '/api/v1/devices/d1/twin', { state: { desired: { a: 1, b: { c: 2, d: 3 } }, reported: { a: 0 } } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.etag, '"1"');
    assert.deepEqual(r.body.state.delta, { a: 1, b: { c: 2, d: 3 } });
    r = await call('PATCH', '/api/v1/devices/d1/twin', { state: { desired: { b: { d: null } } } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.state.desired, { a: 1, b: { c: 2 } });
    assert.equal(r.headers.etag, '"2"');
    const g = await call('GET', '/api/v1/devices/d1/twin');
    assert.equal(g.headers.etag, '"2"');
    assert.deepEqual(g.body.state, { desired: { a: 1, b: { c: 2 } }, reported: { a: 0 }, delta: { a: 1, b: { c: 2 } } });
    assert.equal(typeof g.body.metadata.desired.a.timestamp, 'number');
  });

  it('If-Match: the matching version applies; another version → 412 TH_PRECONDITION_FAILED and nothing changes (RFC 9110 §13.1.1)', async () => {
    await call('PATCH', '/api/v1/devices/d2/twin', { state: { desired: { x: 1 } } });
    const ok = await call('PATCH', '/api/v1/devices/d2/twin', { state: { desired: { x: 2 } } }, { 'if-match': '"1"' });
    assert.equal(ok.status, 200);
    const stale = await call('PATCH', '/api/v1/devices/d2/twin', { state: { desired: { x: 3 } } }, { 'if-match': '"1"' });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.code, 'TH_PRECONDITION_FAILED');
    const weak = await call('PUT', '/api/v1/devices/d2/twin', { state: { desired: { x: 3 } } }, { 'if-match': 'W/"2"' });
    assert.equal(weak.status, 412, 'a weak tag never matches strongly');
    const del = await call('DELETE', '/api/v1/devices/d2/twin', undefined, { 'if-match': '"7"' });
    assert.equal(del.status, 412);
    assert.deepEqual((await call('GET', '/api/v1/devices/d2/twin')).body.state.desired, { x: 2 });
  });

  it('a `version` in the body is the AWS optimistic lock: mismatch → 409 TH_VERSION_CONFLICT', async () => {
    await call('PATCH', '/api/v1/devices/d3/twin', { state: { reported: { x: 1 } } });
    const r = await call('PATCH', '/api/v1/devices/d3/twin', { state: { reported: { x: 2 } }, version: 5 });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'TH_VERSION_CONFLICT');
  });

  it('PUT replaces the sections sent, at every level, in one version; the other section stays', async () => {
    await call('PATCH', '/api/v1/devices/d4/twin', { state: { desired: { a: 1, n: { x: 1, y: 2 } }, reported: { r: 1 } } });
    const r = await call('PUT', '/api/v1/devices/d4/twin', { state: { desired: { b: 2, n: { y: 3 } } } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.state.desired, { b: 2, n: { y: 3 } });
    assert.deepEqual(r.body.state.reported, { r: 1 });
    assert.equal(r.body.version, 2);
  });

  it('bad documents → 400 TH_TWIN_INVALID with the AWS message; too large → 413', async () => {
    const deep = await call('PATCH', '/api/v1/devices/d5/twin', { state: { desired: { 1: { 2: { 3: { 4: { 5: { 6: { 7: 1 } } } } } } } } });
    assert.equal(deep.status, 400);
    assert.equal(deep.body.code, 'TH_TWIN_INVALID');
    assert.match(deep.body.detail, /too many levels of nesting/);
    const big = await call('PATCH', '/api/v1/devices/d5/twin', { state: { reported: { s: 'x'.repeat(9000) } } });
    assert.equal(big.status, 413);
    const notJson = await call('PATCH', '/api/v1/devices/d5/twin', '{"state":', { 'content-type': 'application/merge-patch+json' });
    assert.equal(notJson.status, 400);
    const noState = await call('PATCH', '/api/v1/devices/d5/twin', { desired: {} });
    assert.equal(noState.status, 400);
  });

  it('named twins: own versions; DELETE → 200 {version}; GET → 404; recreated twin continues the version; list and history', async () => {
    await call('PATCH', '/api/v1/devices/d6/twins/cfg', { state: { desired: { rate: 1 } } });
    await call('PATCH', '/api/v1/devices/d6/twins/cfg', { state: { desired: { rate: 2 } } });
    await call('PATCH', '/api/v1/devices/d6/twin', { state: { reported: { on: true } } });
    assert.deepEqual((await call('GET', '/api/v1/devices/d6/twins')).body, ['', 'cfg']);
    const d = await call('DELETE', '/api/v1/devices/d6/twins/cfg');
    assert.equal(d.status, 200);
    assert.equal(d.body.version, 2);
    assert.equal((await call('GET', '/api/v1/devices/d6/twins/cfg')).status, 404);
    assert.equal((await call('DELETE', '/api/v1/devices/d6/twins/cfg')).status, 404);
    const re = await call('PATCH', '/api/v1/devices/d6/twins/cfg', { state: { desired: { rate: 3 } } });
    assert.equal(re.body.version, 3);
    const h = await call('GET', '/api/v1/devices/d6/twins/cfg/history?limit=3');
    assert.deepEqual(h.body.map((e: Json) => [e.op, e.version, e.writer]), [['update', 3, 'api:anonymous'], ['delete', 2, 'api:anonymous'], ['update', 2, 'api:anonymous']]);
    assert.deepEqual(h.body[0].state, { desired: { rate: 3 } });
    const ch = await call('GET', '/api/v1/devices/d6/twin/history');
    assert.equal(ch.body.length, 1);
    assert.equal((await call('GET', '/api/v1/devices/d6/twins/bad.name')).body.code, 'TH_TWIN_INVALID');
  });

  it('an API change of desired reaches the device on its MQTT /update/delta topic', async () => {
    const { client, log } = await connect(hub, { protocolVersion: 5 });
    await subscribe(client, '$aws/things/d7/shadow/update/delta', { qos: 1 });
    await call('PATCH', '/api/v1/devices/d7/twin', { state: { desired: { fan: 'on' } } });
    const [m] = await log.waitFor(1);
    assert.deepEqual(JSON.parse(m!.payload.toString()).state, { fan: 'on' });
    await closeAll(client);
  });

  it('twin-events: a text/event-stream with one event per change, id = version, until the client closes', async () => {
    const events: string[] = [];
    let res: IncomingMessage | undefined;
    const req = httpRequest(`${base}/api/v1/devices/d8/twin-events`, (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => events.push(chunk));
    });
    req.on('error', () => undefined);
    req.end();
    await waitFor(() => res !== undefined && events.length > 0, 3000, 'SSE headers');
    assert.equal(res!.statusCode, 200);
    assert.match(String(res!.headers['content-type']), /^text\/event-stream/);
    await call('PATCH', '/api/v1/devices/d8/twins/lamp', { state: { desired: { on: true } } });
    await call('PATCH', '/api/v1/devices/other/twin', { state: { desired: { on: true } } });
    await call('DELETE', '/api/v1/devices/d8/twins/lamp');
    await waitFor(() => events.join('').includes('event: delete'), 3000, 'delete event');
    const blocks = events.join('').split('\n\n').filter((b) => b.startsWith('event:'));
    assert.equal(blocks.length, 2, 'only this device\'s changes');
    const [upd, del] = blocks;
    assert.match(upd!, /^event: update\nid: 1\ndata: /);
    const data = JSON.parse(upd!.split('data: ')[1]!) as Json;
    assert.deepEqual([data.name, data.version, data.changed, data.state], ['lamp', 1, { desired: { on: true } }, { desired: { on: true } }]);
    assert.match(del!, /^event: delete\nid: 1\n/);
    req.destroy();
    // The subscription ends with the connection.
    await waitFor(() => (service as unknown as { listeners: Map<string, unknown> }).listeners.size === 0, 3000, 'unsubscribe');
  });
});
