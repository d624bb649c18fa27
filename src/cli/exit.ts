// Exit codes and how a failure is shown: the message for errors a user can act on, the stack too
// for anything unexpected.
import { isConfigError } from '../config/config-error.js';
import { TwinhubError } from '../common/errors.js';

export const ExitCode = {
  OK: 0,
  /** Start-up or run-time failure (a taken port, an unopenable store), a forced stop. */
  FAILURE: 1,
  /** The configuration (file, environment, flags, command line) is invalid. */
  CONFIG: 2,
} as const;

export function exitCodeOf(err: unknown): number {
  return isConfigError(err) ? ExitCode.CONFIG : ExitCode.FAILURE;
}

export function reportError(err: unknown, write: (s: string) => void = (s) => void process.stderr.write(s)): void {
  if (err instanceof TwinhubError) {
    for (const line of err.message.split('\n')) write(`twinhub: ${line}\n`);
    if (err.hint && !isConfigError(err) && !err.message.includes('choose another')) write(`twinhub: hint: ${err.hint}\n`);
  } else {
    write(`twinhub: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}
