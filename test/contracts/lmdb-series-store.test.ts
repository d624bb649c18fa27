// Runs the SeriesStore contract against the LMDB adapter (both sync modes, each in a fresh folder
// under os.tmpdir()), plus where it keeps its data.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../src/adapters/lmdb/series-store.js';
import { seriesStoreContract } from './series-store.contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'twinhub-series-'));
}

for (const fsync of [false, true]) {
  seriesStoreContract(`lmdb (fsync: ${fsync})`, async () => {
    const dir = await tempDir();
    let current: LmdbSeriesStore = await openLmdbSeriesStore(dir, { fsync });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openLmdbSeriesStore(dir, { fsync });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

describe('lmdb series store: data folder', () => {
  it('keeps its own environment in <data>/telemetry, apart from the broker', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbSeriesStore(dir, { fsync: false });
      assert.equal(store.path, join(dir, 'telemetry'));
      assert.ok(existsSync(join(dir, 'telemetry', 'data.mdb')));
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
