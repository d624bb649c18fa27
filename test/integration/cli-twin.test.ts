// `twinhub twin get|set-desired|watch` as scripts run them: the real CLI in a child process
// against a real hub, over its HTTP API only (docs/CLI.md "Twins over the HTTP API"). Each spawn
// costs about half a second, so each test walks through several steps.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startTestHub, TEST_ADMIN_KEY, type TestHub } from '../helpers/hub.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let t: TestHub;
let url: string;

before(async () => {
  t = await startTestHub();
  url = t.httpUrl!;
});
after(async () => {
  await t?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: readonly string[]): ChildProcess {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TWINHUB_')) env[k] = v;
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args, '--url', url, '--key', TEST_ADMIN_KEY], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function finish(child: ChildProcess, out: { stdout: string; stderr: string }): Promise<Run> {
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, ...out };
}

function capture(child: ChildProcess): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  return out;
}

async function cli(args: readonly string[]): Promise<Run> {
  const child = spawnCli(args);
  return finish(child, capture(child));
}

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

function ok(r: Run): void {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

async function device(id: string): Promise<void> {
  assert.equal((await api('POST', '/api/v1/devices', { id })).status, 201);
}

describe('twinhub twin (HTTP API client)', () => {
  test('get of a twin that does not exist → exit 3 with TH_TWIN_NOT_FOUND; set-desired (KEY=VALUE, --json) then get shows desired and version', async () => {
    await device('cli-t1');
    const missing = await cli(['twin', 'get', 'cli-t1']);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /^twinhub: .*\(TH_TWIN_NOT_FOUND\)$/m);
    assert.equal(missing.stdout, '');

    // VALUEs that are JSON are JSON, others strings.
    const set = await cli(['twin', 'set-desired', 'cli-t1', 'mode=eco', 'level=3', 'on=true']);
    ok(set);
    assert.match(set.stdout, /^version: +1$/m);

    const set2 = await cli(['twin', 'set-desired', 'cli-t1', '--json', '{"level": 4, "nested": {"a": [1, 2]}}', '--output', 'json']);
    ok(set2);
    const after2 = JSON.parse(set2.stdout) as { version: number; state: { desired: unknown } };
    assert.equal(after2.version, 2);

    const [human, json] = await Promise.all([cli(['twin', 'get', 'cli-t1']), cli(['twin', 'get', 'cli-t1', '--json'])]);
    ok(human);
    assert.match(human.stdout, /^version: +2$/m);
    assert.match(human.stdout, /^desired: +\{"mode":"eco","level":4,"on":true,"nested":\{"a":\[1,2\]\}\}$/m);
    // No reported state: every desired field is in the delta (Device Shadow "Delta state").
    assert.match(human.stdout, /^delta: +\{/m);
    ok(json);
    const doc = JSON.parse(json.stdout) as { version: number; state: { desired: Record<string, unknown> } };
    assert.equal(doc.version, 2);
    assert.deepEqual(doc.state.desired, { mode: 'eco', level: 4, on: true, nested: { a: [1, 2] } });
  });

  test('set-desired --if-version: a version the twin is not at → 409 → exit 5, nothing changed; the right version applies; named twins; usage errors → exit 2', async () => {
    await device('cli-t2');
    ok(await cli(['twin', 'set-desired', 'cli-t2', 'a=1']));
    const [stale, bothForms, nothing, badVersion] = await Promise.all([
      cli(['twin', 'set-desired', 'cli-t2', 'a=2', '--if-version', '7']),
      cli(['twin', 'set-desired', 'cli-t2', 'a=2', '--json', '{"a":2}']),
      cli(['twin', 'set-desired', 'cli-t2']),
      cli(['twin', 'set-desired', 'cli-t2', 'a=2', '--if-version', 'x']),
    ]);
    assert.equal(stale.code, 5, stale.stderr);
    assert.match(stale.stderr, /\(TH_VERSION_CONFLICT\)$/m);
    for (const r of [bothForms, nothing, badVersion]) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /\(TH_CLI_USAGE\)$/m);
    }
    const twin = (await (await api('GET', '/api/v1/devices/cli-t2/twin')).json()) as { version: number; state: { desired: unknown } };
    assert.equal(twin.version, 1);
    assert.deepEqual(twin.state.desired, { a: 1 });

    const right = await cli(['twin', 'set-desired', 'cli-t2', 'a=null', 'b=x', '--if-version', '1']);
    ok(right);
    assert.match(right.stdout, /^version: +2$/m);
    assert.match(right.stdout, /^desired: +\{"b":"x"\}$/m, 'null deleted a');

    ok(await cli(['twin', 'set-desired', 'cli-t2', '--name', 'cfg', 'rate=5']));
    const named = await cli(['twin', 'get', 'cli-t2', '--name', 'cfg']);
    ok(named);
    assert.match(named.stdout, /^twin: +cfg$/m);
    assert.match(named.stdout, /^desired: +\{"rate":5\}$/m);
  });

  test('watch --count 1 prints a change made meanwhile and exits 0; --json prints it as one JSON line', async () => {
    await device('cli-t3');
    for (const json of [false, true]) {
      const child = spawnCli(['twin', 'watch', 'cli-t3', '--count', '1', ...(json ? ['--json'] : [])]);
      const out = capture(child);
      // The watch says on stderr when it follows the stream; change the twin after that.
      const deadline = Date.now() + 20_000;
      while (!out.stderr.includes('watching')) {
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`watch did not start: ${out.stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const patched = await api('PATCH', '/api/v1/devices/cli-t3/twin', { state: { reported: { temp: json ? 22 : 21 } } });
      assert.equal(patched.status, 200);
      const r = await finish(child, out);
      ok(r);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, r.stdout);
      if (json) {
        const change = JSON.parse(lines[0]!) as Record<string, unknown>;
        assert.equal(change.op, 'update');
        assert.equal(change.name, '');
        assert.equal(change.version, 2);
        assert.deepEqual(change.changed, { reported: { temp: 22 } });
      } else {
        assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\S+Z \(classic\) v1 update by api:\S+ \{"reported":\{"temp":21\}\}$/);
      }
    }
  });

  test('watch of an unknown device → exit 3; Ctrl-C (SIGINT) ends a watch with exit 0', async () => {
    const unknown = await cli(['twin', 'watch', 'cli-nobody']);
    assert.equal(unknown.code, 3, unknown.stderr);
    await device('cli-t4');
    const child = spawnCli(['twin', 'watch', 'cli-t4']);
    const out = capture(child);
    const deadline = Date.now() + 20_000;
    while (!out.stderr.includes('watching')) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`watch did not start: ${out.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    const r = await finish(child, out);
    ok(r);
    assert.equal(r.stdout, '');
  });
});
