// The rule engine against a real hub (issue 6 "Proof"): rule files dropped in the folder act
// within a second, a broken edit is refused while the old rule keeps working, loops stop at the
// hop limit, webhooks retry and their circuit breaker opens and closes, alerts are raised with
// dedup and cleared, priority lanes order work under saturation, twin and telemetry actions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connectClient, sleep, waitFor } from '../helpers/mqtt.js';
import { RuleEngine, type RuleEngineOptions } from '../../src/core/rules/engine.js';
import type { Message } from '../../src/core/message.js';
import { silentLogger } from '../../src/obs/log.js';

let t: TestHub;
const engines: RuleEngine[] = [];
const folders: string[] = [];

before(async () => {
  t = await startTestHub();
});

after(async () => {
  for (const e of engines) await e.stop();
  cleanupClients();
  await t.stop();
  for (const f of folders) await rm(f, { recursive: true, force: true });
});

async function newEngine(options: Partial<RuleEngineOptions> = {}, folder?: string): Promise<{ engine: RuleEngine; folder: string }> {
  // One engine at a time on the shared hub: an earlier test's rules must not act on this one's messages.
  for (const e of engines.splice(0)) await e.stop();
  const dir = folder ?? (await mkdtemp(join(tmpdir(), 'twinhub-rules-')));
  if (folder === undefined) folders.push(dir);
  const engine = new RuleEngine({
    broker: t.hub.broker,
    log: silentLogger(),
    folder: join(dir, 'rules'),
    twins: t.hub.twins,
    ...(t.hub.telemetry ? { telemetry: t.hub.telemetry } : {}),
    registry: t.hub.registry,
    options: { maxHops: 8, webhook: { queueSize: 100, concurrency: 4, backoffBaseMs: 20, backoffMaxMs: 100 }, errorLogSize: 20, ...options },
  });
  engines.push(engine);
  await engine.start();
  return { engine, folder: join(dir, 'rules') };
}

function publish(topic: string, payload: unknown, deviceId?: string, hops = 0): void {
  const origin: Message['origin'] = { protocol: 'mqtt', clientId: deviceId ?? 'client-1' };
  if (deviceId !== undefined) origin.deviceId = deviceId;
  t.hub.broker.publish({
    topic,
    payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    qos: 0,
    retain: false,
    origin,
    properties: undefined,
    receivedAt: Date.now(),
    expiresAt: 0,
    priority: 0,
    hops,
    frame: undefined,
  });
}

/** Messages published on topics matching `prefix`, as the hub routes them. */
function capture(prefix: string): { messages: Message[]; stop: () => void } {
  const messages: Message[] = [];
  const stop = t.hub.broker.hooks.on('message.publish', (m) => {
    if (m.topic.startsWith(prefix)) messages.push({ ...m, payload: Buffer.from(m.payload) });
  });
  return { messages, stop };
}

async function httpServer(handler: (req: IncomingMessage, body: string) => number): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hits++;
      res.statusCode = handler(req, body);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, server, hits: () => hits };
}

const HOT = (extra = '') => `id: hot
sql: SELECT payload.temp AS t FROM 'devices/+/telemetry' WHERE payload.temp > 30
actions:
  - republish: {topic: "alerts/\${deviceid}", payload: "{\\"t\\": \${t}}"${extra}}
`;

test('a rule file dropped in the folder acts within a second (fs.watch, no rescan)', async () => {
  const { engine, folder } = await newEngine({ rescanMs: 0 });
  const cap = capture('alerts/');
  try {
    const started = Date.now();
    await writeFile(join(folder, 'hot.yaml'), HOT());
    const out = await waitFor(
      () => {
        publish('devices/d1/telemetry', { temp: 35 }, 'd1');
        return cap.messages.find((m) => m.topic === 'alerts/d1');
      },
      1000,
      'the dropped rule to act',
    );
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(JSON.parse(out.payload.toString()), { t: 35 });
    assert.equal(out.origin.protocol, 'rule');
    assert.equal(out.hops, 1);
    // Below the WHERE threshold: matched but no output.
    const before = engine.get('hot')!.counters;
    publish('devices/d1/telemetry', { temp: 10 }, 'd1');
    const c = engine.get('hot')!.counters;
    assert.equal(c.matched, before.matched + 1);
    assert.equal(c.passedWhere, before.passedWhere);
    assert.ok(c.evalCount > 0 && c.evalTimeMaxUs > 0);
  } finally {
    cap.stop();
  }
});

test('a broken edit is refused with line/column and the old version keeps working; deleting the file removes the rule', async () => {
  const { engine, folder } = await newEngine();
  const cap = capture('alerts/');
  try {
    await writeFile(join(folder, 'hot.yaml'), HOT());
    await engine.rescan();
    assert.equal(engine.get('hot')?.status, 'active');
    await writeFile(join(folder, 'hot.yaml'), "id: hot\nsql: SELECT payload.temp AS t FROM 'devices/+/telemetry' WHERE\nactions: []\n");
    await engine.rescan();
    const s = engine.get('hot')!;
    assert.equal(s.status, 'active', 'the previous version still runs');
    assert.ok(s.loadErrors && s.loadErrors.length > 0);
    assert.equal(s.loadErrors[0]!.file, 'hot.yaml');
    assert.equal(s.loadErrors[0]!.line, 2);
    assert.ok(typeof s.loadErrors[0]!.column === 'number');
    publish('devices/d2/telemetry', { temp: 40 }, 'd2');
    await waitFor(() => cap.messages.find((m) => m.topic === 'alerts/d2'), 1000, 'the old rule to act');
    // A file that never loaded is listed as invalid.
    await writeFile(join(folder, 'bad.yaml'), 'id: bad\nsql: 3\n');
    await engine.rescan();
    assert.equal(engine.get('bad')?.status, 'invalid');
    assert.equal(engine.stats().invalid, 1);
    await rm(join(folder, 'hot.yaml'));
    await engine.rescan();
    assert.equal(engine.get('hot'), undefined);
    const n = cap.messages.length;
    publish('devices/d2/telemetry', { temp: 40 }, 'd2');
    await sleep(50);
    assert.equal(cap.messages.length, n, 'a removed rule no longer acts');
  } finally {
    cap.stop();
  }
});

test('loops: a rule republishing to its own FROM stops at maxHops, the drop counted', async () => {
  const { engine, folder } = await newEngine({ maxHops: 8 });
  await writeFile(join(folder, 'loop.yaml'), "id: loop\nsql: SELECT * FROM 'loop/x'\nactions:\n  - republish: {topic: loop/x}\n");
  await engine.rescan();
  const cap = capture('loop/');
  try {
    publish('loop/x', { n: 1 });
    await waitFor(() => engine.stats().loopDropped >= 1, 2000, 'the hop limit');
    await sleep(50);
    const produced = cap.messages.filter((m) => m.hops > 0).map((m) => m.hops);
    // Issue 6: "a message produced by a rule carries a hop count, and one that would pass a
    // configurable depth (default 8) is dropped and counted instead of re-entering the rules".
    assert.deepEqual(produced, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(engine.stats().loopDropped, 1);
    const errs = engine.errors('loop')!;
    assert.match(errs.at(-1)!.error, /maxHops/);
    assert.equal(errs.at(-1)!.message?.topic, 'loop/x');
    // A message that arrives already past the limit does not enter the rules.
    const matched = engine.get('loop')!.counters.matched;
    publish('loop/x', {}, undefined, 9);
    assert.equal(engine.get('loop')!.counters.matched, matched);
    assert.equal(engine.stats().loopDropped, 2);
  } finally {
    cap.stop();
  }
});

test('webhook: retries with backoff against a server that fails, then recovers', async () => {
  let calls = 0;
  const bodies: string[] = [];
  const headers: string[] = [];
  const srv = await httpServer((req, body) => {
    calls++;
    bodies.push(body);
    headers.push(String(req.headers['x-temp']));
    return calls <= 2 ? 503 : 204;
  });
  try {
    const { engine, folder } = await newEngine();
    await writeFile(
      join(folder, 'hook.yaml'),
      `id: hook\nsql: SELECT payload.temp AS t, deviceid() AS d FROM 'wh/+'\nactions:\n  - webhook: {url: "${srv.url}/in", headers: {x-temp: "\${t}"}, retries: 3, timeoutMs: 2000}\n`,
    );
    await engine.rescan();
    publish('wh/a', { temp: 21 }, 'dev-a');
    await waitFor(() => engine.get('hook')!.counters.actionsOk === 1, 3000, 'the webhook to succeed');
    assert.equal(srv.hits(), 3, 'two failures, then the retry that succeeded');
    assert.deepEqual(JSON.parse(bodies[2]!), { t: 21, d: 'dev-a' });
    assert.equal(headers[2], '21');
    const w = engine.stats().webhook;
    assert.equal(w.retries, 2);
    assert.equal(engine.get('hook')!.counters.actionsFailed, 0);
    // Retries exhausted: the failure is recorded with the message.
    calls = -100;
    publish('wh/a', { temp: 22 }, 'dev-a');
    await waitFor(() => engine.get('hook')!.counters.actionsFailed === 1, 3000, 'the webhook to fail');
    const err = engine.errors('hook')!.at(-1)!;
    assert.equal(err.stage, 'webhook#0');
    assert.match(err.error, /HTTP 503/);
    assert.equal(err.message?.payload, '{"temp":22}');
  } finally {
    srv.server.close();
  }
});

test('webhook: the circuit breaker opens after consecutive failures, fails fast, half-opens after the cool-down and closes on success', async () => {
  let ok = false;
  const srv = await httpServer(() => (ok ? 200 : 500));
  try {
    const { engine, folder } = await newEngine({ webhook: { queueSize: 100, concurrency: 1, breakerThreshold: 3, breakerCoolDownMs: 300, backoffBaseMs: 10, backoffMaxMs: 10 } });
    await writeFile(join(folder, 'cb.yaml'), `id: cb\nsql: SELECT * FROM 'cb/+'\nactions:\n  - webhook: {url: "${srv.url}/x", retries: 0}\n`);
    await engine.rescan();
    for (let i = 1; i <= 3; i++) {
      publish('cb/a', { i });
      await waitFor(() => engine.get('cb')!.counters.actionsFailed === i, 2000, `failure ${i}`);
    }
    assert.equal(engine.webhook.breakerState(srv.url), 'open');
    assert.equal(srv.hits(), 3);
    publish('cb/a', { i: 4 });
    publish('cb/a', { i: 5 });
    await waitFor(() => engine.get('cb')!.counters.actionsFailed === 5, 2000, 'fast failures');
    assert.equal(srv.hits(), 3, 'no request while the circuit is open');
    assert.match(engine.errors('cb')!.at(-1)!.error, /circuit open/);
    const ep = engine.stats().webhook.endpoints.find((e) => e.endpoint === srv.url)!;
    assert.equal(ep.rejected, 2);
    assert.equal(ep.opened, 1);
    ok = true;
    await sleep(320);
    assert.equal(engine.webhook.breakerState(srv.url), 'half-open');
    publish('cb/a', { i: 6 });
    await waitFor(() => engine.get('cb')!.counters.actionsOk === 1, 2000, 'the trial request');
    assert.equal(engine.webhook.breakerState(srv.url), 'closed');
    assert.equal(srv.hits(), 4);
  } finally {
    srv.server.close();
  }
});

test('webhook: a failed half-open trial opens the circuit again', async () => {
  const srv = await httpServer(() => 500);
  try {
    const { engine, folder } = await newEngine({ webhook: { queueSize: 100, concurrency: 1, breakerThreshold: 1, breakerCoolDownMs: 100, backoffBaseMs: 10, backoffMaxMs: 10 } });
    await writeFile(join(folder, 'cb2.yaml'), `id: cb2\nsql: SELECT * FROM 'cb2/+'\nactions:\n  - webhook: {url: "${srv.url}/x", retries: 0}\n`);
    await engine.rescan();
    publish('cb2/a', {});
    await waitFor(() => engine.webhook.breakerState(srv.url) === 'open', 2000, 'open');
    await sleep(120);
    publish('cb2/a', {});
    await waitFor(() => engine.get('cb2')!.counters.actionsFailed === 2, 2000, 'the trial');
    assert.equal(srv.hits(), 2);
    assert.equal(engine.webhook.breakerState(srv.url), 'open');
    assert.equal(engine.stats().webhook.endpoints[0]!.opened, 2);
  } finally {
    srv.server.close();
  }
});

test('alerts: raised once per key (count, first/last), cleared by the clear condition, persisted across a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-rules-'));
  folders.push(dir);
  const { engine, folder } = await newEngine({}, dir);
  await writeFile(
    join(folder, 'heat.yaml'),
    `id: heat\npriority: 100\nsql: SELECT payload.temp AS t FROM 'heat/+' WHERE payload.temp > 30\nactions:\n  - alert: {severity: critical, key: "hot-\${deviceid}", message: "temperature \${t}", clear: "payload.temp < 25"}\n`,
  );
  await engine.rescan();
  publish('heat/a', { temp: 35 }, 'ha');
  publish('heat/a', { temp: 36 }, 'ha');
  publish('heat/b', { temp: 40 }, 'hb');
  await waitFor(() => engine.alerts.get('hot-ha')?.count === 2 && engine.alerts.get('hot-hb'), 1000, 'alerts');
  const a = engine.alerts.get('hot-ha')!;
  assert.equal(a.severity, 'critical');
  assert.equal(a.message, 'temperature 36');
  assert.equal(a.ruleId, 'heat');
  assert.ok(a.lastAt >= a.firstAt);
  assert.equal(engine.alerts.list().length, 2);
  // Neither raising nor clearing: no change.
  publish('heat/a', { temp: 28 }, 'ha');
  publish('heat/a', { temp: 20 }, 'ha');
  await waitFor(() => engine.alerts.get('hot-ha') === undefined, 1000, 'the clear condition');
  assert.ok(engine.alerts.get('hot-hb'), 'other keys stay open');
  await engine.alerts.flush();
  const saved = JSON.parse(await readFile(join(folder, '.alerts.json'), 'utf8')) as { alerts: Array<{ key: string }> };
  assert.deepEqual(saved.alerts.map((x) => x.key), ['hot-hb']);
  await engine.stop();
  const again = await newEngine({}, dir);
  assert.equal(again.engine.alerts.get('hot-hb')?.count, 1, 'an open alert survives a restart');
  assert.ok(again.engine.alerts.clear('hot-hb', 'operator'));
  assert.equal(again.engine.alerts.list().length, 0);
});

test('priority lanes: under a saturated queue the higher priority runs first; lane drops are counted', async () => {
  const { engine, folder } = await newEngine({ laneQueueSize: 50, laneBatch: 10 });
  await writeFile(join(folder, 'bulk.yaml'), "id: bulk\npriority: 0\nsql: SELECT payload.i AS i FROM 'load/+'\nactions:\n  - republish: {topic: out/low}\n");
  await writeFile(join(folder, 'urgent.yaml'), "id: urgent\npriority: 10\nsql: SELECT payload.i AS i FROM 'load/+'\nactions:\n  - republish: {topic: out/high}\n");
  await engine.rescan();
  const cap = capture('out/');
  try {
    // 100 messages in one turn: 100 jobs per lane offered, 50 fit.
    for (let i = 0; i < 100; i++) publish('load/a', { i });
    await waitFor(() => cap.messages.length === 100, 2000, 'the lanes to drain');
    const order = cap.messages.map((m) => m.topic);
    assert.deepEqual(order, [...Array<string>(50).fill('out/high'), ...Array<string>(50).fill('out/low')]);
    assert.deepEqual(cap.messages.slice(0, 3).map((m) => JSON.parse(m.payload.toString()).i), [0, 1, 2], 'FIFO within a lane');
    const lanes = engine.stats().lanes;
    assert.deepEqual(lanes.map((l) => [l.priority, l.dropped, l.ran, l.depth]), [
      [10, 50, 50, 0],
      [0, 50, 50, 0],
    ]);
    assert.equal(engine.get('bulk')!.counters.actionsDropped, 50);
  } finally {
    cap.stop();
  }
});

test('twin action: updates the device twin with typed values from the output row', async () => {
  const { engine, folder } = await newEngine();
  await writeFile(
    join(folder, 'tw.yaml'),
    "id: tw\nsql: SELECT payload.temp AS t FROM 'tw/+'\nactions:\n  - twin: {reported: {temp: \"${t}\", note: \"t=${t}\", fixed: 1}}\n",
  );
  await engine.rescan();
  publish('tw/x', { temp: 23.5 }, 'twin-dev-1');
  await waitFor(() => engine.get('tw')!.counters.actionsOk === 1, 2000, 'the twin update');
  const doc = await t.hub.twins.get('twin-dev-1', '');
  assert.deepEqual(doc?.state.reported, { temp: 23.5, note: 't=23.5', fixed: 1 });
  // No device id and no device template: the action fails and says why.
  publish('tw/x', { temp: 1 });
  await waitFor(() => engine.get('tw')!.counters.actionsFailed === 1, 2000, 'the failure');
  assert.match(engine.errors('tw')!.at(-1)!.error, /no device/);
});

test('telemetry action: output fields stored as points of the device', async () => {
  const { engine, folder } = await newEngine();
  await writeFile(join(folder, 'tm.yaml'), "id: tm\nsql: SELECT payload.v * 2 AS doubled, 'x' AS label FROM 'calc/+'\nactions:\n  - telemetry: {device: \"calc-${deviceid}\"}\n");
  await engine.rescan();
  publish('calc/a', { v: 21 }, 'c1');
  await waitFor(() => engine.get('tm')!.counters.actionsOk === 1, 2000, 'the telemetry action');
  const latest = await t.hub.telemetry!.latest('calc-c1');
  assert.deepEqual(latest.map((p) => [p.metric, p.value]), [['doubled', 42]]);
});

test('device attributes: a rule reading device.* fetches the registry record, in message order', async () => {
  await t.hub.registry.createDevice({ id: 'reg-dev-1', type: 'thermo', tags: { site: 'north' } });
  const { engine, folder } = await newEngine();
  await writeFile(join(folder, 'dv.yaml'), "id: dv\nsql: SELECT device.type AS ty, payload.n AS n FROM 'dv/+' WHERE device.tags.site = 'north'\nactions:\n  - republish: {topic: \"dvout/${ty}\"}\n");
  await engine.rescan();
  const cap = capture('dvout/');
  try {
    for (let n = 0; n < 20; n++) publish('dv/a', { n }, 'reg-dev-1');
    publish('dv/a', { n: 99 }, 'someone-else');
    await waitFor(() => cap.messages.length === 20 && engine.get('dv')!.counters.matched === 21 && engine.get('dv')!.pending === 0, 2000, 'the outputs');
    assert.equal(cap.messages[0]!.topic, 'dvout/thermo');
    assert.deepEqual(cap.messages.map((m) => JSON.parse(m.payload.toString()).n), [...Array(20).keys()]);
  } finally {
    cap.stop();
  }
});

test('presence: FROM $events/client_disconnected sees disconnects even when nobody subscribes to $events', async () => {
  const { engine, folder } = await newEngine();
  await writeFile(join(folder, 'gone.yaml'), "id: gone\nsql: SELECT payload.clientId AS c, payload.reason AS why FROM '$events/client_disconnected'\nactions:\n  - alert: {severity: warning, key: \"offline-${c}\"}\n");
  await engine.rescan();
  const c = await connectClient({ mqttUrl: t.mqttUrl }, { clientId: 'presence-1' });
  c.end(true);
  await waitFor(() => engine.alerts.get('offline-presence-1'), 2000, 'the disconnect alert');
  assert.equal(engine.alerts.list().length, 1);
});

test('a message no rule wants costs a cache lookup: rules of other topics are not evaluated', async () => {
  const { engine, folder } = await newEngine();
  await writeFile(join(folder, 'only.yaml'), "id: only\nsql: SELECT * FROM 'only/this'\nactions: []\n");
  await engine.rescan();
  for (let i = 0; i < 100; i++) publish(`other/${i % 3}`, {});
  publish('only/this', {});
  assert.equal(engine.get('only')!.counters.matched, 1);
  assert.equal(engine.get('only')!.counters.evalCount, 1);
});

test('windowed rules: a time window closed by another device\'s message is not given that message\'s context; a COUNT window keeps its own closing message\'s', async () => {
  // The timer must not close the windows here: the next message does.
  const { engine, folder } = await newEngine({ windowTickMs: 3_600_000 });
  const cap = capture('win-out/');
  try {
    await writeFile(
      join(folder, 'tumble.yaml'),
      "id: tumble\nsql: SELECT count(*) AS n FROM 'win/+' GROUP BY deviceid() WINDOW TUMBLING(1s)\nactions:\n  - republish: {topic: win-out/tumble, payload: \"${n} ${clientid}|${topic}\"}\n",
    );
    await writeFile(
      join(folder, 'counted.yaml'),
      "id: counted\nsql: SELECT count(*) AS n FROM 'cnt/+' GROUP BY deviceid() WINDOW COUNT(2)\nactions:\n  - republish: {topic: win-out/count, payload: \"${n} ${clientid}|${topic}\"}\n",
    );
    await engine.rescan();
    publish('win/a', {}, 'dev-a');
    await sleep(1100); // past the end of dev-a's one-second window
    publish('win/b', {}, 'dev-b'); // closes dev-a's window (every key's window ends at the boundary)
    const tumbled = await waitFor(() => cap.messages.find((m) => m.topic === 'win-out/tumble'), 1000, "dev-a's window row");
    // Not "1 dev-b|win/b": dev-b's message only noticed that the window had ended.
    assert.equal(tumbled.payload.toString(), '1 |');
    publish('cnt/a', {}, 'dev-a');
    publish('cnt/a', {}, 'dev-a');
    const counted = await waitFor(() => cap.messages.find((m) => m.topic === 'win-out/count'), 1000, "dev-a's count window row");
    assert.equal(counted.payload.toString(), '2 dev-a|cnt/a');
  } finally {
    cap.stop();
  }
});
