// `twinhub simulate`: drives a realistic fleet against any MQTT broker for a bounded time and
// reports what happened (docs/SIMULATOR.md).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { collect } from '../client/common.js';
import { renderHtml } from './html.js';
import { OptionError, resolveSimOptions, type RawSimOptions, type SimOptions } from './options.js';
import { BUILT_IN_PROFILES } from './profile.js';
import { formatSummary, type SimReport } from './report.js';
import { runSimulation, type Progress } from './run.js';

const HELP_AFTER = `
Built-in profiles: ${BUILT_IN_PROFILES.join(', ')} (or a YAML/JSON file, see docs/SIMULATOR.md).

Examples:
  twinhub simulate --devices 1000 --duration 60
  twinhub simulate --url mqtt://127.0.0.1:1884 --profile storm --devices 20000 --duration 2m
  twinhub simulate --profile my-fleet.yaml --password 'pw-of-{id}' --chaos --report run.html
  twinhub simulate --devices 50 --duration 10 --json > report.json`;

export function registerSimulateCommand(program: Command): void {
  program.enablePositionalOptions();
  program
    .command('simulate')
    .description('drive a simulated device fleet against an MQTT broker for a bounded time, then report')
    .option('--url <url>', 'broker as mqtt://HOST:PORT', 'mqtt://127.0.0.1:1883')
    .option('--devices <n>', 'simulated devices', '100')
    .option('--duration <time>', 'how long the fleet sends (seconds, or 500ms/30s/2m)', '30')
    .option('--profile <name|file>', `built-in profile (${BUILT_IN_PROFILES.join('|')}) or a YAML/JSON file`, 'mixed')
    .option('--ramp <time>', 'connect the devices over this long (0: all at once); default from the profile')
    .option('--churn <rate>', 'disconnect and reconnect this many devices per second, or a share of the fleet ("5%")')
    .option('--chaos', "random abrupt disconnects, clock skew, duplicate and out-of-order messages (the profile's chaos section)")
    .option('--protocol <4|5>', 'MQTT protocol level: 4 (3.1.1) or 5; default from the profile (5)')
    .option('--id-template <tpl>', 'device ids and client ids; {n} is the device number', 'sim-{n}')
    .option('--username-template <tpl>', 'user name per device ({id}, {n}); default {id} when a password or token is sent')
    .option('--password <tpl>', 'password per device ({id}, {n} are replaced)')
    .option('--token-file <file>', 'tokens sent as the password: one for all, or lines "DEVICE_ID TOKEN"')
    .option('--command-rate <n>', 'commands per second the simulator sends to its devices; default from the profile')
    .option('--commander-id <id>', 'client id of the simulator\'s command client')
    .option('--commander-username <name>', 'user name of the command client (default: as a device)')
    .option('--commander-password <pw>', 'password of the command client (default: as a device)')
    .option('--workers <n>', 'worker processes (default: one per 10,000 devices; 1 runs in this process)')
    .option('--concurrency <n>', 'handshakes in flight at once over the fleet', '200')
    .option('--source-addresses <mode>', 'spread connections over 127.x.y.z source addresses: auto (above 10,000 devices on loopback) | on | off', 'auto')
    .option('--seed <n>', 'random seed, to repeat a run')
    .option('--drain <time>', 'most time to wait for acknowledgements and replies after the end', '3')
    .option('--json', 'print the JSON report on stdout (progress and summary go to stderr)')
    .option('--report <file>', 'also write the report to FILE.json or FILE.html (repeatable)', collect)
    .option('--quiet', 'no progress line')
    .addHelpText('after', HELP_AFTER)
    .action(async (raw: RawSimOptions) => {
      process.exitCode = await simulateAction(raw);
    });
}

function fmtLat(l: { p50: number; p99: number } | null): string {
  return l === null ? '-' : `p50 ${l.p50} p99 ${l.p99} ms`;
}

export function formatProgress(p: Progress): string {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const t = `${Math.min(p.elapsedS, p.durationS).toFixed(0)}/${p.durationS}s`;
  return `[${t}${p.phase === 'draining' ? ' draining' : ''}] devices ${n(p.connected)}/${n(p.devices)}  sent ${n(p.sentPerSecond)} msg/s  acked ${n(p.ackedPerSecond)}/s  errors ${n(p.errors)}  puback ${fmtLat(p.pubAck)}  cmd ${fmtLat(p.command)}`;
}

/** Runs one simulation; returns the exit code: 0 done, 1 no device could connect, 2 bad options. */
export async function simulateAction(raw: RawSimOptions): Promise<number> {
  let o: SimOptions;
  try {
    o = resolveSimOptions(raw, randomBytes(3).toString('hex'));
  } catch (err) {
    if (err instanceof OptionError) {
      process.stderr.write(`twinhub simulate: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  for (const f of o.reports) {
    if (!/\.(json|html?)$/i.test(f)) {
      process.stderr.write(`twinhub simulate: --report ${f}: the file name must end in .json or .html\n`);
      return 2;
    }
  }
  // With --json, stdout carries only the report.
  const out = o.json ? process.stderr : process.stdout;
  const tty = out.isTTY === true;
  let lastLine = 0;
  let shown = false;
  const report: SimReport = await runSimulation(o, {
    progress: (p) => {
      if (o.quiet) return;
      if (tty) {
        out.write(`\r\x1b[2K${formatProgress(p)}`);
        shown = true;
      } else if (p.elapsedS - lastLine >= 5 || p.phase === 'draining') {
        if (p.phase === 'draining' && lastLine > p.durationS) return;
        lastLine = p.elapsedS;
        out.write(`${formatProgress(p)}\n`);
      }
    },
  });
  if (shown) out.write('\r\x1b[2K');
  for (const f of o.reports) {
    writeFileSync(f, /\.json$/i.test(f) ? `${JSON.stringify(report, null, 2)}\n` : renderHtml(report));
  }
  out.write(`${formatSummary(report)}\n`);
  for (const f of o.reports) out.write(`  report       ${f}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  return report.connections.connects === 0 ? 1 : 0;
}
