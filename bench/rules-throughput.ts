// Rule engine cost on the hub's publish path: messages/s through Broker.publish (hook listeners,
// routing) for 10,000 devices' JSON telemetry, without a rule engine, with an engine holding no
// rules, and with 100 rules (60 of which match every message: WHERE filters, arithmetic, CASE,
// republish/log actions on the few rows that pass; 30 on single devices; 10 on topics that never
// match). Also rule evaluations/s. In process, no sockets: it isolates what the rules add to the
// message path. Prints one JSON line.
//
//   node --import tsx bench/rules-throughput.ts [--seconds 3] [--devices 10000]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../src/config/load.js';
import { startHub } from '../src/main/hub.js';
import type { Broker } from '../src/core/broker/broker.js';
import { RuleEngine } from '../src/core/rules/engine.js';
import { silentLogger } from '../src/obs/log.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const SECONDS = arg('seconds', 3);
const DEVICES = arg('devices', 10_000);
const CHUNK = 5000;

let seed = 0x9e3779b9;
function rnd(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

function rules(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < 40; i++) {
    const action = i < 10 ? '  - republish: {topic: "alerts/${d}/hot"}\n' : '  - log: {level: trace}\n';
    out.push([`hot-${i}`, `sql: SELECT payload.temp AS t, deviceid() AS d FROM 'devices/+/telemetry' WHERE payload.temp > ${45 + i * 0.1}\nactions:\n${action}`]);
  }
  for (let i = 0; i < 20; i++) {
    out.push([
      `calc-${i}`,
      `sql: SELECT payload.temp * 1.8 + 32 AS f, CASE WHEN payload.hum > 80 THEN 'wet' ELSE 'dry' END AS h FROM 'devices/+/telemetry' WHERE payload.hum > ${98 + i * 0.05} AND payload.seq IS NOT NULL\nactions:\n  - log: {level: trace}\n`,
    ]);
  }
  for (let i = 0; i < 30; i++) out.push([`one-${i}`, `sql: SELECT * FROM 'devices/d${i * 7}/telemetry' WHERE payload.temp < 0\nactions:\n  - log: {level: trace}\n`]);
  for (let i = 0; i < 10; i++) out.push([`none-${i}`, `sql: SELECT * FROM 'factory/${i}/#'\nactions:\n  - log: {level: trace}\n`]);
  return out;
}

interface Phase {
  msgPerSec: number;
  messages: number;
}

function messages(n: number): Array<{ topic: string; payload: Buffer; device: string }> {
  const out: Array<{ topic: string; payload: Buffer; device: string }> = [];
  for (let i = 0; i < n; i++) {
    const d = `d${rnd(DEVICES)}`;
    const body = { temp: rnd(5000) / 100, hum: rnd(10000) / 100, seq: i };
    out.push({ topic: `devices/${d}/telemetry`, payload: Buffer.from(JSON.stringify(body)), device: d });
  }
  return out;
}

async function run(broker: Broker, msgs: ReturnType<typeof messages>, seconds: number): Promise<Phase> {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let n = 0;
  let k = 0;
  while (performance.now() < deadline) {
    const now = Date.now();
    for (let i = 0; i < CHUNK; i++) {
      const m = msgs[k++ % msgs.length]!;
      broker.publish({ topic: m.topic, payload: m.payload, qos: 0, retain: false, origin: { protocol: 'mqtt', clientId: m.device, deviceId: m.device }, properties: undefined, receivedAt: now, expiresAt: 0, priority: 0, hops: 0, frame: undefined });
    }
    n += CHUNK;
    // Let the action lanes drain (they run once per turn), as a live hub would.
    await new Promise<void>((r) => setImmediate(r));
  }
  const secs = (performance.now() - started) / 1000;
  return { msgPerSec: Math.round(n / secs), messages: n };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-bench-rules-'));
  const config = buildConfig({
    objects: [{ value: { data: dir, mqtt: '127.0.0.1:0', ws: null, http: null, persistence: { enabled: false }, telemetry: { enabled: false }, log: { level: 'silent' } }, label: 'bench' }],
  }).config;
  const hub = await startHub(config, { log: silentLogger(), out: () => {} });
  try {
    const msgs = messages(50_000);
    await run(hub.broker, msgs, 1); // warm-up
    const without = await run(hub.broker, msgs, SECONDS);

    const emptyEngine = new RuleEngine({ broker: hub.broker, log: silentLogger(), folder: join(dir, 'rules-empty'), options: { maxHops: 8, webhook: { queueSize: 1000, concurrency: 4 }, errorLogSize: 10, rescanMs: 0 } });
    await emptyEngine.start();
    const empty = await run(hub.broker, msgs, SECONDS);
    await emptyEngine.stop();

    const folder = join(dir, 'rules');
    const engine = new RuleEngine({ broker: hub.broker, log: silentLogger(), folder, options: { maxHops: 8, webhook: { queueSize: 1000, concurrency: 4 }, errorLogSize: 10, rescanMs: 0 } });
    await engine.start();
    for (const [id, body] of rules()) await writeFile(join(folder, `${id}.yaml`), `id: ${id}\n${body}`);
    await engine.rescan();
    const st = engine.stats();
    if (st.active !== 100) throw new Error(`expected 100 active rules, got ${st.active}: ${JSON.stringify(engine.list().filter((r) => r.loadErrors).map((r) => r.loadErrors))}`);
    await run(hub.broker, msgs, 1); // warm-up (route cache, JIT)
    const routes = hub.broker.routes;
    const hits0 = routes.cacheHits;
    const misses0 = routes.cacheMisses;
    const evalsBefore = engine.list().reduce((s, r) => s + r.counters.evalCount, 0);
    const okBefore = engine.list().reduce((s, r) => s + r.counters.actionsOk, 0);
    const withRules = await run(hub.broker, msgs, SECONDS);
    const list = engine.list();
    const evals = list.reduce((s, r) => s + r.counters.evalCount, 0) - evalsBefore;
    const actions = list.reduce((s, r) => s + r.counters.actionsOk, 0) - okBefore;
    const evalUs = list.reduce((s, r) => s + r.counters.evalTimeSumUs, 0) / Math.max(1, list.reduce((s, r) => s + r.counters.evalCount, 0));
    await engine.stop();
    console.log(
      JSON.stringify({
        bench: 'rules-throughput',
        devices: DEVICES,
        rules: 100,
        rulesMatchingEachMessage: 60,
        seconds: SECONDS,
        publishPerSecNoEngine: without.msgPerSec,
        publishPerSecEngineNoRules: empty.msgPerSec,
        publishPerSec100Rules: withRules.msgPerSec,
        ratio100RulesVsNone: Number((withRules.msgPerSec / without.msgPerSec).toFixed(3)),
        ruleEvaluationsPerSec: Math.round(evals / (withRules.messages / withRules.msgPerSec)),
        meanEvalMicros: Number(evalUs.toFixed(3)),
        actionsPerSec: Math.round(actions / (withRules.messages / withRules.msgPerSec)),
        routeCacheHits: routes.cacheHits - hits0,
        routeCacheMisses: routes.cacheMisses - misses0,
        node: process.version,
      }),
    );
  } finally {
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
