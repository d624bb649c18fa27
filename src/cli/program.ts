// The `twinhub` command line: `start`, `config print|check`, `bench` and `simulate` (loaded
// lazily, off the start path), and the HTTP API clients `device …`, `admin …`, `telemetry …` and `rules …`.
import { Command, CommanderError } from 'commander';
import { registerConfigCommand } from './config-command.js';
import { ExitCode } from './exit.js';
import { registerStartCommand } from './start.js';
import { VERSION } from '../common/version.js';


export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('twinhub')
    .description('Twinhub: MQTT 3.1.1/5.0 broker and IoT device hub')
    .version(VERSION, '-V, --version')
    // Usage errors exit with the config code (2) instead of commander's 1; see runCli.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  registerStartCommand(program);
  registerConfigCommand(program);
  // `start` does not need the bench's modules; skip loading them on the hub's start-up path.
  if (argv[2] !== 'start') {
    const { registerBenchCommand } = await import('./bench/index.js');
    registerBenchCommand(program);
    const { registerSimulateCommand } = await import('./simulate/index.js');
    registerSimulateCommand(program);
    const { registerDeviceCommand } = await import('./device-command.js');
    registerDeviceCommand(program);
    const { registerAdminCommand } = await import('./admin-command.js');
    registerAdminCommand(program);
    const { registerBackupCommand } = await import('./backup-command.js');
    registerBackupCommand(program);
    const { registerTelemetryCommand } = await import('./telemetry-command.js');
    registerTelemetryCommand(program);
    const { registerTwinCommand } = await import('./twin-command.js');
    registerTwinCommand(program);
    const { registerRulesCommand } = await import('./rules-command.js');
    registerRulesCommand(program);
  }
  return program;
}

export async function runCli(argv: readonly string[]): Promise<void> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.CONFIG);
    throw err;
  }
}
