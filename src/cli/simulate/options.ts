// `twinhub simulate` options: commander's raw strings → one validated, serialisable SimOptions
// (it crosses IPC to the worker processes as is).
import { readFileSync } from 'node:fs';
import { loadProfile, parseChurn, parseDuration, ProfileError, type ChurnSpec, type Profile } from './profile.js';

export interface RawSimOptions {
  url?: string;
  devices?: string;
  duration?: string;
  profile?: string;
  ramp?: string;
  churn?: string;
  chaos?: boolean;
  protocol?: string;
  idTemplate?: string;
  usernameTemplate?: string;
  password?: string;
  tokenFile?: string;
  commandRate?: string;
  commanderId?: string;
  commanderUsername?: string;
  commanderPassword?: string;
  workers?: string;
  concurrency?: string;
  sourceAddresses?: string;
  seed?: string;
  drain?: string;
  json?: boolean;
  report?: string[];
  quiet?: boolean;
}

export interface Credentials {
  /** `{id}` and `{n}` are replaced; undefined: no user name unless a password is given. */
  usernameTemplate?: string;
  passwordTemplate?: string;
  /** From --token-file: one token for every device, and/or one per device id. */
  token?: string;
  tokens?: Record<string, string>;
}

export interface SimOptions {
  url: string;
  host: string;
  port: number;
  devices: number;
  /** Seconds of simulated traffic; everything stops by itself after it (and a short drain). */
  duration: number;
  profile: Profile;
  /** Seconds over which devices connect (from --ramp, else the profile). */
  ramp: number;
  churn: ChurnSpec;
  chaos: boolean;
  protocol: 4 | 5;
  idTemplate: string;
  credentials: Credentials;
  /** Commands per second the simulator sends to its own devices (round-trip latency). */
  commandRate: number;
  commanderId: string;
  commanderCredentials: Credentials;
  workers: number;
  /** Handshakes in flight at once over the whole fleet. */
  concurrency: number;
  /** Spread connections over 127.a.b.c source addresses (loopback targets only). */
  sourceAddresses: boolean;
  seed: number;
  /** Most seconds to wait after the end for acknowledgements and replies. */
  drain: number;
  json: boolean;
  reports: string[];
  quiet: boolean;
  runId: string;
}

/** Most devices one process drives: it may open 20,000 files, and keeps room for the rest. */
export const DEVICES_PER_WORKER = 10_000;
/** Above this many devices on a loopback target, connections spread over source addresses (ephemeral ports run out near 28,000 per address pair). */
export const SOURCE_SPREAD_ABOVE = 10_000;

export class OptionError extends Error {}

function intOpt(v: string | undefined, name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new OptionError(`${name} must be an integer in ${min}..${max}, got "${v}"`);
  return n;
}

function numOpt(v: string | undefined, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new OptionError(`${name} must be a number of at least ${min}, got "${v}"`);
  return n;
}

function secondsOpt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  try {
    return parseDuration(/^\d+(\.\d+)?$/.test(v) ? Number(v) : v, name) / 1000;
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
}

export function parseUrl(url: string): { host: string; port: number } {
  const m = /^(?:mqtt|tcp):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(url);
  if (m === null) throw new OptionError(`--url must look like mqtt://HOST:PORT, got "${url}"`);
  const port = m[2] === undefined ? 1883 : Number(m[2]);
  if (port < 1 || port > 65535) throw new OptionError(`--url port ${port} is out of range 1..65535`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** --token-file: one token on its own, or lines "DEVICE_ID TOKEN" (blank lines and # comments skipped). */
export function parseTokenFile(text: string): { token?: string; tokens?: Record<string, string> } {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 1 && !/\s/.test(lines[0]!)) return { token: lines[0]! };
  const tokens: Record<string, string> = {};
  lines.forEach((l, i) => {
    const m = /^(\S+)\s+(\S+)$/.exec(l);
    if (m === null) throw new OptionError(`--token-file line ${i + 1}: expected "DEVICE_ID TOKEN" or a single token on its own`);
    tokens[m[1]!] = m[2]!;
  });
  if (lines.length === 0) throw new OptionError('--token-file is empty');
  return { tokens };
}

/** `{n}` → device index, `{id}` → device id. */
export function fill(template: string, id: string, n: number): string {
  return template.replace(/\{id\}/g, id).replace(/\{n\}/g, String(n));
}

export function deviceId(o: Pick<SimOptions, 'idTemplate'>, n: number): string {
  return fill(o.idTemplate, '', n);
}

/** User name and password of one client, or neither. */
export function credentialsOf(c: Credentials, id: string, n: number): { username?: string; password?: string } {
  const password = c.tokens?.[id] ?? c.token ?? (c.passwordTemplate !== undefined ? fill(c.passwordTemplate, id, n) : undefined);
  // MQTT 3.1.1 allows no password without a user name [MQTT-3.1.2-22]: the device id stands in.
  const userTemplate = c.usernameTemplate ?? (password !== undefined ? '{id}' : undefined);
  return {
    ...(userTemplate !== undefined ? { username: fill(userTemplate, id, n) } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

export function resolveSimOptions(raw: RawSimOptions, runId: string): SimOptions {
  const { host, port } = parseUrl(raw.url ?? 'mqtt://127.0.0.1:1883');
  let profile: Profile;
  try {
    profile = loadProfile(raw.profile ?? 'mixed');
  } catch (err) {
    if (err instanceof ProfileError) throw new OptionError(`profile: ${err.message}`);
    throw err;
  }
  const devices = intOpt(raw.devices, '--devices', 100, 1, 10_000_000);
  const duration = secondsOpt(raw.duration, '--duration', 30);
  if (duration <= 0) throw new OptionError('--duration must be above 0');
  const protocol = raw.protocol === undefined ? profile.protocol : intOpt(raw.protocol, '--protocol', 5, 4, 5);
  if (protocol !== 4 && protocol !== 5) throw new OptionError('--protocol must be 4 (MQTT 3.1.1) or 5');
  let churn = profile.churn;
  if (raw.churn !== undefined) {
    try {
      churn = parseChurn(/^\d+(\.\d+)?$/.test(raw.churn) ? Number(raw.churn) : raw.churn, '--churn');
    } catch (err) {
      throw new OptionError((err as Error).message);
    }
  }
  const idTemplate = raw.idTemplate ?? 'sim-{n}';
  if (!idTemplate.includes('{n}')) throw new OptionError('--id-template must contain {n} (the device number), so ids differ');
  if (/[/#+]/.test(idTemplate)) throw new OptionError('--id-template must not contain "/", "+" or "#": the id is one topic level');
  const credentials: Credentials = {};
  if (raw.usernameTemplate !== undefined) credentials.usernameTemplate = raw.usernameTemplate;
  if (raw.password !== undefined) credentials.passwordTemplate = raw.password;
  if (raw.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(raw.tokenFile, 'utf8');
    } catch (err) {
      throw new OptionError(`--token-file ${raw.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    Object.assign(credentials, parseTokenFile(text));
  }
  const commanderCredentials: Credentials = { ...credentials };
  if (raw.commanderUsername !== undefined) commanderCredentials.usernameTemplate = raw.commanderUsername;
  if (raw.commanderPassword !== undefined) {
    commanderCredentials.passwordTemplate = raw.commanderPassword;
    delete commanderCredentials.token;
    delete commanderCredentials.tokens;
  }
  const workersDefault = Math.ceil(devices / DEVICES_PER_WORKER);
  const workers = intOpt(raw.workers, '--workers', workersDefault, 1, 256);
  if (devices / workers > 19_000) throw new OptionError(`--workers ${workers} puts ${Math.ceil(devices / workers)} devices in one process; a process may open at most 20,000 files: use --workers ${workersDefault} or more`);
  const loopback = /^127\./.test(host) || host === 'localhost';
  const spread = raw.sourceAddresses ?? 'auto';
  if (!['auto', 'on', 'off'].includes(spread)) throw new OptionError('--source-addresses must be auto, on or off');
  return {
    url: `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host: host === 'localhost' ? '127.0.0.1' : host,
    port,
    devices,
    duration,
    profile,
    // The profile's ramp fits into short runs (at most half the duration); --ramp is taken as given.
    ramp: raw.ramp === undefined ? Math.min(profile.ramp, duration / 2) : secondsOpt(raw.ramp, '--ramp', 0),
    churn,
    chaos: raw.chaos === true,
    protocol,
    idTemplate,
    credentials,
    commandRate: numOpt(raw.commandRate, '--command-rate', profile.commands.rate, 0),
    commanderId: raw.commanderId ?? `simcmd${runId}`,
    commanderCredentials,
    workers: Math.min(workers, devices),
    concurrency: intOpt(raw.concurrency, '--concurrency', 200, 1, 100_000),
    sourceAddresses: loopback && (spread === 'on' || (spread === 'auto' && devices > SOURCE_SPREAD_ABOVE)),
    seed: intOpt(raw.seed, '--seed', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1),
    drain: secondsOpt(raw.drain, '--drain', 3),
    json: raw.json === true,
    reports: raw.report ?? [],
    quiet: raw.quiet === true,
    runId,
  };
}
