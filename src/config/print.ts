// `twinhub config print`: the effective configuration as YAML that is itself a valid config
// file, each key commented with where its value came from (default, the file, a variable, a flag).
import { Document, isMap, isScalar, isSeq, type Pair, type YAMLMap } from 'yaml';
import { formatHostPort } from './address.js';
import { describeSource } from './config-error.js';
import type { LoadedConfig } from './load.js';
import { CONFIG_KEYS, getAt, KEYS_BY_PATH, setAt } from './schema.js';
import type { ListenAddress } from './types.js';

/** The config as a plain tree in file notation (addresses as "HOST:PORT" or "off"). */
export function toFileNotation(loaded: LoadedConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) {
    // Create the group objects on the way down, in schema order.
    let cur = out;
    for (const s of k.segments.slice(0, -1)) cur = (cur[s] ??= {}) as Record<string, unknown>;
    let v = getAt(loaded.config, k.segments);
    if (k.def.value.type === 'address') v = v === null ? 'off' : formatHostPort(v as ListenAddress);
    setAt(out, k.segments, v);
  }
  return out;
}

export function renderEffectiveConfig(loaded: LoadedConfig): string {
  const doc = new Document(toFileNotation(loaded));
  doc.commentBefore = ` Effective twinhub configuration${loaded.file ? ` (config file ${loaded.file})` : ''}.\n Each key says where its value came from: default, the file, a TWINHUB_* variable or a flag.`;
  annotate(doc.contents as YAMLMap, [], loaded);
  return doc.toString();
}

function annotate(map: YAMLMap, prefix: string[], loaded: LoadedConfig): void {
  for (const pair of map.items as Pair[]) {
    const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const path = [...prefix, name].join('.');
    if (!KEYS_BY_PATH.has(path)) {
      if (isMap(pair.value)) annotate(pair.value, [...prefix, name], loaded);
      continue;
    }
    const comment = ` ${describeSource(loaded.sources.get(path) ?? { kind: 'default' })}`;
    const value = pair.value;
    if (isSeq(value) && value.items.length === 0) {
      value.flow = true;
      value.comment = comment;
    } else if ((isSeq(value) || isMap(value)) && isScalar(pair.key)) {
      pair.key.commentBefore = comment;
    } else if (isScalar(value)) {
      value.comment = comment;
    }
  }
}
