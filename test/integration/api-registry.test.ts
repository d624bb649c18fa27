// The registry's HTTP API over a real socket: operator auth and roles, every route's bad input
// answered with a problem document and a stable code while stored data stays as it was, paging
// and filtering, bulk import/export, publishing, stats, the OpenAPI document and the rate limit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect, waitFor } from '../helpers/mqtt.js';

function assertProblem(r: { status: number; body: any; headers: Headers }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal(r.body.code, code);
  assert.equal(r.body.status, status);
  assert.equal(typeof r.body.detail, 'string');
}

describe('HTTP API: registry', () => {
  let t: TestHub;
  let readOnly: string;
  let operator: string;
  before(async () => {
    t = await startTestHub();
    const ro = await api(t, 'POST', '/api/v1/api-keys', { name: 'dashboards', role: 'read-only' });
    assert.equal(ro.status, 201, ro.text);
    readOnly = ro.body.key;
    operator = (await api(t, 'POST', '/api/v1/api-keys', { name: 'ops', role: 'operator' })).body.key;
  });
  after(async () => {
    cleanupClients();
    await t.stop();
  });

  test('no key, a malformed header or an unknown key → 401 TH_UNAUTHENTICATED with WWW-Authenticate', async () => {
    const none = await api(t, 'GET', '/api/v1/devices', undefined, { key: null });
    assertProblem(none, 401, 'TH_UNAUTHENTICATED');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assertProblem(await api(t, 'GET', '/api/v1/devices', undefined, { key: 'thk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbb' }), 401, 'TH_UNAUTHENTICATED');
    const res = await fetch(`${t.httpUrl}/api/v1/devices`, { headers: { authorization: 'Basic abc' } });
    assert.equal(res.status, 401);
  });

  test('roles: read-only reads but cannot write (403); operator writes devices but cannot manage keys or ACLs (403)', async () => {
    assert.equal((await api(t, 'GET', '/api/v1/devices', undefined, { key: readOnly })).status, 200);
    const before = (await api(t, 'GET', '/api/v1/stats')).body.registry.devices;
    assertProblem(await api(t, 'POST', '/api/v1/devices', { id: 'ro-try' }, { key: readOnly }), 403, 'TH_FORBIDDEN');
    assert.equal((await api(t, 'GET', '/api/v1/stats')).body.registry.devices, before, 'nothing was written');
    assert.equal((await api(t, 'POST', '/api/v1/devices', { id: 'op-made' }, { key: operator })).status, 201);
    assertProblem(await api(t, 'POST', '/api/v1/api-keys', { name: 'x', role: 'admin' }, { key: operator }), 403, 'TH_FORBIDDEN');
    assertProblem(await api(t, 'PUT', '/api/v1/acl/p1', { rules: [] }, { key: operator }), 403, 'TH_FORBIDDEN');
    const keys = await api(t, 'GET', '/api/v1/api-keys');
    assert.ok(keys.body.items.some((k: any) => k.name === 'dashboards' && k.role === 'read-only'));
    assert.equal(JSON.stringify(keys.body).includes(readOnly), false, 'keys are never shown again');
  });

  test('POST /api/v1/devices: 201 with the device and Location; a duplicate id → 409 and the stored device unchanged', async () => {
    const r = await api(t, 'POST', '/api/v1/devices', { id: 'thermo-1', type: 'thermostat', name: 'Hall', tags: { site: 'paris' }, group: 'floor-1' });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), '/api/v1/devices/thermo-1');
    assert.equal(r.body.id, 'thermo-1');
    assert.equal(r.body.type, 'thermostat');
    assert.deepEqual(r.body.tags, { site: 'paris' });
    assert.equal(r.body.enabled, true);
    assert.equal(r.body.connected, false);
    const dup = await api(t, 'POST', '/api/v1/devices', { id: 'thermo-1', type: 'other' });
    assertProblem(dup, 409, 'TH_DEVICE_EXISTS');
    assert.equal((await api(t, 'GET', '/api/v1/devices/thermo-1')).body.type, 'thermostat');
  });

  test('bad device input → 400 with a code naming the field; nothing is stored', async () => {
    const count = async () => (await api(t, 'GET', '/api/v1/stats')).body.registry.devices;
    const n = await count();
    const cases: [unknown, string, RegExp][] = [
      [{ id: 'has/slash' }, 'TH_DEVICE_ID_INVALID', /may contain only/],
      [{ id: 'a+b' }, 'TH_DEVICE_ID_INVALID', /may contain only/],
      [{ id: '' }, 'TH_DEVICE_ID_INVALID', /empty/],
      [{ id: 'x'.repeat(129) }, 'TH_BAD_REQUEST', /.*/],
      [{ id: 'ok-1', colour: 'red' }, 'TH_DEVICE_INVALID', /colour/],
      [{ id: 'ok-1', tags: { site: 3 } }, 'TH_BAD_REQUEST', /.*/],
      [{ id: 'ok-1', tags: { 'bad key': 'v' } }, 'TH_DEVICE_INVALID', /tags\.bad key/],
      [{ id: 'ok-1', acl: [{ filter: 'a/#/b', action: 'all', allow: true }] }, 'TH_ACL_RULE_INVALID', /acl\[0\]/],
      [{ id: 'ok-1', limits: { messagesPerSecond: -1 } }, 'TH_DEVICE_INVALID', /limits\.messagesPerSecond/],
      [{ name: 'no id' }, 'TH_BAD_REQUEST', /id/],
    ];
    for (const [body, code, detail] of cases) {
      const r = await api(t, 'POST', '/api/v1/devices', body);
      assertProblem(r, 400, code);
      assert.match(r.body.detail, detail, JSON.stringify(body));
    }
    const notJson = await api(t, 'POST', '/api/v1/devices', '{"id": ', { contentType: 'application/json' });
    assert.equal(notJson.status, 400);
    assert.equal(await count(), n);
  });

  test('PATCH merges (null clears), refuses an id change; DELETE of an unknown device → 404 TH_DEVICE_NOT_FOUND', async () => {
    await api(t, 'POST', '/api/v1/devices', { id: 'patch-me', name: 'A', group: 'g1', tags: { a: '1' } });
    const r = await api(t, 'PATCH', '/api/v1/devices/patch-me', { name: null, tags: { b: '2' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.name, undefined);
    assert.equal(r.body.group, 'g1');
    assert.deepEqual(r.body.tags, { a: '1', b: '2' }, 'RFC 7396: tags merge member by member');
    const mp = await api(t, 'PATCH', '/api/v1/devices/patch-me', JSON.stringify({ tags: { a: null } }), { contentType: 'application/merge-patch+json' });
    assert.equal(mp.status, 200, mp.text);
    assert.deepEqual(mp.body.tags, { b: '2' });
    assertProblem(await api(t, 'PATCH', '/api/v1/devices/patch-me', { id: 'other' }), 400, 'TH_DEVICE_INVALID');
    assertProblem(await api(t, 'PATCH', '/api/v1/devices/nope', { name: 'x' }), 404, 'TH_DEVICE_NOT_FOUND');
    assertProblem(await api(t, 'DELETE', '/api/v1/devices/nope'), 404, 'TH_DEVICE_NOT_FOUND');
    assertProblem(await api(t, 'GET', '/api/v1/devices/bad%2Fid'), 400, 'TH_DEVICE_ID_INVALID');
  });

  test('list: filters by type, group, tag and connection state; pages with a cursor visiting every device once; sorts', async () => {
    for (let i = 0; i < 25; i++) {
      await api(t, 'POST', '/api/v1/devices', { id: `list-${String(i).padStart(2, '0')}`, type: i % 2 === 0 ? 'even' : 'odd', tags: { n: String(i % 5) }, group: i < 10 ? 'low' : 'high' });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await api(t, 'GET', `/api/v1/devices?prefix=list-&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200);
      seen.push(...r.body.items.map((d: any) => d.id));
      cursor = r.body.next;
      if (cursor === undefined) break;
    }
    assert.equal(seen.length, 25);
    assert.deepEqual(seen, [...seen].sort());
    const even = await api(t, 'GET', '/api/v1/devices?prefix=list-&type=even&limit=100');
    assert.equal(even.body.items.length, 13);
    const tagged = await api(t, 'GET', '/api/v1/devices?prefix=list-&tag=n:0&group=high&limit=100');
    assert.deepEqual(tagged.body.items.map((d: any) => d.id), ['list-10', 'list-15', 'list-20']);
    const desc = await api(t, 'GET', '/api/v1/devices?prefix=list-&sort=-id&limit=3');
    assert.deepEqual(desc.body.items.map((d: any) => d.id), ['list-24', 'list-23', 'list-22']);
    const none = await api(t, 'GET', '/api/v1/devices?prefix=list-&connected=true');
    assert.equal(none.body.items.length, 0);
    assertProblem(await api(t, 'GET', '/api/v1/devices?limit=0'), 400, 'TH_BAD_REQUEST');
    assertProblem(await api(t, 'GET', '/api/v1/devices?sort=colour'), 400, 'TH_BAD_REQUEST');
    assertProblem(await api(t, 'GET', '/api/v1/devices?cursor=garbage'), 400, 'TH_BAD_REQUEST');
    assertProblem(await api(t, 'GET', '/api/v1/devices?tag=novalue'), 400, 'TH_BAD_REQUEST');
  });

  test('credentials: bad input → 400 TH_CREDENTIAL_INVALID naming the field; unknown device → 404; a duplicate x509 → 409', async () => {
    await api(t, 'POST', '/api/v1/devices', { id: 'cred-dev' });
    const bad: [unknown, RegExp][] = [
      [{ type: 'password', password: 'short' }, /password/],
      [{ type: 'password' }, /password/],
      [{ type: 'password', hash: '$bcrypt$nope' }, /hash/],
      [{ type: 'token', token: 'chosen' }, /token/],
      [{ type: 'x509', fingerprint: 'zz' }, /fingerprint/],
      [{ type: 'jwt-key', alg: 'RS256', key: 'not a pem' }, /key/],
      [{ type: 'password', password: 'long enough', expiresAt: '2001-01-01T00:00:00Z' }, /expiresAt/],
    ];
    for (const [body, detail] of bad) {
      const r = await api(t, 'POST', '/api/v1/devices/cred-dev/credentials', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.detail, detail);
    }
    assertProblem(await api(t, 'POST', '/api/v1/devices/cred-dev/credentials', { type: 'kerberos' }), 400, 'TH_BAD_REQUEST');
    assert.equal((await api(t, 'GET', '/api/v1/devices/cred-dev/credentials')).body.items.length, 0, 'nothing stored');
    assertProblem(await api(t, 'POST', '/api/v1/devices/ghost/credentials', { type: 'token' }), 404, 'TH_DEVICE_NOT_FOUND');
    const fp = 'AA:'.repeat(31) + 'AA';
    assert.equal((await api(t, 'POST', '/api/v1/devices/cred-dev/credentials', { type: 'x509', fingerprint: fp })).status, 201);
    await api(t, 'POST', '/api/v1/devices', { id: 'cred-dev-2' });
    assertProblem(await api(t, 'POST', '/api/v1/devices/cred-dev-2/credentials', { type: 'x509', fingerprint: fp }), 409, 'TH_CREDENTIAL_TAKEN');
    assertProblem(await api(t, 'DELETE', '/api/v1/devices/cred-dev/credentials/cr_nothing'), 404, 'TH_CREDENTIAL_NOT_FOUND');
  });

  test('bulk import (CSV): every valid line stored, each bad one reported by line; export returns them', async () => {
    const csv = [
      'id,name,type,group,enabled,tags',
      'bulk-1,One,meter,g,true,site=a;floor=2',
      'bulk 2,Bad id,meter,g,true,',
      'bulk-3,Three,meter,g,maybe,',
      'bulk-4,"Four, quoted",meter,g,false,',
      'bulk-1,Dup,meter,g,true,',
    ].join('\n');
    const r = await api(t, 'POST', '/api/v1/bulk/devices', csv, { contentType: 'text/csv' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.lines, 5);
    assert.equal(r.body.created, 2);
    assert.equal(r.body.failed, 3);
    assert.deepEqual(r.body.errors.map((e: any) => [e.line, e.code]), [[3, 'TH_DEVICE_ID_INVALID'], [4, 'TH_DEVICE_INVALID'], [6, 'TH_DEVICE_EXISTS']]);
    const four = await api(t, 'GET', '/api/v1/devices/bulk-4');
    assert.equal(four.body.name, 'Four, quoted');
    assert.equal(four.body.enabled, false);
    assert.deepEqual((await api(t, 'GET', '/api/v1/devices/bulk-1')).body.tags, { site: 'a', floor: '2' });
    const bad = await api(t, 'POST', '/api/v1/bulk/devices', 'id,colour\nx,red', { contentType: 'text/csv' });
    assertProblem(bad, 400, 'TH_IMPORT_INVALID');

    const jsonl = ['{"id":"jl-1","type":"meter","credentials":[{"type":"token","hash":"' + 'a'.repeat(64) + '"}]}', 'not json', '{"id":"jl-2"}'].join('\n');
    const j = await api(t, 'POST', '/api/v1/bulk/devices', jsonl, { contentType: 'application/x-ndjson' });
    assert.equal(j.body.created, 2);
    assert.equal(j.body.credentials, 1);
    assert.deepEqual(j.body.errors.map((e: any) => e.line), [2]);

    const exp = await api(t, 'GET', '/api/v1/bulk/devices?format=jsonl');
    assert.equal(exp.status, 200);
    const lines = exp.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((d) => d.id === 'bulk-4' && d.name === 'Four, quoted'));
    assert.equal(lines.some((d) => 'credentials' in d), false);
    const withCreds = await api(t, 'GET', '/api/v1/bulk/devices?format=jsonl&credentials=true');
    const jl1 = withCreds.text.trim().split('\n').map((l) => JSON.parse(l)).find((d) => d.id === 'jl-1');
    assert.deepEqual(jl1.credentials, [{ type: 'token', hash: 'a'.repeat(64) }]);
    assertProblem(await api(t, 'GET', '/api/v1/bulk/devices?credentials=true', undefined, { key: operator }), 403, 'TH_FORBIDDEN');
    const csvOut = await api(t, 'GET', '/api/v1/bulk/devices?format=csv');
    assert.match(csvOut.text.split('\n')[0]!, /^id,name,type,group,enabled,tags/);
    assert.ok(csvOut.text.includes('bulk-4,"Four, quoted",meter,g,false'));
  });

  test('POST /api/v1/publish reaches MQTT subscribers with user properties; bad topics and oversize payloads are refused', async () => {
    const sub = await connect(t, { protocolVersion: 5, clientId: 'api-sub' });
    await sub.client.subscribeAsync('cmd/#', { qos: 1 });
    const r = await api(t, 'POST', '/api/v1/publish', { topic: 'cmd/valve-1', payload: { open: true }, qos: 1, userProperties: { source: 'erp' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.subscribers, 1);
    const m = await waitFor(() => sub.log.messages.find((x) => x.topic === 'cmd/valve-1'), 2000, 'the published message');
    assert.deepEqual(JSON.parse(m.payload.toString()), { open: true });
    assert.deepEqual({ ...m.packet.properties?.userProperties }, { source: 'erp' });
    assertProblem(await api(t, 'POST', '/api/v1/publish', { topic: 'cmd/+/x', payload: 'a' }), 400, 'TH_TOPIC_INVALID');
    assertProblem(await api(t, 'POST', '/api/v1/publish', { topic: 'a', payload: '%%%', encoding: 'base64' }), 400, 'TH_BAD_REQUEST');
    assertProblem(await api(t, 'POST', '/api/v1/publish', { topic: 'a', qos: 3 }), 400, 'TH_BAD_REQUEST');
    assertProblem(await api(t, 'POST', '/api/v1/publish', { topic: 'a', payload: 'x' }, { key: readOnly }), 403, 'TH_FORBIDDEN');
    sub.client.end(true);
  });

  test('GET /api/v1/openapi.json describes the routes with their schemas and bearer security', async () => {
    const r = await api(t, 'GET', '/api/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    for (const p of ['/api/v1/devices', '/api/v1/devices/{id}', '/api/v1/devices/{id}/credentials', '/api/v1/devices/{id}/sessions', '/api/v1/acl', '/api/v1/publish', '/api/v1/stats', '/api/v1/bulk/devices']) {
      assert.ok(r.body.paths[p], `missing ${p}`);
    }
    assert.ok(r.body.components.securitySchemes.bearer);
    assert.ok(r.body.paths['/api/v1/devices'].post.requestBody);
  });
});

describe('HTTP API: rate limit per key', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub({ config: { api: { rateLimit: 2, rateBurst: 3 } } });
  });
  after(async () => t.stop());

  test('over its rate a key gets 429 TH_RATE_LIMITED with Retry-After; health probes are not limited', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await api(t, 'GET', '/api/v1/stats')).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.slice(3).includes(429));
    const r = await api(t, 'GET', '/api/v1/stats');
    assertProblem(r, 429, 'TH_RATE_LIMITED');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal((await fetch(`${t.httpUrl}/healthz`)).status, 200);
  });
});

describe('HTTP API: operator JWT bearer tokens (api.jwt)', () => {
  let t: TestHub;
  let dir: string;
  const secret = Buffer.alloc(32, 7);
  before(async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    dir = await mkdtemp(join(tmpdir(), 'twinhub-jwt-'));
    const keyFile = join(dir, 'api-jwt.key');
    await writeFile(keyFile, secret.toString('base64'));
    t = await startTestHub({ config: { api: { jwt: { keyFile, alg: 'HS256', issuer: 'sso.example', audience: null } } } });
  });
  after(async () => {
    await t.stop();
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
  });

  test('a JWT with a role claim authenticates with that role; wrong issuer, expired, role missing or forged → refused', async () => {
    const { createSecretKey } = await import('node:crypto');
    const { signJwt } = await import('../../src/core/registry/credentials/index.js');
    const key = createSecretKey(secret);
    const now = Math.floor(Date.now() / 1000);
    const tok = (claims: Record<string, unknown>) => signJwt({ iss: 'sso.example', sub: 'alice', exp: now + 60, ...claims }, 'HS256', key);
    assert.equal((await api(t, 'GET', '/api/v1/devices', undefined, { key: tok({ role: 'read-only' }) })).status, 200);
    assertProblem(await api(t, 'POST', '/api/v1/devices', { id: 'jwt-dev' }, { key: tok({ role: 'read-only' }) }), 403, 'TH_FORBIDDEN');
    assert.equal((await api(t, 'POST', '/api/v1/devices', { id: 'jwt-dev' }, { key: tok({ role: 'operator' }) })).status, 201);
    assertProblem(await api(t, 'GET', '/api/v1/devices', undefined, { key: tok({ role: 'admin', iss: 'evil' }) }), 401, 'TH_UNAUTHENTICATED');
    assertProblem(await api(t, 'GET', '/api/v1/devices', undefined, { key: tok({ role: 'admin', exp: now - 120 }) }), 401, 'TH_UNAUTHENTICATED');
    assertProblem(await api(t, 'GET', '/api/v1/devices', undefined, { key: tok({}) }), 403, 'TH_FORBIDDEN');
    assertProblem(await api(t, 'GET', '/api/v1/devices', undefined, { key: tok({ role: 'root' }) }), 403, 'TH_FORBIDDEN');
    const forged = signJwt({ iss: 'sso.example', role: 'admin', exp: now + 60 }, 'HS256', createSecretKey(Buffer.alloc(32, 8)));
    assertProblem(await api(t, 'GET', '/api/v1/devices', undefined, { key: forged }), 401, 'TH_UNAUTHENTICATED');
  });
});
