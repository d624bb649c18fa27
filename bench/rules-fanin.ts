// The broker's MQTT fan-in throughput with 100 rules loaded against the same hub without rules
// (issue 6): `twinhub start` as its own process, `twinhub bench fanin --sweep` (10 publishers → 1
// subscriber, the highest sustained rate) against it. The 100 rules match every message: 90 are
// evaluated and refused by WHERE (rules that rarely fire, the common case), 10 pass (one per
// publisher topic) and run a log action. Prints one JSON line.
//
//   node --import tsx bench/rules-fanin.ts [--qos 0] [--duration 3]
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/twinhub.js');
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const QOS = arg('qos', '0');
const DURATION = arg('duration', '3');

async function writeRules(dir: string): Promise<void> {
  const folder = join(dir, 'rules');
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < 90; i++) {
    await writeFile(join(folder, `quiet-${i}.yaml`), `id: quiet-${i}\nsql: "SELECT clientid() AS c, topic(3) AS p FROM 'tb/#' WHERE topic(3) = 'never-${i}'"\nactions:\n  - log: {level: debug}\n`);
  }
  for (let p = 0; p < 10; p++) {
    await writeFile(join(folder, `pub-${p}.yaml`), `id: pub-${p}\nsql: "SELECT clientid() AS c, qos() AS q FROM 'tb/+/${p}'"\nactions:\n  - log: {level: debug}\n`);
  }
}

function startHub(data: string): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--max-semi-space-size=8', BIN, 'start', '--mqtt', '127.0.0.1:0', '--http', 'off', '--data', data, '--log-level', 'warn'], {
    env: { ...process.env, TWINHUB_ADMIN_KEY: 'bench-admin-key-0000001' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /MQTT listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null && out.includes('ready')) {
        resolve({
          port: Number(m[1]),
          pid: child.pid!,
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code}): ${out}`)));
  });
}

function sweep(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'bench', 'fanin', '--port', String(port), '--qos', QOS, '--sweep', '--duration', DURATION, '--json-only'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`bench exited ${code}: ${out}`));
      }
    });
  });
}

async function measure(withRules: boolean): Promise<number> {
  const data = await mkdtemp(join(tmpdir(), 'twinhub-bench-rules-'));
  try {
    if (withRules) await writeRules(data);
    const hub = await startHub(data);
    try {
      const r = await sweep(hub.port);
      const rate = (r.sustainedRate ?? r.bestRate ?? r.deliveredRate) as number | undefined;
      if (typeof rate !== 'number') throw new Error(`no rate in ${JSON.stringify(r)}`);
      return rate;
    } finally {
      await hub.stop();
    }
  } finally {
    await rm(data, { recursive: true, force: true });
  }
}

const without = await measure(false);
const with100 = await measure(true);
console.log(JSON.stringify({ bench: 'rules-fanin', qos: Number(QOS), rules: 100, fanInWithoutRules: without, fanInWith100Rules: with100, ratio: Math.round((with100 / without) * 1000) / 1000 }));
