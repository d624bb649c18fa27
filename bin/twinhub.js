#!/usr/bin/env -S node --max-semi-space-size=8
// Entry point of the `twinhub` command. The young generation is capped at 8 MB semi-spaces
// (the shebang, and `npm start`): large enough for the allocation rate of durable twin updates
// (2 MB cost them 15-20% of their throughput) and small enough to keep the resident memory of
// many idle connections low (docs/BENCHMARKS.md).
// Runs the compiled CLI (built by `npm install` via the
// `prepare` script); from a source checkout without dist/, falls back to tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
