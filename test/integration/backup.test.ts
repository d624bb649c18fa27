// `twinhub backup DIR` while a hub runs: the copy is a data folder a new hub starts on with the
// devices, retained messages, twins and telemetry that were acknowledged before it (issue 7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api } from '../helpers/api.js';
import { startTestHub } from '../helpers/hub.js';
import { cleanupClients, connect, waitFor } from '../helpers/mqtt.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test('a backup of a running hub starts as a hub with everything acknowledged before it; refusals are clear', async () => {
  const t = await startTestHub();
  const backups = await mkdtemp(join(tmpdir(), 'twinhub-backup-'));
  const target = join(backups, 'copy');
  try {
    assert.equal((await api(t, 'POST', '/api/v1/devices', { id: 'b-1', type: 'meter' })).status, 201);
    const schema = await api(t, 'PUT', '/api/v1/telemetry/schemas/meter/1.0.0', { type: 'object', properties: { temp: { type: 'number' } } });
    assert.equal(schema.status, 201, schema.text);
    const c = await connect(t, { clientId: 'b-1', protocolVersion: 5 });
    await c.client.publishAsync('status/b-1', 'online', { qos: 1, retain: true });
    await c.client.publishAsync('$aws/things/b-1/shadow/update', JSON.stringify({ state: { reported: { fw: '2.0' } } }), { qos: 1 });
    await c.client.publishAsync('devices/b-1/telemetry', JSON.stringify({ temp: 7, ts: 1_700_000_000_000 }), { qos: 1 });
    c.client.end(true);
    await waitFor(async () => (await t.hub.twins.get('b-1', '')) !== undefined, 3000, 'twin');

    const r = await cli(['backup', target, '--data', t.dataDir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /copied .* broker, registry, telemetry, twins/);
    const manifest = JSON.parse(await readFile(join(target, 'backup.json'), 'utf8'));
    assert.deepEqual(manifest.environments.map((e: { name: string }) => e.name), ['broker', 'registry', 'telemetry', 'twins']);

    const again = await cli(['backup', target, '--data', t.dataDir]);
    assert.equal(again.code, 1);
    assert.match(again.err, /is not empty/);
    const none = await cli(['backup', join(backups, 'x'), '--data', join(backups, 'nothing-here')]);
    assert.notEqual(none.code, 0);

    await t.stop();
    const { buildConfig } = await import('../../src/config/load.js');
    const { startHub } = await import('../../src/main/hub.js');
    const { createLogger } = await import('../../src/obs/log.js');
    const { config } = buildConfig({ flags: { mqtt: '127.0.0.1:0', http: '127.0.0.1:0', data: target } });
    const restored = await startHub(config, { log: createLogger({ level: 'silent' }), out: () => {}, adminKey: 'restore-admin-key-00001' });
    try {
      assert.equal((await restored.registry.store.getDevice('b-1'))?.type, 'meter');
      assert.equal(((await restored.twins.get('b-1', '')) as unknown as { state: { reported: { fw: string } } }).state.reported.fw, '2.0');
      const sub = await connect({ mqttUrl: `mqtt://127.0.0.1:${restored.addresses.mqtt!.port}` }, { protocolVersion: 5 });
      await sub.client.subscribeAsync('status/#', { qos: 1 });
      const m = await waitFor(() => sub.log.messages.find((x) => x.topic === 'status/b-1'), 3000, 'the retained message');
      assert.equal(m.payload.toString(), 'online');
      sub.client.end(true);
      const h = { httpUrl: `http://127.0.0.1:${restored.addresses.http!.port}` };
      const q = await api(h, 'GET', '/api/v1/telemetry/query?device=b-1&metric=temp&from=1699999999000&to=1700000001000', undefined, { key: 'restore-admin-key-00001' });
      assert.deepEqual(q.body.series, [{ device: 'b-1', metric: 'temp', points: [[1_700_000_000_000, 7]] }]);
      const s = await api(h, 'GET', '/api/v1/telemetry/schemas/meter', undefined, { key: 'restore-admin-key-00001' });
      assert.equal(s.status, 200, 'telemetry schemas (a file beside the telemetry environment) are in the copy');
    } finally {
      await restored.stop();
    }
  } finally {
    cleanupClients();
    await t.stop();
    await rm(backups, { recursive: true, force: true });
  }
});
