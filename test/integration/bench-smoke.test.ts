// `twinhub bench fanin` end to end against an Aedes broker started in this test (Aedes is a dev
// dependency): the bench prints exactly one JSON line, and at a low fixed rate every message
// arrives once, in order. No system broker is involved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bench/index.ts', ...args], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function withAedes(fn: (port: number) => Promise<void>): Promise<void> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn((server.address() as AddressInfo).port);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
}

for (const qos of [0, 1] as const) {
  test(`bench fanin QoS ${qos} at 1,000 msg/s for 2 s delivers everything to the subscriber`, async () => {
    await withAedes(async (port) => {
      const r = await runBench(['fanin', '--port', String(port), '--qos', String(qos), '--rate', '1000', '--duration', '2', '--json-only']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, 'exactly one line on stdout');
      const res = JSON.parse(lines[0]) as Record<string, any>;
      assert.equal(res.error, undefined);
      assert.equal(res.scenario, 'fanin');
      assert.equal(res.target, `127.0.0.1:${port}`);
      assert.equal(res.params.publishers, 10);
      assert.equal(res.params.qos, qos);
      assert.equal(res.offeredRate, 1000);
      assert.equal(res.sent, 2000);
      assert.equal(res.received, 2000);
      assert.equal(res.deliveredRatio, 1);
      assert.equal(res.lost, 0);
      assert.equal(res.duplicates, 0);
      // `sustained` and the delivered rate are performance verdicts: they depend on how busy the
      // machine is, so this smoke test checks that they are reported, not their value.
      assert.equal(typeof res.sustained, 'boolean');
      // Every QoS 1 message was acknowledged by the broker [MQTT-4.3.2-1]; QoS 0 reports no acks.
      assert.equal(res.acked, qos === 1 ? 2000 : undefined);
      assert.ok(res.deliveredRate > 0 && res.deliveredRate <= 1000, `deliveredRate ${res.deliveredRate}`);
      assert.equal(res.latencyMs.count, 2000);
      assert.ok(res.latencyMs.p50 > 0 && res.latencyMs.p50 <= res.latencyMs.p99 && res.latencyMs.p99 <= res.latencyMs.max);
      assert.ok(res.latencyMs.max < 2000, `max latency ${res.latencyMs.max} ms`);
    });
  });
}

test('bench conns opens idle subscribed connections and reports the broker memory of this process', async () => {
  await withAedes(async (port) => {
    const r = await runBench(['conns', '--port', String(port), '--conns', '200', '--settle', '1', '--pid', String(process.pid), '--json-only']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const res = JSON.parse(r.stdout.trim()) as Record<string, any>;
    assert.equal(res.connected, 200);
    assert.equal(res.failed, 0);
    assert.equal(res.openAfterSettle, 200);
    assert.ok(res.connectRate > 0);
    assert.equal(res.broker.pid, process.pid);
    assert.ok(res.broker.rssAfterKB > 0 && Number.isFinite(res.broker.rssPerConnKB));
  });
});

test('bench against a closed port fails with one JSON line that carries the error', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const r = await runBench(['fanin', '--port', String(port), '--rate', '100', '--duration', '1', '--json-only']);
  assert.equal(r.code, 1);
  const res = JSON.parse(r.stdout.trim()) as Record<string, any>;
  assert.match(res.error, /ECONNREFUSED|closed/);
});
