// A consistent copy of a data folder, also while a hub runs on it. Each LMDB environment of the
// folder (broker, registry, twins, telemetry…) is copied with mdb_env_copy inside one read
// transaction, so every environment in the copy is exactly as some commit left it: acknowledged
// messages, devices and twins written before the copy began are in it, and nothing half-written
// is. LMDB lets another process read an environment a running hub writes (the lock file
// coordinates them), so the copy needs no pause of the hub. Environments are copied one after the
// other: a message acknowledged between two copies may be in one and not the other, as after a
// crash at that moment, which the hub recovers from the same way.
import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { open } from 'lmdb';
import { usesWritemap } from './env.js';
import { Errors, TwinhubError } from '../../common/errors.js';
import { VERSION } from '../../common/version.js';

export interface BackupReport {
  source: string;
  target: string;
  startedAt: string;
  finishedAt: string;
  environments: { name: string; bytes: number }[];
}

async function environmentsOf(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  for (const e of await readdir(dataDir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    try {
      await stat(join(dataDir, e.name, 'data.mdb'));
      names.push(e.name);
    } catch {
      // not an LMDB environment
    }
  }
  return names.sort();
}

/** Copy every environment of `dataDir` into `targetDir` (which must not exist or be empty). */
export async function backupDataFolder(dataDir: string, targetDir: string, opts: { compact?: boolean } = {}): Promise<BackupReport> {
  const source = resolve(dataDir);
  const target = resolve(targetDir);
  if (source === target) throw new TwinhubError(Errors.BAD_REQUEST, 'the backup folder must not be the data folder');
  let envs: string[];
  try {
    envs = await environmentsOf(source);
  } catch (err) {
    throw new TwinhubError(Errors.STORE_OPEN_FAILED, `cannot read data folder ${source}: ${(err as Error).message}`, { source });
  }
  if (envs.length === 0) throw new TwinhubError(Errors.STORE_OPEN_FAILED, `${source} holds no Twinhub data (no LMDB environments); give the data folder with --data`, { source });
  await mkdir(target, { recursive: true });
  if ((await readdir(target)).length > 0) throw new TwinhubError(Errors.BAD_REQUEST, `backup folder ${target} is not empty; give a new or empty folder`, { target });
  const startedAt = new Date().toISOString();
  const environments: BackupReport['environments'] = [];
  for (const name of envs) {
    const from = join(source, name);
    const to = join(target, name);
    await mkdir(to);
    // maxDbs as the hub opens them; the copy reads every sub-database in one snapshot.
    const env = open({ path: from, maxDbs: 32, keyEncoding: 'binary', encoding: 'binary', useWritemap: usesWritemap(name) });
    try {
      await env.backup(to, opts.compact ?? false);
    } catch (err) {
      throw new TwinhubError(Errors.STORE_WRITE_FAILED, `backup of ${from} into ${to} failed: ${(err as Error).message}`, { from, to }, { cause: err });
    } finally {
      await env.close();
    }
    // Files a part keeps beside its environment (telemetry schemas.json) are replaced whole by
    // rename when written, so a plain copy is a consistent version of each.
    for (const f of await readdir(from, { withFileTypes: true })) {
      if (f.isFile() && f.name !== 'data.mdb' && f.name !== 'lock.mdb' && !f.name.includes('.tmp')) await copyFile(join(from, f.name), join(to, f.name));
    }
    environments.push({ name, bytes: (await stat(join(to, 'data.mdb'))).size });
  }
  const report: BackupReport = { source, target, startedAt, finishedAt: new Date().toISOString(), environments };
  await writeFile(join(target, 'backup.json'), `${JSON.stringify({ ...report, twinhubVersion: VERSION }, null, 2)}\n`);
  return report;
}
