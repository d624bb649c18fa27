// Runs the TwinStore contract against the LMDB adapter (both sync modes, each in a fresh folder
// under os.tmpdir()), plus where it keeps its data.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openLmdbTwinStore, type LmdbTwinStore } from '../../src/adapters/lmdb/twin-store.js';
import { TwinhubError } from '../../src/common/errors.js';
import { applyUpdate, deleteShadow, type ShadowDocument } from '../../src/core/twin/index.js';
import { entry, twinDoc, twinStoreContract } from './twin-store.contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'twinhub-twins-'));
}

for (const fsync of [false, true]) {
  twinStoreContract(`lmdb (fsync: ${fsync})`, async (historySize) => {
    const dir = await tempDir();
    let current: LmdbTwinStore = await openLmdbTwinStore(dir, { fsync, historySize });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openLmdbTwinStore(dir, { fsync, historySize });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

describe('lmdb twin store: data folder', () => {
  it('keeps its environment in <data>/twins, apart from the broker\'s', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false });
      assert.equal(store.path, join(dir, 'twins'));
      await store.put('d', '', { expectedRevision: 0, doc: twinDoc({}), history: entry(1) });
      assert.ok(existsSync(join(dir, 'twins', 'data.mdb')));
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a smaller historySize on reopen trims the older entries at the next write', async () => {
    const dir = await tempDir();
    try {
      let store = await openLmdbTwinStore(dir, { fsync: false, historySize: 10 });
      let rev = 0;
      for (let i = 1; i <= 6; i++) {
        const w = await store.put('d', '', { expectedRevision: rev, doc: twinDoc({ i }), history: entry(i) });
        assert.ok(w.ok);
        rev = w.revision;
      }
      await store.close();
      store = await openLmdbTwinStore(dir, { fsync: false, historySize: 2 });
      assert.ok((await store.put('d', '', { expectedRevision: rev, doc: twinDoc({}), history: entry(7) })).ok);
      assert.deepEqual((await store.history('d', '')).map((e) => e.version), [7, 6]);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('records assembled from cached JSON sections read back as the documents written (desired, reported, nulls, "__proto__", state null, delete, recreate)', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false, historySize: 3 });
      const requests: unknown[] = [
        { state: { desired: { mode: 'eco', level: 3 } } },
        { state: { reported: { mode: 'eco', t: 21.5 } } },
        { state: { reported: { t: 22 } } },
        { state: { desired: { level: null, nested: { a: [1, 2, { b: 'x' }] } } } },
        JSON.parse('{"state": {"reported": {"__proto__": {"x": 1}, "t": null}}}'),
        { state: { desired: null } },
        { state: null },
        { state: { reported: { back: true } } },
      ];
      let doc: ShadowDocument | undefined;
      let revision = 0;
      let version = 0;
      for (const [i, request] of requests.entries()) {
        const r = applyUpdate(doc, request, { now: 1_700_000_000 + i, writer: i % 2 === 0 ? 'device:d' : 'api:k' });
        assert.ok(r.ok, `request ${i} accepted`);
        const w = await store.put('d', '', { expectedRevision: revision, doc: r.next, history: entry(++version) });
        assert.ok(w.ok);
        revision = w.revision;
        doc = r.next;
        // get() reads the record from LMDB: it is the JSON as stored.
        assert.deepEqual((await store.get('d', ''))?.doc, doc, `after request ${i}`);
      }
      const d = deleteShadow(doc, { now: 1_700_000_100, shadowName: 'd' });
      assert.ok(d.ok);
      const w = await store.delete('d', '', { expectedRevision: revision, tombstone: d.tombstone, history: entry(++version, { op: 'delete' }) });
      assert.ok(w.ok);
      const again = applyUpdate(undefined, { state: { reported: { back: 'again' } } }, { now: 1_700_000_101, writer: 'device:d', tombstone: d.tombstone });
      assert.ok(again.ok);
      assert.ok((await store.put('d', '', { expectedRevision: w.revision, doc: again.next, history: entry(++version) })).ok);
      assert.deepEqual((await store.get('d', ''))?.doc, again.next);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('history stays at historySize over many writes, across a reopen (the first write after it trims by scanning, later ones one entry each)', async () => {
    const dir = await tempDir();
    try {
      let store = await openLmdbTwinStore(dir, { fsync: false, historySize: 3 });
      let rev = 0;
      const write = async (i: number): Promise<void> => {
        const w = await store.put('d', '', { expectedRevision: rev, doc: twinDoc({ i }), history: entry(i) });
        assert.ok(w.ok);
        rev = w.revision;
      };
      for (let i = 1; i <= 10; i++) await write(i);
      assert.deepEqual((await store.history('d', '')).map((e) => e.version), [10, 9, 8]);
      await store.close();
      store = await openLmdbTwinStore(dir, { fsync: false, historySize: 3 });
      for (let i = 11; i <= 15; i++) await write(i);
      assert.deepEqual((await store.history('d', '')).map((e) => e.version), [15, 14, 13]);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a store that caches no keys (cachedKeys 0) behaves the same: compare-and-set reads the stored revision', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false, historySize: 2, cachedKeys: 0 });
      const a = await store.put('d', '', { expectedRevision: 0, doc: twinDoc({ v: 1 }), history: entry(1) });
      assert.ok(a.ok);
      assert.deepEqual(await store.put('d', '', { expectedRevision: 0, doc: twinDoc({ v: 2 }), history: entry(2) }), { ok: false, revision: a.revision });
      assert.ok((await store.put('d', '', { expectedRevision: a.revision, doc: twinDoc({ v: 3 }), history: entry(3) })).ok);
      assert.equal(store.recordReads, 3);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a device id with NUL (it would break the key layout)', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false });
      await assert.rejects(store.get('a\u0000b', ''), (err: unknown) => err instanceof TwinhubError && err.code === 'TH_TWIN_INVALID');
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
