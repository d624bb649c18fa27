// `twinhub device …` and `twinhub admin create-key` as scripts run them: the real CLI in a child
// process against a real hub, over its HTTP API only. Each spawn costs about half a second, so
// each test walks through several steps; independent spawns run side by side.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startTestHub, TEST_ADMIN_KEY, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect, waitFor } from '../helpers/mqtt.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let t: TestHub;
let url: string;
let dir: string;

before(async () => {
  t = await startTestHub();
  url = t.httpUrl!;
  dir = await mkdtemp(join(tmpdir(), 'twinhub-cli-device-'));
});
after(async () => {
  cleanupClients();
  await t?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `twinhub <args> --url <hub> --key <admin>` from the sources (bin/twinhub.js would prefer a
 * possibly stale dist/). `opts.auth: false` passes neither flag (env or explicit flags decide).
 */
async function cli(args: readonly string[], opts: { auth?: boolean; env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TWINHUB_')) env[k] = v;
  Object.assign(env, opts.env ?? {});
  const full = opts.auth === false ? [...args] : [...args, '--url', url, '--key', TEST_ADMIN_KEY];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...full], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(opts.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

function ok(r: Run): void {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

describe('twinhub device (HTTP API client)', () => {
  test('create, get, list, update, delete; --json is one parseable document; 409 → 5, 404 → 3, 400 → 2', async () => {
    const created = await cli(['device', 'create', 'cli-a', '--type', 'sensor', '--name', 'Kitchen', '--group', 'g1', '--tag', 'room=kitchen', '--tag', 'floor=1']);
    ok(created);
    assert.match(created.stdout, /^id: +cli-a$/m);
    assert.match(created.stdout, /^tags: +room=kitchen,floor=1$/m);
    assert.match(created.stdout, /^connected: +false$/m);

    const [dup, got, listed, badId] = await Promise.all([
      cli(['device', 'create', 'cli-a', '--json']),
      // TWINHUB_URL / TWINHUB_KEY instead of the flags.
      cli(['device', 'get', 'cli-a', '--json'], { auth: false, env: { TWINHUB_URL: url, TWINHUB_KEY: TEST_ADMIN_KEY } }),
      cli(['device', 'list', '--tag', 'room=kitchen', '--type', 'sensor']),
      cli(['device', 'create', 'bad id']),
    ]);
    assert.equal(dup.code, 5, dup.stderr);
    assert.equal(dup.stdout, '');
    assert.equal(dup.stderr, 'twinhub: device cli-a already exists (TH_DEVICE_EXISTS)\n');
    ok(got);
    const doc = JSON.parse(got.stdout) as Record<string, unknown>;
    assert.deepEqual(
      { id: doc.id, name: doc.name, type: doc.type, group: doc.group, tags: doc.tags, enabled: doc.enabled, connected: doc.connected },
      { id: 'cli-a', name: 'Kitchen', type: 'sensor', group: 'g1', tags: { room: 'kitchen', floor: '1' }, enabled: true, connected: false },
    );
    ok(listed);
    const lines = listed.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID +NAME +TYPE +GROUP +ENABLED +CONNECTED +LAST SEEN +TAGS$/);
    assert.equal(lines.length, 2, listed.stdout);
    assert.match(lines[1]!, /^cli-a +Kitchen +sensor +g1 +yes +no +- +room=kitchen,floor=1$/);
    // Columns are aligned: every value starts where its header does.
    assert.equal(lines[1]!.indexOf('sensor'), lines[0]!.indexOf('TYPE'));
    assert.equal(badId.code, 2, badId.stderr);
    assert.match(badId.stderr, /^twinhub: device id "bad id" may contain only .* \(TH_DEVICE_ID_INVALID\)\n$/);

    // One tag set, one removed, the name cleared (empty value → null in the merge patch), disabled.
    const updated = await cli(['device', 'update', 'cli-a', '--tag', 'floor=2', '--untag', 'room', '--name', '', '--disable', '--json']);
    ok(updated);
    const u = JSON.parse(updated.stdout) as Record<string, unknown>;
    assert.deepEqual(u.tags, { floor: '2' });
    assert.equal(u.name, undefined);
    assert.equal(u.enabled, false);
    assert.equal(u.type, 'sensor');

    const deleted = await cli(['device', 'delete', 'cli-a', '--keep-data']);
    ok(deleted);
    assert.match(deleted.stdout, /^deleted device cli-a/);
    const gone = await cli(['device', 'get', 'cli-a', '--json']);
    assert.equal(gone.code, 3);
    assert.equal(gone.stdout, '');
    assert.equal(gone.stderr, 'twinhub: no device cli-a (TH_DEVICE_NOT_FOUND)\n');
  });

  test('credential add --type token prints the token once; the device connects over MQTT with it; sessions, kick, revoke', async () => {
    assert.equal((await api('POST', '/api/v1/devices', { id: 'cli-t' })).status, 201);
    const added = await cli(['device', 'credential', 'add', 'cli-t', '--type', 'token', '--label', 'rot-1']);
    ok(added);
    const token = /^token: +(\S+)$/m.exec(added.stdout)?.[1];
    const credId = /^id: +(\S+)$/m.exec(added.stdout)?.[1];
    assert.ok(token !== undefined && credId !== undefined, added.stdout);
    assert.match(added.stderr, /shown only this once/);

    // Issue 3: "A device authenticates over MQTT with username = device id and password = its password or token."
    const mqttOpts = { clientId: 'cli-t', username: 'cli-t', password: token, protocolVersion: 5 as const };
    const first = await connect(t, mqttOpts);
    assert.equal(first.connack.reasonCode ?? 0, 0);

    const [sessions, creds] = await Promise.all([cli(['device', 'sessions', 'cli-t', '--json']), cli(['device', 'credential', 'list', 'cli-t'])]);
    ok(sessions);
    const items = (JSON.parse(sessions.stdout) as { items: { clientId: string; credentialId?: string }[] }).items;
    assert.deepEqual(items.map((s) => s.clientId), ['cli-t']);
    ok(creds);
    assert.match(creds.stdout, /^ID +TYPE +LABEL +CREATED +EXPIRES +DETAIL$/m);
    assert.match(creds.stdout, new RegExp(`^${credId} +token +rot-1 `, 'm'));
    assert.ok(!creds.stdout.includes(token), 'a listing never shows the token');

    const closed1 = new Promise<void>((r) => first.client.once('close', () => r()));
    const kicked = await cli(['device', 'kick', 'cli-t', '--client-id', 'cli-t']);
    ok(kicked);
    assert.equal(kicked.stdout, 'disconnected 1 session(s) of cli-t\n');
    await closed1;

    const second = await connect(t, mqttOpts);
    const closed2 = new Promise<void>((r) => second.client.once('close', () => r()));
    const revoked = await cli(['device', 'credential', 'revoke', 'cli-t', credId, '--json']);
    ok(revoked);
    assert.deepEqual(JSON.parse(revoked.stdout), { disconnected: 1 });
    await closed2;
    await assert.rejects(connect(t, mqttOpts), 'a revoked token no longer connects');

    const noCred = await cli(['device', 'credential', 'revoke', 'cli-t', credId]);
    assert.equal(noCred.code, 3, noCred.stderr);
    assert.match(noCred.stderr, /\(TH_CREDENTIAL_NOT_FOUND\)\n$/);
  });

  test('import of a CSV with one bad line: exit 1, the report names the line, the good lines exist; export → import round trip', async () => {
    const csv = join(dir, 'fleet.csv');
    await writeFile(csv, ['id,name,type,group,tags', 'imp-1,One,meter,g2,a=1;b=2', 'bad id,Two,meter,g2,', 'imp-3,"Three, the third",meter,g2,'].join('\n') + '\n');
    const imported = await cli(['device', 'import', csv]);
    assert.equal(imported.code, 1, imported.stderr);
    assert.match(imported.stdout, /^lines: +3$/m);
    assert.match(imported.stdout, /^created: +2$/m);
    assert.match(imported.stdout, /^failed: +1$/m);
    // Line numbers are file lines: the header is line 1.
    assert.match(imported.stdout, /^line 3 \(bad id\): device id "bad id" .*\(TH_DEVICE_ID_INVALID\)$/m);
    assert.match(imported.stderr, /1 of 3 lines refused/);
    const one = (await (await api('GET', '/api/v1/devices/imp-1')).json()) as Record<string, unknown>;
    assert.deepEqual([one.name, one.type, one.group, one.tags], ['One', 'meter', 'g2', { a: '1', b: '2' }]);
    assert.equal(((await (await api('GET', '/api/v1/devices/imp-3')).json()) as Record<string, unknown>).name, 'Three, the third');

    // A credential, so the round trip carries its hash too.
    assert.equal((await api('POST', '/api/v1/devices/imp-1/credentials', { type: 'password', password: 'correct horse battery' })).status, 201);
    const out = join(dir, 'fleet.jsonl');
    const [exported, csvOut] = await Promise.all([cli(['device', 'export', '--credentials', '-o', out]), cli(['device', 'export', '--format', 'csv'])]);
    ok(exported);
    assert.match(exported.stderr, /wrote \d+ line\(s\) to /);
    ok(csvOut);
    assert.match(csvOut.stdout, /^imp-3,"Three, the third",meter,g2,true,,/m);
    const before = (await (await api('GET', '/api/v1/devices?prefix=imp-')).json()) as { items: Record<string, unknown>[] };
    for (const id of ['imp-1', 'imp-3']) assert.equal((await api('DELETE', `/api/v1/devices/${id}`)).status, 204);

    // Back in from stdin; only the imp- lines, so nothing collides with other tests' devices.
    const lines = (await readFile(out, 'utf8')).split('\n').filter((l) => l.startsWith('{"id":"imp-'));
    assert.equal(lines.length, 2);
    const again = await cli(['device', 'import', '-', '--json'], { stdin: `${lines.join('\n')}\n` });
    ok(again);
    assert.deepEqual(JSON.parse(again.stdout), { lines: 2, created: 2, failed: 0, credentials: 1, errors: [] });
    const afterList = (await (await api('GET', '/api/v1/devices?prefix=imp-')).json()) as { items: Record<string, unknown>[] };
    const strip = (d: Record<string, unknown>): Record<string, unknown> => ({ ...d, createdAt: undefined, updatedAt: undefined });
    assert.deepEqual(afterList.items.map(strip), before.items.map(strip));
    // The imported password hash still verifies.
    const c = await connect(t, { clientId: 'imp-1', username: 'imp-1', password: 'correct horse battery' });
    c.client.end(true);
  });

  test('CSV export → CSV import round trip', async () => {
    const r = await cli(['device', 'export', '--format', 'csv']);
    ok(r);
    const back = await cli(['device', 'import', '-', '--format', 'csv'], { stdin: r.stdout });
    assert.equal(back.code, 1, 'every device exists already: refused as duplicates, not as a bad header');
    assert.doesNotMatch(back.stderr, /TH_IMPORT_INVALID/);
  });

  test('exit codes: wrong key → 4, role too low → 4, hub unreachable → 6, no key or bad options → 2; admin create-key prints the key once', async () => {
    const free = createServer().listen(0, '127.0.0.1');
    await once(free, 'listening');
    const closedPort = (free.address() as { port: number }).port;
    await new Promise((r) => free.close(r));

    const [wrongKey, unreachable, noKey, both, key] = await Promise.all([
      cli(['device', 'get', 'x', '--url', url, '--key', 'thk_wrong'], { auth: false }),
      cli(['device', 'list', '--url', `http://127.0.0.1:${closedPort}`, '--key', TEST_ADMIN_KEY], { auth: false }),
      cli(['device', 'list', '--url', url], { auth: false }),
      cli(['device', 'list', '--connected', '--disconnected']),
      cli(['admin', 'create-key', '--name', 'cli-test', '--role', 'read-only', '--json']),
    ]);
    assert.equal(wrongKey.code, 4, wrongKey.stderr);
    assert.equal(wrongKey.stderr, 'twinhub: unknown, revoked or expired API key (TH_UNAUTHENTICATED)\n');
    assert.equal(unreachable.code, 6, unreachable.stderr);
    assert.match(unreachable.stderr, /^twinhub: cannot reach the hub at http:\/\/127\.0\.0\.1:\d+\/?: .*ECONNREFUSED.* \(TH_CLI_UNREACHABLE\)\n$/);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /^twinhub: no API key: pass --key or set TWINHUB_KEY .*\(TH_CLI_USAGE\)\n$/);
    assert.equal(both.code, 2);
    ok(key);
    const k = JSON.parse(key.stdout) as { key: string; role: string; name: string };
    assert.equal(k.role, 'read-only');
    assert.match(k.key, /^thk_/);

    // A read-only key reads but cannot write (403 → 4); an unknown command is a usage error.
    const [reads, writes, unknown] = await Promise.all([
      cli(['device', 'list', '--url', url, '--key', k.key], { auth: false }),
      cli(['device', 'create', 'ro-1', '--url', url, '--key', k.key], { auth: false }),
      cli(['device', 'frobnicate'], { auth: false }),
    ]);
    ok(reads);
    assert.equal(writes.code, 4, writes.stderr);
    assert.match(writes.stderr, /needs the operator role.*\(TH_FORBIDDEN\)\n$/);
    assert.equal(unknown.code, 2);
    await waitFor(async () => (await api('GET', '/api/v1/devices/ro-1')).status === 404, 1000, 'ro-1 not created');

    // admin list-keys shows the key without its secret; revoke-key makes it stop working (401 → 4).
    const list = await cli(['admin', 'list-keys']);
    ok(list);
    assert.match(list.stdout, /cli-test\s+read-only/);
    assert.equal(list.stdout.includes(k.key), false);
    const id = /^thk_([0-9a-f]+)_/.exec(k.key)![1]!;
    ok(await cli(['admin', 'revoke-key', id]));
    const after = await cli(['device', 'list', '--url', url, '--key', k.key], { auth: false });
    assert.equal(after.code, 4, after.stderr);
    assert.equal((await cli(['admin', 'revoke-key', id])).code, 3, 'revoking twice: not found');
  });
});
