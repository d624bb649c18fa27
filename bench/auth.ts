// Device authentication throughput: MQTT connects per second against a registry of 100,000
// devices, through a hub running as its own process (`twinhub start`) on a fresh data folder.
//
//   cold password: each device's first connect (one scrypt verification on the thread pool)
//   warm password: the same devices reconnecting (the per-credential verification cache)
//   token:         access tokens (one SHA-256 and an LMDB lookup)
//   refused:       wrong passwords (scrypt, then CONNACK 0x86)
// Each connect is a fresh TCP connection sending CONNECT and waiting for CONNACK, `--concurrency`
// at a time. With Mosquitto installed, the same phases run against it in the same run (a
// password file of the same devices made by mosquitto_passwd, PBKDF2-SHA512; it has no tokens).
// Prints one JSON line.
//
//   node --import tsx bench/auth.ts [--devices 100000] [--connects 2000] [--concurrency 32] [--no-mosquitto]
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';
import { openLmdbRegistryStore } from '../src/adapters/lmdb/registry-store.js';
import { DEFAULT_SCRYPT, generateDeviceToken, hashPassword, sha256Hex } from '../src/core/registry/credentials/index.js';
import type { DeviceRecord } from '../src/ports/registry-store.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const DEVICES = arg('devices', 100_000);
const CONNECTS = arg('connects', 2000);
const CONCURRENCY = arg('concurrency', 32);
const PASSWORD = 'bench-password-123';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const id = (i: number): string => `bench-${String(i).padStart(6, '0')}`;

async function provision(dir: string): Promise<string[]> {
  const store = await openLmdbRegistryStore(dir, { fsync: false });
  // One hash for every device: each verification still costs a full scrypt with its parameters.
  const hash = await hashPassword(PASSWORD, DEFAULT_SCRYPT);
  const tokens: string[] = [];
  const now = Date.now();
  for (let start = 0; start < DEVICES; start += 5000) {
    const batch: DeviceRecord[] = [];
    for (let i = start; i < Math.min(DEVICES, start + 5000); i++) batch.push({ id: id(i), tags: {}, enabled: true, createdAt: now, updatedAt: now, type: 'meter' });
    await store.createDevices(batch);
    await Promise.all(
      batch.map(async (d, k) => {
        await store.addCredential({ id: `cp_${d.id}`, deviceId: d.id, type: 'password', createdAt: now, hash });
        const i = start + k;
        if (i < CONNECTS) {
          const token = generateDeviceToken();
          tokens.push(token);
          const h = sha256Hex(token);
          await store.addCredential({ id: `ct_${d.id}`, deviceId: d.id, type: 'token', createdAt: now + 1, hash: h, lookupKey: `token:${h}` });
        }
      }),
    );
  }
  await store.close();
  return tokens;
}

function startHub(data: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--max-semi-space-size=8', join(ROOT, 'bin/twinhub.js'), 'start', '--mqtt', '127.0.0.1:0', '--http', 'off', '--data', data, '--no-allow-anonymous', '--log-level', 'warn'], {
    env: { ...process.env, TWINHUB_ADMIN_KEY: 'bench-admin-key-0000001' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hub did not start: ${out}`)), 30_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /MQTT listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null && out.includes('ready')) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code}): ${out}`)));
  });
}

function hasMosquitto(): boolean {
  if (process.argv.includes('--no-mosquitto')) return false;
  try {
    execFileSync('mosquitto', ['-h'], { stdio: 'ignore' });
  } catch (err) {
    // `mosquitto -h` exits 3 after printing its help: found.
    return (err as { status?: number }).status === 3;
  }
  return true;
}

async function startMosquitto(dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const pwFile = join(dir, 'passwd');
  const lines: string[] = [];
  for (let i = 0; i < DEVICES; i++) lines.push(`${id(i)}:${PASSWORD}`);
  await writeFile(pwFile, `${lines.join('\n')}\n`);
  execFileSync('mosquitto_passwd', ['-U', pwFile]);
  // Started as root, Mosquitto drops to its own user, which must be able to read the file.
  await chmod(dir, 0o755);
  await chmod(pwFile, 0o644);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${pwFile}`, 'set_tcp_nodelay true', 'persistence false', 'log_type error', ''].join('\n'));
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const up = await new Promise<boolean>((r) => {
      const s = tcpConnect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (up) break;
  }
  return { port, stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }) };
}

/** One CONNECT → CONNACK on a fresh socket; resolves with the return code. */
function connectOnce(port: number, clientId: string, username: string | undefined, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('CONNACK timeout'));
    }, 30_000);
    s.once('connect', () => {
      const packet: Record<string, unknown> = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId, password: Buffer.from(password) };
      packet.username = username ?? clientId;
      s.write(mqttPacket.generate(packet as unknown as mqttPacket.IConnectPacket));
    });
    s.once('data', (b: Buffer) => {
      clearTimeout(timer);
      s.destroy();
      resolve(b[0] === 0x20 ? b[3]! : -1);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function phase(port: number, n: number, make: (i: number) => [string, string | undefined, string], expect: number): Promise<number> {
  let next = 0;
  let wrong = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const [cid, user, pw] = make(i);
        if ((await connectOnce(port, cid, user, pw)) !== expect) wrong++;
      }
    }),
  );
  if (wrong > 0) throw new Error(`${wrong} of ${n} connects did not get return code ${expect}`);
  return Math.round(n / ((performance.now() - t0) / 1000));
}

const data = await mkdtemp(join(tmpdir(), 'twinhub-bench-auth-'));
try {
  const t0 = performance.now();
  const tokens = await provision(data);
  const provisionSeconds = (performance.now() - t0) / 1000;
  const hub = await startHub(data);
  try {
    // Devices spread over the whole registry, not the first few pages.
    const stride = Math.max(1, Math.floor(DEVICES / CONNECTS));
    const dev = (i: number): string => id((i * stride) % DEVICES);
    const coldPassword = await phase(hub.port, CONNECTS, (i) => [dev(i), undefined, PASSWORD], 0);
    const warmPassword = await phase(hub.port, CONNECTS, (i) => [dev(i), undefined, PASSWORD], 0);
    const token = await phase(hub.port, tokens.length, (i) => [id(i), undefined, tokens[i]!], 0);
    const refused = await phase(hub.port, Math.min(CONNECTS, 500), (i) => [dev(i), undefined, 'wrong-password'], 4);
    let mosquitto: Record<string, number> | undefined;
    if (hasMosquitto()) {
      await hub.stop();
      const m = await startMosquitto(data);
      try {
        mosquitto = {
          coldPasswordConnectsPerSec: await phase(m.port, CONNECTS, (i) => [dev(i), undefined, PASSWORD], 0),
          warmPasswordConnectsPerSec: await phase(m.port, CONNECTS, (i) => [dev(i), undefined, PASSWORD], 0),
          refusedPasswordConnectsPerSec: await phase(m.port, Math.min(CONNECTS, 500), (i) => [dev(i), undefined, 'wrong-password'], 5),
        };
      } finally {
        await m.stop();
      }
    }
    console.log(
      JSON.stringify({
        bench: 'auth',
        devices: DEVICES,
        connects: CONNECTS,
        concurrency: CONCURRENCY,
        scrypt: DEFAULT_SCRYPT,
        provisionSeconds: Math.round(provisionSeconds * 10) / 10,
        coldPasswordConnectsPerSec: coldPassword,
        warmPasswordConnectsPerSec: warmPassword,
        tokenConnectsPerSec: token,
        refusedPasswordConnectsPerSec: refused,
        ...(mosquitto === undefined ? {} : { mosquitto }),
      }),
    );
  } finally {
    await hub.stop().catch(() => undefined);
  }
} finally {
  await rm(data, { recursive: true, force: true });
}
