// Side-by-side comparison: runs the same `twinhub bench` scenarios against Mosquitto, Aedes,
// Twinhub and a bare Node frame forwarder, each broker freshly started on a free loopback port for
// each scenario (the system Mosquitto on 1883 is never touched). Prints one JSON line per target
// and scenario, then a markdown table (to stdout, or to --md FILE).
//
//   npm run bench:compare -- [--quick] [--targets mosquitto,aedes,twinhub,forwarder]
//     [--scenarios fanin-qos0,fanin-qos1-clean,fanin-qos1-persistent,latency,conns]
//     [--conns 19000] [--duration 3] [--repeat N] [--md FILE]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A parsed JSON result line of `twinhub bench`; read field by field, so left loosely typed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type BenchLine = Record<string, any>;

const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: 'mosquitto,aedes,twinhub,forwarder' },
    scenarios: { type: 'string', default: 'fanin-qos0,fanin-qos1-clean,fanin-qos1-persistent,latency,conns' },
    quick: { type: 'boolean', default: false },
    conns: { type: 'string' },
    duration: { type: 'string' },
    'latency-duration': { type: 'string' },
    settle: { type: 'string' },
    'mosquitto-inflight': { type: 'string', default: '1000' },
    'wait-idle': { type: 'string', default: '20' },
    repeat: { type: 'string', default: '1' },
    md: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport')[0] + '\n');
  process.exit(0);
}

const quick = args.quick;
const sweepDuration = args.duration ?? (quick ? '1.5' : '3');
const sweepPrecision = quick ? '0.1' : '0.05';
const conns = args.conns ?? (quick ? '1000' : '5000');
const settle = args.settle ?? (quick ? '5' : '15');
const repeat = Math.max(1, Number(args.repeat));
const latencyDuration = args['latency-duration'] ?? (quick ? '3' : '10');

interface Scenario {
  id: string;
  title: string;
  bench: string[];
  /** Mosquitto needs persistence on for a persistent-session subscriber to mean anything. */
  persistence: boolean;
}

const sweep = ['--sweep', '--duration', sweepDuration, '--precision', sweepPrecision, '--max-rate', '4000000'];
const SCENARIOS: Scenario[] = [
  { id: 'fanin-qos0', title: 'QoS 0 fan-in, sustained msg/s', bench: ['fanin', '--qos', '0', ...sweep], persistence: false },
  { id: 'fanin-qos1-clean', title: 'QoS 1 fan-in, clean-session subscriber, sustained msg/s', bench: ['fanin', '--qos', '1', ...sweep], persistence: false },
  {
    id: 'fanin-qos1-persistent',
    title: 'QoS 1 fan-in, persistent-session subscriber, sustained msg/s',
    bench: ['fanin', '--qos', '1', '--clean', 'false', ...sweep],
    persistence: true,
  },
  { id: 'latency', title: 'latency at 2,000 msg/s QoS 0, p50 / p99 / max ms', bench: ['latency', '--rate', '2000', '--duration', latencyDuration], persistence: false },
  { id: 'conns', title: `broker memory per idle connection (${Number(conns).toLocaleString('en-US')} connections), KB`, bench: ['conns', '--conns', conns, '--settle', settle], persistence: false },
];

interface Target {
  id: string;
  name: string;
  /** Scenarios it takes part in; the forwarder is not a broker, only a ceiling for QoS 0. */
  scenarios: string[] | 'all';
  start(port: number, dir: string, s: Scenario): ChildProcess;
}

function nodeTs(file: string, ...rest: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(root, file), ...rest], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
}

function version(cmd: string, argv: string[], re: RegExp): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return re.exec(`${r.stdout}${r.stderr}`)?.[1] ?? '';
}

const mosquittoVersion = version('mosquitto', ['-h'], /mosquitto version (\S+)/);
const aedesVersion = (JSON.parse(readFileSync(join(root, 'node_modules/aedes/package.json'), 'utf8')) as { version: string }).version;

const TARGETS: Target[] = [
  {
    id: 'mosquitto',
    name: `Mosquitto ${mosquittoVersion}`,
    scenarios: 'all',
    start(port, dir, s) {
      const conf = [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        // Its default (false) delays small packets such as acks by tens of milliseconds.
        'set_tcp_nodelay true',
        // Queue instead of dropping for a subscriber that is briefly behind; the sweep decides.
        'max_queued_messages 1000000',
        `max_inflight_messages ${args['mosquitto-inflight']}`,
        `persistence ${s.persistence}`,
        `persistence_location ${dir}/`,
        'log_type error',
        'log_type warning',
      ];
      writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`);
      return spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    },
  },
  {
    id: 'aedes',
    name: `Aedes ${aedesVersion}`,
    scenarios: 'all',
    start: (port) => nodeTs('bench/aedes-server.ts', String(port)),
  },
  {
    id: 'twinhub',
    name: 'Twinhub',
    scenarios: 'all',
    // Started as users start it (the bin's shebang sets its Node flags), with the same queue
    // bound as Mosquitto gets above (max_queued_messages); in-flight is 1000 by default in both.
    start: (port, dir) =>
      spawn(join(root, 'bin/twinhub.js'), ['start', '--mqtt', `127.0.0.1:${port}`, '--http', 'off', '--data', dir], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TWINHUB_LIMITS__MAX_QUEUED_MESSAGES: '1000000' },
      }),
  },
  {
    id: 'forwarder',
    name: 'bare Node forwarder',
    scenarios: ['fanin-qos0', 'latency'],
    start: (port) => nodeTs('bench/forwarder.ts', String(port)),
  },
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Started {
  child: ChildProcess;
  output: () => string;
}

async function startTarget(t: Target, port: number, dir: string, s: Scenario): Promise<Started> {
  const child = t.start(port, dir, s);
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (e) => {
    exited = true;
    output += e.message;
  });
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline && !exited) {
    if (await canConnect(port)) return { child, output: () => output };
    await sleep(100);
  }
  child.kill('SIGKILL');
  const lines = output.trim().split('\n');
  const first = lines.find((l) => /error/i.test(l)) ?? lines.slice(-2).join(' | ');
  const why = exited ? `exited: ${first.trim().slice(0, 200)}` : 'did not listen within 30 s';
  throw new Error(`${t.name} failed to start (${why})`);
}

async function stopTarget(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/** Share of CPU time idle over `ms`, from /proc/stat (proc(5)): other work skews the figures. */
async function idleShare(ms: number): Promise<number> {
  const read = (): number[] => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  await sleep(ms);
  const b = read();
  const d = b.map((v, i) => v - a[i]);
  const total = d.reduce((s, v) => s + v, 0);
  return total > 0 ? (d[3] + d[4]) / total : 1;
}

async function waitQuiet(): Promise<number> {
  const limit = Date.now() + Number(args['wait-idle']) * 1000;
  let idle = await idleShare(1000);
  while (idle < 0.8 && Date.now() < limit) {
    process.stderr.write(`[compare] machine busy (${Math.round(idle * 100)}% idle), waiting\n`);
    idle = await idleShare(2000);
  }
  return Math.round(idle * 100) / 100;
}

/** Children to end if compare itself is interrupted, so no broker is left running. */
const live = new Set<ChildProcess>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const c of live) c.kill('SIGKILL');
    process.exit(130);
  });
}

function runBench(argv: string[]): Promise<BenchLine> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/bench/index.ts'), ...argv], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    live.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60 * 1000);
    child.on('exit', (code) => {
      live.delete(child);
      clearTimeout(timer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (line === undefined) resolve({ error: `bench printed no result (exit ${code})` });
      else resolve(JSON.parse(line) as BenchLine);
    });
  });
}

const targets = args.targets.split(',').map((id) => {
  const t = TARGETS.find((x) => x.id === id);
  if (t === undefined) throw new Error(`unknown target ${id}; known: ${TARGETS.map((x) => x.id).join(', ')}`);
  return t;
});
const scenarios = args.scenarios.split(',').map((id) => {
  const s = SCENARIOS.find((x) => x.id === id);
  if (s === undefined) throw new Error(`unknown scenario ${id}; known: ${SCENARIOS.map((x) => x.id).join(', ')}`);
  return s;
});

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memGB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1048576),
  kernel: release(),
  node: process.version,
};
const started = Date.now();
process.stdout.write(`${JSON.stringify({ compare: 'start', date: new Date().toISOString(), machine, quick, argv: process.argv.slice(2) })}\n`);

const results = new Map<string, BenchLine[]>();
const skipped = new Map<string, string>();

async function runOne(t: Target, s: Scenario, round: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `twinhub-compare-${t.id}-`));
  chmodSync(dir, 0o777); // Mosquitto started as root drops to its own user, which must write here
  try {
    const port = await freePort();
    let broker: Started;
    try {
      broker = await startTarget(t, port, dir, s);
    } catch (err) {
      // Twinhub is being written alongside this script: a target that does not start is skipped.
      skipped.set(t.id, (err as Error).message);
      process.stderr.write(`[compare] skipping ${t.name}: ${(err as Error).message}\n`);
      process.stdout.write(`${JSON.stringify({ target: t.id, compareScenario: s.id, skipped: (err as Error).message })}\n`);
      return;
    }
    const idle = await waitQuiet();
    process.stderr.write(`[compare] ${t.name}: ${s.id} round ${round} (port ${port}, pid ${broker.child.pid}, ${Math.round(idle * 100)}% idle)\n`);
    const r = await runBench([...s.bench, '--port', String(port), '--pid', String(broker.child.pid), '--label', t.id]);
    const crashed = broker.child.exitCode !== null || broker.child.signalCode !== null;
    await stopTarget(broker.child);
    const line: BenchLine = {
      ...r,
      target: t.id,
      targetName: t.name,
      address: r.target,
      compareScenario: s.id,
      round,
      machineIdleBefore: idle,
      brokerExited: crashed || undefined,
    };
    if (crashed) line.brokerOutput = broker.output().trim().split('\n').slice(-5).join(' | ');
    const key = `${t.id}/${s.id}`;
    results.set(key, [...(results.get(key) ?? []), line]);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Rounds go over all targets in turn, so a burst of other work on the machine does not fall on
// one target's every run; the table keeps each target's best run.
for (let round = 1; round <= repeat; round++) {
  for (const t of targets) {
    for (const s of scenarios) {
      if (t.scenarios !== 'all' && !t.scenarios.includes(s.id)) continue;
      if (skipped.has(t.id)) continue;
      await runOne(t, s, round);
    }
  }
}

/** The best run: highest sustained rate, lowest p99, lowest memory per connection. */
function best(runs: BenchLine[], s: Scenario): BenchLine {
  const score = (r: BenchLine): number => {
    if (s.id.startsWith('fanin')) return r.sustainedRate ?? -1;
    if (s.id === 'latency') return -(r.latencyMs?.p99 ?? Infinity);
    return -(r.broker?.rssPerConnKB ?? Infinity);
  };
  return runs.reduce((a, b) => (score(b) > score(a) ? b : a));
}

const fmt = (n: unknown): string => (typeof n === 'number' && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');

function cell(t: Target, s: Scenario): string {
  if (t.scenarios !== 'all' && !t.scenarios.includes(s.id)) return '—';
  const runs = results.get(`${t.id}/${s.id}`);
  if (runs === undefined) return skipped.has(t.id) ? 'did not start' : 'not run';
  const r = best(runs, s);
  const crash = r.brokerExited ? ', then crashed' : '';
  const err = r.error !== undefined && !r.brokerExited ? ` (error: ${String(r.error).slice(0, 60)})` : '';
  if (s.id.startsWith('fanin')) return `${fmt(r.sustainedRate)}${crash}${err}`;
  if (s.id === 'latency') {
    const l = r.latencyMs;
    return l ? `${l.p50} / ${l.p99} / ${l.max}${crash}${err}` : `—${crash}${err}`;
  }
  const kb = r.broker?.rssPerConnKB;
  return `${typeof kb === 'number' ? kb.toFixed(1) : '—'}${crash}${err}`;
}

const minutes = ((Date.now() - started) / 60000).toFixed(1);
const md = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine.cores} × ${machine.cpu}, ${machine.memGB} GB, Linux ${machine.kernel}, Node ${machine.node}; ` +
    `compare took ${minutes} min${quick ? ' (--quick)' : ''}${repeat > 1 ? `, best of ${repeat} rounds` : ''}.`,
  '',
  `| scenario | ${targets.map((t) => t.name).join(' | ')} |`,
  `|---|${targets.map(() => '---|').join('')}`,
  ...scenarios.map((s) => `| ${s.title} | ${targets.map((t) => cell(t, s)).join(' | ')} |`),
  '',
  ...[...skipped].map(([id, why]) => `- ${id}: ${why}`),
].join('\n');

if (args.md !== undefined) writeFileSync(args.md, `${md}\n`);
else process.stdout.write(`\n${md}\n`);
