// TwinService's hot path (docs/TWINS.md "Performance"): the cached record of each twin, the
// LRU bound, requests answered inside the `message.publish` call, and what keeps them correct:
// every write is a compare-and-set on the cached revision, and a lost one, a failed write, a
// failed read or a deleted device make the service read the store again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { MemoryTwinStore } from '../../adapters/memory/twin-store.js';
import type { StoredTwin } from '../../ports/twin-store.js';
import type { Broker } from '../broker/broker.js';
import type { Message } from '../message.js';
import { AWS_SHADOW_LIMITS } from './limits.js';
import { TwinService } from './service.js';
import { applyUpdate } from './shadow-document.js';

interface Published {
  topic: string;
  doc: Record<string, unknown>;
  /** The route the service passed (its kept route of the topic), if any. */
  route?: unknown;
}

/** The parts of the broker the service uses: the publish hook, route checks, internal publishes, held acks, the clock. */
function fakeBroker() {
  let listener: ((m: Message) => void) | undefined;
  const held: Promise<unknown>[] = [];
  const published: Published[] = [];
  const routes = { epoch: 0, lookups: 0, routeLookups: 0, match: (_topic: string): boolean => true };
  const broker = {
    hooks: {
      on: (_point: string, l: (m: Message) => void) => {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
    },
    hasSubscribers: (topic: string) => {
      routes.lookups++;
      return routes.match(topic);
    },
    get routesEpoch() {
      return routes.epoch;
    },
    publishInternal: (topic: string, payload: Buffer, _qos: number, _retain: boolean, _origin: unknown, _hops?: number, route?: unknown) => {
      published.push({ topic, doc: JSON.parse(payload.toString()) as Record<string, unknown>, route });
      return 1;
    },
    // A route stands for whom the topic reaches at this epoch.
    routeOf: (topic: string) => {
      routes.routeLookups++;
      return { topic, epoch: routes.epoch };
    },
    committer: { hold: (p: Promise<unknown>) => void held.push(p) },
    now: () => 1_700_000_000_000,
  };
  return {
    broker: broker as unknown as Broker,
    routes,
    held,
    published,
    /** Delivers a PUBLISH to the service as the broker does; returns the payload buffer (the caller may reuse it). */
    publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1, clientId = 'c1'): Buffer {
      const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
      listener!({
        topic,
        payload: buf,
        qos,
        retain: false,
        origin: { protocol: 'mqtt', clientId },
        properties: undefined,
        receivedAt: 0,
        expiresAt: 0,
        priority: 0,
        hops: 0,
        frame: undefined,
      });
      return buf;
    },
  };
}

function service(store = new MemoryTwinStore({ historySize: 10 }), cacheDevices?: number) {
  const b = fakeBroker();
  const svc = new TwinService({
    broker: b.broker,
    store,
    limits: { ...AWS_SHADOW_LIMITS, maxInFlightPerConnection: 1000 },
    log: pino({ level: 'silent' }),
    ...(cacheDevices === undefined ? {} : { cacheDevices }),
  });
  svc.start();
  return { svc, store, ...b };
}

const reported = (v: Record<string, unknown>) => ({ state: { reported: v } });

describe('TwinService cache and hot path', () => {
  it('a write behind the service\'s back (another writer) loses it the compare-and-set: the service reads the store again and builds on it', async () => {
    const { svc, store } = service();
    await svc.update('d1', '', reported({ a: 1 }), { writer: 'api:k' });
    const readsBefore = svc.storeReads;
    // Another node writes version 2 with the revision the service has cached.
    const stored = (await store.get('d1', '')) as StoredTwin;
    const r = applyUpdate(stored.doc, reported({ b: 2 }), { now: 1_700_000_000, writer: 'edge:n2' });
    assert.ok(r.ok);
    assert.ok((await store.put('d1', '', { expectedRevision: stored.revision, doc: r.next, history: { op: 'update', version: 2, at: 0, writer: 'edge:n2' } })).ok);
    const u = await svc.update('d1', '', reported({ c: 3 }), { writer: 'api:k' });
    assert.equal(u.twin.version, 3, 'built on the other writer\'s version 2, not on the cached version 1');
    assert.deepEqual(u.twin.state.reported, { a: 1, b: 2, c: 3 });
    assert.ok(svc.storeReads > readsBefore, 'the lost compare-and-set made it read the store');
  });

  it('serves get() from the cache, and a deleted device from the store again (no twin, versions start over)', async () => {
    const { svc } = service();
    await svc.update('d1', '', reported({ a: 1 }), { writer: 'api:k' });
    await svc.update('d1', 'cfg', reported({ b: 1 }), { writer: 'api:k' });
    const reads = svc.storeReads;
    assert.equal((await svc.get('d1', ''))?.version, 1);
    assert.equal(svc.storeReads, reads, 'answered from the cache');
    await svc.deleteDevice('d1');
    assert.equal(await svc.get('d1', ''), undefined);
    assert.equal(await svc.get('d1', 'cfg'), undefined);
    const u = await svc.update('d1', '', reported({ z: 1 }), { writer: 'api:k' });
    assert.equal(u.twin.version, 1);
    assert.deepEqual(u.twin.state.reported, { z: 1 });
  });

  it('keeps at most cacheDevices devices; an evicted twin is read from the store and continues its version', async () => {
    const { svc } = service(undefined, 2);
    for (let i = 0; i < 5; i++) await svc.update(`d${i}`, '', reported({ i }), { writer: 'api:k' });
    assert.ok(svc.cachedDevices <= 2, `cached ${svc.cachedDevices}`);
    const reads = svc.storeReads;
    const u = await svc.update('d0', '', reported({ again: true }), { writer: 'api:k' });
    assert.equal(u.twin.version, 2);
    assert.deepEqual(u.twin.state.reported, { i: 0, again: true });
    assert.equal(svc.storeReads, reads + 1);
  });

  it('MQTT: a request topic remembers its slot only while the device stays cached (eviction, device deletion)', async () => {
    const { svc, held, publish } = service(undefined, 2);
    const topic = (i: number): string => `$aws/things/m${i}/shadow/update`;
    for (let i = 0; i < 5; i++) {
      publish(topic(i), JSON.stringify(reported({ i })));
      await Promise.all(held);
    }
    assert.ok(svc.cachedDevices <= 2, `cached ${svc.cachedDevices}`);
    // m0 was evicted: its topic's remembered slot is not used; the record is read and continues.
    const reads = svc.storeReads;
    publish(topic(0), JSON.stringify(reported({ again: true })));
    await Promise.all(held);
    assert.equal(svc.storeReads, reads + 1);
    const got = await svc.get('m0', '');
    assert.equal(got?.version, 2);
    assert.deepEqual(got?.state.reported, { i: 0, again: true });
    // Cached again, in the one slot the API uses too: an API update then an MQTT one read nothing
    // (a second, orphaned slot would hold a stale record and have to read after losing its write).
    await svc.update('m0', '', reported({ api: 1 }), { writer: 'api:k' });
    publish(topic(0), JSON.stringify(reported({ n: 3 })));
    await Promise.all(held);
    assert.equal(svc.storeReads, reads + 1);
    assert.equal((await svc.get('m0', ''))?.version, 4);
    // The device is deleted: its twin starts over, not from the slot the topic remembered.
    await svc.deleteDevice('m0');
    publish(topic(0), JSON.stringify(reported({ fresh: 1 })));
    await Promise.all(held);
    const fresh = await svc.get('m0', '');
    assert.equal(fresh?.version, 1);
    assert.deepEqual(fresh?.state.reported, { fresh: 1 });
  });

  it('MQTT: after its device is deleted, a request topic leads to the twin\'s new slot, the one the API uses', async () => {
    const { svc, held, publish } = service();
    const topic = '$aws/things/z/shadow/update';
    publish(topic, JSON.stringify(reported({ a: 1 })));
    await Promise.all(held);
    await svc.deleteDevice('z');
    const reads = svc.storeReads;
    await svc.update('z', '', reported({ b: 1 }), { writer: 'api:k' }); // a new slot: reads the store once
    publish(topic, JSON.stringify(reported({ c: 1 })));
    await Promise.all(held);
    await svc.update('z', '', reported({ d: 1 }), { writer: 'api:k' });
    // One slot for the twin: no further read (the old slot would have had to read, and then the
    // API's slot would have lost its write to it and read again).
    assert.equal(svc.storeReads, reads + 1);
    const got = await svc.get('z', '');
    assert.equal(got?.version, 3);
    assert.deepEqual(got?.state.reported, { b: 1, c: 1, d: 1 });
  });

  it('with cacheDevices 0 every request reads the store, and results are the same', async () => {
    const { svc } = service(undefined, 0);
    for (let v = 1; v <= 3; v++) assert.equal((await svc.update('d', '', reported({ v }), { writer: 'api:k' })).twin.version, v);
    assert.equal(svc.cachedDevices, 0);
    assert.equal(svc.storeReads, 3);
  });

  it('a failed write drops the cached record: the next update builds on what is stored, not on the failed one', async () => {
    const { svc, store } = service();
    await svc.update('d', '', reported({ a: 1 }), { writer: 'api:k' });
    store.failNextWrites(1);
    await assert.rejects(svc.update('d', '', reported({ lost: 1 }), { writer: 'api:k' }), (e: unknown) => (e as { code?: string }).code === 'TH_STORE_WRITE_FAILED');
    const u = await svc.update('d', '', reported({ b: 2 }), { writer: 'api:k' });
    assert.equal(u.twin.version, 2);
    assert.deepEqual(u.twin.state.reported, { a: 1, b: 2 });
  });

  it('a failed store read fails that request only; the next one reads again', async () => {
    const store = new (class extends MemoryTwinStore {
      failReads = 1;
      override get(deviceId: string, name: string): Promise<StoredTwin | undefined> {
        if (this.failReads > 0) {
          this.failReads--;
          return Promise.reject(new Error('read failed (injected)'));
        }
        return super.get(deviceId, name);
      }
    })({ historySize: 10 });
    const { svc } = service(store);
    await assert.rejects(svc.update('d', '', reported({ a: 1 }), { writer: 'api:k' }), /read failed/);
    assert.equal(svc.storeFailures, 1);
    assert.equal((await svc.update('d', '', reported({ a: 2 }), { writer: 'api:k' })).twin.version, 1);
  });

  it('MQTT: the payload is read during the publish call; a socket buffer reused afterwards changes nothing, queued requests included', async () => {
    const { held, publish, svc } = service();
    // Two requests for one twin in one turn: the second waits in the queue behind the first.
    const a = publish('$aws/things/t1/shadow/update', JSON.stringify(reported({ n: 1 })));
    const b = publish('$aws/things/t1/shadow/update', JSON.stringify(reported({ m: 2 })));
    a.fill(0x20);
    b.fill(0x20);
    await Promise.all(held);
    const g = await svc.get('t1', '');
    assert.equal(g?.version, 2);
    assert.deepEqual(g?.state.reported, { n: 1, m: 2 });
  });

  it('MQTT: requests of one twin apply in arrival order, each on the previous one\'s version ("version … increases by one")', async () => {
    const { held, publish, published, svc } = service();
    for (let i = 1; i <= 40; i++) publish('$aws/things/t2/shadow/update', JSON.stringify({ state: { reported: { i } }, clientToken: `k${i}` }));
    await Promise.all(held);
    const accepted = published.filter((p) => p.topic === '$aws/things/t2/shadow/update/accepted');
    assert.deepEqual(
      accepted.map((p) => [p.doc.clientToken, p.doc.version]),
      Array.from({ length: 40 }, (_, k) => [`k${k + 1}`, k + 1]),
    );
    assert.deepEqual((await svc.get('t2', ''))?.state.reported, { i: 40 });
  });

  it('MQTT: which response topics have subscribers is asked again only when the broker\'s subscriptions change (routesEpoch)', async () => {
    const { held, publish, published, routes } = service();
    const topic = '$aws/things/t5/shadow/update';
    routes.match = () => false;
    publish(topic, JSON.stringify(reported({ n: 1 })));
    await Promise.all(held);
    assert.equal(published.length, 0, 'nobody subscribes: nothing published');
    const lookups = routes.lookups;
    publish(topic, JSON.stringify(reported({ n: 2 })));
    await Promise.all(held);
    assert.equal(routes.lookups, lookups, 'same subscriptions: no route lookup for the response topics');
    // A client subscribes to /update/accepted and /update/delta (the broker's epoch moves on).
    routes.match = (t) => t === `${topic}/accepted` || t === `${topic}/delta`;
    routes.epoch++;
    publish(topic, JSON.stringify({ state: { desired: { n: 9 }, reported: { n: 3 } } }));
    await Promise.all(held);
    assert.deepEqual(published.map((p) => p.topic), [`${topic}/accepted`, `${topic}/delta`]);
    assert.deepEqual(published[1]!.doc.state, { n: 9 });
    // And unsubscribes: the next update publishes nothing again.
    routes.match = () => false;
    routes.epoch++;
    publish(topic, JSON.stringify(reported({ n: 4 })));
    await Promise.all(held);
    assert.equal(published.length, 2);
  });

  it('MQTT: the /update/delta route is looked up once per subscription change (routesEpoch), then reused', async () => {
    const { held, publish, published, routes } = service();
    const topic = '$aws/things/t5/shadow/update';
    routes.match = (t) => t === `${topic}/delta`;
    publish(topic, JSON.stringify({ state: { desired: { n: 9 } } }));
    for (let n = 1; n <= 3; n++) publish(topic, JSON.stringify(reported({ n })));
    await Promise.all(held);
    assert.equal(published.length, 4);
    assert.equal(routes.routeLookups, 1, 'one lookup for four deltas');
    assert.ok(published.every((p) => p.route === published[0]!.route && (p.route as { epoch: number }).epoch === 0));
    // The subscriptions change: the next delta goes by a route of the new epoch.
    routes.epoch++;
    publish(topic, JSON.stringify(reported({ n: 5 })));
    await Promise.all(held);
    assert.equal(routes.routeLookups, 2);
    assert.deepEqual(published[4]!.route, { topic: `${topic}/delta`, epoch: 1 });
  });

  it('MQTT: a payload that is a JSON string holding a document is not parsed twice: 400 on /rejected ("Invalid JSON")', async () => {
    const { held, publish, published, svc } = service();
    publish('$aws/things/t3/shadow/update', JSON.stringify(JSON.stringify(reported({ a: 1 }))));
    await Promise.all(held);
    const rej = published.find((p) => p.topic === '$aws/things/t3/shadow/update/rejected');
    assert.equal(rej?.doc.code, 400);
    assert.equal(await svc.get('t3', ''), undefined);
  });

  it('MQTT: a payload that is not UTF-8 is rejected with 415 (Device Shadow error messages), read from a reused buffer too', async () => {
    const { held, publish, published } = service();
    const buf = publish('$aws/things/t4/shadow/update', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    buf.fill(0x20);
    await Promise.all(held);
    assert.equal(published.find((p) => p.topic === '$aws/things/t4/shadow/update/rejected')?.doc.code, 415);
  });
});
