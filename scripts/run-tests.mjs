#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: src and test) with node's test runner.
// Node 20's `node --test` does not discover .ts files and npm's shell does not expand `**`, so the
// files are listed here; finding none is a failure, so a green run always means tests ran.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const dirs = roots.length > 0 ? roots : ['src', 'test'];

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) walk(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

const files = [];
for (const d of dirs) {
  const full = join(root, d);
  if (statSync(full, { throwIfNoEntry: false })?.isFile()) files.push(relative(root, full));
  else walk(full, files);
}
files.sort();
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts files found under ${dirs.join(', ')}`);
  process.exit(1);
}
console.log(`run-tests: ${files.length} test files`);
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...extra, ...files];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
