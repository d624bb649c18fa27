// The AWS IoT Device Shadow MQTT flows against a real hub: a TwinService on the hub's broker with
// an LMDB twin store, driven with the `mqtt` client exactly as AWS device SDKs do. Each test
// names the AWS IoT Developer Guide page whose statement it checks.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { openLmdbTwinStore, type LmdbTwinStore } from '../../src/adapters/lmdb/twin-store.js';
import { TwinhubError, Errors } from '../../src/common/errors.js';
import { AWS_SHADOW_LIMITS } from '../../src/core/twin/index.js';
import { TwinService } from '../../src/core/twin/service.js';
import type { StoredTwin, TwinDelete, TwinHistoryEntry, TwinPut, TwinStore, TwinWriteResult } from '../../src/ports/twin-store.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, closeAll, connect, sleep, subscribe, uid, withTimeout, type MessageLog } from '../helpers/mqtt.js';

/** The LMDB store with a gate (writes wait while it is closed) and injected failures. */
class GatedStore implements TwinStore {
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  failNext = 0;
  constructor(readonly inner: TwinStore) {}
  close_(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }
  open(): void {
    this.openGate?.();
    this.gate = undefined;
  }
  get(d: string, n: string): Promise<StoredTwin | undefined> {
    return this.inner.get(d, n);
  }
  async put(d: string, n: string, w: TwinPut): Promise<TwinWriteResult> {
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new TwinhubError(Errors.STORE_WRITE_FAILED, 'injected twin store failure');
    }
    return this.inner.put(d, n, w);
  }
  async delete(d: string, n: string, w: TwinDelete): Promise<TwinWriteResult> {
    if (this.gate) await this.gate;
    return this.inner.delete(d, n, w);
  }
  list(d: string): Promise<string[]> {
    return this.inner.list(d);
  }
  history(d: string, n: string, limit?: number): Promise<TwinHistoryEntry[]> {
    return this.inner.history(d, n, limit);
  }
  deleteDevice(d: string): Promise<void> {
    return this.inner.deleteDevice(d);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response documents under test

const SUFFIXES = ['get/accepted', 'get/rejected', 'update/accepted', 'update/rejected', 'update/delta', 'update/documents', 'delete/accepted', 'delete/rejected'];

/** One MQTT client talking to one shadow, subscribed to all its response topics. */
class Shadow {
  private constructor(
    readonly client: MqttClient,
    readonly log: MessageLog,
    readonly prefix: string,
  ) {}

  static async open(thing: string, shadow = '', opts: { subscribe?: string[] } = {}): Promise<Shadow> {
    const { client, log } = await connect(hub, { protocolVersion: 5 });
    const prefix = shadow === '' ? `$aws/things/${thing}/shadow` : `$aws/things/${thing}/shadow/name/${shadow}`;
    // "subscribe to the response topics before you publish a request topic" (Using shadows in devices).
    await subscribe(client, (opts.subscribe ?? SUFFIXES).map((s) => `${prefix}/${s}`), { qos: 1 });
    return new Shadow(client, log, prefix);
  }

  /** Publishes a request and returns the first response on its /accepted or /rejected topic. */
  async request(op: 'get' | 'update' | 'delete', payload: unknown, qos: 0 | 1 = 1): Promise<{ accepted: boolean; doc: Doc; qos: number }> {
    const from = this.log.length;
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    await withTimeout(this.client.publishAsync(`${this.prefix}/${op}`, body, { qos }), 3000, 'PUBACK');
    const m = await this.next([`${op}/accepted`, `${op}/rejected`], from);
    return { accepted: m.topic.endsWith('/accepted'), doc: JSON.parse(m.payload.toString()) as Doc, qos: m.packet.qos };
  }

  async update(payload: unknown): Promise<Doc> {
    const r = await this.request('update', payload);
    assert.ok(r.accepted, `update rejected: ${JSON.stringify(r.doc)}`);
    return r.doc;
  }

  /** The first message on one of `suffixes` received at or after index `from` of the log. */
  async next(suffixes: string[], from: number, timeoutMs = 3000): Promise<MessageLog['messages'][number]> {
    const topics = suffixes.map((s) => `${this.prefix}/${s}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.log.messages.slice(from).find((x) => topics.includes(x.topic));
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`no message on ${topics.join(' | ')}`);
      await sleep(5);
    }
  }

  /** Messages on `suffix` received at or after `from`. */
  on(suffix: string, from = 0): Doc[] {
    return this.log.messages.slice(from).filter((m) => m.topic === `${this.prefix}/${suffix}`).map((m) => JSON.parse(m.payload.toString()) as Doc);
  }
}

let hub: TestHub;
let dir: string;
let lmdb: LmdbTwinStore;
let store: GatedStore;
let service: TwinService;
const clients: MqttClient[] = [];

async function shadow(thing: string, name = '', opts: { subscribe?: string[] } = {}): Promise<Shadow> {
  const s = await Shadow.open(thing, name, opts);
  clients.push(s.client);
  return s;
}

const thingName = (): string => uid('thing');

describe('AWS IoT Device Shadow over MQTT', () => {
  before(async () => {
    hub = await startTestHub();
    // This suite drives a service of its own over a store it can fail on purpose: the hub's own
    // twin service steps aside.
    await hub.hub.twins.stop();
    dir = await mkdtemp(join(tmpdir(), 'twinhub-twins-it-'));
    lmdb = await openLmdbTwinStore(dir, { fsync: false, historySize: 10 });
    store = new GatedStore(lmdb);
    service = new TwinService({ broker: hub.hub.broker, store, limits: AWS_SHADOW_LIMITS, log: pino({ level: 'silent' }) });
    service.start();
  });
  afterEach(async () => {
    store.open();
    store.failNext = 0;
    await closeAll(...clients.splice(0));
  });
  after(async () => {
    cleanupClients();
    await service.stop();
    await store.close();
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('update reported → /update/accepted with the state sent, metadata timestamps, version 1, clientToken; no delta without desired (Interacting with shadows > Updating a shadow)', async () => {
    const s = await shadow(thingName());
    const before = Math.floor(Date.now() / 1000);
    const doc = await s.update({ state: { reported: { color: 'green', temp: 21 } }, clientToken: 'tok-1' });
    assert.deepEqual(doc.state, { reported: { color: 'green', temp: 21 } });
    assert.equal(doc.metadata.reported.color.timestamp, doc.timestamp);
    assert.equal(doc.version, 1);
    assert.equal(doc.clientToken, 'tok-1');
    assert.ok(doc.timestamp >= before && doc.timestamp <= before + 2);
    await sleep(50);
    assert.deepEqual(s.on('update/delta'), [], 'desired equals reported (absent): no /update/delta');
    const g = await s.request('get', '');
    assert.ok(g.accepted);
    assert.deepEqual(g.doc.state, { reported: { color: 'green', temp: 21 } });
    assert.equal(g.doc.version, 1);
  });

  it('responses are published at QoS 1: a QoS 1 subscriber receives them at QoS 1', async () => {
    const s = await shadow(thingName());
    const r = await s.request('update', { state: { reported: { a: 1 } } });
    assert.equal(r.qos, 1);
  });

  it('update desired → /update/delta with every desired field that differs from reported, including those absent from reported; version and clientToken (Device Shadow MQTT topics > /update/delta)', async () => {
    const s = await shadow(thingName());
    await s.update({ state: { reported: { color: 'green', mode: 'auto', nested: { a: 1, b: 2 } } } });
    const from = s.log.length;
    await s.update({ state: { desired: { color: 'red', mode: 'auto', nested: { a: 1, b: 3 }, newField: [1, 2] } }, clientToken: 'd-1' });
    const m = await s.next(['update/delta'], from);
    const delta = JSON.parse(m.payload.toString()) as Doc;
    assert.deepEqual(delta.state, { color: 'red', nested: { b: 3 }, newField: [1, 2] });
    assert.equal(delta.version, 2);
    assert.equal(delta.clientToken, 'd-1');
    assert.deepEqual(Object.keys(delta.metadata).sort(), ['color', 'nested', 'newField']);
    // The device catches up: the delta is empty, no further delta message.
    const from2 = s.log.length;
    await s.update({ state: { reported: { color: 'red', nested: { b: 3 }, newField: [1, 2] } } });
    await sleep(50);
    assert.deepEqual(s.on('update/delta', from2), []);
    const g = await s.request('get', { clientToken: 'g-1' });
    assert.equal(g.doc.state.delta, undefined);
    assert.equal(g.doc.clientToken, 'g-1', 'the get response echoes the clientToken');
  });

  it('conditional update with a stale version → 409 "Version conflict" on /update/rejected, clientToken echoed; nothing changes (Interacting with shadows > Optimistic locking)', async () => {
    const s = await shadow(thingName());
    await s.update({ state: { desired: { v: 1 } } });
    await s.update({ state: { desired: { v: 2 } }, version: 1 });
    const r = await s.request('update', { state: { desired: { v: 3 } }, version: 1, clientToken: 'stale' });
    assert.equal(r.accepted, false);
    assert.equal(r.doc.code, 409);
    assert.equal(r.doc.message, 'Version conflict');
    assert.equal(r.doc.clientToken, 'stale');
    assert.equal(typeof r.doc.timestamp, 'number');
    const g = await s.request('get', '');
    assert.deepEqual(g.doc.state.desired, { v: 2 });
    assert.equal(g.doc.version, 2);
  });

  it('delete → /delete/accepted with the version; get → 404; a recreated shadow continues the version (Interacting with shadows > Deleting a shadow)', async () => {
    const thing = thingName();
    const s = await shadow(thing);
    await s.update({ state: { reported: { a: 1 } } });
    await s.update({ state: { reported: { a: 2 } } });
    const d = await s.request('delete', { clientToken: 'del' });
    assert.ok(d.accepted);
    assert.equal(d.doc.version, 2);
    assert.equal(d.doc.clientToken, 'del');
    const g = await s.request('get', '');
    assert.equal(g.accepted, false);
    assert.equal(g.doc.code, 404);
    assert.equal(g.doc.message, `No shadow exists with name: ${thing}`);
    const again = await s.request('delete', '');
    assert.equal(again.doc.code, 404, 'deleting a missing shadow is a 404 too');
    // "the version number of the new device shadow document will follow that of the deleted one"
    const u = await s.update({ state: { reported: { a: 3 } } });
    assert.equal(u.version, 3);
    const g2 = await s.request('get', '');
    assert.deepEqual(g2.doc.state, { reported: { a: 3 } });
  });

  it('named shadows are separate from the classic shadow and from each other (Device Shadow MQTT topics: ShadowTopicPrefix)', async () => {
    const thing = thingName();
    const classic = await shadow(thing);
    const cfg = await shadow(thing, 'config');
    const other = await shadow(thing, 'other');
    const u = await cfg.update({ state: { desired: { rate: 5 } } });
    assert.equal(u.version, 1);
    assert.equal((await cfg.update({ state: { desired: { rate: 6 } } })).version, 2);
    const g = await classic.request('get', '');
    assert.equal(g.doc.code, 404);
    const o = await other.request('get', '');
    assert.equal(o.doc.code, 404);
    assert.equal(o.doc.message, 'No shadow exists with name: other');
    const c = await classic.update({ state: { reported: { x: 1 } } });
    assert.equal(c.version, 1);
    assert.deepEqual((await cfg.request('get', '')).doc.state.desired, { rate: 6 });
    assert.deepEqual(await service.list(thing), ['', 'config']);
  });

  it('null deletes a field; "desired": null removes the section; "state": null clears both and the version still increments (Interacting with shadows > Deleting a property)', async () => {
    const s = await shadow(thingName());
    await s.update({ state: { desired: { a: 1 }, reported: { a: 1, b: 2, c: { d: 1, e: 2 } } } });
    const u = await s.update({ state: { reported: { b: null, c: { d: null } } } });
    assert.deepEqual(u.state, { reported: { b: null, c: { d: null } } }, '/update/accepted echoes the nulls sent');
    assert.deepEqual((await s.request('get', '')).doc.state.reported, { a: 1, c: { e: 2 } });
    await s.update({ state: { desired: null } });
    const g = await s.request('get', '');
    assert.equal(g.doc.state.desired, undefined);
    assert.equal(g.doc.metadata.desired, undefined);
    const n = await s.update({ state: null });
    assert.equal(n.version, 4);
    const g2 = await s.request('get', '');
    assert.ok(g2.accepted, 'setting the state to null does not delete the shadow');
    assert.deepEqual(g2.doc.state, {});
  });

  it('/update/documents carries previous and current (state, metadata, version); no previous when the update created the shadow (Device Shadow MQTT topics > /update/documents)', async () => {
    const s = await shadow(thingName());
    let from = s.log.length;
    await s.update({ state: { reported: { a: 1 } }, clientToken: 'c1' });
    const first = JSON.parse((await s.next(['update/documents'], from)).payload.toString()) as Doc;
    assert.equal(first.previous, undefined);
    assert.deepEqual(first.current.state, { reported: { a: 1 } });
    assert.equal(first.current.version, 1);
    assert.equal(first.clientToken, 'c1');
    from = s.log.length;
    await s.update({ state: { reported: { a: 2 }, desired: { a: 3 } } });
    const second = JSON.parse((await s.next(['update/documents'], from)).payload.toString()) as Doc;
    assert.deepEqual(second.previous.state, { reported: { a: 1 } });
    assert.equal(second.previous.version, 1);
    assert.deepEqual(second.current.state, { reported: { a: 2 }, desired: { a: 3 } });
    assert.equal(second.current.version, 2);
    assert.equal(typeof second.current.metadata.desired.a.timestamp, 'number');
    assert.equal(typeof second.timestamp, 'number');
  });

  it('a client subscribed only to /update/accepted gets no delta or documents (they are built only for subscribers)', async () => {
    const thing = thingName();
    const s = await shadow(thing, '', { subscribe: ['update/accepted'] });
    const watcher = await shadow(thing, '', { subscribe: ['update/delta'] });
    await s.update({ state: { desired: { a: 1 } } });
    await watcher.next(['update/delta'], 0);
    await sleep(30);
    assert.deepEqual(s.log.messages.map((m) => m.topic), [`${s.prefix}/update/accepted`]);
  });

  it('size limit: desired + reported over 8 KB → 413 "The payload exceeds the maximum size allowed"; 8 KB fits (Diagnosing problems with shadows)', async () => {
    const s = await shadow(thingName());
    const r = await s.request('update', { state: { reported: { big: 'x'.repeat(8200) } }, clientToken: 'big' });
    assert.equal(r.doc.code, 413);
    assert.equal(r.doc.message, 'The payload exceeds the maximum size allowed');
    assert.equal(r.doc.clientToken, 'big');
    // {"big":"…"} is 10 bytes of JSON around the string.
    await s.update({ state: { reported: { big: 'x'.repeat(8192 - 10) } } });
    const more = await s.request('update', { state: { desired: { a: 1 } } });
    assert.equal(more.doc.code, 413, 'the limit is on the stored desired + reported, not on the request');
  });

  it('depth limit: 6 levels accepted, 7 → 400 "JSON contains too many levels of nesting; maximum is 6" (Device Shadow error messages)', async () => {
    const s = await shadow(thingName());
    await s.update({ state: { desired: { 1: { 2: { 3: { 4: { 5: { 6: 'x' } } } } } } } });
    const r = await s.request('update', { state: { desired: { 1: { 2: { 3: { 4: { 5: { 6: { 7: 'x' } } } } } } } } });
    assert.equal(r.doc.code, 400);
    assert.equal(r.doc.message, 'JSON contains too many levels of nesting; maximum is 6');
  });

  it('a payload that is not JSON → 400 "Invalid JSON"; no state → 400 "Missing required node: state"; a clientToken over 64 bytes → 400 (Device Shadow error messages)', async () => {
    const s = await shadow(thingName());
    const bad = await s.request('update', '{"state": ');
    assert.equal(bad.doc.code, 400);
    assert.equal(bad.doc.message, 'Invalid JSON');
    assert.equal(bad.doc.clientToken, undefined, 'no token from a document that is not JSON');
    const missing = await s.request('update', { clientToken: 'm' });
    assert.deepEqual([missing.doc.code, missing.doc.message, missing.doc.clientToken], [400, 'Missing required node: state', 'm']);
    const longToken = await s.request('update', { state: { reported: { a: 1 } }, clientToken: 'k'.repeat(65) });
    assert.deepEqual([longToken.doc.code, longToken.doc.message], [400, 'Invalid clientToken']);
  });

  it('a thing name outside [a-zA-Z0-9:_-] → 400 on /rejected (AWS IoT thing name pattern)', async () => {
    const s = await shadow('bad.name');
    const r = await s.request('update', { state: { reported: { a: 1 } }, clientToken: 't' });
    assert.equal(r.doc.code, 400);
    assert.match(r.doc.message, /Thing name/);
    assert.equal(r.doc.clientToken, 't');
  });

  it('more than 10 requests in flight on one connection → 429 on /rejected (Device Shadow error messages: 429)', async () => {
    const s = await shadow(thingName());
    store.close_();
    const from = s.log.length;
    for (let i = 0; i < 12; i++) s.client.publish(`${s.prefix}/update`, JSON.stringify({ state: { reported: { i } }, clientToken: `r${i}` }), { qos: 0 });
    const rejected = await s.next(['update/rejected'], from);
    await sleep(100);
    const errors = s.on('update/rejected', from);
    assert.deepEqual(errors.map((e) => [e.code, e.clientToken]), [[429, 'r10'], [429, 'r11']]);
    assert.ok(rejected);
    store.open();
    await s.next(['update/accepted'], from);
    const deadline = Date.now() + 3000;
    while (s.on('update/accepted', from).length < 10 && Date.now() < deadline) await sleep(10);
    const accepted = s.on('update/accepted', from);
    assert.deepEqual(accepted.map((a) => a.version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'requests of one twin apply in arrival order');
    // Once answered, the connection may send again.
    assert.equal((await s.update({ state: { reported: { i: 99 } } })).version, 11);
  });

  it('the PUBACK of a QoS 1 update is sent only once the twin write is durable', async () => {
    const thing = thingName();
    const s = await shadow(thing);
    store.close_();
    let acked = false;
    const pub = s.client.publishAsync(`${s.prefix}/update`, JSON.stringify({ state: { reported: { durable: true } } }), { qos: 1 }).then(() => {
      acked = true;
    });
    await sleep(150);
    assert.equal(acked, false, 'no PUBACK while the write waits');
    assert.equal(await lmdb.get(thing, ''), undefined);
    store.open();
    await withTimeout(pub, 3000, 'PUBACK');
    const stored = await lmdb.get(thing, '');
    assert.deepEqual(stored?.doc?.state.reported, { durable: true }, 'acknowledged means stored');
  });

  it('a failed twin write fails the PUBACK (MQTT 5: 0x80) and answers 500 on /update/rejected', async () => {
    const s = await shadow(thingName());
    store.failNext = 1;
    const from = s.log.length;
    await assert.rejects(withTimeout(s.client.publishAsync(`${s.prefix}/update`, JSON.stringify({ state: { reported: { a: 1 } }, clientToken: 'f' }), { qos: 1 }), 3000, 'PUBACK'));
    const r = JSON.parse((await s.next(['update/rejected'], from)).payload.toString()) as Doc;
    assert.deepEqual([r.code, r.clientToken], [500, 'f']);
    // The next update works and the shadow starts at version 1: nothing of the failed one applied.
    assert.equal((await s.update({ state: { reported: { a: 2 } } })).version, 1);
  });

  it('history records each change with its writer; the API path goes through the same queue and publishes the MQTT delta', async () => {
    const thing = thingName();
    const s = await shadow(thing);
    await s.update({ state: { reported: { t: 1 } } });
    const from = s.log.length;
    const r = await service.update(thing, '', { state: { desired: { t: 2 } } }, { writer: 'api:test' });
    assert.equal(r.twin.version, 2);
    assert.deepEqual(r.twin.state.delta, { t: 2 });
    const delta = JSON.parse((await s.next(['update/delta'], from)).payload.toString()) as Doc;
    assert.deepEqual(delta.state, { t: 2 });
    const h = await service.history(thing, '');
    assert.deepEqual(h.map((e) => [e.version, e.writer.split(':')[0]]), [[2, 'api'], [1, 'mqtt']]);
  });
});
