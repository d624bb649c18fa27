// Telemetry end to end: a real hub, devices publishing over MQTT, the telemetry service storing
// points in an LMDB series store, queries through the service and over HTTP, then the store
// closed and reopened (a restart) and queried again.
//
// Issue 5 "Durability: a point from a QoS 1 publish is in the write-ahead log before the PUBACK":
// the PUBACK-waits test holds the WAL write and checks the PUBACK does not arrive meanwhile.
//
// The ingestor here is a small stand-in for the default mapping (`devices/{deviceId}/telemetry`,
// a JSON object of numbers with an optional `ts`), so this file tests the store and service
// independently of the ingestion parsers (src/core/telemetry/ingest has its own tests).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../src/adapters/lmdb/series-store.js';
import { MemorySeriesStore } from '../../src/adapters/memory/series-store.js';
import type { ApiAuth } from '../../src/api/context.js';
import { telemetryPlugin } from '../../src/api/plugins/telemetry.js';
import { installProblemHandlers } from '../../src/api/problem.js';
import type { Ingestor, IngestResult } from '../../src/core/telemetry/ingest/index.js';
import { TelemetryService } from '../../src/core/telemetry/service.js';
import { silentLogger } from '../../src/obs/log.js';
import type { SeriesStore, WalEntry, SeriesRecord } from '../../src/ports/series-store.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, closeAll, collect, connectClient, subscribe, uid, waitFor, withTimeout } from '../helpers/mqtt.js';

const TOPIC = /^devices\/([^/]+)\/telemetry$/;

/** The default mapping's shape, minimal: numbers and booleans are points, anything else a dead letter. */
const ingestor: Ingestor = {
  ingest(topic: string, payload: Buffer, receivedAt: number): IngestResult | undefined {
    const m = TOPIC.exec(topic);
    if (m === null) return undefined;
    const device = m[1]!;
    const out: IngestResult = { points: [], deadLetters: [] };
    let obj: unknown;
    try {
      obj = JSON.parse(payload.toString('utf8'));
    } catch {
      out.deadLetters.push({ device, topic, reason: 'payload is not JSON' });
      return out;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      out.deadLetters.push({ device, topic, reason: 'payload is not a JSON object' });
      return out;
    }
    const rec = obj as Record<string, unknown>;
    const ts = typeof rec.ts === 'number' ? rec.ts : typeof rec.ts === 'string' ? Date.parse(rec.ts) : receivedAt;
    for (const [k, v] of Object.entries(rec)) {
      if (k === 'ts') continue;
      if (typeof v === 'number' || typeof v === 'boolean') out.points.push({ device, metric: k, ts, value: v });
      else out.deadLetters.push({ device, topic, reason: `field ${k} is not a number`, field: k });
    }
    return out;
  },
  match: () => undefined,
} as unknown as Ingestor;

const openAuth: ApiAuth = { require: () => async () => undefined };

async function httpApp(telemetry: TelemetryService): Promise<FastifyInstance> {
  const app = Fastify();
  installProblemHandlers(app);
  await app.register(telemetryPlugin, { auth: openAuth, telemetry });
  await app.ready();
  return app;
}

/** A store whose WAL writes wait until released (to watch the PUBACK wait for them). */
class GatedStore {
  gate: Promise<void> | null = null;
  release: () => void = () => undefined;
  constructor(readonly inner: SeriesStore) {}
  close(): void {
    const p = new Promise<void>((r) => (this.release = r));
    this.gate = p;
  }
  open(): void {
    this.release();
    this.gate = null;
  }
  wrap(): SeriesStore {
    const inner = this.inner;
    const self = this;
    return new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'appendWal') {
          return async (entry: WalEntry, fresh: readonly SeriesRecord[]) => {
            const g = self.gate;
            if (g !== null) await g;
            return inner.appendWal(entry, fresh);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}

const OPTIONS = { lateWindowMs: 3_600_000, chunkMaxPoints: 8, retentionMs: 0 };

describe('telemetry over MQTT into the LMDB series store', () => {
  let t: TestHub;
  let dir: string;
  let store: LmdbSeriesStore;
  let service: TelemetryService;
  const log = silentLogger();

  before(async () => {
    t = await startTestHub({ config: { telemetry: { enabled: false } } }); // the suite runs services of its own
    dir = await mkdtemp(join(tmpdir(), 'twinhub-telemetry-'));
    store = await openLmdbSeriesStore(dir, { fsync: false });
    service = new TelemetryService({ broker: t.hub.broker, store, ingestor, log, options: OPTIONS });
    await service.start();
  });

  after(async () => {
    cleanupClients();
    await service.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores what devices publish, answers over the service and HTTP, and again after the store is reopened', async () => {
    const c = await connectClient(t);
    const base = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    // 3 devices × 20 points, every 10 s, one published out of order; QoS 1: acknowledged = durable.
    const order = Array.from({ length: 20 }, (_, i) => i);
    [order[5], order[6]] = [order[6]!, order[5]!];
    for (const i of order) {
      for (const d of ['d1', 'd2', 'd3']) {
        await c.publishAsync(`devices/${d}/telemetry`, JSON.stringify({ ts: base + i * 10_000, temp: 20 + i / 10, count: i, on: i % 2 === 0 }), { qos: 1 });
      }
    }
    await closeAll(c);

    const raw = [];
    for await (const s of service.query({ devices: ['d2'], metrics: ['temp'], from: base, to: base + 1_000_000 })) {
      for await (const page of s.pages()) raw.push(...page);
    }
    assert.equal(raw.length, 20);
    assert.deepEqual(raw[5], [base + 50_000, 20 + 5 / 10]);
    assert.deepEqual(raw[19], [base + 190_000, 20 + 19 / 10]);

    const app = await httpApp(service);
    try {
      const q = async (url: string) => {
        const r = await app.inject({ method: 'GET', url });
        assert.equal(r.statusCode, 200, r.body);
        return r.json() as { series: Array<{ device: string; metric: string; points: Array<[number, number | boolean]> }> };
      };
      // The shape other tools rely on (issue 5): {"series": [{"device","metric","points": [[ts_ms, value]]}]}.
      const one = await q(`/api/v1/telemetry/query?device=d1&metric=count&from=${base}&to=${base + 199_999}`);
      assert.deepEqual(Object.keys(one), ['series']);
      assert.deepEqual(Object.keys(one.series[0]!), ['device', 'metric', 'points']);
      assert.deepEqual(one.series[0]!.points.map((p) => p[1]), order.slice().sort((a, b) => a - b));
      // ISO 8601 times, several devices, a step and an aggregation.
      const agg = await q(`/api/v1/telemetry/query?device=d1,d3&metric=count&from=2026-01-01T00:00:00Z&to=2026-01-01T00:03:19.999Z&step=60s&agg=sum`);
      assert.deepEqual(agg.series.map((s) => s.device), ['d1', 'd3']);
      assert.deepEqual(agg.series[0]!.points, [[base, 15], [base + 60_000, 51], [base + 120_000, 87], [base + 180_000, 37]]);
      const p90 = await q(`/api/v1/telemetry/query?device=d1&metric=count&from=${base}&to=${base + 199_999}&step=1h&agg=p90`);
      assert.deepEqual(p90.series[0]!.points, [[base, 17]]);
      const bools = await q(`/api/v1/telemetry/query?device=d1&metric=on&from=${base}&to=${base + 10_000}`);
      assert.deepEqual(bools.series[0]!.points, [[base, true], [base + 10_000, false]]);
      const csv = await app.inject({ method: 'GET', url: `/api/v1/telemetry/query?device=d3&metric=temp&from=${base}&to=${base + 10_000}&format=csv` });
      assert.equal(csv.body, `device,metric,ts,value\r\nd3,temp,${base},20\r\nd3,temp,${base + 10_000},20.1\r\n`);
      const stats = await app.inject({ method: 'GET', url: '/api/v1/telemetry/stats' });
      const st = stats.json() as { series: number; points: number; bytes: number; bytesPerPoint: number };
      assert.equal(st.series, 9);
      assert.equal(st.points, 180);
      assert.ok(st.bytes > 0 && st.bytesPerPoint > 0 && st.bytesPerPoint < 16, JSON.stringify(st));
      const latest = await app.inject({ method: 'GET', url: '/api/v1/telemetry/latest?device=d2' });
      assert.deepEqual((latest.json() as { latest: unknown[] }).latest, [
        { device: 'd2', metric: 'count', ts: base + 190_000, value: 19 },
        { device: 'd2', metric: 'on', ts: base + 190_000, value: false },
        { device: 'd2', metric: 'temp', ts: base + 190_000, value: 20 + 19 / 10 },
      ]);
    } finally {
      await app.close();
    }

    // Restart of the store: no checkpoint at stop (as after a kill), so the points come back from
    // sealed chunks and the WAL.
    service = await reopen(false);
    const again = [];
    for await (const s of service.query({ devices: ['d2'], metrics: ['temp'], from: base, to: base + 1_000_000 })) {
      for await (const page of s.pages()) again.push(...page);
    }
    assert.deepEqual(again, raw);
    // …and after a clean stop (checkpoint: heads written, WAL dropped).
    service = await reopen(true);
    const app2 = await httpApp(service);
    try {
      const r = await app2.inject({ method: 'GET', url: `/api/v1/telemetry/query?device=d2&metric=temp&from=${base}&to=${base + 1_000_000}` });
      assert.deepEqual((r.json() as { series: Array<{ points: unknown[] }> }).series[0]!.points, raw);
    } finally {
      await app2.close();
    }
  });

  async function reopen(clean: boolean): Promise<TelemetryService> {
    if (clean) await service.stop();
    // Without a clean stop the old engine is abandoned as a killed process would leave it.
    else (service as unknown as { unlisten?: () => void }).unlisten?.();
    await store.close();
    store = await openLmdbSeriesStore(dir, { fsync: false });
    const s = new TelemetryService({ broker: t.hub.broker, store, ingestor, log, options: OPTIONS });
    await s.start();
    return s;
  }

  it('a QoS 1 PUBACK waits until the points are in the WAL, and the point is there after a reopen', async () => {
    const gated = new GatedStore(store);
    await service.stop();
    service = new TelemetryService({ broker: t.hub.broker, store: gated.wrap(), ingestor, log, options: OPTIONS });
    await service.start();
    const c = await connectClient(t);
    gated.close();
    let acked = false;
    const pub = c.publishAsync('devices/gate/telemetry', JSON.stringify({ ts: 1_000, v: 42 }), { qos: 1 }).then(() => (acked = true));
    await waitFor(() => service.counters().points === 1, 3000, 'the point to reach the service');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(acked, false, 'no PUBACK while the WAL write is pending');
    gated.open();
    await withTimeout(pub, 3000, 'PUBACK');
    await closeAll(c);
    service = await reopen(false);
    const latest = await service.latest('gate');
    assert.deepEqual(latest, [{ device: 'gate', metric: 'v', ts: 1_000, value: 42 }]);
  });

  it('publishes dead letters with the reason and keeps the valid fields of the same payload', async () => {
    const sub = await connectClient(t);
    await subscribe(sub, '$telemetry/deadletter', { qos: 0 });
    const dl = collect(sub);
    const c = await connectClient(t);
    await c.publishAsync('devices/dl/telemetry', JSON.stringify({ ts: 5_000, ok: 1, name: 'text' }), { qos: 1 });
    const [m] = await dl.waitFor(1);
    assert.deepEqual(JSON.parse(m!.payload.toString()), { device: 'dl', topic: 'devices/dl/telemetry', reason: 'field name is not a number', field: 'name' });
    assert.deepEqual(await service.latest('dl'), [{ device: 'dl', metric: 'ok', ts: 5_000, value: 1 }]);
    assert.ok(service.counters().deadLetters >= 1);
    await closeAll(c, sub);
  });

  it('answers a bad query with a TH_TELEMETRY_QUERY_INVALID problem', async () => {
    const app = await httpApp(service);
    try {
      for (const url of [
        '/api/v1/telemetry/query?from=yesterday',
        '/api/v1/telemetry/query?from=10&to=5',
        '/api/v1/telemetry/query?from=0&to=10&step=0s',
        '/api/v1/telemetry/query?from=0&to=10&agg=avg',
        '/api/v1/telemetry/query?from=0&to=1e15&step=1ms',
        '/api/v1/telemetry/query?type=sensor',
      ]) {
        const r = await app.inject({ method: 'GET', url });
        assert.equal(r.statusCode, 400, url);
        assert.equal((r.json() as { code: string }).code, 'TH_TELEMETRY_QUERY_INVALID', url);
        assert.match(r.headers['content-type'] as string, /problem\+json/);
      }
      const r = await app.inject({ method: 'GET', url: '/api/v1/telemetry/query?from=0&to=10&agg=median' });
      assert.equal(r.statusCode, 400);
    } finally {
      await app.close();
    }
  });

  it('a failed WAL write answers the QoS 1 PUBLISH of an MQTT 5 client with 0x80, not a success', async () => {
    const mem = new MemorySeriesStore();
    await service.stop();
    service = new TelemetryService({ broker: t.hub.broker, store: mem, ingestor, log, options: OPTIONS });
    await service.start();
    const c = await connectClient(t, { protocolVersion: 5, clientId: uid('walfail') });
    mem.failNextWrites(1);
    await assert.rejects(c.publishAsync('devices/f/telemetry', JSON.stringify({ v: 1 }), { qos: 1 }));
    await closeAll(c);
  });
});
