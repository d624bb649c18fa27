// Interleaved A/B of one bench between another git revision and the working tree, for changes
// smaller than the machine's run-to-run noise (±10–15% between consecutive runs of the twin bench
// on a shared 2-core machine): the two builds run alternately, so a slow stretch of the machine
// hits both, and what is compared is the median of the pairwise ratios.
//   npm run bench:ab -- --base <rev> [--rounds N] [--bench twin-updates] [--metric updatesPerSec]
// The base revision is checked out into a temporary git worktree that shares this tree's
// node_modules; each round runs `node --max-semi-space-size=8 --import tsx bench/<bench>.ts` in
// the base, then in the working tree, with the environment passed on (BENCH_SECONDS etc.). Each
// run's JSON line goes to stderr; one JSON line with the medians and ratios goes to stdout.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '6' },
    bench: { type: 'string', default: 'twin-updates' },
    metric: { type: 'string', default: 'updatesPerSec' },
  },
});
if (values.base === undefined) {
  process.stderr.write('usage: npm run bench:ab -- --base <git revision> [--rounds N] [--bench twin-updates] [--metric updatesPerSec]\n');
  process.exit(2);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write(`--rounds must be a positive whole number, got ${values.rounds}\n`);
  process.exit(2);
}
const bench = values.bench!;
if (!/^[a-z0-9-]+$/.test(bench)) {
  process.stderr.write(`--bench names a file of bench/ without .ts, got ${bench}\n`);
  process.exit(2);
}
const metric = values.metric!;
const here = process.cwd();
let baseRev: string;
try {
  baseRev = execFileSync('git', ['rev-parse', '--verify', '--quiet', `${values.base}^{commit}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  process.stderr.write(`--base ${values.base} is not a commit of this repository\n`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'twinhub-ab-'));

function run(cwd: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--max-semi-space-size=8', '--import', 'tsx', `bench/${bench}.ts`], { cwd, encoding: 'utf8', env: process.env });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`bench/${bench}.ts failed in ${cwd} (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

try {
  execFileSync('git', ['worktree', 'add', '--detach', dir, baseRev], { stdio: 'ignore' });
  symlinkSync(join(here, 'node_modules'), join(dir, 'node_modules'));
  const base: number[] = [];
  const current: number[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const [label, cwd, out] of [['base', dir, base], ['current', here, current]] as const) {
      const r = run(cwd);
      const v = Number(r[metric]);
      if (!Number.isFinite(v)) throw new Error(`bench/${bench}.ts printed no number "${metric}"`);
      out.push(v);
      process.stderr.write(`${JSON.stringify({ round: i + 1, build: label, [metric]: v })}\n`);
    }
  }
  const ratios = current.map((v, i) => v / base[i]!);
  const round3 = (v: number): number => Math.round(v * 1000) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      bench: `ab:${bench}`,
      metric,
      base: baseRev.slice(0, 12),
      rounds,
      baseMedian: median(base),
      currentMedian: median(current),
      ratioMedian: round3(median(ratios)),
      ratios: ratios.map(round3),
    })}\n`,
  );
} finally {
  spawnSync('git', ['worktree', 'remove', '--force', dir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
