// /api/v1/rules and /api/v1/alerts over HTTP, and `twinhub rules …` against them: a real hub's
// broker, registry and twins, the rules plugin mounted on an API app of its own (the hub wires it
// in src/main/hub.ts), a temp rules folder that stays the one source of truth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startTestHub, TEST_ADMIN_KEY, type TestHub } from '../helpers/hub.js';
import { waitFor } from '../helpers/mqtt.js';
import { buildApiApp } from '../../src/api/server.js';
import { createApiAuth } from '../../src/api/auth.js';
import { rulesPlugin } from '../../src/api/plugins/rules.js';
import { RuleEngine } from '../../src/core/rules/engine.js';
import { silentLogger } from '../../src/obs/log.js';

let t: TestHub;
let engine: RuleEngine;
let app: FastifyInstance;
let url: string;
let dir: string;
let folder: string;
let readOnlyKey: string;

before(async () => {
  t = await startTestHub();
  dir = await mkdtemp(join(tmpdir(), 'twinhub-rules-api-'));
  folder = join(dir, 'rules');
  engine = new RuleEngine({
    broker: t.hub.broker,
    log: silentLogger(),
    folder,
    twins: t.hub.twins,
    registry: t.hub.registry,
    options: { maxHops: 8, webhook: { queueSize: 100, concurrency: 4 }, errorLogSize: 10 },
  });
  await engine.start();
  const auth = createApiAuth({ registry: t.hub.registry, config: t.hub.config });
  app = await buildApiApp({
    log: silentLogger(),
    readiness: () => ({ ready: true, checks: {} }),
    resources: async (a) => {
      await a.register(rulesPlugin, { auth, engine });
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  url = `http://127.0.0.1:${addr.port}`;
  readOnlyKey = (await t.hub.registry.createApiKey('viewer', 'read-only')).key;
});

after(async () => {
  await app?.close();
  await engine?.stop();
  await t?.stop();
  await rm(dir, { recursive: true, force: true });
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `twinhub <args>` from the sources (bin/twinhub.js would prefer a possibly stale dist/). */
async function runCli(args: readonly string[], extra: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TWINHUB_')) env[k] = v;
  Object.assign(env, extra);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function api(method: string, path: string, body?: unknown, opts: { key?: string; contentType?: string } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? TEST_ADMIN_KEY}` };
  let data: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/json';
    data = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(url + path, { method, headers, ...(data !== undefined ? { body: data } : {}) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

function publish(topic: string, payload: unknown, deviceId: string): void {
  t.hub.broker.publish({
    topic,
    payload: Buffer.from(JSON.stringify(payload)),
    qos: 0,
    retain: false,
    origin: { protocol: 'mqtt', clientId: deviceId, deviceId },
    properties: undefined,
    receivedAt: Date.now(),
    expiresAt: 0,
    priority: 0,
    hops: 0,
    frame: undefined,
  });
}

const ALERT_RULE = {
  sql: "SELECT payload.temp AS t FROM 'api/+/telemetry' WHERE payload.temp > 30",
  priority: 50,
  actions: [{ alert: { severity: 'warning', key: 'hot-${deviceid}', clear: 'payload.temp < 20' } }],
};

test('PUT a JSON rule writes <folder>/<id>.yaml and answers with the loaded rule (201, then 200)', async () => {
  const r = await api('PUT', '/api/v1/rules/hot', ALERT_RULE);
  assert.equal(r.status, 201);
  assert.equal(r.body.id, 'hot');
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.priority, 50);
  const text = await readFile(join(folder, 'hot.yaml'), 'utf8');
  assert.match(text, /^id: hot\n/);
  assert.match(text, /severity: warning/);
  const again = await api('PUT', '/api/v1/rules/hot', ALERT_RULE);
  assert.equal(again.status, 200);
  const one = await api('GET', '/api/v1/rules/hot');
  assert.equal(one.body.yaml, text);
  const list = await api('GET', '/api/v1/rules', undefined, { key: readOnlyKey });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((x: { id: string }) => x.id), ['hot']);
  assert.ok(Array.isArray(list.body.stats.lanes));
});

test('PUT a YAML body keeps it as sent (comments included)', async () => {
  const yaml = "# counts everything\nid: counter\nsql: SELECT * FROM 'count/#'\nactions:\n  - log: {level: debug}\n";
  const r = await api('PUT', '/api/v1/rules/counter', yaml, { contentType: 'application/yaml' });
  assert.equal(r.status, 201);
  assert.equal(await readFile(join(folder, 'counter.yaml'), 'utf8'), yaml);
});

test('an invalid rule is a 400 problem with line/column errors; nothing is written and the running rule stays', async () => {
  const bad = "id: hot\nsql: |\n  SELECT payload.temp AS t\n  FROM 'api/+/telemetry' WHERE payload.temp >> 3\nactions: []\n";
  const r = await api('PUT', '/api/v1/rules/hot', bad, { contentType: 'application/yaml' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'TH_RULE_INVALID');
  assert.equal(r.body.errors[0].line, 4);
  assert.equal(typeof r.body.errors[0].column, 'number');
  assert.equal(r.body.errors[0].path, 'sql');
  const j = await api('PUT', '/api/v1/rules/hot', { sql: "SELECT * FROM 'x'", actions: [{ republish: {} }] });
  assert.equal(j.status, 400);
  assert.equal(j.body.errors[0].path, 'actions[0].republish.topic');
  assert.equal(engine.get('hot')?.sql, ALERT_RULE.sql);
  assert.doesNotMatch(await readFile(join(folder, 'hot.yaml'), 'utf8'), />>/);
  const mismatch = await api('PUT', '/api/v1/rules/hot', { id: 'other', sql: "SELECT * FROM 'x'", actions: [] });
  assert.equal(mismatch.status, 400);
});

test('roles: read-only may read and dry-run, not write (403)', async () => {
  assert.equal((await api('PUT', '/api/v1/rules/x', ALERT_RULE, { key: readOnlyKey })).status, 403);
  assert.equal((await api('POST', '/api/v1/rules/hot/disable', undefined, { key: readOnlyKey })).status, 403);
  assert.equal((await api('GET', '/api/v1/rules/hot', undefined, { key: 'nope' })).status, 401);
  const dry = await api('POST', '/api/v1/rules/test', { sql: "SELECT 1 AS one FROM 'a'", message: { topic: 'a' } }, { key: readOnlyKey });
  assert.equal(dry.status, 200);
  assert.deepEqual(dry.body.rows, [{ one: 1 }]);
});

test('POST /rules/test renders the actions that would run, executes nothing', async () => {
  const rule = {
    sql: "SELECT payload.temp AS t, deviceid() AS d FROM 'api/+/telemetry' WHERE payload.temp > 30",
    actions: [{ republish: { topic: 'alerts/${d}', payload: 'T=${t}' } }, { alert: { severity: 'critical', key: 'k-${d}' } }, { twin: { reported: { t: '${t}' } } }],
  };
  const r = await api('POST', '/api/v1/rules/test', { rule, message: { topic: 'api/dev9/telemetry', payload: { temp: 33 }, deviceid: 'dev9' } });
  assert.equal(r.status, 200);
  assert.equal(r.body.matched, true);
  assert.deepEqual(r.body.rows, [{ t: 33, d: 'dev9' }]);
  assert.deepEqual(r.body.actions.map((a: { plan: unknown }) => a.plan), [
    { kind: 'republish', topic: 'alerts/dev9', payload: 'T=33', qos: 0, retain: false },
    { kind: 'alert', key: 'k-dev9', severity: 'critical' },
    { kind: 'twin', device: 'dev9', name: '', state: { reported: { t: 33 } } },
  ]);
  assert.equal(engine.alerts.get('k-dev9'), undefined, 'nothing executed');
  const miss = await api('POST', '/api/v1/rules/test', { rule, message: { topic: 'other', payload: {} } });
  assert.equal(miss.body.matched, false);
  const clears = await api('POST', '/api/v1/rules/test', { rule: ALERT_RULE, message: { topic: 'api/d/telemetry', payload: { temp: 10 }, deviceid: 'd' } });
  assert.deepEqual(clears.body.clears, [{ index: 0, key: 'hot-d' }]);
  const bad = await api('POST', '/api/v1/rules/test', { sql: 'SELECT FROM', message: { topic: 'a' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].path, 'sql');
});

test('alerts over the API: listed open, cleared by an operator (then 404)', async () => {
  publish('api/a1/telemetry', { temp: 35 }, 'a1');
  publish('api/a1/telemetry', { temp: 36 }, 'a1');
  await waitFor(() => engine.alerts.get('hot-a1')?.count === 2, 2000, 'the alert');
  const list = await api('GET', '/api/v1/alerts', undefined, { key: readOnlyKey });
  assert.equal(list.status, 200);
  const a = list.body.items.find((x: { key: string }) => x.key === 'hot-a1');
  assert.equal(a.count, 2);
  assert.equal(a.severity, 'warning');
  assert.equal(a.ruleId, 'hot');
  assert.match(a.firstAt, /^\d{4}-/);
  assert.equal((await api('GET', '/api/v1/alerts?severity=critical')).body.items.length, 0);
  assert.equal((await api('POST', '/api/v1/alerts/hot-a1/clear', undefined, { key: readOnlyKey })).status, 403);
  const cleared = await api('POST', '/api/v1/alerts/hot-a1/clear');
  assert.equal(cleared.status, 200);
  assert.equal(cleared.body.key, 'hot-a1');
  assert.equal((await api('POST', '/api/v1/alerts/hot-a1/clear')).status, 404);
});

test('enable/disable edit the file; a disabled rule stops acting; errors endpoint; DELETE removes the file', async () => {
  const d = await api('POST', '/api/v1/rules/hot/disable');
  assert.equal(d.status, 200);
  assert.equal(d.body.status, 'disabled');
  assert.match(await readFile(join(folder, 'hot.yaml'), 'utf8'), /enabled: false/);
  const before = engine.get('hot')!.counters.matched;
  publish('api/a2/telemetry', { temp: 50 }, 'a2');
  assert.equal(engine.get('hot')!.counters.matched, before);
  assert.equal((await api('POST', '/api/v1/rules/hot/enable')).body.status, 'active');
  const errs = await api('GET', '/api/v1/rules/hot/errors');
  assert.deepEqual(errs.body, { items: [] });
  assert.equal((await api('GET', '/api/v1/rules/nope/errors')).status, 404);
  assert.equal((await api('DELETE', '/api/v1/rules/counter')).status, 204);
  assert.equal((await api('GET', '/api/v1/rules/counter')).status, 404);
  assert.equal((await api('DELETE', '/api/v1/rules/counter')).status, 404);
});

test('OpenAPI: the routes are described under the rules and alerts tags', async () => {
  const doc = (await api('GET', '/api/v1/openapi.json')).body;
  assert.deepEqual(doc.paths['/api/v1/rules/{id}'].put.tags, ['rules']);
  assert.deepEqual(doc.paths['/api/v1/alerts'].get.tags, ['alerts']);
});

test('CLI: twinhub rules apply|list|test|disable|enable|errors', async () => {
  const env = { TWINHUB_URL: url, TWINHUB_KEY: TEST_ADMIN_KEY };
  const file = join(dir, 'cli-rule.yaml');
  await writeFile(file, "id: cli-rule\nsql: SELECT payload.v AS v FROM 'cli/+' WHERE payload.v > 1\nactions:\n  - republish: {topic: \"cli-out/${v}\"}\n");
  const applied = await runCli(['rules', 'apply', file], env);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /rule cli-rule applied \(active\)/);
  const listed = await runCli(['rules', 'list'], env);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /cli-rule\s+active/);
  const tested = await runCli(['rules', 'test', file, '--message', '{"topic":"cli/a","payload":{"v":5}}'], env);
  assert.equal(tested.code, 0, tested.stderr);
  assert.match(tested.stdout, /republish#0: .*cli-out\/5/);
  const json = await runCli(['rules', 'test', file, '--json', '--message', '{"topic":"cli/a","payload":{"v":5}}'], env);
  assert.deepEqual(JSON.parse(json.stdout).rows, [{ v: 5 }]);
  assert.equal((await runCli(['rules', 'disable', 'cli-rule'], env)).code, 0);
  assert.equal(engine.get('cli-rule')?.status, 'disabled');
  assert.equal((await runCli(['rules', 'enable', 'cli-rule'], env)).code, 0);
  assert.equal(engine.get('cli-rule')?.status, 'active');
  assert.equal((await runCli(['rules', 'errors', 'cli-rule'], env)).code, 0);
  // A refused file: exit 2 and FILE:LINE:COLUMN lines.
  await writeFile(file, "id: cli-rule\nsql: SELECT payload.v AS v FROM 'cli/+' WHERE\nactions: []\n");
  const refused = await runCli(['rules', 'apply', file], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: sql: `));
  const missing = await runCli(['rules', 'disable', 'no-such-rule'], env);
  assert.equal(missing.code, 3);
  const noMsg = await runCli(['rules', 'test', file], env);
  assert.equal(noMsg.code, 2);
});
