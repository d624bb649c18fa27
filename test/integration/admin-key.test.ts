// The operator admin key of a fresh data folder: generated and printed once on first start,
// stored hashed, never printed again; TWINHUB_ADMIN_KEY installs a chosen key instead (issue 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/obs/log.js';

async function startOn(data: string, adminKey?: string) {
  const { startHub } = await import('../../src/main/hub.js');
  const lines: string[] = [];
  const { config } = buildConfig({ flags: { mqtt: '127.0.0.1:0', http: '127.0.0.1:0', data } });
  const hub = await startHub(config, { log: createLogger({ level: 'silent' }), out: (l) => lines.push(l), ...(adminKey === undefined ? {} : { adminKey }) });
  return { hub, lines, url: `http://127.0.0.1:${hub.addresses.http!.port}` };
}

const status = async (url: string, key: string) => (await fetch(`${url}/api/v1/stats`, { headers: { authorization: `Bearer ${key}` } })).status;

async function filesContain(dir: string, needle: string): Promise<boolean> {
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && (await readFile(join(e.parentPath, e.name))).includes(needle)) return true;
  }
  return false;
}

test('first start prints a generated admin key once; it works, is stored hashed, and a restart prints none', async () => {
  const data = await mkdtemp(join(tmpdir(), 'twinhub-admin-'));
  try {
    const first = await startOn(data);
    const line = first.lines.find((l) => l.includes('admin API key'));
    const key = /(thk_\S+)$/.exec(line ?? '')?.[1];
    assert.ok(key, 'the key is printed');
    assert.equal(await status(first.url, key), 200);
    assert.equal(await status(first.url, `${key}x`), 401);
    await first.hub.stop();
    assert.equal(await filesContain(data, key), false, 'the key text is nowhere in the data folder');
    const second = await startOn(data);
    assert.equal(second.lines.some((l) => l.includes('admin API key')), false);
    assert.equal(await status(second.url, key), 200, 'the stored key still works after a restart');
    await second.hub.stop();
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});

test('TWINHUB_ADMIN_KEY is installed as the admin key and nothing is printed; a too-short one is refused', async () => {
  const data = await mkdtemp(join(tmpdir(), 'twinhub-admin-'));
  try {
    const chosen = 'my-container-admin-key-123';
    const h = await startOn(data, chosen);
    assert.equal(h.lines.some((l) => l.includes('admin API key')), false);
    assert.equal(await status(h.url, chosen), 200);
    await h.hub.stop();
    await assert.rejects(startOn(data, 'short'), /TWINHUB_ADMIN_KEY must be at least 16 characters/);
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});
