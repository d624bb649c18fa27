// Payload schemas over the HTTP API (issue 5: "registering a new version checks compatibility
// against the previous one … and refuses incompatible ones with a report of what breaks"):
// the telemetry plugin with a SchemaStore in a data folder, on an app of its own over a real hub's
// telemetry service and operator auth; the registry survives a reopen of the store.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createApiAuth } from '../../src/api/auth.js';
import { telemetryPlugin } from '../../src/api/plugins/telemetry.js';
import { installProblemHandlers } from '../../src/api/problem.js';
import { jsonFilePersistence, schemaFile, SchemaStore } from '../../src/core/telemetry/schema-store.js';
import { api } from '../helpers/api.js';
import { startTestHub, TEST_ADMIN_KEY, type TestHub } from '../helpers/hub.js';

let t: TestHub;
let dir: string;
let readOnly: string;

async function appOn(store: SchemaStore): Promise<FastifyInstance> {
  const app = Fastify();
  installProblemHandlers(app);
  await app.register(telemetryPlugin, { auth: createApiAuth({ registry: t.hub.registry, config: t.hub.config }), telemetry: t.hub.telemetry!, schemas: store });
  await app.ready();
  return app;
}

async function call(app: FastifyInstance, method: 'GET' | 'PUT', url: string, body?: unknown, key = TEST_ADMIN_KEY) {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: r.statusCode, body: r.json(), headers: r.headers };
}

const V1 = { type: 'object', properties: { temp: { type: 'number' }, hum: { type: 'number' } }, required: ['temp'] };
const V1_1 = { type: 'object', properties: { temp: { type: 'number' }, hum: { type: 'number' }, co2: { type: 'integer' } }, required: ['temp'] };
const BREAKS = { type: 'object', properties: { temp: { type: 'string' } }, required: ['temp', 'site'] };

before(async () => {
  t = await startTestHub();
  dir = await mkdtemp(join(tmpdir(), 'twinhub-schemas-api-'));
  readOnly = (await api(t, 'POST', '/api/v1/api-keys', { name: 'grafana', role: 'read-only' })).body.key;
});
after(async () => {
  await t?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('telemetry schemas over the API', () => {
  test('register, list, read; an incompatible version is 409 TH_SCHEMA_INCOMPATIBLE with the breaking list; kept across a reopen', async () => {
    const store = await SchemaStore.open(jsonFilePersistence(schemaFile(dir)));
    const app = await appOn(store);
    const put = await call(app, 'PUT', '/api/v1/telemetry/schemas/meter/1.0.0', V1);
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.deepEqual(put.body, { deviceType: 'meter', version: '1.0.0', schema: V1 });
    assert.equal(put.headers.location, '/api/v1/telemetry/schemas/meter');
    assert.equal((await call(app, 'PUT', '/api/v1/telemetry/schemas/meter/1.1.0', V1_1)).status, 201, 'adding an optional field is compatible');

    const bad = await call(app, 'PUT', '/api/v1/telemetry/schemas/meter/1.2.0', BREAKS);
    assert.equal(bad.status, 409);
    assert.equal(bad.body.code, 'TH_SCHEMA_INCOMPATIBLE');
    assert.ok(Array.isArray(bad.body.breaking) && bad.body.breaking.length >= 3, JSON.stringify(bad.body));
    const breaking = bad.body.breaking.join('\n');
    for (const path of ['/temp', '/hum', '/site']) assert.ok(breaking.includes(path), `the report names ${path}: ${breaking}`);
    assert.equal((await call(app, 'PUT', '/api/v1/telemetry/schemas/meter/2.0.0', BREAKS)).status, 201, 'a new major version may break');

    const list = await call(app, 'GET', '/api/v1/telemetry/schemas', undefined, readOnly);
    assert.deepEqual(list.body, { items: [{ deviceType: 'meter', current: '2.0.0', versions: ['1.0.0', '1.1.0', '2.0.0'] }] });
    await app.close();

    const reopened = await appOn(await SchemaStore.open(jsonFilePersistence(schemaFile(dir))));
    const one = await call(reopened, 'GET', '/api/v1/telemetry/schemas/meter', undefined, readOnly);
    assert.equal(one.status, 200);
    assert.equal(one.body.current, '2.0.0');
    assert.deepEqual(one.body.versions.map((v: { version: string }) => v.version), ['1.0.0', '1.1.0', '2.0.0']);
    assert.deepEqual(one.body.versions[1].schema, V1_1);
    await reopened.close();
  });

  test('bad versions and schemas, unknown types, roles', async () => {
    const app = await appOn(await SchemaStore.open(jsonFilePersistence(join(dir, 'other', 'schemas.json'))));
    assert.equal((await call(app, 'PUT', '/api/v1/telemetry/schemas/probe/1.0.0', V1)).status, 201);
    const again = await call(app, 'PUT', '/api/v1/telemetry/schemas/probe/1.0.0', V1);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'TH_VERSION_CONFLICT');
    assert.match(again.body.breaking[0], /not greater than the current 1\.0\.0/);
    const notSemver = await call(app, 'PUT', '/api/v1/telemetry/schemas/probe/v2', V1);
    assert.equal(notSemver.status, 400);
    assert.equal(notSemver.body.code, 'TH_BAD_REQUEST');
    assert.match(notSemver.body.breaking[0], /not a semantic version/);
    const invalid = await call(app, 'PUT', '/api/v1/telemetry/schemas/probe/3.0.0', { type: 'nonsense' });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.breaking[0], /invalid schema/);
    assert.equal((await call(app, 'PUT', '/api/v1/telemetry/schemas/probe/3.0.0', [1, 2])).status, 400, 'a schema is an object');
    const missing = await call(app, 'GET', '/api/v1/telemetry/schemas/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'TH_NOT_FOUND');
    const forbidden = await call(app, 'PUT', '/api/v1/telemetry/schemas/probe/4.0.0', V1, readOnly);
    assert.equal(forbidden.status, 403, 'registering needs the operator role');
    assert.equal(forbidden.body.code, 'TH_FORBIDDEN');
    await app.close();
  });
});
