// Loading the configuration: defaults < config file (YAML or JSON) < config objects given in
// code < TWINHUB_* environment variables < CLI flags. Each layer is checked against the schema on
// its own, so a problem names the key and the layer it came from; then cross-key rules run on the
// merged result. Nothing here starts anything: the result is plain data.
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { formatHostPort } from './address.js';
import { ConfigError, ConfigFileError, describeSource, type ConfigIssue, type ConfigSource } from './config-error.js';
import { didYouMean } from './did-you-mean.js';
import {
  CONFIG_KEYS,
  ENV_CONFIG_FILE,
  ENV_PREFIX,
  KEYS_BY_ENV,
  KEYS_BY_PATH,
  getAt,
  isReservedEnv,
  schemaNodeAt,
  setAt,
  type ConfigKey,
} from './schema.js';
import { DEFAULT_CONFIG, type ListenAddress, type TwinhubConfig } from './types.js';
import { INVALID, parseValue, type Mode } from './values.js';

export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;

export interface ConfigInputs {
  /** Config file (YAML, or JSON when it ends in .json). Default: env TWINHUB_CONFIG, else none. */
  file?: string;
  /** Where the file name came from, for messages (e.g. the --config flag). */
  fileSource?: ConfigSource;
  /** Config trees given in code (tests, embedding), above the file. */
  objects?: ReadonlyArray<{ value: unknown; label: string }>;
  /** The environment; only TWINHUB_* variables are read. Default: none (pass process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Flag values by key path ('mqtt', 'log.level'); undefined means not given. */
  flags?: Readonly<Record<string, string | boolean | undefined>>;
}

export interface LoadedConfig {
  config: TwinhubConfig;
  /** Where each key's value came from, by key path. */
  sources: ReadonlyMap<string, ConfigSource>;
  /** Absolute path of the config file read, if any. */
  file: string | undefined;
}

/** Read the file (if any) and build the validated config. Throws ConfigError/ConfigFileError. */
export async function loadConfig(inputs: ConfigInputs = {}): Promise<LoadedConfig> {
  const envFile = inputs.env?.[ENV_CONFIG_FILE];
  const file = inputs.file ?? (envFile !== undefined && envFile !== '' ? envFile : undefined);
  const fileSource = inputs.file !== undefined ? inputs.fileSource : { kind: 'env' as const, name: ENV_CONFIG_FILE };
  let fileLayer: { value: unknown; file: string } | undefined;
  if (file !== undefined) fileLayer = { value: await readConfigFile(file, fileSource), file };
  return buildConfig({ ...inputs, fileContent: fileLayer });
}

/** Parse a config file: JSON when it ends in .json, YAML otherwise; an empty file is {}. */
export async function readConfigFile(file: string, source?: ConfigSource): Promise<unknown> {
  const from = source ? ` (from ${describeSource(source)})` : '';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigFileError(`invalid config: cannot read config file ${file}${from}: ${code}`, err);
  }
  try {
    const value: unknown = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
    return value ?? {};
  } catch (err) {
    throw new ConfigFileError(`invalid config: cannot parse config file ${file}: ${(err as Error).message.split('\n')[0]}`, err);
  }
}

interface Layered {
  value: unknown;
  source: ConfigSource;
}

/** The pure part of loading: layers already read. Throws ConfigError listing every problem. */
export function buildConfig(inputs: ConfigInputs & { fileContent?: { value: unknown; file: string } | undefined }): LoadedConfig {
  const issues: ConfigIssue[] = [];
  const values = new Map<string, Layered>();

  if (inputs.fileContent) {
    walkTree(inputs.fileContent.value, [], { kind: 'file', file: inputs.fileContent.file }, values, issues);
  }
  for (const o of inputs.objects ?? []) walkTree(o.value, [], { kind: 'object', label: o.label }, values, issues);
  if (inputs.env) readEnv(inputs.env, values, issues);
  if (inputs.flags) readFlags(inputs.flags, values, issues);

  if (issues.length > 0) throw new ConfigError(issues);

  const config = structuredClone(DEFAULT_CONFIG);
  const sources = new Map<string, ConfigSource>();
  for (const k of CONFIG_KEYS) {
    const v = values.get(k.path);
    if (v !== undefined) setAt(config, k.segments, v.value);
    sources.set(k.path, v?.source ?? { kind: 'default' });
  }
  crossCheck(config, sources, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return { config, sources, file: inputs.fileContent ? resolve(inputs.fileContent.file) : undefined };
}

function addValue(k: ConfigKey, raw: unknown, mode: Mode, source: ConfigSource, values: Map<string, Layered>, issues: ConfigIssue[]): void {
  const v = parseValue(k.def.value, raw, mode, (sub, problem) => issues.push({ key: k.path + sub, source, problem }));
  if (v !== INVALID) values.set(k.path, { value: v, source });
}

const ALL_PATHS = (() => {
  const paths = new Set<string>();
  for (const k of CONFIG_KEYS) for (let i = 1; i <= k.segments.length; i++) paths.add(k.segments.slice(0, i).join('.'));
  return [...paths];
})();

function unknownKeyHint(path: string): string {
  // A key written at the wrong level (maxKeepAlive instead of limits.maxKeepAlive) is found by
  // its last segment; a typo by edit distance over every path.
  const last = path.split('.').pop()!.toLowerCase().replace(/[_-]/g, '');
  const moved = ALL_PATHS.find((p) => p.split('.').pop()!.toLowerCase() === last && p !== path);
  if (moved !== undefined) return `; did you mean ${moved}?`;
  return didYouMean(path, ALL_PATHS);
}

function walkTree(raw: unknown, segments: string[], source: ConfigSource, values: Map<string, Layered>, issues: ConfigIssue[]): void {
  const where = segments.join('.');
  // An empty section (`tls:` with nothing under it) is null in YAML: no settings.
  if (raw === null) return;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ key: where === '' ? '(top level)' : where, source, problem: `expected a mapping of keys, got ${JSON.stringify(raw)}` });
    return;
  }
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const childSegments = [...segments, name];
    const path = childSegments.join('.');
    const node = schemaNodeAt(childSegments);
    if (node === undefined) {
      issues.push({ key: path, source, problem: `unknown key${unknownKeyHint(path)}` });
    } else if (node.kind === 'group') {
      walkTree(value, childSegments, source, values, issues);
    } else {
      addValue(KEYS_BY_PATH.get(path)!, value, 'typed', source, values, issues);
    }
  }
}

function readEnv(env: Readonly<Record<string, string | undefined>>, values: Map<string, Layered>, issues: ConfigIssue[]): void {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || isReservedEnv(name)) continue;
    const k = KEYS_BY_ENV.get(name);
    const source: ConfigSource = { kind: 'env', name };
    if (k === undefined) {
      issues.push({ key: name, source: { kind: 'env', name: 'environment' }, problem: `unknown variable${didYouMean(name, KEYS_BY_ENV.keys())}` });
      continue;
    }
    addValue(k, raw, 'text', source, values, issues);
  }
}

function readFlags(flags: Readonly<Record<string, string | boolean | undefined>>, values: Map<string, Layered>, issues: ConfigIssue[]): void {
  for (const [path, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const k = KEYS_BY_PATH.get(path);
    if (k === undefined) {
      // Programming error of a caller, not a user's: name it all the same.
      issues.push({ key: path, source: { kind: 'flag', flag: '(flags)' }, problem: `unknown key${didYouMean(path, KEYS_BY_PATH.keys())}` });
      continue;
    }
    const flag = typeof raw === 'boolean' && raw === false && k.def.flag ? `--no-${k.def.flag.slice(2)}` : (k.def.flag ?? `--${path}`);
    addValue(k, raw, 'text', { kind: 'flag', flag }, values, issues);
  }
}

const LISTENERS = ['mqtt', 'mqtts', 'ws', 'http'] as const;

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

function overlaps(a: ListenAddress, b: ListenAddress): boolean {
  return a.port !== 0 && a.port === b.port && (a.host === b.host || isWildcard(a.host) || isWildcard(b.host));
}

/** Rules between keys, checked on the merged config. */
function crossCheck(config: TwinhubConfig, sources: ReadonlyMap<string, ConfigSource>, issues: ConfigIssue[]): void {
  const src = (path: string) => sources.get(path) ?? { kind: 'default' as const };
  const hint = (path: string) => `${path} (${KEYS_BY_PATH.get(path)!.env})`;

  if (config.mqtts !== null) {
    const missing = (['tls.cert', 'tls.key'] as const).filter((p) => getAt(config, p.split('.')) === null);
    if (missing.length > 0) {
      issues.push({ key: 'mqtts', source: src('mqtts'), problem: `the MQTT/TLS listener requires tls.cert and tls.key; set ${missing.map(hint).join(' and ')}` });
    }
  }

  for (let i = 0; i < LISTENERS.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = config[LISTENERS[i]!];
      const b = config[LISTENERS[j]!];
      if (a && b && overlaps(a, b)) {
        issues.push({
          key: LISTENERS[i]!,
          source: src(LISTENERS[i]!),
          problem: `address ${formatHostPort(a)} is also used by ${LISTENERS[j]} (from ${describeSource(src(LISTENERS[j]!))}); give each listener its own port`,
        });
      }
    }
  }

  const seen = new Set<string>();
  config.priorities.forEach((p, i) => {
    if (seen.has(p.name)) issues.push({ key: `priorities[${i}].name`, source: src('priorities'), problem: `duplicate priority class name ${JSON.stringify(p.name)}` });
    seen.add(p.name);
  });
}
