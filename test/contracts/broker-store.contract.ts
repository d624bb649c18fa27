// The contract every BrokerStore adapter passes (src/ports/broker-store.ts), like Aedes'
// persistence `abstract.js`: one suite, run against each adapter by a *.test.ts file beside this.
//
// `open` returns a fresh, empty store; `reopen` (for durable adapters) closes it and opens the
// same data again; `cleanup` closes whatever is open and removes its data.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { TwinhubError } from '../../src/common/errors.js';
import type {
  BrokerStore,
  OutboundRecord,
  SessionRecord,
  StoredMessage,
  StoreOp,
} from '../../src/ports/broker-store.js';

export interface OpenedStore {
  store: BrokerStore;
  reopen?: () => Promise<BrokerStore>;
  cleanup: () => Promise<void>;
}

export function message(over: Partial<StoredMessage> = {}): StoredMessage {
  return {
    topic: 'sensors/1/temp',
    payload: Buffer.from('21.5'),
    qos: 1,
    retain: false,
    receivedAt: 1_700_000_000_123,
    expiresAt: 0,
    priority: 0,
    originClientId: 'publisher-1',
    ...over,
  };
}

export function session(clientId: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    clientId,
    protocolVersion: 5,
    expiryInterval: 3600,
    disconnectedAt: 0,
    subscriptions: [{ filter: 'sensors/+/temp', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    ...over,
  };
}

export function outbound(seq: number, over: Partial<OutboundRecord> = {}): OutboundRecord {
  return { seq, message: message(), qos: 1, packetId: 0, state: 'queued', ...over };
}

const byTopic = (a: StoredMessage, b: StoredMessage): number => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0);
const byClient = (a: SessionRecord, b: SessionRecord): number => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0);

async function rejectsAsWriteFailure(p: Promise<void>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TwinhubError, `expected a TwinhubError, got ${String(err)}`);
    assert.equal(err.code, 'TH_STORE_WRITE_FAILED');
    return true;
  });
}

export function brokerStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`BrokerStore contract: ${name}`, () => {
    let h: OpenedStore;
    let store: BrokerStore;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('starts empty', async () => {
      assert.deepEqual(await store.loadSessions(), []);
      assert.deepEqual(await store.loadOutbound('nobody'), []);
      assert.deepEqual(await store.loadInboundQos2('nobody'), []);
      assert.deepEqual(await store.loadRetained(), []);
    });

    it('stores every field of a session record and replaces it on put (MQTT 5.0 §4.1 session state)', async () => {
      const full = session('full', {
        protocolVersion: 5,
        expiryInterval: 0xffffffff,
        disconnectedAt: 1_700_000_999_000,
        subscriptions: [
          { filter: 'a/#', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 268_435_455 },
          { filter: '$share/g/b/+', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 1 },
          { filter: 'ünïcødé/✓', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0, subscriptionId: 1 },
        ],
        pendingWill: {
          topic: 'wills/full',
          payload: Buffer.from([0, 255, 1, 254]),
          qos: 2,
          retain: true,
          delayInterval: 30,
          properties: {
            willDelayInterval: 30,
            messageExpiryInterval: 60,
            payloadFormatIndicator: 1,
            contentType: 'text/plain',
            responseTopic: 'r/t',
            correlationData: Buffer.from([9, 8, 7]),
            userProperties: [
              ['b', '2'],
              ['a', '1'],
              ['b', '3'],
            ],
          },
        },
        deviceId: 'device-42',
      });
      const v311 = session('v311', { protocolVersion: 4, subscriptions: [] });
      const v31 = session('v31', { protocolVersion: 3 });
      await store.commit([
        { op: 'putSession', session: full },
        { op: 'putSession', session: v311 },
        { op: 'putSession', session: v31 },
      ]);
      assert.deepEqual((await store.loadSessions()).sort(byClient), [full, v31, v311]);

      const replaced = session('v311', { protocolVersion: 4, disconnectedAt: 5, expiryInterval: 10 });
      await store.commit([{ op: 'putSession', session: replaced }]);
      assert.deepEqual((await store.loadSessions()).sort(byClient), [full, v31, replaced]);
    });

    it('keeps its own copy: changing a record after commit does not change what is stored', async () => {
      const s = session('c');
      const r = outbound(1);
      await store.commit([
        { op: 'putSession', session: s },
        { op: 'putOutbound', clientId: 'c', record: r },
      ]);
      s.subscriptions.push({ filter: 'late/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 });
      s.expiryInterval = 1;
      r.state = 'await-puback';
      r.packetId = 7;
      assert.deepEqual(await store.loadSessions(), [session('c')]);
      assert.deepEqual(await store.loadOutbound('c'), [outbound(1)]);
    });

    it('loads outbound records in seq order, including seqs above 2^32 (MQTT 5.0 §4.6 ordering)', async () => {
      const seqs = [5, 1, 2 ** 32 + 1, 2 ** 32, 3, Number.MAX_SAFE_INTEGER, 0, 2 ** 31, 256, 255];
      await store.commit(
        seqs.map((seq) => ({ op: 'putOutbound', clientId: 'c', record: outbound(seq, { message: message({ payload: Buffer.from(String(seq)) }) }) })),
      );
      const loaded = await store.loadOutbound('c');
      const sorted = [...seqs].sort((a, b) => a - b);
      assert.deepEqual(
        loaded.map((r) => r.seq),
        sorted,
      );
      assert.deepEqual(
        loaded.map((r) => r.message.payload.toString()),
        sorted.map(String),
      );
    });

    it('keeps the outbound queues of clients apart, also when one id is a prefix of another', async () => {
      const ids = ['a', 'ab', 'b', '', 'a\u0001', 'a b'];
      const ops: StoreOp[] = [];
      ids.forEach((id, i) => {
        ops.push({ op: 'putSession', session: session(id) });
        ops.push({ op: 'putOutbound', clientId: id, record: outbound(i, { message: message({ originClientId: id }) }) });
        ops.push({ op: 'putInboundQos2', clientId: id, packetId: i + 1 });
      });
      await store.commit(ops);
      for (const [i, id] of ids.entries()) {
        assert.deepEqual(await store.loadOutbound(id), [outbound(i, { message: message({ originClientId: id }) })], `client ${JSON.stringify(id)}`);
        assert.deepEqual(await store.loadInboundQos2(id), [i + 1]);
      }
      await store.commit([{ op: 'deleteSession', clientId: 'a' }]);
      assert.deepEqual(await store.loadOutbound('a'), []);
      assert.deepEqual(await store.loadOutbound('ab'), [outbound(1, { message: message({ originClientId: 'ab' }) })]);
      assert.deepEqual(await store.loadInboundQos2('a\u0001'), [5]);
      assert.equal((await store.loadSessions()).length, ids.length - 1);
    });

    it('replaces an outbound record put again with the same seq (queued → in flight)', async () => {
      await store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(7) }]);
      const inFlight = outbound(7, { packetId: 12, state: 'await-pubrec', qos: 2, subscriptionIds: [3, 1, 3] });
      await store.commit([{ op: 'putOutbound', clientId: 'c', record: inFlight }]);
      assert.deepEqual(await store.loadOutbound('c'), [inFlight]);
      const released = { ...inFlight, state: 'await-pubcomp' as const };
      await store.commit([{ op: 'putOutbound', clientId: 'c', record: released }]);
      assert.deepEqual(await store.loadOutbound('c'), [released]);
    });

    it('keeps the RETAIN flag as sent to the subscriber (MQTT 5.0 §3.3.1.3 Retain As Published)', async () => {
      const sent = outbound(1, { retain: true, message: message({ retain: false }) });
      await store.commit([{ op: 'putOutbound', clientId: 'r', record: sent }, { op: 'putOutbound', clientId: 'r', record: outbound(2) }]);
      const loaded = await store.loadOutbound('r');
      assert.equal(loaded[0]!.retain, true);
      assert.equal(loaded[0]!.message.retain, false);
      assert.equal(loaded[1]!.retain, undefined);
    });

    it('deletes one outbound record, and deleting an absent one is no error', async () => {
      await store.commit([1, 2, 3].map((seq) => ({ op: 'putOutbound', clientId: 'c', record: outbound(seq) })));
      await store.commit([
        { op: 'deleteOutbound', clientId: 'c', seq: 2 },
        { op: 'deleteOutbound', clientId: 'c', seq: 99 },
        { op: 'deleteOutbound', clientId: 'other', seq: 1 },
      ]);
      assert.deepEqual(
        (await store.loadOutbound('c')).map((r) => r.seq),
        [1, 3],
      );
    });

    it('deleteSession removes the session with all its outbound and inbound QoS 2 state (MQTT 5.0 §4.1)', async () => {
      const ops: StoreOp[] = [];
      for (const id of ['gone', 'kept']) {
        ops.push({ op: 'putSession', session: session(id) });
        for (let seq = 0; seq < 50; seq++) ops.push({ op: 'putOutbound', clientId: id, record: outbound(seq) });
        ops.push({ op: 'putOutbound', clientId: id, record: outbound(2 ** 40) });
        for (let pid = 1; pid <= 5; pid++) ops.push({ op: 'putInboundQos2', clientId: id, packetId: pid * 1000 });
      }
      await store.commit(ops);
      await store.commit([{ op: 'deleteSession', clientId: 'gone' }]);
      assert.deepEqual((await store.loadSessions()).map((s) => s.clientId), ['kept']);
      assert.deepEqual(await store.loadOutbound('gone'), []);
      assert.deepEqual(await store.loadInboundQos2('gone'), []);
      assert.equal((await store.loadOutbound('kept')).length, 51);
      assert.deepEqual(await store.loadInboundQos2('kept'), [1000, 2000, 3000, 4000, 5000]);
      // Deleting a session that does not exist is no error.
      await store.commit([{ op: 'deleteSession', clientId: 'never-existed' }]);
    });

    it('deleteSession also removes what commits still in flight put for the client', async () => {
      const puts: StoreOp[] = [{ op: 'putSession', session: session('c') }];
      for (let seq = 0; seq < 20; seq++) puts.push({ op: 'putOutbound', clientId: 'c', record: outbound(seq) });
      puts.push({ op: 'putInboundQos2', clientId: 'c', packetId: 9 });
      // Neither commit is awaited before the next is issued, as the core pipelines turns.
      const first = store.commit(puts);
      const second = store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(100) }]);
      const third = store.commit([{ op: 'deleteSession', clientId: 'c' }]);
      await Promise.all([first, second, third]);
      assert.deepEqual(await store.loadSessions(), []);
      assert.deepEqual(await store.loadOutbound('c'), []);
      assert.deepEqual(await store.loadInboundQos2('c'), []);
    });

    it('applies the ops of one commit in order', async () => {
      await store.commit([
        { op: 'putOutbound', clientId: 'c', record: outbound(1) },
        { op: 'deleteOutbound', clientId: 'c', seq: 1 },
        { op: 'deleteOutbound', clientId: 'c', seq: 2 },
        { op: 'putOutbound', clientId: 'c', record: outbound(2) },
        { op: 'putInboundQos2', clientId: 'c', packetId: 1 },
        { op: 'deleteInboundQos2', clientId: 'c', packetId: 1 },
        { op: 'putRetained', message: message({ topic: 'r/1' }) },
        { op: 'deleteRetained', topic: 'r/1' },
        { op: 'deleteRetained', topic: 'r/2' },
        { op: 'putRetained', message: message({ topic: 'r/2' }) },
      ]);
      assert.deepEqual(
        (await store.loadOutbound('c')).map((r) => r.seq),
        [2],
      );
      assert.deepEqual(await store.loadInboundQos2('c'), []);
      assert.deepEqual(
        (await store.loadRetained()).map((m) => m.topic),
        ['r/2'],
      );
    });

    it('a session deleted and put again in one commit (clean start) keeps only what came after', async () => {
      await store.commit([
        { op: 'putSession', session: session('c', { expiryInterval: 1 }) },
        { op: 'putOutbound', clientId: 'c', record: outbound(1) },
        { op: 'putInboundQos2', clientId: 'c', packetId: 4 },
      ]);
      const fresh = session('c', { expiryInterval: 99, subscriptions: [] });
      await store.commit([
        { op: 'putOutbound', clientId: 'c', record: outbound(2) },
        { op: 'deleteSession', clientId: 'c' },
        { op: 'putSession', session: fresh },
        { op: 'putOutbound', clientId: 'c', record: outbound(3) },
        { op: 'putInboundQos2', clientId: 'c', packetId: 5 },
      ]);
      assert.deepEqual(await store.loadSessions(), [fresh]);
      assert.deepEqual(
        (await store.loadOutbound('c')).map((r) => r.seq),
        [3],
      );
      assert.deepEqual(await store.loadInboundQos2('c'), [5]);
    });

    it('stores inbound QoS 2 packet ids until deleted (MQTT 5.0 §4.3.3)', async () => {
      await store.commit([1, 65535, 300, 2].map((packetId) => ({ op: 'putInboundQos2', clientId: 'c', packetId })));
      await store.commit([{ op: 'putInboundQos2', clientId: 'c', packetId: 300 }]); // again: still once
      assert.deepEqual((await store.loadInboundQos2('c')).sort((a, b) => a - b), [1, 2, 300, 65535]);
      await store.commit([{ op: 'deleteInboundQos2', clientId: 'c', packetId: 300 }]);
      assert.deepEqual((await store.loadInboundQos2('c')).sort((a, b) => a - b), [1, 2, 65535]);
    });

    it('replaces the retained message of a topic and deletes it [MQTT-3.3.1-5]', async () => {
      const a1 = message({ topic: 'a', payload: Buffer.from('1'), retain: true });
      const b = message({ topic: 'b', payload: Buffer.from('b'), retain: true, qos: 0 });
      await store.commit([
        { op: 'putRetained', message: a1 },
        { op: 'putRetained', message: b },
      ]);
      assert.deepEqual((await store.loadRetained()).sort(byTopic), [a1, b]);
      const a2 = message({ topic: 'a', payload: Buffer.from('2'), retain: true, qos: 2 });
      await store.commit([{ op: 'putRetained', message: a2 }]);
      assert.deepEqual((await store.loadRetained()).sort(byTopic), [a2, b]);
      await store.commit([{ op: 'deleteRetained', topic: 'a' }]);
      assert.deepEqual(await store.loadRetained(), [b]);
    });

    it('returns payloads byte for byte: empty, every byte value, 256 KiB', async () => {
      const payloads = [Buffer.alloc(0), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(256 * 1024)];
      await store.commit([
        ...payloads.map((payload, i): StoreOp => ({ op: 'putOutbound', clientId: 'c', record: outbound(i, { message: message({ payload }) }) })),
        ...payloads.map((payload, i): StoreOp => ({ op: 'putRetained', message: message({ topic: `t/${i}`, payload }) })),
        { op: 'putSession', session: session('c', { pendingWill: { topic: 'w', payload: payloads[2]!, qos: 1, retain: false, delayInterval: 0 } }) },
      ]);
      const out = await store.loadOutbound('c');
      const retained = (await store.loadRetained()).sort(byTopic);
      for (let i = 0; i < payloads.length; i++) {
        assert.ok(Buffer.isBuffer(out[i]!.message.payload), 'payload is a Buffer');
        assert.ok(out[i]!.message.payload.equals(payloads[i]!), `outbound payload ${i}`);
        assert.ok(retained[i]!.payload.equals(payloads[i]!), `retained payload ${i}`);
      }
      assert.ok((await store.loadSessions())[0]!.pendingWill!.payload.equals(payloads[2]!));
    });

    it('returns message properties unaltered, user properties in order with duplicates [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]', async () => {
      const withProps = message({
        properties: {
          payloadFormatIndicator: 1,
          contentType: 'application/json; charset=ütf-8',
          responseTopic: 'replies/42',
          correlationData: Buffer.from([0, 1, 2, 0xff]),
          userProperties: [
            ['z', 'last?'],
            ['a', 'first?'],
            ['z', 'again'],
            ['', ''],
            ['emoji', '🚀'],
          ],
        },
      });
      const emptyProps = message({ topic: 'e', properties: {} });
      const emptyCorrelation = message({ topic: 'c', properties: { correlationData: Buffer.alloc(0), userProperties: [] } });
      const noProps = message({ topic: 'n' });
      await store.commit([
        { op: 'putOutbound', clientId: 'c', record: outbound(1, { message: withProps, subscriptionIds: [5, 268_435_455] }) },
        { op: 'putOutbound', clientId: 'c', record: outbound(2, { message: noProps }) },
        { op: 'putRetained', message: withProps },
        { op: 'putRetained', message: emptyProps },
        { op: 'putRetained', message: emptyCorrelation },
        { op: 'putRetained', message: noProps },
      ]);
      const [r1, r2] = await store.loadOutbound('c');
      assert.deepEqual(r1, outbound(1, { message: withProps, subscriptionIds: [5, 268_435_455] }));
      assert.deepEqual(r2, outbound(2, { message: noProps }));
      assert.equal('properties' in r2!.message, false, 'no properties key when none were stored');
      assert.deepEqual((await store.loadRetained()).sort(byTopic), [emptyCorrelation, emptyProps, noProps, withProps].sort(byTopic));
    });

    it('keeps long and non-ASCII client ids and topics apart (MQTT allows 65,535 bytes, §1.5.4)', async () => {
      const long1 = 'x'.repeat(65_000) + '1';
      const long2 = 'x'.repeat(65_000) + '2';
      const wide = 'ü'.repeat(300); // 600 bytes of UTF-8
      const ids = [long1, long2, wide, '設備-1'];
      const ops: StoreOp[] = [];
      ids.forEach((id, i) => {
        ops.push({ op: 'putSession', session: session(id) });
        ops.push({ op: 'putOutbound', clientId: id, record: outbound(i) });
        ops.push({ op: 'putInboundQos2', clientId: id, packetId: i + 1 });
        ops.push({ op: 'putRetained', message: message({ topic: id, payload: Buffer.from([i]) }) });
      });
      await store.commit(ops);
      assert.deepEqual((await store.loadSessions()).sort(byClient), ids.map((id) => session(id)).sort(byClient));
      for (const [i, id] of ids.entries()) {
        assert.deepEqual(await store.loadOutbound(id), [outbound(i)]);
        assert.deepEqual(await store.loadInboundQos2(id), [i + 1]);
      }
      await store.commit([
        { op: 'deleteSession', clientId: long1 },
        { op: 'deleteRetained', topic: long2 },
      ]);
      assert.deepEqual(await store.loadOutbound(long1), []);
      assert.deepEqual(await store.loadOutbound(long2), [outbound(1)]);
      assert.deepEqual(
        (await store.loadRetained()).map((m) => m.topic).sort(),
        [long1, wide, '設備-1'].sort(),
      );
    });

    it('a commit with a malformed op rejects with TH_STORE_WRITE_FAILED and applies nothing', async () => {
      const before: StoreOp[] = [
        { op: 'putSession', session: session('c') },
        { op: 'putOutbound', clientId: 'c', record: outbound(1) },
        { op: 'putRetained', message: message({ topic: 'kept' }) },
      ];
      await store.commit(before);
      const bad: unknown[] = [
        { op: 'noSuchOp' },
        { op: 'putOutbound', clientId: 'c', record: outbound(-1) },
        { op: 'putOutbound', clientId: 'c', record: outbound(1.5) },
        { op: 'putOutbound', clientId: 'c', record: outbound(2 ** 53) },
        { op: 'putOutbound', clientId: 'c', record: outbound(2, { packetId: 70_000 }) },
        { op: 'putOutbound', clientId: 'c', record: outbound(2, { state: 'sent' as never }) },
        { op: 'putOutbound', clientId: 'c', record: outbound(2, { message: message({ payload: 'text' as never }) }) },
        { op: 'putOutbound', clientId: 'c', record: outbound(2, { message: message({ properties: { topicAliass: 1 } as never }) }) },
        { op: 'putOutbound', clientId: 7, record: outbound(2) },
        { op: 'putInboundQos2', clientId: 'c', packetId: 0 },
        { op: 'putSession', session: { ...session('c'), protocolVersion: 6 } },
        { op: 'putRetained', message: message({ qos: 3 as never }) },
      ];
      for (const op of bad) {
        const ops = [
          { op: 'deleteRetained', topic: 'kept' },
          { op: 'deleteSession', clientId: 'c' },
          { op: 'putOutbound', clientId: 'new', record: outbound(5) },
          op,
        ] as StoreOp[];
        await rejectsAsWriteFailure(store.commit(ops));
        assert.deepEqual(await store.loadSessions(), [session('c')], `after ${JSON.stringify(op)}`);
        assert.deepEqual(await store.loadOutbound('c'), [outbound(1)]);
        assert.deepEqual(await store.loadOutbound('new'), []);
        assert.deepEqual((await store.loadRetained()).map((m) => m.topic), ['kept']);
      }
      // The store still works after refusing commits.
      await store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(2) }]);
      assert.deepEqual((await store.loadOutbound('c')).map((r) => r.seq), [1, 2]);
    });

    it('settles commits in call order, an empty commit included', async () => {
      const order: number[] = [];
      const commits = [
        store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(1) }]),
        store.commit([]),
        store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(2) }, { op: 'deleteOutbound', clientId: 'c', seq: 1 }]),
        store.commit([]),
        store.commit([{ op: 'putRetained', message: message() }]),
      ];
      commits.forEach((p, i) => void p.then(() => order.push(i)));
      await Promise.all(commits);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(order, [0, 1, 2, 3, 4]);
      assert.deepEqual((await store.loadOutbound('c')).map((r) => r.seq), [2]);
    });

    it('refuses commits once closed', async () => {
      await store.close();
      await rejectsAsWriteFailure(store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(1) }]));
    });

    it('keeps everything committed across a reopen', async (t) => {
      if (h.reopen === undefined) {
        t.skip('not a durable adapter');
        return;
      }
      const will = { topic: 'w', payload: Buffer.from('bye'), qos: 1 as const, retain: false, delayInterval: 5, properties: { userProperties: [['k', 'v']] as [string, string][] } };
      const sessions = [session('a', { pendingWill: will, disconnectedAt: 123 }), session('b', { protocolVersion: 4 })];
      const ob = [outbound(2 ** 33), outbound(1, { state: 'await-puback', packetId: 65535 })];
      const retained = [message({ topic: 'r', retain: true, properties: { contentType: 'x' } })];
      await store.commit([
        ...sessions.map((s): StoreOp => ({ op: 'putSession', session: s })),
        ...ob.map((record): StoreOp => ({ op: 'putOutbound', clientId: 'a', record })),
        { op: 'putInboundQos2', clientId: 'a', packetId: 77 },
        ...retained.map((m): StoreOp => ({ op: 'putRetained', message: m })),
      ]);
      await store.commit([{ op: 'deleteOutbound', clientId: 'a', seq: 12345 }]);
      store = await h.reopen();
      assert.deepEqual((await store.loadSessions()).sort(byClient), sessions);
      assert.deepEqual(await store.loadOutbound('a'), [ob[1], ob[0]]);
      assert.deepEqual(await store.loadInboundQos2('a'), [77]);
      assert.deepEqual(await store.loadRetained(), retained);
      // And the reopened store writes.
      await store.commit([{ op: 'deleteSession', clientId: 'a' }]);
      assert.deepEqual(await store.loadOutbound('a'), []);
    });
  });
}
