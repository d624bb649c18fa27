// The contract every TwinStore adapter passes (src/ports/twin-store.ts): one suite, run against
// each adapter by a *.test.ts file beside this (memory, lmdb; NATS KV later).
//
// `open(historySize)` returns a fresh, empty store keeping that many history entries per twin;
// `reopen` (durable adapters) closes it and opens the same data again; `cleanup` closes whatever
// is open and removes its data.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { applyUpdate, deleteShadow, type ShadowDocument } from '../../src/core/twin/index.js';
import { TwinhubError } from '../../src/common/errors.js';
import type { TwinHistoryEntry, TwinStore } from '../../src/ports/twin-store.js';

export interface OpenedTwinStore {
  store: TwinStore;
  reopen?: () => Promise<TwinStore>;
  cleanup: () => Promise<void>;
}

/** A twin document made by the model itself, so the store round-trips real documents. */
export function twinDoc(reported: Record<string, unknown>, previous?: ShadowDocument, writer = 'device:d1'): ShadowDocument {
  const r = applyUpdate(previous, { state: { reported, desired: { color: 'red', nested: { a: [1, 2, { b: 'x' }] } } } }, { now: 1_700_000_000, writer });
  assert.ok(r.ok, 'the model accepted the fixture');
  return r.next;
}

export function entry(version: number, over: Partial<TwinHistoryEntry> = {}): TwinHistoryEntry {
  return { op: 'update', version, at: 1_700_000_000_000 + version, writer: 'device:d1', state: { reported: { v: version } }, ...over };
}

export function twinStoreContract(name: string, open: (historySize: number) => Promise<OpenedTwinStore>): void {
  describe(`TwinStore contract: ${name}`, () => {
    let h: OpenedTwinStore | undefined;
    const fresh = async (historySize = 5): Promise<TwinStore> => {
      h = await open(historySize);
      return h.store;
    };
    afterEach(async () => {
      await h?.cleanup();
      h = undefined;
    });

    it('starts empty: get → undefined, list → [], history → []', async () => {
      const s = await fresh();
      assert.equal(await s.get('d1', ''), undefined);
      assert.deepEqual(await s.list('d1'), []);
      assert.deepEqual(await s.history('d1', ''), []);
    });

    it('put with expectedRevision 0 creates the twin; get returns the same document and a non-zero revision', async () => {
      const s = await fresh();
      const doc = twinDoc(JSON.parse('{"temp": 21.5, "__proto__": {"x": 1}}') as Record<string, unknown>);
      const w = await s.put('d1', '', { expectedRevision: 0, doc, history: entry(1) });
      assert.equal(w.ok, true);
      assert.ok(w.revision > 0);
      const got = await s.get('d1', '');
      assert.ok(got !== undefined);
      assert.equal(got.revision, w.revision);
      assert.deepEqual(got.doc, doc);
      assert.equal(got.tombstone, undefined);
      // A field named "__proto__" is stored as a field, not as a prototype.
      assert.ok(Object.prototype.hasOwnProperty.call(got.doc!.state.reported, '__proto__'));
    });

    it('compare-and-set: a put on a stale revision fails with the current revision and changes nothing', async () => {
      const s = await fresh();
      const a = await s.put('d1', '', { expectedRevision: 0, doc: twinDoc({ v: 1 }), history: entry(1) });
      assert.ok(a.ok);
      const b = await s.put('d1', '', { expectedRevision: a.revision, doc: twinDoc({ v: 2 }), history: entry(2) });
      assert.ok(b.ok);
      assert.notEqual(b.revision, a.revision);
      const stale = await s.put('d1', '', { expectedRevision: a.revision, doc: twinDoc({ v: 3 }), history: entry(3) });
      assert.deepEqual(stale, { ok: false, revision: b.revision });
      const again = await s.put('d1', '', { expectedRevision: 0, doc: twinDoc({ v: 4 }), history: entry(4) });
      assert.deepEqual(again, { ok: false, revision: b.revision });
      assert.deepEqual((await s.get('d1', ''))!.doc!.state.reported, { v: 2 });
      assert.deepEqual((await s.history('d1', '')).map((e) => e.version), [2, 1], 'a failed put appends no history');
    });

    it('compare-and-set: of two writers that read the same revision at the same time, exactly one wins', async () => {
      const s = await fresh();
      const a = await s.put('d1', 'n', { expectedRevision: 0, doc: twinDoc({ v: 0 }), history: entry(1) });
      assert.ok(a.ok);
      const results = await Promise.all(
        [1, 2, 3, 4].map((i) => s.put('d1', 'n', { expectedRevision: a.revision, doc: twinDoc({ v: i }), history: entry(i + 1) })),
      );
      const winners = results.filter((r) => r.ok);
      assert.equal(winners.length, 1);
      const final = await s.get('d1', 'n');
      assert.equal(final!.revision, winners[0]!.revision);
      for (const r of results) if (!r.ok) assert.equal(r.revision, winners[0]!.revision);
      // Also when the twin does not exist yet (expectedRevision 0).
      const creates = await Promise.all([1, 2].map((i) => s.put('d2', '', { expectedRevision: 0, doc: twinDoc({ v: i }), history: entry(1) })));
      assert.equal(creates.filter((r) => r.ok).length, 1);
    });

    it('pipelined writes of one key, each on the revision the previous returned, all apply in order', async () => {
      const s = await fresh(100);
      let rev = 0;
      let doc: ShadowDocument | undefined;
      for (let i = 1; i <= 20; i++) {
        doc = twinDoc({ v: i }, doc);
        const w = await s.put('d1', '', { expectedRevision: rev, doc, history: entry(i) });
        assert.ok(w.ok);
        rev = w.revision;
      }
      assert.equal((await s.get('d1', ''))!.doc!.version, 20);
      assert.equal((await s.history('d1', '')).length, 20);
    });

    it('many writes of one turn (more than one transaction of them): all apply, each with its own revision', async () => {
      const s = await fresh();
      const n = 40;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => s.put(`d${i}`, i % 2 === 0 ? '' : 'n', { expectedRevision: 0, doc: twinDoc({ v: i }), history: entry(1) })),
      );
      assert.ok(results.every((r) => r.ok));
      assert.equal(new Set(results.map((r) => r.revision)).size, n, 'revisions are distinct');
      for (let i = 0; i < n; i++) {
        const got = await s.get(`d${i}`, i % 2 === 0 ? '' : 'n');
        assert.equal(got!.revision, results[i]!.revision);
        assert.deepEqual(got!.doc!.state.reported, { v: i });
      }
      // And a second wave on the revisions just returned, again in one turn.
      const again = await Promise.all(
        Array.from({ length: n }, (_, i) => s.put(`d${i}`, i % 2 === 0 ? '' : 'n', { expectedRevision: results[i]!.revision, doc: twinDoc({ v: -i }), history: entry(2) })),
      );
      assert.ok(again.every((r) => r.ok));
      assert.deepEqual((await s.get('d7', 'n'))!.doc!.state.reported, { v: -7 });
      assert.deepEqual((await s.history('d7', 'n')).map((e) => e.version), [2, 1]);
    });

    it('delete leaves a tombstone with the version; the key keeps a revision; a stale delete fails', async () => {
      const s = await fresh();
      const doc = twinDoc({ v: 1 }, twinDoc({ v: 0 }));
      const a = await s.put('d1', '', { expectedRevision: 0, doc, history: entry(doc.version) });
      assert.ok(a.ok);
      const del = deleteShadow(doc, { now: 1_700_000_100, shadowName: 'd1' });
      assert.ok(del.ok);
      const stale = await s.delete('d1', '', { expectedRevision: a.revision + 1000, tombstone: del.tombstone, history: entry(2, { op: 'delete' }) });
      assert.equal(stale.ok, false);
      const d = await s.delete('d1', '', { expectedRevision: a.revision, tombstone: del.tombstone, history: { op: 'delete', version: 2, at: 5, writer: 'api:k' } });
      assert.ok(d.ok);
      const got = await s.get('d1', '');
      assert.deepEqual(got, { revision: d.revision, tombstone: { version: 2, deletedAt: 1_700_000_100, writers: doc.writers } });
      assert.deepEqual(await s.list('d1'), [], 'a tombstone is not a live twin');
      // Recreate on the tombstone's revision.
      const re = await s.put('d1', '', { expectedRevision: d.revision, doc: twinDoc({ v: 3 }), history: entry(3) });
      assert.ok(re.ok);
      assert.deepEqual((await s.history('d1', '')).map((e) => [e.op, e.version]), [['update', 3], ['delete', 2], ['update', 2]]);
    });

    it('keeps only the last historySize entries per twin, newest first; limit bounds the answer', async () => {
      const s = await fresh(3);
      let rev = 0;
      for (let i = 1; i <= 7; i++) {
        const w = await s.put('d1', 'n', { expectedRevision: rev, doc: twinDoc({ v: i }), history: entry(i) });
        assert.ok(w.ok);
        rev = w.revision;
      }
      assert.deepEqual((await s.history('d1', 'n')).map((e) => e.version), [7, 6, 5]);
      assert.deepEqual((await s.history('d1', 'n', 2)).map((e) => e.version), [7, 6]);
      assert.deepEqual(await s.history('d1', 'n', 0), []);
      assert.deepEqual((await s.history('d1', 'n', 1))[0], entry(7));
      assert.deepEqual(await s.history('d1', ''), [], 'history is per twin');
    });

    it('history entries round-trip whole (lost changes included)', async () => {
      const s = await fresh();
      const e: TwinHistoryEntry = {
        op: 'update',
        version: 1,
        at: 123,
        writer: 'edge:e1',
        state: { desired: { a: null, b: [1, 'x'] } },
        lost: [{ path: ['desired', 'a'], value: 5, writer: 'api:k', timestamp: 99, winner: { writer: 'edge:e1', timestamp: 100 } }],
      };
      await s.put('d1', '', { expectedRevision: 0, doc: twinDoc({}), history: e });
      assert.deepEqual(await s.history('d1', ''), [e]);
    });

    it('historySize 0 keeps no history', async () => {
      const s = await fresh(0);
      const w = await s.put('d1', '', { expectedRevision: 0, doc: twinDoc({ v: 1 }), history: entry(1) });
      assert.ok(w.ok);
      assert.deepEqual(await s.history('d1', ''), []);
    });

    it('list: the device\'s live twin names in ascending order, classic as "", not other devices\'', async () => {
      const s = await fresh();
      for (const [dev, name] of [['d1', 'zeta'], ['d1', ''], ['d1', 'alpha'], ['d10', 'x'], ['d', 'y']] as const) {
        assert.ok((await s.put(dev, name, { expectedRevision: 0, doc: twinDoc({}), history: entry(1) })).ok);
      }
      assert.deepEqual(await s.list('d1'), ['', 'alpha', 'zeta']);
      assert.deepEqual(await s.list('d10'), ['x']);
      assert.deepEqual(await s.list('d'), ['y']);
    });

    it('deleteDevice removes every twin, tombstone and history entry of that device only', async () => {
      const s = await fresh();
      const a = await s.put('d1', '', { expectedRevision: 0, doc: twinDoc({}), history: entry(1) });
      assert.ok(a.ok);
      await s.put('d1', 'n', { expectedRevision: 0, doc: twinDoc({}), history: entry(1) });
      const doc = (await s.get('d1', 'n'))!;
      await s.delete('d1', 'n', { expectedRevision: doc.revision, tombstone: { version: 1, deletedAt: 1, writers: {} }, history: entry(1, { op: 'delete' }) });
      await s.put('d10', '', { expectedRevision: 0, doc: twinDoc({}), history: entry(1) });
      await s.deleteDevice('d1');
      assert.equal(await s.get('d1', ''), undefined);
      assert.equal(await s.get('d1', 'n'), undefined);
      assert.deepEqual(await s.list('d1'), []);
      assert.deepEqual(await s.history('d1', ''), []);
      assert.deepEqual(await s.history('d1', 'n'), []);
      assert.deepEqual(await s.list('d10'), ['']);
      assert.equal((await s.history('d10', '')).length, 1);
      // The key is empty again: created on revision 0, and never on the revision it had before.
      assert.equal((await s.put('d1', '', { expectedRevision: a.revision, doc: twinDoc({}), history: entry(1) })).ok, false);
      assert.ok((await s.put('d1', '', { expectedRevision: 0, doc: twinDoc({}), history: entry(1) })).ok);
    });

    it('deleteDevice while writes of the device are in flight leaves none of them behind', async () => {
      const s = await fresh();
      const writes = [0, 1, 2].map((i) => s.put('d1', `s${i}`, { expectedRevision: 0, doc: twinDoc({ i }), history: entry(1) }));
      const del = s.deleteDevice('d1');
      await Promise.all(writes);
      await del;
      assert.deepEqual(await s.list('d1'), []);
    });

    it('survives a reopen: twins, tombstones, history, revisions (durable adapters)', async (t) => {
      const s = await fresh(3);
      if (h!.reopen === undefined) {
        t.skip('not a durable adapter');
        return;
      }
      const doc = twinDoc({ temp: 20 });
      const a = await s.put('d1', '', { expectedRevision: 0, doc, history: entry(1) });
      assert.ok(a.ok);
      const b = await s.put('d1', 'gone', { expectedRevision: 0, doc, history: entry(1) });
      assert.ok(b.ok);
      const tomb = { version: 1, deletedAt: 42, writers: { 'device:d1': 1 } };
      const c = await s.delete('d1', 'gone', { expectedRevision: b.revision, tombstone: tomb, history: entry(1, { op: 'delete' }) });
      assert.ok(c.ok);
      const s2 = await h!.reopen();
      assert.deepEqual(await s2.get('d1', ''), { revision: a.revision, doc });
      assert.deepEqual(await s2.get('d1', 'gone'), { revision: c.revision, tombstone: tomb });
      assert.deepEqual(await s2.list('d1'), ['']);
      assert.equal((await s2.history('d1', 'gone')).length, 2);
      // Revisions handed out after the reopen are new ones: the stale one still fails.
      const d = await s2.put('d1', '', { expectedRevision: a.revision, doc, history: entry(2) });
      assert.ok(d.ok);
      assert.ok(d.revision > c.revision);
      // The history bound holds across the reopen.
      let rev = d.revision;
      for (let i = 3; i <= 6; i++) {
        const w = await s2.put('d1', '', { expectedRevision: rev, doc, history: entry(i) });
        assert.ok(w.ok);
        rev = w.revision;
      }
      assert.deepEqual((await s2.history('d1', '')).map((e) => e.version), [6, 5, 4]);
    });

    it('writes after close are refused with TH_STORE_WRITE_FAILED', async () => {
      const s = await fresh();
      await s.close();
      await assert.rejects(
        s.put('d1', '', { expectedRevision: 0, doc: twinDoc({}), history: entry(1) }),
        (err: unknown) => err instanceof TwinhubError && err.code === 'TH_STORE_WRITE_FAILED',
      );
    });
  });
}
