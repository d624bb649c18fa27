// SIGINT/SIGTERM: the first one stops the hub gracefully (stop accepting, broker shutdown with
// wills and a store flush) and exits 0, or 1 if stopping failed; a second one exits 1 at once,
// for when a graceful stop hangs.
import type { Logger } from 'pino';

export interface SignalOptions {
  stop: () => Promise<void>;
  log: Logger;
  exit?: (code: number) => void;
  signals?: readonly NodeJS.Signals[];
}

/** Install the handlers; returns a function that removes them. */
export function handleStopSignals(opts: SignalOptions): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const signals = opts.signals ?? (['SIGINT', 'SIGTERM'] as const);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      opts.log.warn({ signal }, 'second signal: exiting without a graceful stop');
      process.stderr.write(`twinhub: ${signal} again, exiting now\n`);
      exit(1);
      return;
    }
    stopping = true;
    opts.log.info({ signal }, 'signal received, stopping');
    opts.stop().then(
      () => exit(0),
      (err: unknown) => {
        opts.log.error({ err }, 'graceful stop failed');
        exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
