// Bad input on the API, generated (fast-check): whatever JSON arrives at the write routes, the hub
// answers 2xx or a 4xx problem document with a stable code — never a 5xx — and stores exactly
// what it acknowledged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { api } from '../helpers/api.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

const anyJson = fc.jsonValue({ maxDepth: 3 });
/** Device-like objects: the right field names with values of any type, plus unknown fields. */
const deviceish = fc.record(
  {
    id: fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[a-zA-Z0-9:_-]{1,20}$/), anyJson),
    name: fc.oneof(fc.string(), anyJson),
    type: fc.oneof(fc.stringMatching(/^[a-z]{1,8}$/), anyJson),
    group: fc.oneof(fc.stringMatching(/^[a-z]{1,8}$/), anyJson),
    tags: fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string(), anyJson), { maxKeys: 4 }), anyJson),
    enabled: fc.oneof(fc.boolean(), anyJson),
    acl: fc.oneof(fc.array(fc.record({ filter: fc.string(), action: fc.constantFrom('publish', 'subscribe', 'all', 'x'), allow: fc.oneof(fc.boolean(), anyJson) }), { maxLength: 3 }), anyJson),
    limits: fc.oneof(fc.record({ messagesPerSecond: fc.oneof(fc.integer(), anyJson) }), anyJson),
    extra: anyJson,
  },
  { requiredKeys: [] },
);

function isProblem(r: { status: number; body: unknown; headers: Headers }): boolean {
  const b = r.body as { code?: unknown; status?: unknown } | undefined;
  return (r.headers.get('content-type') ?? '').includes('application/problem+json') && typeof b?.code === 'string' && b.status === r.status;
}

describe('API under generated bad input', () => {
  let t: TestHub;
  before(async () => {
    // Hundreds of requests a second from one key: the per-key rate limit is off here.
    t = await startTestHub({ config: { api: { rateLimit: 0 } } });
  });
  after(async () => t.stop());

  test('POST /api/v1/devices: 201 or a 4xx problem, never 5xx; the registry holds exactly the devices answered 201', async () => {
    const created = new Set<string>();
    const start = (await api(t, 'GET', '/api/v1/stats')).body.registry.devices as number;
    await fc.assert(
      fc.asyncProperty(fc.oneof(deviceish, anyJson), async (body) => {
        const r = await api(t, 'POST', '/api/v1/devices', body);
        assert.ok(r.status < 500, `${r.status} for ${JSON.stringify(body)}: ${r.text}`);
        if (r.status === 201) created.add((r.body as { id: string }).id);
        else assert.ok(r.status >= 400 && isProblem(r), `${r.status} ${r.text}`);
      }),
      { numRuns: 300 },
    );
    assert.equal((await api(t, 'GET', '/api/v1/stats')).body.registry.devices, start + created.size);
  });

  test('PATCH a device and POST credentials with generated bodies: never 5xx, and a refused PATCH changes nothing', async () => {
    assert.equal((await api(t, 'POST', '/api/v1/devices', { id: 'fuzz-target', name: 'kept', tags: { a: '1' } })).status, 201);
    await fc.assert(
      fc.asyncProperty(fc.oneof(deviceish, anyJson), async (body) => {
        const before = (await api(t, 'GET', '/api/v1/devices/fuzz-target')).body;
        const r = await api(t, 'PATCH', '/api/v1/devices/fuzz-target', body);
        assert.ok(r.status < 500, `${r.status} for ${JSON.stringify(body)}: ${r.text}`);
        if (r.status !== 200) {
          assert.ok(isProblem(r), r.text);
          assert.deepEqual((await api(t, 'GET', '/api/v1/devices/fuzz-target')).body, before, 'a refused patch changes nothing');
        }
      }),
      { numRuns: 150 },
    );
    const credential = fc.record(
      { type: fc.oneof(fc.constantFrom('password', 'token', 'x509', 'jwt-key'), anyJson), password: fc.oneof(fc.string(), anyJson), hash: fc.oneof(fc.string(), anyJson), fingerprint: fc.oneof(fc.string(), anyJson), subject: fc.oneof(fc.string(), anyJson), alg: fc.oneof(fc.constantFrom('HS256', 'RS256', 'ES256'), anyJson), key: fc.oneof(fc.string(), anyJson), expiresAt: anyJson },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(credential, anyJson), async (body) => {
        const r = await api(t, 'POST', '/api/v1/devices/fuzz-target/credentials', body);
        assert.ok(r.status < 500, `${r.status} for ${JSON.stringify(body)}: ${r.text}`);
        if (r.status !== 201) assert.ok(isProblem(r), r.text);
      }),
      { numRuns: 150 },
    );
  });

  test('rules, twins, publish and telemetry queries with generated input: never 5xx', async () => {
    const routes: [string, string, fc.Arbitrary<unknown>][] = [
      ['PUT', '/api/v1/rules/fuzz-rule', fc.oneof(fc.record({ sql: fc.oneof(fc.string(), fc.constant("SELECT * FROM 'a/#'")), actions: anyJson, priority: anyJson }, { requiredKeys: [] }), anyJson)],
      ['POST', '/api/v1/rules/test', fc.oneof(fc.record({ sql: fc.string(), message: anyJson }, { requiredKeys: [] }), anyJson)],
      ['PATCH', '/api/v1/devices/fuzz-target/twin', fc.oneof(fc.record({ state: anyJson, version: anyJson, clientToken: anyJson }, { requiredKeys: [] }), anyJson)],
      ['POST', '/api/v1/publish', fc.oneof(fc.record({ topic: fc.string(), payload: anyJson, qos: anyJson, retain: anyJson, encoding: anyJson }, { requiredKeys: [] }), anyJson)],
    ];
    for (const [method, path, arb] of routes) {
      await fc.assert(
        fc.asyncProperty(arb, async (body) => {
          const r = await api(t, method, path, body);
          assert.ok(r.status < 500, `${method} ${path}: ${r.status} for ${JSON.stringify(body)}: ${r.text}`);
        }),
        { numRuns: 80 },
      );
    }
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom('device', 'metric', 'from', 'to', 'step', 'agg', 'format', 'type', 'tag'), fc.string({ maxLength: 12 })), async (q) => {
        const r = await api(t, 'GET', `/api/v1/telemetry/query?${new URLSearchParams(q).toString()}`);
        assert.ok(r.status < 500, `${r.status} for ${JSON.stringify(q)}: ${r.text}`);
      }),
      { numRuns: 100 },
    );
  });
});
