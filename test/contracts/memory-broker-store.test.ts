// Runs the BrokerStore contract against the in-memory adapter, plus its failure-injection hook.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBrokerStore } from '../../src/adapters/memory/broker-store.js';
import { TwinhubError } from '../../src/common/errors.js';
import { brokerStoreContract, outbound, session } from './broker-store.contract.js';

brokerStoreContract('memory', async () => {
  const store = new MemoryBrokerStore();
  return { store, cleanup: () => store.close() };
});

describe('MemoryBrokerStore.failNextCommits', () => {
  it('fails the next n commits with TH_STORE_WRITE_FAILED, applying nothing, then works again', async () => {
    const store = new MemoryBrokerStore();
    const cause = new Error('disk full');
    store.failNextCommits(2, cause);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        store.commit([
          { op: 'putSession', session: session('c') },
          { op: 'putOutbound', clientId: 'c', record: outbound(i) },
        ]),
        (err: unknown) => err instanceof TwinhubError && err.code === 'TH_STORE_WRITE_FAILED' && err.cause === cause,
      );
    }
    assert.deepEqual(await store.loadSessions(), []);
    assert.deepEqual(await store.loadOutbound('c'), []);
    await store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(3) }]);
    assert.deepEqual(await store.loadOutbound('c'), [outbound(3)]);
  });
});
