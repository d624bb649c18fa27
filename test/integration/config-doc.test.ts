// docs/CONFIGURATION.md is generated from the schema; this fails when someone changes the schema
// (or the defaults) without regenerating it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { renderConfigDoc } from '../../src/config/doc.js';
import { CONFIG_KEYS, getAt } from '../../src/config/schema.js';
import { DEFAULT_CONFIG } from '../../src/config/types.js';

test('docs/CONFIGURATION.md is up to date (node --import tsx scripts/gen-config-doc.ts)', async () => {
  const committed = await readFile(new URL('../../docs/CONFIGURATION.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigDoc());
});

test('the docs list every key with its environment variable', () => {
  const doc = renderConfigDoc();
  for (const k of CONFIG_KEYS) {
    assert.ok(doc.includes(`| \`${k.path}\` |`), k.path);
    assert.ok(doc.includes(`\`${k.env}\``), k.env);
  }
});

test('the schema covers exactly the leaves of DEFAULT_CONFIG', () => {
  const leaves: string[] = [];
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix ? `${prefix}.${k}` : k;
      // Objects are groups, except listener addresses ({host, port}) and map keys (log.components).
      const isMapKey = CONFIG_KEYS.some((key) => key.path === path && key.def.value.type === 'map');
      const isGroup = v !== null && typeof v === 'object' && !Array.isArray(v) && !('port' in v) && !isMapKey;
      if (isGroup) walk(v as Record<string, unknown>, path);
      else leaves.push(path);
    }
  };
  walk(DEFAULT_CONFIG as unknown as Record<string, unknown>, '');
  assert.deepEqual(leaves.sort(), CONFIG_KEYS.map((k) => k.path).sort());
  for (const k of CONFIG_KEYS) assert.notEqual(getAt(DEFAULT_CONFIG, k.segments), undefined, k.path);
});
