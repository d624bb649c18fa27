// Long fuzz run of the MQTT decoder for `npm run fuzz` (not part of `npm test`). Runs the same
// properties as test/fuzz/codec.fuzz.test.ts with many more cases:
//   FUZZ_RUNS   cases per property (default 500000, a few minutes)
//   FUZZ_SEED   replay a seed printed by a failing run
// Exits 1 with the counterexample when a property fails.
import fc from 'fast-check';
import { mutatedFramesProperty, randomBytesProperty } from './codec-properties.js';

const runs = Number(process.env.FUZZ_RUNS ?? 500_000);
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Date.now() | 0;
if (!Number.isInteger(runs) || runs <= 0) {
  console.error(`FUZZ_RUNS must be a positive integer, got ${process.env.FUZZ_RUNS}`);
  process.exit(2);
}

const properties = [
  ['random bytes', randomBytesProperty],
  ['mutated valid frames', mutatedFramesProperty],
] as const;

let failed = false;
for (const [name, property] of properties) {
  const started = Date.now();
  const details = fc.check(property as unknown as fc.IProperty<unknown>, { numRuns: runs, seed });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (details.failed) {
    failed = true;
    console.error(`FAIL ${name} after ${details.numRuns} runs (${secs} s), seed ${seed}`);
    console.error(`counterexample: ${fc.stringify(details.counterexample)}`);
    console.error(details.errorInstance);
  } else {
    console.log(`ok   ${name}: ${details.numRuns} runs in ${secs} s (seed ${seed})`);
  }
}
process.exit(failed ? 1 : 0);
