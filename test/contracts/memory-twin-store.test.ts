// Runs the TwinStore contract against the in-memory adapter, plus its failure-injection hook.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryTwinStore } from '../../src/adapters/memory/twin-store.js';
import { TwinhubError } from '../../src/common/errors.js';
import { entry, twinDoc, twinStoreContract } from './twin-store.contract.js';

twinStoreContract('memory', async (historySize) => {
  const store = new MemoryTwinStore({ historySize });
  return { store, cleanup: () => store.close() };
});

describe('MemoryTwinStore.failNextWrites', () => {
  it('fails the next n writes with TH_STORE_WRITE_FAILED, applying nothing, then works again', async () => {
    const store = new MemoryTwinStore();
    store.failNextWrites(1);
    await assert.rejects(
      store.put('d', '', { expectedRevision: 0, doc: twinDoc({}), history: entry(1) }),
      (err: unknown) => err instanceof TwinhubError && err.code === 'TH_STORE_WRITE_FAILED',
    );
    assert.equal(await store.get('d', ''), undefined);
    assert.deepEqual(await store.history('d', ''), []);
    assert.ok((await store.put('d', '', { expectedRevision: 0, doc: twinDoc({}), history: entry(1) })).ok);
  });
});
