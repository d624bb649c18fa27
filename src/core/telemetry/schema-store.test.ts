// Telemetry schemas kept in the data folder: registrations survive a reopen, the file is replaced
// atomically (no temporary file left, the old file intact when a write fails), a refused or
// unstored registration leaves the live registry unchanged, and the ingestor built on the live
// registry checks payloads against a version as soon as it is registered.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIngestor, DEFAULT_TELEMETRY_MAPPINGS } from './ingest/index.js';
import { jsonFilePersistence, memoryPersistence, schemaFile, SchemaStore, type SchemaPersistence } from './schema-store.js';

const V1 = { type: 'object', properties: { temp: { type: 'number' } }, required: ['temp'] };
const V1_1 = { type: 'object', properties: { temp: { type: 'number' }, hum: { type: 'number' } }, required: ['temp'] };
const V1_2_BREAKS = { type: 'object', properties: { temp: { type: 'string' } }, required: ['temp'] };

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-schemas-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('SchemaStore', () => {
  test('registrations are written to <data>/telemetry/schemas.json and read back on open', async () => {
    await withDir(async (dir) => {
      const file = schemaFile(dir);
      assert.equal(file, join(dir, 'telemetry', 'schemas.json'));
      const s = await SchemaStore.open(jsonFilePersistence(file));
      assert.deepEqual(s.registry.deviceTypes(), [], 'no file: an empty registry');
      assert.deepEqual(await s.register('meter', '1.0.0', V1), { ok: true });
      assert.deepEqual(await s.register('meter', '1.1.0', V1_1), { ok: true });
      assert.deepEqual(await readdir(join(dir, 'telemetry')), ['schemas.json'], 'no temporary file is left behind');
      const again = await SchemaStore.open(jsonFilePersistence(file));
      assert.deepEqual(again.registry.versions('meter').map((v) => v.version), ['1.0.0', '1.1.0']);
      assert.deepEqual(again.registry.current('meter')!.schema, V1_1);
      // The reopened registry still enforces compatibility against the stored current version.
      const r = await again.register('meter', '1.2.0', V1_2_BREAKS);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.reason, 'incompatible');
    });
  });

  test('a refused registration writes nothing', async () => {
    const saves: unknown[] = [];
    const p: SchemaPersistence = { load: async () => undefined, save: async (d) => void saves.push(d) };
    const s = await SchemaStore.open(p);
    await s.register('meter', '1.0.0', V1);
    assert.equal((await s.register('meter', '1.0.0', V1)).ok, false, 'not greater');
    assert.equal((await s.register('meter', 'x', V1)).ok, false, 'not semver');
    assert.equal((await s.register('meter', '1.2.0', V1_2_BREAKS)).ok, false, 'incompatible');
    assert.equal(saves.length, 1);
  });

  test('a registration that cannot be stored is not registered (the live registry is unchanged)', async () => {
    await withDir(async (dir) => {
      const file = schemaFile(dir);
      const s = await SchemaStore.open(jsonFilePersistence(file));
      await s.register('meter', '1.0.0', V1);
      const before = await readFile(file, 'utf8');
      // A folder where the temporary file would go makes the write fail (even for root).
      const tmp = `${file}.tmp-${process.pid}`;
      await mkdir(tmp);
      await assert.rejects(s.register('meter', '1.1.0', V1_1), (e: unknown) => (e as { code?: string }).code === 'TH_STORE_WRITE_FAILED');
      await rm(tmp, { recursive: true });
      assert.equal(s.registry.current('meter')!.version, '1.0.0');
      assert.equal(await readFile(file, 'utf8'), before, 'the old file is intact');
      assert.deepEqual(await s.register('meter', '1.1.0', V1_1), { ok: true }, 'and the next registration works');
    });
  });

  test('a file that is not a schema registry is refused at open, not silently emptied', async () => {
    await withDir(async (dir) => {
      const file = schemaFile(dir);
      await SchemaStore.open(jsonFilePersistence(file)).then((s) => s.register('meter', '1.0.0', V1));
      await writeFile(file, '{"format":1,"deviceTypes":[{"deviceType":"m"');
      await assert.rejects(SchemaStore.open(jsonFilePersistence(file)), (e: unknown) => (e as { code?: string }).code === 'TH_DATA_FORMAT_UNSUPPORTED');
      await writeFile(file, '{"format":7}');
      await assert.rejects(SchemaStore.open(jsonFilePersistence(file)), /unknown format 7/);
    });
  });

  test('registrations run one at a time: two concurrent versions both land, in order', async () => {
    const s = await SchemaStore.open(memoryPersistence());
    const [a, b] = await Promise.all([s.register('meter', '1.0.0', V1), s.register('meter', '1.1.0', V1_1)]);
    assert.deepEqual([a, b], [{ ok: true }, { ok: true }]);
    assert.deepEqual(s.registry.versions('meter').map((v) => v.version), ['1.0.0', '1.1.0']);
  });

  test('issue 5: payloads are validated against their device type\'s schema as soon as it is registered', async () => {
    const s = await SchemaStore.open(memoryPersistence());
    const ingestor = createIngestor(DEFAULT_TELEMETRY_MAPPINGS, { schemas: s.registry });
    const bad = Buffer.from(JSON.stringify({ temp: 'hot' }));
    assert.equal(ingestor.ingest('devices/d1/telemetry', bad, 1000, 'meter')!.deadLetters.length, 1, 'a string is a dead letter anyway');
    const noTemp = Buffer.from(JSON.stringify({ hum: 40 }));
    assert.equal(ingestor.ingest('devices/d1/telemetry', noTemp, 1000, 'meter')!.points.length, 1, 'no schema yet: accepted');
    await s.register('meter', '1.0.0', V1);
    const r = ingestor.ingest('devices/d1/telemetry', noTemp, 1000, 'meter')!;
    assert.equal(r.points.length, 0);
    assert.match(r.deadLetters[0]!.reason, /schema meter@1\.0\.0: .*temp/);
  });
});
