// Writes docs/CONFIGURATION.md from the config schema (src/config/schema.ts).
// Run: node --import tsx scripts/gen-config-doc.ts  (add --check to fail when the file is stale).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDoc } from '../src/config/doc.js';

const target = fileURLToPath(new URL('../docs/CONFIGURATION.md', import.meta.url));
const text = renderConfigDoc();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error('docs/CONFIGURATION.md is out of date; run: node --import tsx scripts/gen-config-doc.ts');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
