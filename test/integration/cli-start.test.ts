// `twinhub start` as users run it: the real CLI in a child process.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startHubProcess } from '../helpers/hub.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinhub-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

describe('twinhub start', () => {
  test('with port 0 it prints the address of every listener, serves /healthz and /readyz, and SIGTERM exits 0', async () => {
    const hub = await startHubProcess(['--ws', '127.0.0.1:0', '--log-level', 'warn']);
    try {
      const out = hub.stdout();
      assert.match(out, /^twinhub: MQTT listening on 127\.0\.0\.1:\d+$/m);
      assert.match(out, /^twinhub: MQTT\/WebSocket listening on ws:\/\/127\.0\.0\.1:\d+\/mqtt$/m);
      assert.match(out, /^twinhub: HTTP listening on http:\/\/127\.0\.0\.1:\d+$/m);
      assert.notEqual(hub.mqttPort, 0);
      assert.ok(hub.httpUrl && hub.wsUrl);
      assert.equal((await fetch(`${hub.httpUrl}/healthz`)).status, 200);
      const ready = await fetch(`${hub.httpUrl}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
    } finally {
      const r = await hub.stop();
      assert.deepEqual(r, { code: 0, signal: null }, hub.stderr());
    }
  });

  test('SIGINT stops it gracefully too (exit 0)', async () => {
    const hub = await startHubProcess(['--no-persistence']);
    const r = await hub.kill('SIGINT');
    assert.deepEqual(r, { code: 0, signal: null }, hub.stderr());
    await hub.stop();
  });

  test('a taken port fails start-up with exit 1 and a message naming the flag and variable', async () => {
    const { server, port } = await occupy();
    try {
      const r = await runCli(['start', '--data', join(dir, 'taken'), '--mqtt', `127.0.0.1:${port}`, '--http', '127.0.0.1:0', '--log-level', 'silent']);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(
        r.stderr.includes(`twinhub: MQTT address 127.0.0.1:${port} is in use (EADDRINUSE); choose another with --mqtt HOST:PORT or TWINHUB_MQTT`),
        r.stderr,
      );
      assert.doesNotMatch(r.stdout, /listening on/, 'no listener reported as started');
      const h = await runCli(['start', '--data', join(dir, 'taken-http'), '--mqtt', '127.0.0.1:0', '--http', `127.0.0.1:${port}`, '--log-level', 'silent']);
      assert.equal(h.code, 1, h.stderr);
      assert.ok(h.stderr.includes(`choose another with --http HOST:PORT or TWINHUB_HTTP`), h.stderr);
      assert.doesNotMatch(h.stdout, /ready/);
    } finally {
      server.close();
    }
  });

  test('config errors exit 2 naming the key and its source, before anything starts', async () => {
    let r = await runCli(['start', '--mqtt', '127.0.0.1:0'], { TWINHUB_LIMITS__MAX_KEEP_ALIVE: 'abc' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'twinhub: invalid config: limits.maxKeepAlive (from TWINHUB_LIMITS__MAX_KEEP_ALIVE): expected an integer 0..65535, got "abc"\n');
    assert.equal(r.stdout, '');

    r = await runCli(['start', '--mqtts', '127.0.0.1:0', '--mqtt', '127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid config: mqtts \(from --mqtts\): .*tls\.cert \(TWINHUB_TLS__CERT\) and tls\.key \(TWINHUB_TLS__KEY\)/);

    const f = join(dir, 'bad.yaml');
    await writeFile(f, 'limits:\n  maxKeepAliv: 5\n');
    r = await runCli(['start', '--config', f]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `twinhub: invalid config: limits.maxKeepAliv (from ${f}): unknown key; did you mean limits.maxKeepAlive?\n`);

    r = await runCli(['start', '--config', join(dir, 'missing.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read config file .*missing\.yaml \(from --config\): ENOENT/);

    r = await runCli(['start', '--mqtt', 'nonsense']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid config: mqtt \(from --mqtt\): /);

    r = await runCli(['start', '--no-such-flag']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--no-such-flag'/);
  });

  test('a certificate file that cannot be read is a config error (exit 2) naming tls.cert', async () => {
    const missing = join(dir, 'missing-cert.pem');
    const r = await runCli(['start', '--data', join(dir, 'tls'), '--mqtt', '127.0.0.1:0', '--http', 'off', '--mqtts', '127.0.0.1:0', '--log-level', 'silent'], {
      TWINHUB_TLS__CERT: missing,
      TWINHUB_TLS__KEY: missing,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`invalid config: tls.cert: cannot read ${missing}: ENOENT`), r.stderr);
  });
});

describe('twinhub --version, config print, config check', () => {
  test('--version prints the package version', async () => {
    const { version } = JSON.parse(await (await import('node:fs/promises')).readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), version);
  });

  test('config print shows the effective config with the source of each key', async () => {
    const f = join(dir, 'print.yaml');
    await writeFile(f, 'limits:\n  maxKeepAlive: 77\n');
    const r = await runCli(['config', 'print', '--config', f, '--mqtt', '0.0.0.0:1999'], { TWINHUB_PERSISTENCE__FSYNC: 'true' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^mqtt: 0\.0\.0\.0:1999 # --mqtt$/m);
    assert.match(r.stdout, /^  fsync: true # TWINHUB_PERSISTENCE__FSYNC$/m);
    assert.ok(r.stdout.includes(`  maxKeepAlive: 77 # ${f}\n`), r.stdout);
    assert.match(r.stdout, /^http: 127\.0\.0\.1:8080 # default$/m);
  });

  test('config check FILE: exit 0 when valid, 2 with every problem when not', async () => {
    const good = join(dir, 'good.yaml');
    await writeFile(good, 'mqtt: 0.0.0.0:1883\nallowAnonymous: false\nacl:\n  - {filter: "$SYS/#", action: publish, allow: false}\n');
    let r = await runCli(['config', 'check', good]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `twinhub: ${good} is valid\n`);
    const bad = join(dir, 'check-bad.yaml');
    await writeFile(bad, 'limits:\n  maxInflight: 0\nlog:\n  level: loud\n');
    r = await runCli(['config', 'check', bad]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 2, r.stderr);
  });
});
