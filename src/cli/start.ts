// `twinhub start`: load and validate the config, start the hub, stop it on SIGINT/SIGTERM.
import type { Command } from 'commander';
import type { RunningHub } from '../main/hub.js';
import { ENV_ADMIN_KEY } from '../config/schema.js';
import { createLogger } from '../obs/log.js';
import { addConfigOptions, loadConfigFromCli } from './config-options.js';
import { exitCodeOf, reportError } from './exit.js';
import { handleStopSignals } from './signals.js';

export function registerStartCommand(program: Command): void {
  const cmd = program
    .command('start')
    .description('start the hub: MQTT broker and HTTP API (defaults: loopback only, data in ./data)')
    .addHelpText('after', '\nEvery config key can also be set in the config file and as a TWINHUB_* variable; see docs/CONFIGURATION.md.\n');
  addConfigOptions(cmd).action(async (opts: Record<string, unknown>) => {
    let loaded;
    try {
      loaded = await loadConfigFromCli(opts);
    } catch (err) {
      reportError(err);
      process.exit(exitCodeOf(err));
    }
    const log = createLogger({ level: loaded.config.log.level });
    // Signals are handled from before the hub starts: a SIGTERM that arrives while it starts
    // (or just after it printed its addresses) stops it gracefully once it is up.
    let resolveHub!: (hub: RunningHub) => void;
    const hubReady = new Promise<RunningHub>((resolve) => (resolveHub = resolve));
    handleStopSignals({ stop: async () => (await hubReady).stop(), log });
    try {
      // Loaded here so that `config` and `bench` do not load the broker and its store adapters.
      const { startHub } = await import('../main/hub.js');
      const adminKey = process.env[ENV_ADMIN_KEY];
      resolveHub(await startHub(loaded.config, adminKey === undefined ? { log } : { log, adminKey }));
    } catch (err) {
      log.fatal({ err }, 'start failed');
      reportError(err);
      process.exit(exitCodeOf(err));
    }
  });
}
