// `twinhub backup DIR`: a consistent copy of the data folder, also while the hub runs
// (adapters/lmdb/backup.ts). The data folder comes from the same config as `twinhub start`
// (--config, TWINHUB_DATA, --data), so `twinhub backup /backups/today` next to a running hub
// copies the folder that hub uses.
import type { Command } from 'commander';
import { addConfigOptions, loadConfigFromCli } from './config-options.js';
import { ExitCode, exitCodeOf, reportError } from './exit.js';

export function registerBackupCommand(program: Command): void {
  addConfigOptions(
    program
      .command('backup')
      .argument('<DIR>', 'a new or empty folder for the copy')
      .option('--compact', 'compact while copying (smaller, slower)')
      .description('copy the data folder consistently, also while a hub runs on it; restore by starting a hub with --data DIR'),
  ).action(async (dir: string, opts: Record<string, unknown>) => {
    try {
      const loaded = await loadConfigFromCli(opts);
      const { backupDataFolder } = await import('../adapters/lmdb/backup.js');
      const r = await backupDataFolder(loaded.config.data, dir, { compact: opts.compact === true });
      const total = r.environments.reduce((n, e) => n + e.bytes, 0);
      process.stdout.write(`twinhub: copied ${r.source} to ${r.target}: ${r.environments.map((e) => e.name).join(', ')} (${(total / 1048576).toFixed(1)} MiB)\n`);
      process.exit(ExitCode.OK);
    } catch (err) {
      reportError(err);
      process.exit(exitCodeOf(err));
    }
  });
}
