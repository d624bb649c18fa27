// Live configuration (issue 7): limits, ACL rules, priority classes, telemetry mappings and log
// levels change without a restart; keys that need one are named and left as they were; an
// invalid file is refused with the bad key named and the running config stays.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../../src/config/load.js';
import type { TwinhubConfig } from '../../src/config/types.js';
import { startHubProcess, startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect, waitFor } from '../helpers/mqtt.js';

function next(t: TestHub, over: Record<string, unknown>): TwinhubConfig {
  const base = structuredClone(t.hub.config) as unknown as Record<string, unknown>;
  return buildConfig({ objects: [{ value: base, label: 'running' }, { value: over, label: 'edit' }] }).config;
}

describe('live reload in the hub', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(async () => {
    cleanupClients();
    await t.stop();
  });

  test('ACL rules and limits apply at once; listener changes are reported as needing a restart and not applied', async () => {
    const c = await connect(t, { protocolVersion: 5 });
    await c.client.publishAsync('secret/a', 'x', { qos: 1 });
    const mqtt = t.hub.config.mqtt;
    const diff = t.hub.reload(next(t, { acl: [{ filter: 'secret/#', action: 'publish', allow: false }], limits: { maxQueuedMessages: 7 }, mqtt: '127.0.0.1:1' }));
    assert.deepEqual(diff.live.sort(), ['acl', 'limits.maxQueuedMessages']);
    assert.deepEqual(diff.restart, ['mqtt']);
    assert.equal(t.hub.config.limits.maxQueuedMessages, 7);
    assert.deepEqual(t.hub.config.mqtt, mqtt, 'a restart-only key keeps its running value');
    // 5.0: PUBACK 0x87 for the now-denied topic, on the connection opened before the reload.
    await assert.rejects(c.client.publishAsync('secret/b', 'x', { qos: 1 }), /Not authorized/);
    c.client.end(true);
  });

  test('priority classes and telemetry mappings apply to messages from then on; an invalid mapping changes nothing', async () => {
    t.hub.reload(next(t, { telemetry: { mappings: [{ filter: 'plant/{deviceId}/m', format: 'number', metric: 'level' }] }, priorities: [{ name: 'alarms', filters: ['alarm/#'] }] }));
    const c = await connect(t, { protocolVersion: 5 });
    await c.client.publishAsync('plant/tank-1/m', '42.5', { qos: 1 });
    c.client.end(true);
    await waitFor(async () => (await t.hub.telemetry!.latest('tank-1')).length > 0, 3000, 'the point under the new mapping');
    assert.throws(() => t.hub.reload(next(t, { telemetry: { mappings: [{ filter: 'no/placeholder', format: 'json' }] }, limits: { maxQueuedMessages: 9 } })));
    assert.equal(t.hub.config.limits.maxQueuedMessages, 7, 'nothing of a refused reload is applied');
    assert.equal(t.hub.config.telemetry.mappings[0]!.filter, 'plant/{deviceId}/m');
  });
});

describe('live reload of a running process', () => {
  test('editing the config file reloads it; an invalid edit is refused naming the key; SIGHUP reloads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'twinhub-reload-'));
    const file = join(dir, 'twinhub.yaml');
    await writeFile(file, 'limits:\n  maxQueuedMessages: 100\n');
    const p = await startHubProcess(['--config', file, '--mqtt', '127.0.0.1:0', '--http', 'off', '--ws', 'off']);
    try {
      await writeFile(file, 'limits:\n  maxQueuedMessages: 200\nwsPath: /other\n');
      await waitFor(() => /configuration reloaded \(config file changed\): applied limits\.maxQueuedMessages; restart needed for wsPath/.test(p.stderr()), 5000, 'the reload line');
      await writeFile(file, 'limits:\n  maxQueuedMessages: -5\n');
      await waitFor(() => /limits\.maxQueuedMessages[\s\S]*reload refused; the running configuration stays/.test(p.stderr()), 5000, 'the refusal');
      await writeFile(file, 'limits:\n  maxQueuedMessages: 300\n');
      const before = (p.stderr().match(/configuration reloaded/g) ?? []).length;
      await waitFor(() => (p.stderr().match(/configuration reloaded/g) ?? []).length > before, 5000, 'reload after the fix');
      p.child.kill('SIGHUP');
      await waitFor(() => /configuration reloaded \(SIGHUP\)/.test(p.stderr()), 5000, 'SIGHUP reload');
      assert.equal(p.child.exitCode, null, 'still running');
    } finally {
      await p.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
