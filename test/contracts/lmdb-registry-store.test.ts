// Runs the RegistryStore contract against the LMDB adapter (both sync modes, each in a fresh
// folder under os.tmpdir()), plus what only this adapter has: its place in the data folder, the
// data format check, and the id length limit of LMDB keys.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open } from 'lmdb';
import { DATA_FORMAT_VERSION } from '../../src/adapters/lmdb/env.js';
import { MAX_ID_BYTES, openLmdbRegistryStore } from '../../src/adapters/lmdb/registry-store.js';
import { TwinhubError } from '../../src/common/errors.js';
import type { RegistryStore } from '../../src/ports/registry-store.js';
import { device, password, registryStoreContract } from './registry-store.contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'twinhub-registry-'));
}

for (const fsync of [false, true]) {
  registryStoreContract(`lmdb (fsync: ${fsync})`, async () => {
    const dir = await tempDir();
    let current: RegistryStore = await openLmdbRegistryStore(dir, { fsync });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openLmdbRegistryStore(dir, { fsync });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

async function withStore(fn: (store: RegistryStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const store = await openLmdbRegistryStore(dir, { fsync: false });
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const writeFailed = (err: unknown): boolean => {
  assert.ok(err instanceof TwinhubError, `expected a TwinhubError, got ${String(err)}`);
  assert.equal(err.code, 'TH_STORE_WRITE_FAILED');
  return true;
};

describe('lmdb registry store: data folder and limits', () => {
  it('keeps its environment in <data>/registry', async () => {
    await withStore(async (_store, dir) => {
      assert.ok(existsSync(join(dir, 'registry', 'data.mdb')));
    });
  });

  it('refuses a folder written in a newer data format', async () => {
    const dir = await tempDir();
    try {
      await (await openLmdbRegistryStore(dir, { fsync: false })).close();
      const root = open(join(dir, 'registry'), { maxDbs: 32, noSync: true, overlappingSync: false });
      const meta = root.openDB('meta', { keyEncoding: 'binary', encoding: 'binary' });
      const newer = Buffer.alloc(4);
      newer.writeUInt32BE(DATA_FORMAT_VERSION + 1, 0);
      meta.putSync(Buffer.from('format'), newer);
      await root.close();
      await assert.rejects(openLmdbRegistryStore(dir, { fsync: false }), (err: unknown) => {
        assert.ok(err instanceof TwinhubError);
        assert.equal(err.code, 'TH_DATA_FORMAT_UNSUPPORTED');
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(`takes ids of ${MAX_ID_BYTES} UTF-8 bytes; refuses longer or empty ones with TH_STORE_WRITE_FAILED, writing nothing`, async () => {
    await withStore(async (store) => {
      const longest = 'é'.repeat(MAX_ID_BYTES / 2); // 2 bytes each
      assert.deepEqual(await store.createDevice(device(longest)), { ok: true });
      assert.deepEqual(await store.addCredential(password('c'.repeat(MAX_ID_BYTES), longest)), { ok: true });
      assert.equal((await store.listCredentials(longest)).length, 1);

      const tooLong = `${longest}x`;
      await assert.rejects(store.createDevice(device(tooLong)), writeFailed);
      await assert.rejects(store.createDevice(device('')), writeFailed);
      // A bulk call with one bad id writes none of it.
      await assert.rejects(store.createDevices([device('fine'), device(tooLong)]), writeFailed);
      assert.equal(await store.getDevice('fine'), undefined);
      assert.equal(await store.countDevices(), 1);
      await assert.rejects(store.addCredential(password('c'.repeat(MAX_ID_BYTES + 1), longest)), writeFailed);
      assert.equal((await store.listCredentials(longest)).length, 1);
    });
  });

  it('answers reads of ids no record can have (too long, empty) with nothing, not an error', async () => {
    await withStore(async (store) => {
      await store.createDevice(device('d'));
      // An MQTT username may be 65,535 bytes [MQTT-1.5.4]; an auth lookup of one must not throw.
      const huge = 'u'.repeat(65_535);
      assert.equal(await store.getDevice(huge), undefined);
      assert.equal(await store.getDevice(''), undefined);
      assert.deepEqual(await store.listCredentials(huge), []);
      assert.equal(await store.getCredential(huge), undefined);
      assert.equal(await store.getPresence(huge), undefined);
      assert.equal(await store.findCredentialByLookup(`token:${huge}`), undefined);
      assert.deepEqual(await store.deleteDevice(huge), { device: undefined, credentials: [] });
      assert.equal(await store.removeCredential(huge), undefined);
      await store.putPresence(huge, { connected: true, lastSeen: 1 });
      assert.deepEqual(await store.scanDevices({ after: huge, limit: 5 }), [], '"uuu…" sorts after "d"');
      assert.deepEqual(
        (await store.scanDevices({ after: 'a'.repeat(5000), limit: 5 })).map((d) => d.id),
        ['d'],
        'a cursor too long to be a key',
      );
    });
  });

  it('creates 10,000 devices in one createDevices call in well under a second', async () => {
    await withStore(async (store) => {
      const batch = Array.from({ length: 10_000 }, (_, i) => device(`perf-${i}`, { tags: { site: 'bench' } }));
      const t0 = performance.now();
      const results = await store.createDevices(batch);
      const ms = performance.now() - t0;
      assert.ok(results.every((r) => r.ok));
      assert.equal(await store.countDevices(), 10_000);
      // One transaction: typically ~50 ms here; one per record would take several seconds with fsync.
      assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    });
  });
});
