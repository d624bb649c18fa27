// Entry of a simulate worker process: runs one Fleet (a slice of the devices) and reports its
// samples to the coordinator over IPC.
import { Fleet } from './fleet.js';
import type { FromWorker, ToWorker } from './ipc.js';

function send(m: FromWorker): void {
  if (process.connected) process.send?.(m);
}

process.on('message', (m: ToWorker) => {
  if (m.t === 'init') {
    const fleet = new Fleet(m.cfg, { sample: (sample) => send({ t: 'sample', sample }) });
    fleet
      .run()
      .then(() => send({ t: 'done', errors: [...fleet.errors.byMessage.entries()] }))
      .catch((err: unknown) => send({ t: 'error', message: (err as Error)?.message ?? String(err) }))
      .finally(() => setTimeout(() => process.exit(0), 50));
  }
});

// Loaded and listening: the coordinator sends `init` with a common start time once all are.
send({ t: 'ready' });

// The coordinator died or closed the channel: nobody to report to.
process.on('disconnect', () => process.exit(0));
