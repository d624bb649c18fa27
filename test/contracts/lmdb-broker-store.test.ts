// Runs the BrokerStore contract against the LMDB adapter (both sync modes, each in a fresh
// folder under os.tmpdir()), plus what only a durable adapter has: the data folder's format
// version and reopening with the other sync mode.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open } from 'lmdb';
import { openLmdbBrokerStore, type LmdbBrokerStore } from '../../src/adapters/lmdb/broker-store.js';
import { DATA_FORMAT_VERSION, openDataEnv } from '../../src/adapters/lmdb/env.js';
import { TwinhubError } from '../../src/common/errors.js';
import { brokerStoreContract, outbound, session } from './broker-store.contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'twinhub-lmdb-'));
}

for (const fsync of [false, true]) {
  brokerStoreContract(`lmdb (fsync: ${fsync})`, async () => {
    const dir = await tempDir();
    let current: LmdbBrokerStore = await openLmdbBrokerStore(dir, { fsync });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openLmdbBrokerStore(dir, { fsync });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

describe('lmdb broker store: data folder', () => {
  it('keeps its environment in <data>/broker and records the data format version', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbBrokerStore(dir, { fsync: false });
      assert.equal(store.path, join(dir, 'broker'));
      assert.ok(existsSync(join(dir, 'broker', 'data.mdb')));
      await store.close();
      const env = await openDataEnv(dir, 'broker', { fsync: false });
      assert.equal(env.formatVersion, DATA_FORMAT_VERSION);
      await env.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a folder written in a newer data format, naming both versions', async () => {
    const dir = await tempDir();
    try {
      const store = await openLmdbBrokerStore(dir, { fsync: false });
      await store.commit([{ op: 'putSession', session: session('c') }]);
      await store.close();
      // What a newer Twinhub would leave behind.
      const root = open(join(dir, 'broker'), { maxDbs: 32, noSync: true, overlappingSync: false });
      const meta = root.openDB('meta', { keyEncoding: 'binary', encoding: 'binary' });
      const newer = Buffer.alloc(4);
      newer.writeUInt32BE(DATA_FORMAT_VERSION + 1, 0);
      meta.putSync(Buffer.from('format'), newer);
      await root.close();
      await assert.rejects(openLmdbBrokerStore(dir, { fsync: false }), (err: unknown) => {
        assert.ok(err instanceof TwinhubError);
        assert.equal(err.code, 'TH_DATA_FORMAT_UNSUPPORTED');
        assert.match(err.message, new RegExp(`format ${DATA_FORMAT_VERSION + 1}\\b`));
        assert.match(err.message, new RegExp(`reads format ${DATA_FORMAT_VERSION}\\b`));
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reopens a folder written with fsync on with fsync off, and back', async () => {
    const dir = await tempDir();
    try {
      let store = await openLmdbBrokerStore(dir, { fsync: true });
      await store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(1) }]);
      await store.close();
      store = await openLmdbBrokerStore(dir, { fsync: false });
      assert.deepEqual(await store.loadOutbound('c'), [outbound(1)]);
      await store.commit([{ op: 'putOutbound', clientId: 'c', record: outbound(2) }]);
      await store.close();
      store = await openLmdbBrokerStore(dir, { fsync: true });
      assert.deepEqual(await store.loadOutbound('c'), [outbound(1), outbound(2)]);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
