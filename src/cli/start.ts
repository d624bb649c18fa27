// `twinhub start`: load and validate the config, start the hub, stop it on SIGINT/SIGTERM.
import { watch as watchFs } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { RunningHub } from '../main/hub.js';
import { ENV_ADMIN_KEY } from '../config/schema.js';
import { createLogger, loggerOptionsOf } from '../obs/log.js';
import { startCpuProfile, type CpuProfiler } from '../obs/profile.js';
import { addConfigOptions, loadConfigFromCli } from './config-options.js';
import { exitCodeOf, reportError } from './exit.js';
import { handleStopSignals } from './signals.js';

/**
 * Live configuration: SIGHUP, or a change of the config file, loads the config again from the
 * same sources (file, TWINHUB_* variables, flags). A valid one is applied (keys that need a
 * restart are named); an invalid one is refused with the bad key named and the running config
 * stays.
 */
function watchConfig(hubReady: Promise<RunningHub>, opts: Record<string, unknown>, log: Logger): void {
  let running = false;
  let again = false;
  const reload = async (why: string): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      // Watching starts before the hub is up, so no edit made right after "ready" is missed; a
      // reload waits for the hub.
      const hub = await hubReady;
      const next = await loadConfigFromCli(opts);
      const diff = hub.reload(next.config);
      const parts = [`applied ${diff.live.length === 0 ? 'no changes' : diff.live.join(', ')}`];
      if (diff.restart.length > 0) parts.push(`restart needed for ${diff.restart.join(', ')}`);
      process.stderr.write(`twinhub: configuration reloaded (${why}): ${parts.join('; ')}\n`);
    } catch (err) {
      log.error({ err }, 'configuration reload refused; the running configuration stays');
      reportError(err);
      process.stderr.write('twinhub: reload refused; the running configuration stays\n');
    } finally {
      running = false;
      if (again) {
        again = false;
        void reload(why);
      }
    }
  };
  process.on('SIGHUP', () => void reload('SIGHUP'));
  const file = typeof opts.config === 'string' ? opts.config : process.env.TWINHUB_CONFIG;
  if (file === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Editors replace files (rename) as often as they write them: watch the folder, filter the name.
    const watcher = watchFs(dirname(resolvePath(file)), (_event, name) => {
      if (name !== null && name !== basename(file)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload('config file changed'), 300);
    });
    watcher.unref();
  } catch (err) {
    log.warn({ err, file }, 'cannot watch the config file; reload with SIGHUP');
  }
}

/**
 * `--cpu-prof [FILE]`: a V8 CPU profile of the whole run, from start to a graceful stop, written
 * to FILE or to twinhub-<time>.cpuprofile in the current folder (open it in Chrome DevTools or
 * speedscope). Recorded in-process through node:inspector, so no Node flag is needed.
 */
async function startProfileIfAsked(flag: unknown, log: Logger): Promise<(() => Promise<void>) | undefined> {
  if (flag === undefined || flag === false) return undefined;
  const file = resolvePath(typeof flag === 'string' ? flag : `twinhub-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  let profiler: CpuProfiler;
  try {
    profiler = await startCpuProfile();
  } catch (err) {
    log.error({ err }, 'cannot start the CPU profiler; running without --cpu-prof');
    return undefined;
  }
  log.info({ file }, 'CPU profile recording until the hub stops');
  return async () => {
    try {
      await writeFile(file, JSON.stringify(await profiler.stop()));
      process.stderr.write(`twinhub: CPU profile written to ${file}\n`);
    } catch (err) {
      log.error({ err, file }, 'cannot write the CPU profile');
    }
  };
}

export function registerStartCommand(program: Command): void {
  const cmd = program
    .command('start')
    .description('start the hub: MQTT broker and HTTP API (defaults: loopback only, data in ./data)')
    .addHelpText('after', '\nEvery config key can also be set in the config file and as a TWINHUB_* variable; see docs/CONFIGURATION.md.\n')
    .option('--cpu-prof [FILE]', 'record a V8 CPU profile until the hub stops (SIGINT/SIGTERM) and write it to FILE (default: twinhub-<time>.cpuprofile in the current folder)');
  addConfigOptions(cmd).action(async (opts: Record<string, unknown>) => {
    let loaded;
    try {
      loaded = await loadConfigFromCli(opts);
    } catch (err) {
      reportError(err);
      process.exit(exitCodeOf(err));
    }
    const log = createLogger(loggerOptionsOf(loaded.config.log));
    const writeProfile = await startProfileIfAsked(opts.cpuProf, log);
    // Signals are handled from before the hub starts: a SIGTERM that arrives while it starts
    // (or just after it printed its addresses) stops it gracefully once it is up.
    let resolveHub!: (hub: RunningHub) => void;
    const hubReady = new Promise<RunningHub>((resolve) => (resolveHub = resolve));
    handleStopSignals({
      stop: async () => {
        try {
          await (await hubReady).stop();
        } finally {
          await writeProfile?.();
        }
      },
      log,
    });
    watchConfig(hubReady, opts, log);
    try {
      // Loaded here so that `config` and `bench` do not load the broker and its store adapters.
      const { startHub } = await import('../main/hub.js');
      const adminKey = process.env[ENV_ADMIN_KEY];
      const hub = await startHub(loaded.config, adminKey === undefined ? { log } : { log, adminKey });
      resolveHub(hub);
    } catch (err) {
      log.fatal({ err }, 'start failed');
      reportError(err);
      process.exit(exitCodeOf(err));
    }
  });
}
