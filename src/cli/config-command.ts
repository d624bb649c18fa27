// `twinhub config print` (the effective configuration as YAML, each key with its source) and
// `twinhub config check FILE` (validate a file without starting anything).
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { renderEffectiveConfig } from '../config/print.js';
import { addConfigOptions, loadConfigFromCli } from './config-options.js';
import { ExitCode, exitCodeOf, reportError } from './exit.js';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('show or check the configuration');

  addConfigOptions(config.command('print').description('print the effective configuration (defaults, file, TWINHUB_* variables, flags) as YAML, each key with where its value came from')).action(
    async (opts: Record<string, unknown>) => {
      try {
        process.stdout.write(renderEffectiveConfig(await loadConfigFromCli(opts)));
      } catch (err) {
        reportError(err);
        process.exit(exitCodeOf(err));
      }
    },
  );

  config
    .command('check')
    .argument('<FILE>', 'config file, YAML or JSON')
    .option('--env', 'also apply the TWINHUB_* variables of this environment')
    .description('check a config file against the schema (exit code 2 when invalid)')
    .action(async (file: string, opts: { env?: boolean }) => {
      try {
        await loadConfig({ file, ...(opts.env ? { env: process.env } : {}) });
        process.stdout.write(`twinhub: ${file} is valid\n`);
        process.exit(ExitCode.OK);
      } catch (err) {
        reportError(err);
        process.exit(exitCodeOf(err));
      }
    });
}
