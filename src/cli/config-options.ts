// The config flags of `twinhub start` and `twinhub config print`, derived from the schema: every
// key with a `flag` becomes an option whose help names its variable and default, and whose value
// goes through the same validation as the file and the environment.
import { Option, type Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { formatHostPort } from '../config/address.js';
import { getAt, KEYS_WITH_FLAG, type ConfigKey } from '../config/schema.js';
import { DEFAULT_CONFIG, type ListenAddress } from '../config/types.js';

/** Commander attribute name → key path, filled as options are added. */
const ATTRIBUTE_TO_PATH = new Map<string, string>();

function placeholder(k: ConfigKey): string {
  const v = k.def.value;
  if (v.type === 'address') return 'HOST:PORT';
  if (v.type === 'enum') return v.values.join('|');
  if (k.path === 'data') return 'DIR';
  return 'VALUE';
}

function defaultText(k: ConfigKey): string {
  const v = getAt(DEFAULT_CONFIG, k.segments);
  if (k.def.value.type === 'address') return v === null ? 'off' : formatHostPort(v as ListenAddress);
  return String(v);
}

export function addConfigOptions(cmd: Command): Command {
  cmd.option('-c, --config <FILE>', 'config file, YAML or JSON (env TWINHUB_CONFIG)');
  for (const k of KEYS_WITH_FLAG) {
    const flag = k.def.flag!;
    const help = `${k.def.description.replace(/`/g, '')} (env ${k.env}; default ${defaultText(k)})`;
    if (k.def.value.type === 'boolean') {
      const on = new Option(flag, help);
      const off = new Option(`--no-${flag.slice(2)}`, `the opposite of ${flag}`);
      cmd.addOption(on).addOption(off);
      ATTRIBUTE_TO_PATH.set(on.attributeName(), k.path);
    } else {
      const opt = new Option(`${flag} <${placeholder(k)}>`, help);
      cmd.addOption(opt);
      ATTRIBUTE_TO_PATH.set(opt.attributeName(), k.path);
    }
  }
  return cmd;
}

/** Commander's parsed options → flag values by key path. */
export function flagValues(opts: Readonly<Record<string, unknown>>): Record<string, string | boolean | undefined> {
  const out: Record<string, string | boolean | undefined> = {};
  for (const [attr, path] of ATTRIBUTE_TO_PATH) {
    const v = opts[attr];
    if (typeof v === 'string' || typeof v === 'boolean') out[path] = v;
  }
  return out;
}

/** defaults < file (--config or TWINHUB_CONFIG) < environment < flags. */
export function loadConfigFromCli(opts: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>> = process.env): Promise<LoadedConfig> {
  const file = typeof opts.config === 'string' ? opts.config : undefined;
  return loadConfig({
    ...(file !== undefined ? { file, fileSource: { kind: 'flag', flag: '--config' } } : {}),
    env,
    flags: flagValues(opts),
  });
}
