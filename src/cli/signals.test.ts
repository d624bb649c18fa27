import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../obs/log.js';
import { handleStopSignals } from './signals.js';

// A made-up signal name keeps the test away from the runner's real SIGINT/SIGTERM handling;
// process.emit only calls the listeners.
const SIG = 'SIGUSR2' as NodeJS.Signals;

test('the first signal stops gracefully and exits 0', async () => {
  const exits: number[] = [];
  let stops = 0;
  const remove = handleStopSignals({ stop: async () => void stops++, log: silentLogger(), exit: (c) => exits.push(c), signals: [SIG] });
  try {
    process.emit(SIG, SIG);
    await new Promise((r) => setImmediate(r));
    assert.equal(stops, 1);
    assert.deepEqual(exits, [0]);
  } finally {
    remove();
  }
});

test('a failing stop exits 1', async () => {
  const exits: number[] = [];
  const remove = handleStopSignals({ stop: () => Promise.reject(new Error('flush failed')), log: silentLogger(), exit: (c) => exits.push(c), signals: [SIG] });
  try {
    process.emit(SIG, SIG);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(exits, [1]);
  } finally {
    remove();
  }
});

test('a second signal while the stop is still running exits 1 at once', async () => {
  const exits: number[] = [];
  let stops = 0;
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  const remove = handleStopSignals({ stop: () => (stops++, new Promise<void>(() => {})), log: silentLogger(), exit: (c) => exits.push(c), signals: [SIG] });
  try {
    process.emit(SIG, SIG);
    assert.deepEqual(exits, []);
    process.emit(SIG, SIG);
    assert.deepEqual(exits, [1]);
    assert.equal(stops, 1, 'the second signal does not start another stop');
  } finally {
    process.stderr.write = write;
    remove();
  }
});
