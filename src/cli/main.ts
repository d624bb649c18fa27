// Entry point of the `twinhub` command (bin/twinhub.js imports this module).
import { runCli } from './program.js';
import { reportError } from './exit.js';

runCli(process.argv).catch((err: unknown) => {
  reportError(err);
  process.exit(1);
});
