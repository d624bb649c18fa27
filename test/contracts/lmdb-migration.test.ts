// Data format migrations of an LMDB environment (issue 7): an older folder is upgraded step by
// step when a hub opens it, each step in one transaction with the new format recorded, so a
// failing step leaves the folder as it was; a folder with no migration path is refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TwinhubError } from '../../src/common/errors.js';
import { DATA_FORMAT_VERSION, FORMAT_VERSIONS, MIGRATIONS, formatVersionOf, openDataEnv, type Migration } from '../../src/adapters/lmdb/env.js';

const K = Buffer.from('a');

async function folderAtCurrentFormat(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-migrate-'));
  const env = await openDataEnv(dir, 'things', { fsync: false });
  await env.openDb('x').put(K, Buffer.from('old'));
  await env.close();
  return dir;
}

test('an older folder is migrated once, step by step, and records the new format', async () => {
  const dir = await folderAtCurrentFormat();
  let runs = 0;
  const steps: Migration[] = [
    {
      from: DATA_FORMAT_VERSION,
      describe: 'prefix every value',
      migrate: (env) => {
        runs++;
        const db = env.openDb('x');
        db.putSync(K, Buffer.concat([Buffer.from('new-'), db.get(K)!]));
      },
    },
  ];
  try {
    const env = await openDataEnv(dir, 'things', { fsync: false, supportedFormat: DATA_FORMAT_VERSION + 1, migrations: steps });
    assert.equal(env.formatVersion, DATA_FORMAT_VERSION + 1);
    assert.equal(env.openDb('x').get(K)?.toString(), 'new-old');
    await env.close();
    const again = await openDataEnv(dir, 'things', { fsync: false, supportedFormat: DATA_FORMAT_VERSION + 1, migrations: steps });
    assert.equal(runs, 1, 'a migrated folder is not migrated again');
    await again.close();
    // The release before the migration refuses the migrated folder rather than misreading it.
    await assert.rejects(openDataEnv(dir, 'things', { fsync: false }), (err: unknown) => err instanceof TwinhubError && err.code === 'TH_DATA_FORMAT_UNSUPPORTED');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failing step changes nothing and says the folder is still at its format; no path is refused by name', async () => {
  const dir = await folderAtCurrentFormat();
  try {
    const failing: Migration[] = [
      {
        from: DATA_FORMAT_VERSION,
        describe: 'a step that fails half way',
        migrate: (env) => {
          env.openDb('x').putSync(K, Buffer.from('half'));
          throw new Error('boom');
        },
      },
    ];
    await assert.rejects(openDataEnv(dir, 'things', { fsync: false, supportedFormat: DATA_FORMAT_VERSION + 1, migrations: failing }), (err: unknown) => {
      assert.ok(err instanceof TwinhubError);
      assert.match(err.message, new RegExp(`still at format ${DATA_FORMAT_VERSION}\\b`));
      assert.match(err.message, /a step that fails half way/);
      return true;
    });
    const env = await openDataEnv(dir, 'things', { fsync: false });
    assert.equal(env.formatVersion, DATA_FORMAT_VERSION);
    assert.equal(env.openDb('x').get(K)?.toString(), 'old', 'the half-done step was rolled back');
    await env.close();
    await assert.rejects(openDataEnv(dir, 'things', { fsync: false, supportedFormat: DATA_FORMAT_VERSION + 1, migrations: [] }), (err: unknown) => {
      assert.ok(err instanceof TwinhubError);
      assert.equal(err.code, 'TH_DATA_FORMAT_UNSUPPORTED');
      assert.match(err.message, /no migration from it/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('each environment has its own data format: twins is at 2 (with a migration from 1), the others at DATA_FORMAT_VERSION', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-migrate-'));
  try {
    assert.equal(formatVersionOf('twins'), 2);
    assert.equal(FORMAT_VERSIONS.twins, 2);
    for (const name of ['broker', 'registry', 'telemetry', 'toString', '__proto__']) assert.equal(formatVersionOf(name), DATA_FORMAT_VERSION, name);
    assert.deepEqual(
      MIGRATIONS.twins!.map((m) => m.from),
      [1],
    );
    const twins = await openDataEnv(dir, 'twins', { fsync: false });
    assert.equal(twins.formatVersion, 2, 'a new twins environment is written at its format');
    await twins.close();
    const other = await openDataEnv(dir, 'things', { fsync: false });
    assert.equal(other.formatVersion, DATA_FORMAT_VERSION);
    await other.close();
    // A twins folder from a newer release is refused, naming both formats.
    const newer = await openDataEnv(dir, 'twins', { fsync: false, supportedFormat: 3, migrations: [{ from: 2, describe: 'a later release', migrate: () => undefined }] });
    assert.equal(newer.formatVersion, 3);
    await newer.close();
    await assert.rejects(openDataEnv(dir, 'twins', { fsync: false }), (err: unknown) => {
      assert.ok(err instanceof TwinhubError);
      assert.equal(err.code, 'TH_DATA_FORMAT_UNSUPPORTED');
      assert.match(err.message, /holds data format 3; this Twinhub reads format 2 and older/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
