// Simulation profiles: what the devices of a fleet do. A profile is a YAML or JSON file
// (`--profile FILE`) or one of the built-ins (`--profile mixed|telemetry|twins|storm`). A file may
// start from a built-in with `extends: NAME` and replace its top-level keys. Every key is checked:
// a misspelt or out-of-range value is refused with its path named (docs/SIMULATOR.md lists them).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { MetricSpec } from './walk.js';

export type QoS = 0 | 1 | 2;

export interface PeriodicSpec {
  /** Milliseconds between messages of one device. */
  every: number;
  /** Each interval varies by ±jitter × every (0..1), so devices do not march in step. */
  jitter: number;
  qos: QoS;
  /** Topic template; `{id}` is the device id. */
  topic: string;
}

export interface TelemetrySpec extends PeriodicSpec {
  metrics: Record<string, MetricSpec>;
}

export interface BurstSpec {
  /** Milliseconds between bursts of one device. */
  every: number;
  jitter: number;
  /** Telemetry messages in one burst. */
  count: number;
  /** Milliseconds between the messages of a burst (0: all at once). */
  spacing: number;
  qos: QoS;
}

export interface TwinSpec extends PeriodicSpec {
  reported: Record<string, MetricSpec>;
}

export interface CommandAnswerSpec {
  /** Milliseconds a device takes to act on a command before it replies. */
  delay: number;
  /** Probability that a reply says the command failed. */
  failRate: number;
  qos: QoS;
}

export interface DeviceClass {
  name: string;
  /** Share of the fleet (relative to the other classes' weights). */
  weight: number;
  heartbeat?: PeriodicSpec;
  telemetry?: TelemetrySpec;
  bursts?: BurstSpec;
  twin?: TwinSpec;
  /** Present: devices subscribe to devices/{id}/commands/# and reply. */
  commands?: CommandAnswerSpec;
}

export interface ChaosSpec {
  /** Abrupt disconnects (socket dropped, no DISCONNECT) per device per minute. */
  disconnectsPerMinute: number;
  /** Each device's clock is off by up to ± this many ms on the timestamps it sends. */
  skewMs: number;
  /** Probability that a message is sent twice. */
  duplicate: number;
  /** Probability that a telemetry message is held back and sent after the next one. */
  reorder: number;
}

/** Devices disconnected (cleanly) and reconnected per second: a count, or a share of the fleet. */
export type ChurnSpec = { perSecond: number } | { fractionPerSecond: number };

export interface Profile {
  name: string;
  description: string;
  /** MQTT protocol level: 4 (3.1.1) or 5. */
  protocol: 4 | 5;
  /** Keep Alive in seconds. */
  keepAlive: number;
  /** Seconds over which the devices connect (0: all at once, a connection storm). */
  ramp: number;
  churn: ChurnSpec;
  /** Seconds a churned device stays away before it reconnects. */
  churnDowntime: number;
  /** Commands the simulator itself sends to random devices, timing each round trip. */
  commands: { rate: number; timeout: number; names: string[] };
  chaos: ChaosSpec;
  classes: DeviceClass[];
}

export class ProfileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path === '' ? message : `${path}: ${message}`);
    this.name = 'ProfileError';
  }
}

// ---------------------------------------------------------------------------------------------
// Built-in profiles.

const temperature = { kind: 'walk', min: -20, max: 50, start: 21, step: 0.15, revert: 0.02, daily: 4, peakHour: 15, noise: 0.05, decimals: 2 } as const;
const humidity = { kind: 'walk', min: 5, max: 100, start: 45, step: 0.4, revert: 0.02, daily: -8, peakHour: 15, noise: 0.2, decimals: 1 } as const;
const pressure = { kind: 'walk', min: 950, max: 1050, start: 1013, step: 0.05, revert: 0.01, daily: 1.2, peakHour: 10, noise: 0.02, decimals: 1 } as const;
const battery = { kind: 'walk', min: 0, max: 100, start: 87, step: 0.05, revert: 0, daily: 0, peakHour: 0, noise: 0, decimals: 0 } as const;
const rssi = { kind: 'walk', min: -110, max: -40, start: -72, step: 1, revert: 0.05, daily: 0, peakHour: 0, noise: 1.5, decimals: 0 } as const;

const BUILT_IN: Record<string, unknown> = {
  mixed: {
    description: 'sensors, meters and gateways: telemetry, heartbeats, bursts, twin reports and commands',
    ramp: 5,
    commands: { rate: 2 },
    classes: [
      {
        name: 'sensor',
        weight: 60,
        heartbeat: { every: '30s' },
        telemetry: { every: '5s', metrics: { temperature, humidity, pressure } },
        twin: { every: '60s', reported: { firmware: '1.4.2', battery, rssi } },
        commands: { delay: '20ms' },
      },
      {
        name: 'meter',
        weight: 25,
        heartbeat: { every: '60s' },
        telemetry: {
          every: '10s',
          metrics: {
            energy: { kind: 'counter', start: 1200, rate: 0.0005, decimals: 3 },
            power: { kind: 'walk', min: 0, max: 8000, start: 900, step: 40, revert: 0.05, daily: 600, peakHour: 19, noise: 15, decimals: 0 },
            voltage: { kind: 'walk', min: 207, max: 253, start: 230, step: 0.3, revert: 0.1, noise: 0.2, decimals: 1 },
          },
        },
        bursts: { every: '20s', count: 10, spacing: '20ms' },
        twin: { every: '30s', reported: { firmware: '2.0.1', tariff: { kind: 'choice', values: ['day', 'night'], change: 0.05 } } },
        commands: { delay: '50ms' },
      },
      {
        name: 'gateway',
        weight: 15,
        heartbeat: { every: '10s' },
        telemetry: {
          every: '2s',
          metrics: {
            cpu: { kind: 'walk', min: 0, max: 100, start: 20, step: 3, revert: 0.1, daily: 5, peakHour: 14, noise: 2, decimals: 1 },
            memory: { kind: 'walk', min: 0, max: 100, start: 55, step: 0.5, revert: 0.02, noise: 0.3, decimals: 1 },
            rssi,
          },
        },
        twin: { every: '20s', reported: { firmware: '3.1.0', children: { kind: 'walk', min: 0, max: 64, start: 12, step: 0.3, revert: 0.05, decimals: 0 } } },
        commands: { delay: '10ms' },
      },
    ],
  },
  telemetry: {
    description: 'every device sends five metrics each second and a heartbeat every 30 s',
    ramp: 2,
    classes: [
      {
        name: 'sensor',
        weight: 1,
        heartbeat: { every: '30s' },
        telemetry: {
          every: '1s',
          metrics: { temperature, humidity, pressure, rssi, battery },
        },
      },
    ],
  },
  twins: {
    description: 'twin reports every 5 s, heartbeats, and commands answered at 5/s',
    ramp: 2,
    commands: { rate: 5 },
    classes: [
      {
        name: 'thing',
        weight: 1,
        heartbeat: { every: '30s' },
        twin: { every: '5s', reported: { firmware: '1.0.0', battery, rssi, mode: { kind: 'choice', values: ['eco', 'normal', 'boost'], change: 0.1 } } },
        commands: { delay: '5ms' },
      },
    ],
  },
  storm: {
    description: 'every device connects at once, then 5% of the fleet disconnects and reconnects each second',
    ramp: 0,
    churn: '5%',
    churnDowntime: '1s',
    classes: [
      {
        name: 'device',
        weight: 1,
        heartbeat: { every: '10s' },
        telemetry: { every: '10s', metrics: { temperature } },
      },
    ],
  },
};

export const BUILT_IN_PROFILES = Object.keys(BUILT_IN);

// ---------------------------------------------------------------------------------------------
// Parsing.

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ProfileError(join(path, k), `unknown key (expected one of: ${allowed.join(', ')})`);
  }
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
}

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new ProfileError(path, 'expected an object');
  return v;
}

function num(o: Obj, key: string, path: string, dflt: number | undefined, min: number, max = Infinity): number {
  const v = o[key];
  const p = join(path, key);
  if (v === undefined) {
    if (dflt === undefined) throw new ProfileError(p, 'required');
    return dflt;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProfileError(p, `expected a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new ProfileError(p, `${v} is out of range ${min}..${max}`);
  return v;
}

function int(o: Obj, key: string, path: string, dflt: number | undefined, min: number, max = Infinity): number {
  const v = num(o, key, path, dflt, min, max);
  if (!Number.isInteger(v)) throw new ProfileError(join(path, key), `expected an integer, got ${v}`);
  return v;
}

function str(o: Obj, key: string, path: string, dflt: string): string {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v === '') throw new ProfileError(join(path, key), 'expected a non-empty string');
  return v;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as a number of seconds or a string with a unit ("250ms", "5s", "2m", "1h"); returns ms. */
export function parseDuration(v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v === 'string') {
    const m = DURATION_RE.exec(v.trim());
    if (m !== null) return Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  throw new ProfileError(path, `expected a duration such as 500ms, 5s, 2m or a number of seconds, got ${JSON.stringify(v)}`);
}

function duration(o: Obj, key: string, path: string, dfltMs: number | undefined, minMs = 0): number {
  const v = o[key];
  const p = join(path, key);
  if (v === undefined) {
    if (dfltMs === undefined) throw new ProfileError(p, 'required');
    return dfltMs;
  }
  const ms = parseDuration(v, p);
  if (ms < minMs) throw new ProfileError(p, `must be at least ${minMs} ms`);
  return ms;
}

function qos(o: Obj, path: string, dflt: QoS): QoS {
  const v = o.qos;
  if (v === undefined) return dflt;
  if (v !== 0 && v !== 1 && v !== 2) throw new ProfileError(join(path, 'qos'), `expected 0, 1 or 2, got ${JSON.stringify(v)}`);
  return v;
}

function probability(o: Obj, key: string, path: string, dflt: number): number {
  return num(o, key, path, dflt, 0, 1);
}

/** A metric: a spec object with `kind`, or a literal string/number/boolean sent as is. */
export function parseMetric(v: unknown, path: string): MetricSpec {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { kind: 'constant', value: v };
  const o = obj(v, path);
  const kind = o.kind ?? 'walk';
  switch (kind) {
    case 'walk': {
      checkKeys(o, path, ['kind', 'min', 'max', 'start', 'step', 'revert', 'daily', 'peakHour', 'noise', 'decimals']);
      const min = num(o, 'min', path, undefined, -Infinity);
      const max = num(o, 'max', path, undefined, -Infinity);
      if (!(max > min)) throw new ProfileError(join(path, 'max'), `must be greater than min (${min})`);
      const start = o.start === undefined ? undefined : num(o, 'start', path, undefined, min, max);
      const spread = max - min;
      return {
        kind: 'walk',
        min,
        max,
        ...(start === undefined ? {} : { start }),
        step: num(o, 'step', path, spread / 100, 0),
        revert: num(o, 'revert', path, 0.02, 0, 1),
        daily: num(o, 'daily', path, 0, -Infinity),
        peakHour: num(o, 'peakHour', path, 15, 0, 24),
        noise: num(o, 'noise', path, 0, 0),
        decimals: int(o, 'decimals', path, 2, 0, 15),
      };
    }
    case 'counter':
      checkKeys(o, path, ['kind', 'start', 'rate', 'jitter', 'decimals']);
      return {
        kind: 'counter',
        start: num(o, 'start', path, 0, -Infinity),
        rate: num(o, 'rate', path, 1, 0),
        jitter: num(o, 'jitter', path, 0.1, 0, 1),
        decimals: int(o, 'decimals', path, 3, 0, 15),
      };
    case 'choice': {
      checkKeys(o, path, ['kind', 'values', 'change']);
      const values = o.values;
      const vp = join(path, 'values');
      if (!Array.isArray(values) || values.length === 0) throw new ProfileError(vp, 'expected a non-empty list');
      values.forEach((x, i) => {
        if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw new ProfileError(join(vp, i), 'expected a string, number or boolean');
      });
      return { kind: 'choice', values: values as (string | number | boolean)[], change: probability(o, 'change', path, 0.05) };
    }
    case 'constant':
      checkKeys(o, path, ['kind', 'value']);
      if (typeof o.value !== 'string' && typeof o.value !== 'number' && typeof o.value !== 'boolean') {
        throw new ProfileError(join(path, 'value'), 'expected a string, number or boolean');
      }
      return { kind: 'constant', value: o.value };
    default:
      throw new ProfileError(join(path, 'kind'), `expected walk, counter, choice or constant, got ${JSON.stringify(kind)}`);
  }
}

function metrics(v: unknown, path: string): Record<string, MetricSpec> {
  const o = obj(v, path);
  const out: Record<string, MetricSpec> = {};
  const names = Object.keys(o);
  if (names.length === 0) throw new ProfileError(path, 'needs at least one metric');
  for (const name of names) {
    // `ts` carries the message time in every payload the simulator sends.
    if (name === 'ts') throw new ProfileError(join(path, name), 'reserved: the simulator writes the timestamp as "ts"');
    out[name] = parseMetric(o[name], join(path, name));
  }
  return out;
}

function periodic(o: Obj, path: string, defaults: { every: number; qos: QoS; topic: string }): PeriodicSpec {
  return {
    every: duration(o, 'every', path, defaults.every, 10),
    jitter: probability(o, 'jitter', path, 0.1),
    qos: qos(o, path, defaults.qos),
    topic: str(o, 'topic', path, defaults.topic),
  };
}

function deviceClass(v: unknown, path: string, index: number): DeviceClass {
  const o = obj(v, path);
  checkKeys(o, path, ['name', 'weight', 'heartbeat', 'telemetry', 'bursts', 'twin', 'commands']);
  const c: DeviceClass = { name: str(o, 'name', path, `class${index}`), weight: num(o, 'weight', path, 1, 0) };
  if (o.heartbeat !== undefined) {
    const p = join(path, 'heartbeat');
    const h = obj(o.heartbeat, p);
    checkKeys(h, p, ['every', 'jitter', 'qos', 'topic']);
    c.heartbeat = periodic(h, p, { every: 30_000, qos: 0, topic: 'devices/{id}/heartbeat' });
  }
  if (o.telemetry !== undefined) {
    const p = join(path, 'telemetry');
    const t = obj(o.telemetry, p);
    checkKeys(t, p, ['every', 'jitter', 'qos', 'topic', 'metrics']);
    c.telemetry = { ...periodic(t, p, { every: 5000, qos: 1, topic: 'devices/{id}/telemetry' }), metrics: metrics(t.metrics, join(p, 'metrics')) };
  }
  if (o.bursts !== undefined) {
    const p = join(path, 'bursts');
    const b = obj(o.bursts, p);
    checkKeys(b, p, ['every', 'jitter', 'count', 'spacing', 'qos']);
    if (c.telemetry === undefined) throw new ProfileError(p, 'bursts send telemetry: the class needs a telemetry section');
    c.bursts = {
      every: duration(b, 'every', p, 60_000, 100),
      jitter: probability(b, 'jitter', p, 0.2),
      count: int(b, 'count', p, 10, 1, 10_000),
      spacing: duration(b, 'spacing', p, 10),
      qos: qos(b, p, 0),
    };
  }
  if (o.twin !== undefined) {
    const p = join(path, 'twin');
    const t = obj(o.twin, p);
    checkKeys(t, p, ['every', 'jitter', 'qos', 'topic', 'reported']);
    c.twin = { ...periodic(t, p, { every: 60_000, qos: 1, topic: '$aws/things/{id}/shadow/update' }), reported: metrics(t.reported, join(p, 'reported')) };
  }
  if (o.commands !== undefined && o.commands !== false) {
    const p = join(path, 'commands');
    const cm = o.commands === true ? {} : obj(o.commands, p);
    checkKeys(cm, p, ['delay', 'failRate', 'qos']);
    c.commands = { delay: duration(cm, 'delay', p, 0), failRate: probability(cm, 'failRate', p, 0), qos: qos(cm, p, 1) };
  }
  return c;
}

/** Churn as a number (devices per second) or a percentage of the fleet per second ("5%"). */
export function parseChurn(v: unknown, path: string): ChurnSpec {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return { perSecond: v };
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(v.trim());
    if (m !== null && Number(m[1]) <= 100) return { fractionPerSecond: Number(m[1]) / 100 };
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n) && n >= 0) return { perSecond: n };
  }
  throw new ProfileError(path, `expected devices per second (e.g. 20) or a share of the fleet per second (e.g. "5%"), got ${JSON.stringify(v)}`);
}

const TOP_KEYS = ['name', 'extends', 'description', 'protocol', 'keepAlive', 'ramp', 'churn', 'churnDowntime', 'commands', 'chaos', 'classes'];

/** Validates a parsed profile document (from YAML or JSON) and fills in the defaults. */
export function parseProfile(doc: unknown, fallbackName = 'custom'): Profile {
  let o = obj(doc, '');
  checkKeys(o, '', TOP_KEYS);
  if (o.extends !== undefined) {
    const base = o.extends;
    if (typeof base !== 'string' || !(base in BUILT_IN)) {
      throw new ProfileError('extends', `expected one of the built-in profiles: ${BUILT_IN_PROFILES.join(', ')}`);
    }
    const { extends: _ignored, ...rest } = o;
    o = { ...(BUILT_IN[base] as Obj), name: base, ...rest };
  }
  const protocol = o.protocol ?? 5;
  if (protocol !== 4 && protocol !== 5) throw new ProfileError('protocol', 'expected 4 (MQTT 3.1.1) or 5 (MQTT 5.0)');
  const cmd = o.commands === undefined ? {} : obj(o.commands, 'commands');
  checkKeys(cmd, 'commands', ['rate', 'timeout', 'names']);
  let names = ['reboot', 'setInterval', 'ping'];
  if (cmd.names !== undefined) {
    if (!Array.isArray(cmd.names) || cmd.names.length === 0 || !cmd.names.every((n) => typeof n === 'string' && /^[^/#+]+$/.test(n))) {
      throw new ProfileError('commands.names', 'expected a non-empty list of command names (one topic level each: no "/", "+" or "#")');
    }
    names = cmd.names as string[];
  }
  const chaos = o.chaos === undefined ? {} : obj(o.chaos, 'chaos');
  checkKeys(chaos, 'chaos', ['disconnectsPerMinute', 'skew', 'duplicate', 'reorder']);
  if (!Array.isArray(o.classes) || o.classes.length === 0) throw new ProfileError('classes', 'expected a non-empty list of device classes');
  const classes = o.classes.map((c, i) => deviceClass(c, join('classes', i), i));
  if (!classes.some((c) => c.weight > 0)) throw new ProfileError('classes', 'at least one class needs a weight above 0');
  return {
    name: str(o, 'name', '', fallbackName),
    description: typeof o.description === 'string' ? o.description : '',
    protocol,
    keepAlive: int(o, 'keepAlive', '', 60, 0, 65535),
    ramp: duration(o, 'ramp', '', 0) / 1000,
    churn: o.churn === undefined ? { perSecond: 0 } : parseChurn(o.churn, 'churn'),
    churnDowntime: duration(o, 'churnDowntime', '', 2000) / 1000,
    commands: {
      rate: num(cmd, 'rate', 'commands', 0, 0),
      timeout: duration(cmd, 'timeout', 'commands', 5000, 1),
      names,
    },
    chaos: {
      disconnectsPerMinute: num(chaos, 'disconnectsPerMinute', 'chaos', 0.5, 0),
      skewMs: duration(chaos, 'skew', 'chaos', 30_000),
      duplicate: probability(chaos, 'duplicate', 'chaos', 0.01),
      reorder: probability(chaos, 'reorder', 'chaos', 0.01),
    },
    classes,
  };
}

/** A built-in profile by name. */
export function builtInProfile(name: string): Profile {
  const doc = BUILT_IN[name];
  if (doc === undefined) throw new ProfileError('', `no built-in profile "${name}" (built-in: ${BUILT_IN_PROFILES.join(', ')})`);
  return parseProfile({ name, ...(doc as Obj) });
}

/** Parses profile text: JSON when it starts with "{", else YAML (which also reads JSON). */
export function parseProfileText(text: string, fallbackName: string): Profile {
  let doc: unknown;
  try {
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ProfileError('', `not valid YAML or JSON: ${(err as Error).message}`);
  }
  return parseProfile(doc, fallbackName);
}

/** `--profile`: a built-in name, or a path to a YAML/JSON file. */
export function loadProfile(spec: string): Profile {
  if (spec in BUILT_IN) return builtInProfile(spec);
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (err) {
    throw new ProfileError('', `--profile ${spec}: neither a built-in profile (${BUILT_IN_PROFILES.join(', ')}) nor a readable file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const base = spec.replace(/^.*[\\/]/, '').replace(/\.(ya?ml|json)$/i, '');
  try {
    return parseProfileText(text, base);
  } catch (err) {
    if (err instanceof ProfileError) throw new ProfileError('', `${spec}: ${err.message}`);
    throw err;
  }
}

/**
 * Picks each device's class by weight, deterministically from its index. The index walks the
 * unit interval by the golden ratio (a low-discrepancy sequence), so every stretch of devices
 * (one worker's slice, the first devices of a ramp) has close to the profile's mix.
 */
export function classOf(profile: Profile, index: number): DeviceClass {
  const sum = profile.classes.reduce((s, c) => s + c.weight, 0);
  const x = ((index * 0.6180339887498949 + 0.5) % 1) * sum;
  let acc = 0;
  for (const c of profile.classes) {
    acc += c.weight;
    if (x < acc) return c;
  }
  return profile.classes[profile.classes.length - 1]!;
}
