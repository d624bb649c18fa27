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
import { openDataEnv } from '../../src/adapters/lmdb/env.js';
import { encodeRecordV1 } from '../../src/adapters/lmdb/twin-migrations.js';
import { applyUpdate, deleteShadow, type ShadowDocument, type ShadowTombstone } from '../../src/core/twin/index.js';
import type { TwinHistoryEntry } from '../../src/ports/twin-store.js';
import { entry, twinDoc, twinStoreContract } from './twin-store.contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'twinhub-twins-'));
}

// Default batching (16 writes per transaction), and transactions of 1 and 3 writes so that one
// turn's writes span several transactions in flight at once (writesPerBatch).
for (const [fsync, writesPerBatch] of [[false, undefined], [true, undefined], [false, 1], [false, 3]] as const) {
  const name = writesPerBatch === undefined ? `lmdb (fsync: ${fsync})` : `lmdb (fsync: ${fsync}, ${writesPerBatch} writes per transaction)`;
  twinStoreContract(name, async (historySize) => {
    const dir = await tempDir();
    const opts = { fsync, historySize, ...(writesPerBatch === undefined ? {} : { writesPerBatch }) };
    let current: LmdbTwinStore = await openLmdbTwinStore(dir, opts);
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openLmdbTwinStore(dir, opts);
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

  it('cachedKeys bounds the keys whose state is kept: an evicted key is read again, a kept one is not', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false, historySize: 2, cachedKeys: 2 });
      const revs = new Map<string, number>();
      const write = async (d: string): Promise<void> => {
        const w = await store.put(d, '', { expectedRevision: revs.get(d) ?? 0, doc: twinDoc({ d }), history: entry(1) });
        assert.ok(w.ok);
        revs.set(d, w.revision);
      };
      for (const d of ['k1', 'k2', 'k3']) await write(d);
      assert.equal(store.recordReads, 3);
      await write('k3'); // kept: no read
      assert.equal(store.recordReads, 3);
      await write('k1'); // the oldest, dropped when k3 came: read again
      assert.equal(store.recordReads, 4);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with cachedKeys 0, a write issued while an earlier write of its key is in flight waits for it and sees its revision', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false, historySize: 2, cachedKeys: 0 });
      // Both issued in one turn: the second names the revision the first will get (the store's first).
      const first = store.put('d', '', { expectedRevision: 0, doc: twinDoc({ v: 1 }), history: entry(1) });
      const second = store.put('d', '', { expectedRevision: 1, doc: twinDoc({ v: 2 }), history: entry(2) });
      assert.deepEqual(await first, { ok: true, revision: 1 });
      assert.deepEqual(await second, { ok: true, revision: 2 });
      assert.deepEqual((await store.get('d', ''))?.doc?.state.reported, { v: 2 });
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
      // Also for a write while shadow "b" of device "a" is cached: the classic shadow of "a\0b"
      // is refused, not taken for it (cache ids: docs in keyId).
      const w = await store.put('a', 'b', { expectedRevision: 0, doc: twinDoc({ v: 1 }), history: entry(1) });
      assert.ok(w.ok);
      await assert.rejects(
        store.put('a\u0000b', '', { expectedRevision: w.revision, doc: twinDoc({ v: 2 }), history: entry(2) }),
        (err: unknown) => err instanceof TwinhubError && err.code === 'TH_TWIN_INVALID',
      );
      assert.deepEqual((await store.get('a', 'b'))!.doc!.state.reported, { v: 1 });
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lmdb twin store: data format 2 (compact metadata) and the migration from format 1', () => {
  /** Twins written the way a format-1 release stored them: plain JSON records and history entries. */
  async function formatOneFolder(): Promise<{ dir: string; docs: Map<string, ShadowDocument>; tombstone: ShadowTombstone; entries: TwinHistoryEntry[] }> {
    const dir = await tempDir();
    const env = await openDataEnv(dir, 'twins', { fsync: false, supportedFormat: 1, migrations: [] });
    assert.equal(env.formatVersion, 1);
    const twins = env.openDb('twins');
    const hist = env.openDb('history');
    const docs = new Map<string, ShadowDocument>();
    // A multi-writer twin with tombstone leaves, the anonymous writer, a "__proto__" field and arrays.
    let doc = applyUpdate(undefined, { state: { desired: { mode: 'eco', level: 3, cfg: { a: [1, { b: 'x' }] } }, reported: { t: 21.5 } } }, { now: 1_700_000_000 });
    assert.ok(doc.ok);
    let next = applyUpdate(doc.next, JSON.parse('{"state":{"desired":{"level":null,"cfg":{"c":true}},"reported":{"__proto__":{"x":1},"h":40}}}'), { now: 1_700_000_001, writer: 'edge', vector: { edge: 1 } });
    assert.ok(next.ok);
    // Concurrent with edge's change (it missed it): its older value of "level" loses → `lost`.
    const concurrent = applyUpdate(next.next, { state: { desired: { level: 9 } } }, { now: 1_700_000_002, writer: 'api:k', vector: { 'api:k': 1 }, changedAt: 1_699_999_999 });
    assert.ok(concurrent.ok);
    docs.set('dev-1\u0000', concurrent.next);
    assert.ok(JSON.stringify(concurrent.next.metadata).includes('"deleted":true'), 'the fixture holds a tombstone leaf');
    assert.ok(concurrent.lost.length > 0, 'the fixture lost a change');
    doc = applyUpdate(undefined, { state: { reported: { on: true } } }, { now: 1_700_000_003, writer: 'device:dev-2' });
    assert.ok(doc.ok);
    docs.set('dev-2\u0000lamp', doc.next);
    const deleted = deleteShadow(doc.next, { now: 1_700_000_004, shadowName: 'gone' });
    assert.ok(deleted.ok);
    const entries: TwinHistoryEntry[] = [
      entry(1, { state: { desired: { mode: 'eco' } } }),
      entry(2, { writer: 'edge' }),
      { op: 'update', version: 3, at: 1_700_000_002_000, writer: 'api:k', state: concurrent.accepted.state, lost: concurrent.lost },
    ];
    let revision = 0;
    const hkey = (key: string, seq: number): Buffer => {
      const k = Buffer.alloc(Buffer.byteLength(key) + 9);
      k.write(key, 'utf8');
      k.writeUInt32BE(seq, k.length - 4);
      return k;
    };
    twins.putSync(Buffer.from('dev-1\u0000'), encodeRecordV1({ r: ++revision, h: 3, d: concurrent.next }));
    for (const [i, e] of entries.entries()) hist.putSync(hkey('dev-1\u0000', i + 1), Buffer.from(JSON.stringify(e)));
    twins.putSync(Buffer.from('dev-2\u0000lamp'), encodeRecordV1({ r: ++revision, h: 0, d: doc.next }));
    twins.putSync(Buffer.from('dev-2\u0000gone'), encodeRecordV1({ r: ++revision, h: 0, t: deleted.tombstone }));
    // Enough records for the migration to work in several chunks.
    for (let i = 0; i < 2500; i++) twins.putSync(Buffer.from(`bulk-${String(i).padStart(4, '0')}\u0000`), encodeRecordV1({ r: ++revision, h: 0, d: doc.next }));
    const rev = Buffer.alloc(8);
    rev.writeBigUInt64BE(BigInt(revision));
    env.openDb('meta').putSync(Buffer.from('revision'), rev);
    await env.close();
    return { dir, docs, tombstone: deleted.tombstone, entries };
  }

  it('a twins folder at format 1 is migrated when opened and reads back the same twins, tombstones and history (lost included)', async () => {
    const { dir, docs, tombstone, entries } = await formatOneFolder();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false, historySize: 10 });
      const one = await store.get('dev-1', '');
      assert.deepEqual(one?.doc, docs.get('dev-1\u0000'));
      assert.equal(one?.revision, 1);
      assert.deepEqual((await store.get('dev-2', 'lamp'))?.doc, docs.get('dev-2\u0000lamp'));
      assert.deepEqual(await store.get('dev-2', 'gone'), { revision: 3, tombstone });
      assert.deepEqual((await store.get('bulk-2499', ''))?.doc, docs.get('dev-2\u0000lamp'));
      assert.deepEqual(await store.history('dev-1', ''), [...entries].reverse());
      assert.deepEqual(await store.list('dev-2'), ['lamp']);
      // Writes continue: compare-and-set on the migrated revision, history after the migrated seq.
      const r = applyUpdate(one!.doc, { state: { reported: { t: 22 } } }, { now: 1_700_000_010, writer: 'device:dev-1' });
      assert.ok(r.ok);
      const w = await store.put('dev-1', '', { expectedRevision: 1, doc: r.next, history: entry(4) });
      assert.ok(w.ok);
      assert.ok(w.revision > 2503, 'revisions continue after the migrated ones');
      assert.deepEqual((await store.history('dev-1', '')).map((e) => e.version), [4, 3, 2, 1]);
      await store.close();
      // The folder is at format 2 now, its records compact; opening it again does not migrate.
      const env = await openDataEnv(dir, 'twins', { fsync: false, migrations: [] });
      assert.equal(env.formatVersion, 2);
      const stored = env.openDb('twins').get(Buffer.from('dev-2\u0000lamp'))!.toString('utf8');
      assert.ok(!stored.includes('"metadata"') && stored.includes('"m":'), stored);
      await env.close();
      // A release that reads format 1 only refuses the migrated folder rather than misreading it.
      await assert.rejects(openDataEnv(dir, 'twins', { fsync: false, supportedFormat: 1 }), (err: unknown) => err instanceof TwinhubError && err.code === 'TH_DATA_FORMAT_UNSUPPORTED');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a new twins folder is written at format 2; a record stores each change\'s writer once per section', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false });
      const fields: { [k: string]: number } = {};
      for (let i = 0; i < 20; i++) fields[`field_${i}`] = i;
      const r = applyUpdate(undefined, { state: { reported: fields } }, { now: 1_700_000_000, writer: 'device:a-rather-long-writer-id' });
      assert.ok(r.ok);
      assert.ok((await store.put('d', '', { expectedRevision: 0, doc: r.next, history: entry(1) })).ok);
      await store.close();
      const env = await openDataEnv(dir, 'twins', { fsync: false });
      assert.equal(env.formatVersion, 2);
      const stored = env.openDb('twins').get(Buffer.from('d\u0000'))!.toString('utf8');
      // Once in the metadata's table of changes, once in the version vector (20 times in format 1).
      assert.equal(stored.split('a-rather-long-writer-id').length - 1, 2, stored);
      assert.ok(stored.length < JSON.stringify({ r: 1, h: 1, d: r.next }).length / 2, `${stored.length} bytes`);
      await env.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('history entries read back as written whether or not their reported state is the document\'s section (JSON reused or not)', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbTwinStore(dir, { fsync: false, historySize: 10 });
      let doc: ShadowDocument | undefined;
      let revision = 0;
      const requests: unknown[] = [
        { state: { reported: { b: 1, a: 2 } } },
        // Same fields in another order: the section keeps its order, the entry its own.
        { state: { reported: { a: 3, b: 4 } } },
        // Part of the fields; then nested objects (merged copies, never reused); then with desired.
        { state: { reported: { a: 5 } } },
        { state: { reported: { a: 6, b: { c: 1 } } } },
        { state: { desired: { x: 1 }, reported: { a: 7, b: 8 } } },
        JSON.parse('{"state":{"reported":{"__proto__":9,"a":7,"b":8}}}'),
        { state: { reported: { a: null, b: 8, __proto__: 9 } } },
      ];
      const written: TwinHistoryEntry[] = [];
      for (const [i, request] of requests.entries()) {
        const r = applyUpdate(doc, request, { now: 1_700_000_000 + i, writer: 'device:d' });
        assert.ok(r.ok, `request ${i}`);
        const e: TwinHistoryEntry = { op: 'update', version: r.next.version, at: 1_700_000_000_000 + i, writer: 'device:d', state: r.accepted.state };
        written.push(e);
        const w = await store.put('d', '', { expectedRevision: revision, doc: r.next, history: e });
        assert.ok(w.ok);
        revision = w.revision;
        doc = r.next;
      }
      const back = await store.history('d', '');
      assert.deepEqual(back, [...written].reverse());
      // Field order of the stored entries is the order sent.
      assert.deepEqual(Object.keys(back[back.length - 2]!.state!.reported as object), ['a', 'b']);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
