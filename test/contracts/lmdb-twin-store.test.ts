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
