// Runs the SeriesStore contract against the in-memory adapter, plus its failure-injection hook.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemorySeriesStore } from '../../src/adapters/memory/series-store.js';
import { TwinhubError } from '../../src/common/errors.js';
import { seriesRecord, seriesStoreContract, walEntry } from './series-store.contract.js';

seriesStoreContract('memory', async () => {
  let current = new MemorySeriesStore();
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = current.reopen();
      return current;
    },
    cleanup: () => current.close(),
  };
});

describe('MemorySeriesStore.failNextWrites', () => {
  it('fails the next write with TH_STORE_WRITE_FAILED, applying nothing, then works again', async () => {
    const store = new MemorySeriesStore();
    store.failNextWrites(1);
    await assert.rejects(store.appendWal(walEntry(1, [[1, 1, 1]]), [seriesRecord(1)]), (e: unknown) => e instanceof TwinhubError && e.code === 'TH_STORE_WRITE_FAILED');
    assert.deepEqual((await store.loadCatalog()).series, []);
    await store.appendWal(walEntry(1, [[1, 1, 1]]), [seriesRecord(1)]);
    assert.equal((await store.loadCatalog()).series.length, 1);
  });
});
