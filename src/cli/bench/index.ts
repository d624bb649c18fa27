// `twinhub bench <scenario>`: a load generator for any MQTT broker reachable by host and port.
// Progress goes to stderr; exactly one JSON line with the results goes to stdout.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { resolveOptions, SCENARIOS, type RawOptions } from './options.js';
import { runBench } from './run.js';

export { resolveOptions, type BenchOptions } from './options.js';
export { runBench, type BenchResult } from './run.js';

const HELP_AFTER = `
Scenarios:
  fanin    N publishers (--publishers, 10) -> 1 subscriber, one topic per publisher
  fanout   1 publisher -> N subscribers (--subscribers, 10)
  latency  fixed rate (--rate, 2000 msg/s), p50/p90/p99/p99.9/max after a warm-up
  conns    N idle connections (--conns, 1000) with one subscription each; with --pid, broker RSS per connection

Sustained rate (--sweep): the highest offered rate with at least 99.9% of sent messages delivered
and a delivered rate of at least 97% of the offered rate.

Examples:
  twinhub bench fanin --url mqtt://127.0.0.1:1883 --sweep
  twinhub bench fanin --qos 1 --clean false --sweep --pid 1234
  twinhub bench latency --rate 2000 --duration 10
  twinhub bench conns --conns 19000 --settle 15 --pid 1234`;

/** Adds the `bench` command to the twinhub CLI. */
export function registerBenchCommand(program: Command): void {
  // `--version` of `bench` is the MQTT protocol version; program options are therefore only read
  // before the subcommand name, so the program's own -V/--version does not swallow it.
  program.enablePositionalOptions();
  program
    .command('bench')
    .description('load-test an MQTT broker (any broker, by host and port)')
    .argument('<scenario>', SCENARIOS.join(' | '))
    .option('--url <url>', 'broker address as mqtt://host:port (overrides --host/--port)')
    .option('--host <host>', 'broker host', '127.0.0.1')
    .option('--port <port>', 'broker port', '1883')
    .option('--version <n>', 'MQTT protocol version: 4 (3.1.1) or 5', '4')
    .option('--qos <n>', 'QoS of publishes and subscriptions: 0, 1 or 2', '0')
    .option('--payload <bytes>', 'payload size (at least 16)', '64')
    .option('--publishers <n>', 'publisher connections (fanin 10, others 1)')
    .option('--subscribers <n>', 'subscriber connections (fanout 10, others 1)')
    .option('--rate <msg/s>', 'total offered publish rate (latency 2000, fanin/fanout 10000)')
    .option('--sweep', 'search the highest sustained rate instead of one fixed rate')
    .option('--start-rate <msg/s>', 'first rate of a sweep', '25000')
    .option('--max-rate <msg/s>', 'highest rate a sweep tries', '2000000')
    .option('--precision <fraction>', 'a sweep stops when best pass and lowest fail are this close', '0.05')
    .option('--duration <s>', 'seconds of sending per step (latency 10, sweep 3, else 5)')
    .option('--warmup <s>', 'seconds of sending before measuring (latency 1, else 0)')
    .option('--drain <s>', 'most seconds to wait for deliveries after a step', '5')
    .option('--inflight <n>', 'unacknowledged QoS 1/2 messages per publisher (0: up to 65535)', '1000')
    .option('--clean <bool>', 'subscriber Clean Session / Clean Start', 'true')
    .option('--session-expiry <s>', 'subscriber Session Expiry Interval, MQTT 5 (3600 with --clean false)')
    .option('--procs <n>', 'publisher processes', '1')
    .option('--sub-procs <n>', 'subscriber processes', '1')
    .option('--slice <ms>', 'pacing time slice (latency 1, else 5)')
    .option('--read-interval <ms>', 'subscribers pause reading this long after each read (1 for QoS 0 fanin/fanout, else 0)')
    .option('--conns <n>', 'idle connections for the conns scenario', '1000')
    .option('--conns-per-proc <n>', 'idle connections per process', '5000')
    .option('--settle <s>', 'seconds to wait after the connect burst before reading memory', '15')
    .option('--pid <pid>', 'broker process id: report its RSS and CPU from /proc/PID')
    .option('--keepalive <s>', 'MQTT Keep Alive of bench clients', '60')
    .option('--label <text>', 'name of the target, copied into the JSON result')
    .option('--json-only', 'no progress lines on stderr')
    .addHelpText('after', HELP_AFTER)
    .action(async (scenario: string, raw: RawOptions) => {
      process.exitCode = await benchAction(scenario, raw);
    });
}

/** Runs one scenario; returns the process exit code (0 ok, 1 failed run, 2 bad options). */
export async function benchAction(scenario: string, raw: RawOptions): Promise<number> {
  let opts;
  try {
    opts = resolveOptions(scenario, raw);
  } catch (err) {
    process.stderr.write(`twinhub bench: ${(err as Error).message}\n`);
    return 2;
  }
  const quiet = opts.jsonOnly;
  const result = await runBench(opts, {
    progress: (line) => {
      if (!quiet) process.stderr.write(`${line}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.error === undefined ? 0 : 1;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  // Standalone: `node --import tsx src/cli/bench/index.ts fanin ...` runs as `twinhub bench fanin ...`.
  const program = new Command('twinhub');
  registerBenchCommand(program);
  await program.parseAsync(['bench', ...process.argv.slice(2)], { from: 'user' });
}
