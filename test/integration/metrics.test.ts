// Prometheus metrics of a real hub (src/obs/metrics.ts, served by src/api/plugins/metrics.ts)
// and the admin profiling endpoints (src/api/plugins/debug.ts). The metrics are built against the
// hub's broker, registry, twins and telemetry and served by an app of this test's own; a device
// publishes over MQTT with the `mqtt` client and the scrapes before and after must differ by what
// it did. The exposition is checked with a small parser of the text format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats/).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { createApiAuth } from '../../src/api/auth.js';
import { debugPlugin } from '../../src/api/plugins/debug.js';
import { devicesPlugin } from '../../src/api/plugins/devices.js';
import { metricsPlugin } from '../../src/api/plugins/metrics.js';
import { installProblemHandlers } from '../../src/api/problem.js';
import { SHARED_SCHEMAS } from '../../src/api/schemas.js';
import { createMetrics, type HubMetrics } from '../../src/obs/metrics.js';
import { api } from '../helpers/api.js';
import { startHubProcess, startTestHub, TEST_ADMIN_KEY, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect, waitFor } from '../helpers/mqtt.js';

// ------------------------------------------------------------------ a text format 0.0.4 parser

interface Family {
  type: string;
  help: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // Values are "as required by Go's ParseFloat()", which reads NaN in any case (prom-client writes "Nan").
  if (/^nan$/i.test(text)) return NaN;
  assert.match(text, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `sample value ${text}`);
  return Number(text);
}

/** Parses the exposition, asserting the grammar; families by name. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    const f = families.get(sample);
    if (f !== undefined) return f;
    // Histogram and summary series carry suffixes on the family name.
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (sample.endsWith(suffix)) {
        const g = families.get(sample.slice(0, -suffix.length));
        if (g !== undefined && (g.type === 'histogram' || g.type === 'summary')) return g;
      }
    }
    return undefined;
  };
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) continue; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      assert.match(name, NAME, `metric name ${name}`);
      let f = families.get(name);
      if (kind === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest), `type of ${name}: ${rest}`);
        // "Only one TYPE line may exist for a given metric name."
        assert.ok(f === undefined || f.type === '', `a second TYPE line for ${name}`);
        if (f === undefined) families.set(name, (f = { type: rest, help: '', samples: [] }));
        else f.type = rest;
      } else {
        if (f === undefined) families.set(name, (f = { type: '', help: rest, samples: [] }));
        else f.help = rest;
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    assert.ok(m !== null, `sample line: ${line}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== '') {
      // label="value" pairs; values escape \\ \" \n.
      const re = /\s*([^=\s]+)="((?:[^"\\]|\\[\\"n])*)"\s*(,|$)/y;
      let at = 0;
      const body = m[3];
      while (at < body.length) {
        re.lastIndex = at;
        const l = re.exec(body);
        assert.ok(l !== null, `labels of ${line}`);
        assert.match(l[1]!, LABEL_NAME, `label name in ${line}`);
        assert.ok(!(l[1]! in labels), `label ${l[1]} twice in ${line}`);
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        at = re.lastIndex;
      }
    }
    // "The TYPE line for a metric name must appear before the first sample is reported for that metric name."
    const f = familyOf(name);
    assert.ok(f !== undefined && f.type !== '', `sample ${name} before its TYPE line`);
    f.samples.push({ name, labels, value: parseValue(m[4]!) });
  }
  return families;
}

/** The value of one sample, or undefined. */
function valueOf(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const base = fams.get(name) ?? fams.get(name.replace(/_(bucket|sum|count)$/, ''));
  const s = base?.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

function sumOf(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = fams.get(name);
  return (f?.samples ?? []).filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}

// ------------------------------------------------------------------ the hub and the app

let t: TestHub;
let app: FastifyInstance;
let metrics: HubMetrics;
let readOnlyKey: string;
const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
const PASSWORD = 'metrics device password';

async function scrape(): Promise<Map<string, Family>> {
  const r = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(r.body);
}

async function device(id: string): Promise<void> {
  assert.equal((await api(t, 'POST', '/api/v1/devices', { id })).status, 201);
  assert.equal((await api(t, 'POST', `/api/v1/devices/${id}/credentials`, { type: 'password', password: PASSWORD })).status, 201);
}

before(async () => {
  t = await startTestHub({ config: { allowAnonymous: false } });
  await device('met-1');
  await device('met-2');
  readOnlyKey = (await t.hub.registry.createApiKey('dashboards', 'read-only')).key;
  const hub = t.hub;
  const auth = createApiAuth({ registry: hub.registry, config: hub.config });
  metrics = createMetrics(
    {
      broker: () => hub.broker,
      registry: () => hub.registry,
      apiAuth: () => auth.counters,
      twins: () => hub.twins,
      telemetry: () => hub.telemetry,
    },
    { version: '9.9.9-test', telemetryStatsMaxAgeMs: 0 },
  );
  app = Fastify();
  installProblemHandlers(app);
  for (const s of SHARED_SCHEMAS) app.addSchema(s);
  await app.register(metricsPlugin, { metrics });
  await app.register(debugPlugin, { auth });
  await app.register(devicesPlugin, { auth, registry: hub.registry });
  await app.ready();
});

after(async () => {
  cleanupClients();
  metrics?.close();
  await app?.close();
  await t?.stop();
});

const creds = (id: string) => ({ clientId: id, username: id, password: PASSWORD });

describe('metrics of a running hub', () => {
  test('MQTT traffic moves connections, messages by QoS, bytes, deliveries, drops, telemetry and twins', async () => {
    const s0 = await scrape();
    const d = await connect(t, { ...creds('met-1'), protocolVersion: 5 });
    // No subscriber yet: counted as a drop with cause no-subscribers.
    await d.client.publishAsync('devices/met-1/events', 'nobody listens', { qos: 1 });
    await d.client.subscribeAsync('devices/met-1/telemetry', { qos: 1 });
    for (let i = 0; i < 5; i++) {
      await d.client.publishAsync('devices/met-1/telemetry', JSON.stringify({ temp: 20 + i }), { qos: 0 });
      await d.client.publishAsync('devices/met-1/telemetry', JSON.stringify({ hum: 50 + i }), { qos: 1 });
    }
    await d.client.publishAsync('$aws/things/met-1/shadow/update', JSON.stringify({ state: { reported: { fw: '1.0' } } }), { qos: 1 });
    await waitFor(() => d.log.messages.filter((m) => m.topic === 'devices/met-1/telemetry').length >= 10, 3000, 'own telemetry back');
    const s1 = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}): number => sumOf(s1, name, labels) - sumOf(s0, name, labels);

    assert.equal(valueOf(s1, 'twinhub_mqtt_connections', { listener: 'mqtt', version: '5.0' }), 1);
    assert.equal(delta('twinhub_mqtt_connects_total', { listener: 'mqtt', version: '5.0' }), 1);
    assert.equal(delta('twinhub_messages_published_total', { origin: 'mqtt', qos: '0' }), 5);
    assert.equal(delta('twinhub_messages_published_total', { origin: 'mqtt', qos: '1' }), 7);
    assert.equal(delta('twinhub_messages_received_total'), 12);
    assert.equal(delta('twinhub_messages_delivered_total', { qos: '0' }), 5);
    assert.ok(delta('twinhub_messages_delivered_total', { qos: '1' }) >= 5);
    assert.ok(delta('twinhub_messages_sent_total') >= 10);
    assert.ok(delta('twinhub_mqtt_received_bytes_total') > 10 * 12);
    assert.ok(delta('twinhub_mqtt_sent_bytes_total') > 10 * 12);
    assert.ok(delta('twinhub_messages_dropped_total', { cause: 'no-subscribers' }) >= 1);
    assert.ok(valueOf(s1, 'twinhub_subscriptions')! >= 1);
    assert.ok(valueOf(s1, 'twinhub_sessions')! >= 1);
    assert.equal(valueOf(s1, 'twinhub_mqtt_sockets'), 1);
    assert.ok(delta('twinhub_store_commits_total') >= 1);
    assert.equal(valueOf(s1, 'twinhub_store_writable'), 1);
    assert.equal(valueOf(s1, 'twinhub_devices_online'), 1);
    assert.equal(delta('twinhub_device_auth_total', { result: 'ok' }), 1);
    assert.equal(delta('twinhub_telemetry_messages_total'), 10);
    assert.equal(delta('twinhub_telemetry_points_total'), 10);
    assert.ok(valueOf(s1, 'twinhub_telemetry_series')! >= 2);
    assert.ok(valueOf(s1, 'twinhub_telemetry_stored_points')! >= 10);
    assert.ok(valueOf(s1, 'twinhub_telemetry_bytes_per_point')! > 0);
    await waitFor(async () => sumOf(await scrape(), 'twinhub_twin_requests_total') - sumOf(s0, 'twinhub_twin_requests_total') === 1, 3000, 'twin request counted');
    assert.equal(valueOf(s1, 'twinhub_build_info', { version: '9.9.9-test' }), 1);

    d.client.end(true);
    await waitFor(async () => valueOf(await scrape(), 'twinhub_mqtt_connections', { listener: 'mqtt', version: '5.0' }) === 0, 3000, 'connection gauge back to 0');
    const s2 = await scrape();
    assert.ok(sumOf(s2, 'twinhub_mqtt_disconnects_total') - sumOf(s0, 'twinhub_mqtt_disconnects_total') === 1);
    assert.equal(valueOf(s2, 'twinhub_devices_online'), 0);
  });

  test('connections are labelled by protocol version: 3.1.1 and 5.0 side by side', async () => {
    const a = await connect(t, { ...creds('met-1'), protocolVersion: 4 });
    const b = await connect(t, { ...creds('met-2'), protocolVersion: 5 });
    const s = await scrape();
    assert.equal(valueOf(s, 'twinhub_mqtt_connections', { listener: 'mqtt', version: '3.1.1' }), 1);
    assert.equal(valueOf(s, 'twinhub_mqtt_connections', { listener: 'mqtt', version: '5.0' }), 1);
    // The gauge agrees with the broker's own count.
    assert.equal(sumOf(s, 'twinhub_mqtt_connections'), t.hub.broker.connected);
    a.client.end(true);
    b.client.end(true);
    await waitFor(() => t.hub.broker.connected === 0, 3000, 'disconnects');
  });

  test('refused CONNECTs, ACL denials and API authentication failures are counted', async () => {
    const s0 = await scrape();
    await assert.rejects(connect(t, { ...creds('met-1'), password: 'wrong', protocolVersion: 5 }));
    await assert.rejects(connect(t, { clientId: 'anon-1', protocolVersion: 5 }));
    const d = await connect(t, { ...creds('met-2'), protocolVersion: 5 });
    // Another device's topic: PUBACK 0x87 and SUBACK 0x87 (registry ACL).
    await assert.rejects(d.client.publishAsync('devices/met-1/telemetry', '{"x":1}', { qos: 1 }), /Not authorized/);
    await assert.rejects(d.client.subscribeAsync('devices/met-1/#', { qos: 1 }), /Not authorized/);
    d.client.end(true);
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/devices/met-1' })).statusCode, 401);
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/debug/heap-snapshot', headers: { authorization: `Bearer ${readOnlyKey}` } })).statusCode, 403);
    const s1 = await scrape();
    const delta = (name: string, labels: Record<string, string>): number => sumOf(s1, name, labels) - sumOf(s0, name, labels);
    assert.equal(delta('twinhub_device_auth_total', { result: 'bad_credentials' }), 1);
    assert.equal(delta('twinhub_device_auth_total', { result: 'not_authorized' }), 1);
    assert.equal(delta('twinhub_acl_denied_total', { action: 'publish' }), 1);
    assert.equal(delta('twinhub_acl_denied_total', { action: 'subscribe' }), 1);
    assert.equal(delta('twinhub_http_auth_failures_total', { reason: 'unauthenticated' }), 1);
    assert.equal(delta('twinhub_http_auth_failures_total', { reason: 'forbidden' }), 1);
  });

  test('HTTP requests are timed by route pattern, never by URL', async () => {
    for (const id of ['met-1', 'met-2', 'no-such-device']) {
      await app.inject({ method: 'GET', url: `/api/v1/devices/${id}`, headers: admin });
    }
    await app.inject({ method: 'GET', url: '/not/a/route/met-1' });
    const s = await scrape();
    assert.equal(valueOf(s, 'twinhub_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/devices/:id', status_code: '200' }), 2);
    assert.equal(valueOf(s, 'twinhub_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/devices/:id', status_code: '404' }), 1);
    assert.equal(valueOf(s, 'twinhub_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' }), 1);
    const inf = valueOf(s, 'twinhub_http_request_duration_seconds_bucket', { route: '/api/v1/devices/:id', status_code: '200', le: '+Inf' });
    assert.equal(inf, 2);
  });

  test('the exposition parses, every family has HELP and TYPE, counters end in _total, and no label names a device or client', async () => {
    const fams = await scrape();
    assert.ok(fams.size > 40);
    const forbiddenLabels = new Set(['device', 'device_id', 'deviceId', 'client', 'client_id', 'clientId', 'topic', 'username', 'url']);
    for (const [name, f] of fams) {
      assert.notEqual(f.help, '', `HELP of ${name}`);
      if (name.startsWith('twinhub_') && f.type === 'counter') assert.match(name, /_total$/, `counter ${name}`);
      for (const s of f.samples) {
        for (const [k, v] of Object.entries(s.labels)) {
          assert.ok(!forbiddenLabels.has(k), `${name} has a ${k} label`);
          assert.ok(!/met-\d|anon-1|no-such-device/.test(v), `${name}{${k}="${v}"} carries a device or client id`);
        }
      }
    }
    // Node.js process metrics keep their standard names.
    assert.ok(fams.has('nodejs_eventloop_lag_seconds'));
    assert.ok(fams.has('nodejs_heap_size_used_bytes'));
    assert.ok(fams.has('process_resident_memory_bytes'));
  });

  test('every metric the Grafana dashboard (docs/grafana-dashboard.json) queries is exported', async () => {
    const dashboard = JSON.parse(await readFile(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const fams = await scrape();
    const used = new Set<string>();
    for (const p of dashboard.panels) for (const tg of p.targets ?? []) for (const m of tg.expr.matchAll(/\b((?:twinhub|nodejs|process)_[a-z0-9_]+)/g)) used.add(m[1]!);
    assert.ok(used.size > 30);
    for (const name of used) {
      const family = fams.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(fams.has(family), `the dashboard queries ${name}, which the hub does not export`);
    }
  });

  test('addCollector adds scrape-time metrics (rules) and removes them; a taken name is refused', async () => {
    let hits = 3;
    const remove = metrics.addCollector({
      name: 'twinhub_rule_matches_total',
      help: 'Messages that matched a rule, by rule.',
      type: 'counter',
      read: () => [{ labels: { rule: 'hot-room' }, value: hits }],
    });
    assert.equal(valueOf(await scrape(), 'twinhub_rule_matches_total', { rule: 'hot-room' }), 3);
    hits = 7;
    assert.equal(valueOf(await scrape(), 'twinhub_rule_matches_total', { rule: 'hot-room' }), 7);
    assert.throws(() => metrics.addCollector({ name: 'twinhub_rule_matches_total', help: 'x', type: 'counter', read: () => [] }), /already registered/);
    remove();
    assert.equal((await scrape()).has('twinhub_rule_matches_total'), false);
  });

  test('parts that are absent are left out: no telemetry metrics when telemetry is disabled', async () => {
    const m = createMetrics({ broker: () => t.hub.broker, telemetry: () => undefined }, { defaultMetrics: false });
    try {
      const fams = parseExposition(await m.metrics());
      assert.ok(fams.has('twinhub_messages_received_total'));
      assert.equal(fams.get('twinhub_telemetry_points_total')?.samples.length ?? 0, 0);
      assert.equal(fams.has('twinhub_device_auth_total'), false);
      assert.equal(fams.has('nodejs_eventloop_lag_seconds'), false);
    } finally {
      m.close();
    }
  });

  test('requireKey puts /metrics behind any API key (read-only is enough)', async () => {
    const m = createMetrics({}, { defaultMetrics: false });
    const a = Fastify();
    installProblemHandlers(a);
    await a.register(metricsPlugin, { metrics: m, auth: createApiAuth({ registry: t.hub.registry, config: t.hub.config }), requireKey: true });
    await a.ready();
    try {
      assert.equal((await a.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
      const ok = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${readOnlyKey}` } });
      assert.equal(ok.statusCode, 200);
      assert.match(ok.body, /twinhub_build_info/);
    } finally {
      await a.close();
      m.close();
    }
  });
});

describe('profiling endpoints (admin only)', () => {
  test('without a key 401, with a read-only key 403 (TH_FORBIDDEN)', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/debug/cpu-profile?seconds=1' })).statusCode, 401);
    const r = await app.inject({ method: 'POST', url: '/api/v1/debug/cpu-profile?seconds=1', headers: { authorization: `Bearer ${readOnlyKey}` } });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().code, 'TH_FORBIDDEN');
  });

  test('seconds outside 1..60 is a 400 problem', async () => {
    for (const s of ['0', '61', 'abc', '1.5']) {
      const r = await app.inject({ method: 'POST', url: `/api/v1/debug/cpu-profile?seconds=${s}`, headers: admin });
      assert.equal(r.statusCode, 400, `seconds=${s}: ${r.body}`);
      assert.equal(r.json().code, 'TH_BAD_REQUEST');
    }
  });

  test('an admin gets a V8 .cpuprofile with nodes and samples; a second job meanwhile gets 409', async () => {
    const first = app.inject({ method: 'POST', url: '/api/v1/debug/cpu-profile?seconds=1', headers: admin });
    // Let the first one start its profiler.
    await waitFor(async () => (await import('../../src/obs/profile.js')).profilerBusy() === 'cpu-profile', 2000, 'profile started');
    const second = await app.inject({ method: 'POST', url: '/api/v1/debug/cpu-profile?seconds=1', headers: admin });
    assert.equal(second.statusCode, 409);
    assert.equal(second.json().code, 'TH_PROFILER_BUSY');
    const snap = await app.inject({ method: 'POST', url: '/api/v1/debug/heap-snapshot', headers: admin });
    assert.equal(snap.statusCode, 409);
    // Some work to sample.
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    assert.ok(x > 0);
    const r = await first;
    assert.equal(r.statusCode, 200, r.body.slice(0, 500));
    assert.match(String(r.headers['content-disposition']), /\.cpuprofile"$/);
    const profile = r.json();
    assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0);
    assert.ok(profile.nodes.every((n: { id: number; callFrame: unknown }) => typeof n.id === 'number' && typeof n.callFrame === 'object'));
    assert.ok(profile.endTime > profile.startTime);
    assert.ok(Array.isArray(profile.samples));
    // Free again.
    assert.equal((await import('../../src/obs/profile.js')).profilerBusy(), undefined);
  });

  test('an admin gets a heap snapshot (a .heapsnapshot JSON document)', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/debug/heap-snapshot', headers: admin });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-disposition']), /\.heapsnapshot"$/);
    assert.match(r.body.slice(0, 100), /^\{"snapshot":\{"meta":/);
    assert.ok(r.body.trimEnd().endsWith('}'));
    assert.equal((await import('../../src/obs/profile.js')).profilerBusy(), undefined);
  });
});

describe('twinhub start --cpu-prof', () => {
  test('a graceful stop (SIGTERM) writes the profile of the run to the named file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'twinhub-prof-'));
    try {
      const file = join(dir, 'run.cpuprofile');
      const p = await startHubProcess(['--cpu-prof', file]);
      const r = await p.stop();
      assert.equal(r.code, 0, p.stderr());
      assert.match(p.stderr(), /CPU profile written to .*run\.cpuprofile/);
      const profile = JSON.parse(await readFile(file, 'utf8'));
      assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0);
      assert.ok(profile.endTime > profile.startTime);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
