// `twinhub telemetry query|latest|export` as scripts run them: the real CLI in a child process
// against a real hub, over its HTTP API only, after a device published telemetry over MQTT
// (anonymous clients are allowed on loopback by default). Spawns run side by side.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startTestHub, TEST_ADMIN_KEY, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect } from '../helpers/mqtt.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Whole minutes an hour ago, so 60 s steps line up with the points.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;

let t: TestHub;
let dir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function cli(args: readonly string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TWINHUB_')) env[k] = v;
  const full = [...args, '--url', t.httpUrl!, '--key', TEST_ADMIN_KEY];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...full], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

function ok(r: Run): void {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

before(async () => {
  t = await startTestHub();
  dir = await mkdtemp(join(tmpdir(), 'twinhub-cli-telemetry-'));
  const d = await connect(t, { clientId: 'cli-tel-pub', protocolVersion: 5 });
  // ct-1: temp 20, 21, … every 30 s for 2 minutes, hum once; ct-2: one temp.
  for (let i = 0; i < 4; i++) {
    await d.client.publishAsync('devices/ct-1/telemetry', JSON.stringify({ ts: T0 + i * 30_000, temp: 20 + i, ...(i === 0 ? { hum: 40.5 } : {}) }), { qos: 1 });
  }
  await d.client.publishAsync('devices/ct-2/telemetry', JSON.stringify({ ts: T0, temp: -3 }), { qos: 1 });
  d.client.end(true);
});

after(async () => {
  cleanupClients();
  await t?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('twinhub telemetry (HTTP API client)', () => {
  test('query: a table, --json the API document, --step/--agg buckets, --csv streamed', async () => {
    const range = ['--from', String(T0), '--to', new Date(T0 + 120_000).toISOString()];
    const [table, json, agg, csv] = await Promise.all([
      cli(['telemetry', 'query', '--device', 'ct-1', '--metric', 'temp', ...range]),
      cli(['telemetry', 'query', '--device', 'ct-1', '--device', 'ct-2', '--metric', 'temp', ...range, '--json']),
      cli(['telemetry', 'query', '--device', 'ct-1', '--metric', 'temp', ...range, '--step', '60s', '--agg', 'avg', '--json']),
      cli(['telemetry', 'query', '--device', 'ct-1', ...range, '--csv']),
    ]);
    ok(table);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^DEVICE +METRIC +TIME +VALUE$/);
    assert.equal(lines.length, 5, table.stdout);
    assert.match(lines[1]!, new RegExp(`^ct-1 +temp +${new Date(T0).toISOString().replaceAll('.', '\\.')} +20$`));
    ok(json);
    assert.deepEqual(JSON.parse(json.stdout), {
      series: [
        { device: 'ct-1', metric: 'temp', points: [[T0, 20], [T0 + 30_000, 21], [T0 + 60_000, 22], [T0 + 90_000, 23]] },
        { device: 'ct-2', metric: 'temp', points: [[T0, -3]] },
      ],
    });
    ok(agg);
    assert.deepEqual(JSON.parse(agg.stdout).series[0].points, [[T0, 20.5], [T0 + 60_000, 22.5]]);
    ok(csv);
    assert.equal(csv.stdout, ['device,metric,ts,value', `ct-1,hum,${T0},40.5`, `ct-1,temp,${T0},20`, `ct-1,temp,${T0 + 30_000},21`, `ct-1,temp,${T0 + 60_000},22`, `ct-1,temp,${T0 + 90_000},23`, ''].join('\r\n'));
  });

  test('latest and export (stdout and -o FILE)', async () => {
    const file = join(dir, 'ct-1.csv');
    const [latest, out, toFile] = await Promise.all([
      cli(['telemetry', 'latest', '--device', 'ct-1']),
      cli(['telemetry', 'export', '--device', 'ct-1', '--metric', 'temp']),
      cli(['telemetry', 'export', '--device', 'ct-1', '-o', file]),
    ]);
    ok(latest);
    const rows = latest.stdout.trimEnd().split('\n');
    assert.equal(rows.length, 3, latest.stdout);
    assert.match(rows[1]!, /^ct-1 +hum +\S+ +40\.5$/);
    assert.match(rows[2]!, /^ct-1 +temp +\S+ +23$/);
    ok(out);
    assert.equal(out.stdout.split('\r\n').length, 6, 'header, four points, final newline');
    assert.ok(out.stdout.startsWith('device,metric,ts,value\r\n'));
    ok(toFile);
    assert.equal(toFile.stdout, '');
    assert.match(toFile.stderr, /wrote 5 point\(s\) to /);
    assert.equal((await readFile(file, 'utf8')).split('\r\n').length, 7);
  });

  test('usage errors exit 2; the hub\'s 400 exits 2 with its code', async () => {
    const [noDevice, aggNoStep, badAgg, badStep, badTime, exportNoDevice] = await Promise.all([
      cli(['telemetry', 'query', '--metric', 'temp']),
      cli(['telemetry', 'query', '--device', 'ct-1', '--agg', 'avg']),
      cli(['telemetry', 'query', '--device', 'ct-1', '--step', '60s', '--agg', 'median']),
      cli(['telemetry', 'query', '--device', 'ct-1', '--step', 'fast']),
      cli(['telemetry', 'query', '--device', 'ct-1', '--from', 'yesterday']),
      cli(['telemetry', 'export']),
    ]);
    for (const r of [noDevice, aggNoStep, badAgg, badStep, badTime, exportNoDevice]) assert.equal(r.code, 2, `${r.stderr}`);
    assert.match(noDevice.stderr, /give --device/);
    assert.match(aggNoStep.stderr, /--agg needs --step/);
    assert.match(badAgg.stderr, /--agg: expected one of avg/);
    assert.match(badStep.stderr, /step=fast is not a duration.*\(TH_TELEMETRY_QUERY_INVALID\)\n$/);
    assert.match(badTime.stderr, /--from: expected epoch milliseconds/);
    assert.match(exportNoDevice.stderr, /--device is required/);
  });
});
