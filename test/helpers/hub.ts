// Hubs for tests.
//
// startTestHub(): the real hub in this process on ephemeral loopback ports, with a fresh data
// folder (persistence on: the real path), logs silent (TWINHUB_TEST_LOG=debug shows them).
// With TWINHUB_TEST_BROKER=host:port it returns that external broker instead (`external: true`,
// stop is a no-op), so the protocol suites can run against Mosquitto or Aedes for comparison.
//
// startHubProcess(): `node bin/twinhub.js start …` as a child process, for tests that kill it,
// send signals, or check what the command prints.
//
// EchoAcceptor: a stand-in for the broker behind the transports (transport tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatHostPort, parseAddressText } from '../../src/config/address.js';
import { buildConfig, type DeepPartial } from '../../src/config/load.js';
import type { ListenAddress, TwinhubConfig } from '../../src/config/types.js';
import type { RunningHub } from '../../src/main/hub.js';
import { READY_LINE } from '../../src/main/startup-lines.js';
import { createLogger, type LogLevel } from '../../src/obs/log.js';
import type { AcceptedConnection, ConnectionAcceptor } from '../../src/transport/types.js';

export type { DeepPartial };

/** The admin API key of every in-process test hub (installed as TWINHUB_ADMIN_KEY would be). */
export const TEST_ADMIN_KEY = 'twinhub-test-admin-key-0001';

export interface TestHub {
  /** True when TWINHUB_TEST_BROKER points at another broker: hub-specific tests skip. */
  external: boolean;
  host: string;
  /** 0 when the MQTT listener is disabled. */
  mqttPort: number;
  mqttUrl: string;
  mqttsPort?: number;
  mqttsUrl?: string;
  wsUrl?: string;
  httpUrl?: string;
  dataDir: string;
  /** The in-process hub; throws for an external broker. */
  hub: RunningHub;
  /** Stop the hub and delete its data folder. */
  stop(): Promise<void>;
  /** Stop and start again on the same data folder (and the same ports when they are free). */
  restart(): Promise<TestHub>;
}

export interface TestHubOptions {
  config?: DeepPartial<TwinhubConfig>;
  /** Persistence in the data folder; default true. */
  persistence?: boolean;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A file of the test PKI in test/fixtures/tls/ (generate.sh: a CA, a server certificate for localhost and 127.0.0.1, client `client-1`…). */
export function tlsFixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
}

/** A hub whose MQTT/TLS listener (ephemeral port) requires a client certificate of the test CA; anonymous clients refused. */
export function mtlsHubConfig(): DeepPartial<TwinhubConfig> {
  return {
    allowAnonymous: false,
    mqtts: { host: '127.0.0.1', port: 0 },
    tls: { cert: tlsFixture('server.pem'), key: tlsFixture('server-key.pem'), ca: tlsFixture('ca.pem'), requestCert: true, rejectUnauthorized: true },
  };
}

function testLogLevel(): LogLevel {
  const v = process.env.TWINHUB_TEST_LOG;
  return v === 'fatal' || v === 'error' || v === 'warn' || v === 'info' || v === 'debug' || v === 'trace' ? v : 'silent';
}

export async function startTestHub(opts: TestHubOptions = {}): Promise<TestHub> {
  const external = process.env.TWINHUB_TEST_BROKER;
  if (external !== undefined && external !== '') return externalHub(external);
  const dataDir = await mkdtemp(join(tmpdir(), 'twinhub-test-'));
  try {
    return await startOn(dataDir, opts, undefined);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

function testConfig(dataDir: string, opts: TestHubOptions, ports: DeepPartial<TwinhubConfig> | undefined): TwinhubConfig {
  const base = {
    data: dataDir,
    mqtt: '127.0.0.1:0',
    ws: '127.0.0.1:0',
    http: '127.0.0.1:0',
    persistence: { enabled: opts.persistence ?? true },
    log: { level: testLogLevel() },
  };
  const objects = [
    { value: base, label: 'startTestHub defaults' },
    { value: opts.config ?? {}, label: 'startTestHub config' },
    ...(ports ? [{ value: ports, label: 'startTestHub restart' }] : []),
  ];
  return buildConfig({ objects }).config;
}

async function startOn(dataDir: string, opts: TestHubOptions, samePorts: DeepPartial<TwinhubConfig> | undefined): Promise<TestHub> {
  // Loaded on first use: transport tests use this module's EchoAcceptor without the broker.
  const { startHub } = await import('../../src/main/hub.js');
  let config = testConfig(dataDir, opts, samePorts);
  const log = createLogger({ level: config.log.level });
  let hub: RunningHub;
  try {
    hub = await startHub(config, { log, out: () => {}, adminKey: TEST_ADMIN_KEY });
  } catch (err) {
    if (samePorts === undefined) throw err;
    // A previous port was taken meanwhile: restart on fresh ports.
    config = testConfig(dataDir, opts, undefined);
    hub = await startHub(config, { log, out: () => {}, adminKey: TEST_ADMIN_KEY });
  }
  const a = hub.addresses;
  // After restart() the data folder belongs to the new TestHub: this one must not delete it.
  let handedOver = false;
  const t: TestHub = {
    external: false,
    host: a.mqtt?.host ?? '127.0.0.1',
    mqttPort: a.mqtt?.port ?? 0,
    mqttUrl: a.mqtt ? `mqtt://${formatHostPort(a.mqtt)}` : '',
    dataDir,
    hub,
    stop: async () => {
      await hub.stop();
      if (!handedOver) await rm(dataDir, { recursive: true, force: true });
    },
    restart: async () => {
      await hub.stop();
      handedOver = true;
      const ports: Record<string, ListenAddress> = {};
      for (const name of ['mqtt', 'mqtts', 'ws', 'http'] as const) {
        const addr = a[name];
        if (addr) ports[name] = addr;
      }
      return startOn(dataDir, opts, ports);
    },
  };
  if (a.mqtts) {
    t.mqttsPort = a.mqtts.port;
    t.mqttsUrl = `mqtts://${formatHostPort(a.mqtts)}`;
  }
  if (a.ws) t.wsUrl = `ws://${formatHostPort(a.ws)}${config.wsPath}`;
  if (a.http) t.httpUrl = `http://${formatHostPort(a.http)}`;
  return t;
}

function externalHub(spec: string): TestHub {
  const parsed = parseAddressText(spec);
  if (!parsed.ok || parsed.value === null) throw new Error(`TWINHUB_TEST_BROKER=${spec}: ${parsed.ok ? 'expected HOST:PORT' : parsed.problem}`);
  const addr = parsed.value;
  return {
    external: true,
    host: addr.host,
    mqttPort: addr.port,
    mqttUrl: `mqtt://${formatHostPort(addr)}`,
    dataDir: '',
    get hub(): RunningHub {
      throw new Error('TestHub.hub: the broker is external (TWINHUB_TEST_BROKER); skip hub-specific tests when hub.external');
    },
    stop: async () => {},
    restart: async () => {
      throw new Error('TestHub.restart: the broker is external (TWINHUB_TEST_BROKER); skip this test when hub.external');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The hub as a child process.

export interface HubProcess {
  child: ChildProcess;
  pid: number;
  host: string;
  mqttPort: number;
  mqttUrl: string;
  mqttsPort?: number;
  wsUrl?: string;
  httpUrl?: string;
  /** The data folder (created by startHubProcess unless --data or TWINHUB_DATA was given). */
  dataDir: string;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Send a signal and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, wait, and delete a data folder this helper created. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const LISTENING = /^twinhub: (MQTT|MQTT\/TLS|MQTT\/WebSocket|HTTP) listening on (\S+)$/;

function childEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  // The test runner's own TWINHUB_* variables must not change the hub under test.
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TWINHUB_')) out[k] = v;
  return { ...out, ...env };
}

function hasSetting(args: readonly string[], env: Readonly<Record<string, string>>, flag: string, envName: string): boolean {
  return args.some((a) => a === flag || a.startsWith(`${flag}=`)) || envName in env;
}

/** Spawn `node bin/twinhub.js <args>` and collect its output until it exits. */
export function spawnCli(args: readonly string[], env: Readonly<Record<string, string>> = {}): {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'twinhub.js'), ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Run the CLI to completion (bounded by timeoutMs; then it is killed and the test fails). */
export async function runCli(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const p = spawnCli(args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const r = await p.exited;
  clearTimeout(timer);
  if (r.signal === 'SIGKILL') throw new Error(`twinhub ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`);
  return { ...r, stdout: p.stdout(), stderr: p.stderr() };
}

/**
 * Start `twinhub start <args>` and wait until it prints that it is ready. Unless given, the data
 * folder is a fresh temp folder and MQTT and HTTP listen on ephemeral loopback ports (never on
 * 1883/8080, which may belong to a system broker).
 */
export async function startHubProcess(args: readonly string[] = [], env: Readonly<Record<string, string>> = {}, timeoutMs = 30_000): Promise<HubProcess> {
  const full = ['start', ...args];
  let createdDir: string | undefined;
  if (!hasSetting(args, env, '--data', 'TWINHUB_DATA')) {
    createdDir = await mkdtemp(join(tmpdir(), 'twinhub-proc-'));
    full.push('--data', createdDir);
  }
  if (!hasSetting(args, env, '--mqtt', 'TWINHUB_MQTT')) full.push('--mqtt', '127.0.0.1:0');
  if (!hasSetting(args, env, '--http', 'TWINHUB_HTTP')) full.push('--http', '127.0.0.1:0');
  const dataArg = full.indexOf('--data');
  const dataDir = dataArg >= 0 ? full[dataArg + 1]! : (env.TWINHUB_DATA ?? '');

  const p = spawnCli(full, env);
  const found: Record<string, string> = {};
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        p.child.kill('SIGKILL');
        reject(new Error(`twinhub start did not become ready within ${timeoutMs} ms\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`));
      }, timeoutMs);
      let buffered = '';
      const onData = (d: string) => {
        buffered += d;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const m = LISTENING.exec(line);
          if (m) found[m[1]!] = m[2]!;
          if (line === READY_LINE) {
            clearTimeout(timer);
            p.child.stdout!.off('data', onData);
            resolve();
          }
        }
      };
      p.child.stdout!.on('data', onData);
      void p.exited.then((r) => {
        clearTimeout(timer);
        reject(new Error(`twinhub start exited (code ${r.code}, signal ${r.signal}) before it was ready\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`));
      });
    });
  } catch (err) {
    if (createdDir) await rm(createdDir, { recursive: true, force: true });
    throw err;
  }

  const mqtt = found.MQTT ? parseAddressText(found.MQTT) : undefined;
  const mqttAddr = mqtt?.ok ? mqtt.value : null;
  const mqtts = found['MQTT/TLS'] ? parseAddressText(found['MQTT/TLS']) : undefined;
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
    return p.exited;
  };
  const hp: HubProcess = {
    child: p.child,
    pid: p.child.pid!,
    host: mqttAddr?.host ?? '127.0.0.1',
    mqttPort: mqttAddr?.port ?? 0,
    mqttUrl: mqttAddr ? `mqtt://${formatHostPort(mqttAddr)}` : '',
    dataDir,
    stdout: p.stdout,
    stderr: p.stderr,
    exited: p.exited,
    kill,
    stop: async () => {
      const r = await kill('SIGTERM');
      if (createdDir) await rm(createdDir, { recursive: true, force: true });
      return r;
    },
  };
  if (mqtts?.ok && mqtts.value) hp.mqttsPort = mqtts.value.port;
  if (found['MQTT/WebSocket']) hp.wsUrl = found['MQTT/WebSocket'];
  if (found.HTTP) hp.httpUrl = found.HTTP;
  return hp;
}

// ---------------------------------------------------------------------------------------------
// A stand-in for the broker, for transport tests.

/** Records every accepted connection and echoes its bytes back, as a stand-in for the broker. */
export class EchoAcceptor implements ConnectionAcceptor {
  readonly accepted: AcceptedConnection[] = [];
  private waiters: Array<(c: AcceptedConnection) => void> = [];

  accept(conn: AcceptedConnection): void {
    this.accepted.push(conn);
    conn.stream.pipe(conn.stream);
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve(conn);
  }

  /** The next accepted connection (or one already accepted and not yet taken), bounded in time. */
  next(timeoutMs = 5000): Promise<AcceptedConnection> {
    const taken = this.taken++;
    if (taken < this.accepted.length) return Promise.resolve(this.accepted[taken]!);
    return withTimeout(new Promise((resolve) => this.waiters.push(resolve)), timeoutMs, 'no connection accepted');
  }
  private taken = 0;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Read from a stream until `n` bytes arrived (bounded). */
export async function readBytes(stream: Duplex, n: number, timeoutMs = 5000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  return withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      const onData = (d: Buffer) => {
        chunks.push(d);
        have += d.length;
        if (have >= n) {
          stream.off('data', onData);
          resolve(Buffer.concat(chunks));
        }
      };
      stream.on('data', onData);
      stream.once('error', reject);
    }),
    timeoutMs,
    `reading ${n} bytes`,
  );
}

/** Resolves when the stream has closed (bounded). */
export function closed(stream: Duplex, timeoutMs = 5000): Promise<unknown> {
  if (stream.destroyed) return Promise.resolve();
  return withTimeout(once(stream, 'close'), timeoutMs, 'stream close');
}
