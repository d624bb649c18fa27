// Options of `twinhub bench`, with the defaults of each scenario. Kept apart from commander so the
// runners and the child processes share one plain, validated object.
import type { ProtocolVersion, QoS } from './wire.js';

export const SCENARIOS = ['fanin', 'fanout', 'latency', 'conns'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  scenario: Scenario;
  host: string;
  port: number;
  version: ProtocolVersion;
  qos: QoS;
  /** Payload bytes per message, at least the 16-byte bench header. */
  payload: number;
  publishers: number;
  subscribers: number;
  /** Total offered msg/s (publish side); 0 with `sweep`. */
  rate: number;
  sweep: boolean;
  startRate: number;
  maxRate: number;
  /** A sweep stops when the gap between the best passing and the lowest failing rate is below it. */
  precision: number;
  /** Seconds of sending per measured step. */
  duration: number;
  /** Seconds of sending before the measured step, not counted. */
  warmup: number;
  /** Most seconds to wait for deliveries after a step's last send. */
  drain: number;
  /** Unacknowledged QoS 1/2 messages per publisher; 0 = no window. */
  inflight: number;
  clean: boolean;
  sessionExpiry: number;
  /** Publisher processes. */
  procs: number;
  /** Subscriber processes. */
  subProcs: number;
  /** Pacing time slice in ms. */
  slice: number;
  /** The subscribers pause reading this long after each read (0: read as data arrives). */
  readInterval: number;
  conns: number;
  connsPerProc: number;
  settle: number;
  pid: number;
  keepAlive: number;
  jsonOnly: boolean;
  label: string;
}

/** Raw option values as commander hands them over (strings and booleans). */
export type RawOptions = Record<string, string | boolean | undefined>;

function num(raw: RawOptions, key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = raw[key];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${kebab(key)} must be a number in [${min}, ${max}], got ${String(v)}`);
  return n;
}

function bool(raw: RawOptions, key: string, fallback: boolean): boolean {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new Error(`--${kebab(key)} must be true or false, got ${v}`);
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Splits `mqtt://host:port` (or `tcp://`, or bare `host:port`). */
export function parseUrl(url: string): { host: string; port: number } {
  const m = /^(?:(?:mqtt|tcp):\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(url);
  if (m === null) throw new Error(`--url must look like mqtt://host:port, got ${url}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] === undefined ? 1883 : Number(m[2]) };
}

export function resolveOptions(scenario: string, raw: RawOptions): BenchOptions {
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new Error(`unknown scenario ${scenario}; expected one of ${SCENARIOS.join(', ')}`);
  }
  const s = scenario as Scenario;
  let host = typeof raw.host === 'string' ? raw.host : '127.0.0.1';
  let port = num(raw, 'port', 1883, 1, 65535);
  if (typeof raw.url === 'string') ({ host, port } = parseUrl(raw.url));
  const version = num(raw, 'version', 4, 4, 5);
  if (version !== 4 && version !== 5) throw new Error('--version must be 4 or 5');
  const qos = num(raw, 'qos', 0, 0, 2);
  if (!Number.isInteger(qos)) throw new Error('--qos must be 0, 1 or 2');
  const sweep = bool(raw, 'sweep', false);
  const defaultRate = s === 'latency' ? 2000 : sweep ? 0 : 10000;
  const rate = num(raw, 'rate', defaultRate, 0);
  if (sweep && raw.rate !== undefined) throw new Error('--rate and --sweep exclude each other');
  const clean = bool(raw, 'clean', true);
  const o: BenchOptions = {
    scenario: s,
    host,
    port,
    version,
    qos: qos as QoS,
    payload: num(raw, 'payload', 64, 16, 256 * 1024 * 1024),
    publishers: num(raw, 'publishers', s === 'fanin' ? 10 : 1, 1, 65535),
    subscribers: num(raw, 'subscribers', s === 'fanout' ? 10 : 1, 1, 65535),
    rate,
    sweep,
    startRate: num(raw, 'startRate', 25000, 1),
    maxRate: num(raw, 'maxRate', 2_000_000, 1),
    precision: num(raw, 'precision', 0.05, 0.001, 1),
    duration: num(raw, 'duration', s === 'latency' ? 10 : sweep ? 3 : 5, 0.1),
    warmup: num(raw, 'warmup', s === 'latency' ? 1 : 0, 0),
    drain: num(raw, 'drain', 5, 0),
    inflight: num(raw, 'inflight', 1000, 0, 65534),
    clean,
    // A persistent session needs a Session Expiry above 0 in 5.0, or it ends with the connection
    // (MQTT 5.0 §3.1.2.11.2); one hour unless told otherwise.
    sessionExpiry: num(raw, 'sessionExpiry', clean ? 0 : 3600, 0, 0xffffffff),
    procs: num(raw, 'procs', 1, 1, 64),
    subProcs: num(raw, 'subProcs', 1, 1, 64),
    slice: num(raw, 'slice', s === 'latency' ? 1 : 5, 0.5, 1000),
    // Pausing between reads saves the subscriber a wake-up per message, but it would also delay
    // QoS 1/2 acks and so throttle a broker with a small outgoing window: only for QoS 0.
    readInterval: num(raw, 'readInterval', s === 'latency' || qos > 0 ? 0 : 1, 0, 1000),
    conns: num(raw, 'conns', 1000, 1),
    connsPerProc: num(raw, 'connsPerProc', 5000, 1, 19000),
    settle: num(raw, 'settle', 15, 0),
    pid: num(raw, 'pid', 0, 0),
    keepAlive: num(raw, 'keepalive', 60, 0, 65535),
    jsonOnly: bool(raw, 'jsonOnly', false),
    label: typeof raw.label === 'string' ? raw.label : '',
  };
  if (!sweep && s !== 'conns' && o.rate <= 0) throw new Error('--rate must be above 0 (or use --sweep)');
  if (sweep && (s === 'conns' || s === 'latency')) throw new Error('--sweep applies to fanin and fanout');
  if (o.subscribers < o.subProcs) o.subProcs = o.subscribers;
  if (o.publishers < o.procs) o.procs = o.publishers;
  return o;
}
