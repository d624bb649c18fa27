// Durability of the LMDB broker store when the process is killed (DESIGN.md "Rules of the hot
// path": an acknowledged message survives the process being killed; with fsync off the write has
// reached the OS). A child commits batches of 2,000 outbound records, several in flight, and
// prints each batch number once its commit resolved; the test SIGKILLs it mid-load, reopens the
// store and checks every acknowledged batch is there, intact, and no batch is there in part.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openLmdbBrokerStore } from '../../src/adapters/lmdb/broker-store.js';
import { checkBatches } from '../helpers/lmdb-batches.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../helpers/lmdb-commit-child.ts', import.meta.url));
const BATCH = 2000; // above lmdb-js's 1,000-write early start of a batch: still one transaction
const PAYLOAD = 100;
const KILL_AFTER_ACKS = 30;
const KILL_AFTER_MS = 4000; // after the first ack, in case the machine is slow

interface ChildRun {
  acked: Set<number>;
  signal: NodeJS.Signals | null;
  failures: string[];
}

function runAndKill(dir: string, fsync: boolean): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, dir, fsync ? '1' : '0', 'pipelined', String(BATCH), String(PAYLOAD), '1000000'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const acked = new Set<number>();
    const failures: string[] = [];
    let stderr = '';
    let rest = '';
    let timer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
    };
    const deadline = setTimeout(kill, 30_000); // never outlive the test, even if the child hangs
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const [what, n] = line.split(' ');
        if (what === 'ack') {
          acked.add(Number(n));
          timer ??= setTimeout(kill, KILL_AFTER_MS);
          if (acked.size === KILL_AFTER_ACKS) kill();
        } else if (what === 'fail') {
          failures.push(line);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    // 'close': the process exited and its stdout was read to the end.
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended with code ${code}, signal ${signal}: ${stderr}`));
      else resolve({ acked, signal, failures });
    });
  });
}

describe('lmdb broker store survives SIGKILL', () => {
  for (const fsync of [false, true]) {
    it(`keeps every acknowledged batch, and no partial batch, with fsync ${fsync ? 'on' : 'off'}`, { timeout: 60_000 }, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'twinhub-kill-'));
      try {
        const run = await runAndKill(dir, fsync);
        assert.deepEqual(run.failures, []);
        assert.ok(run.acked.size > 0, 'the child acknowledged batches before it was killed');
        const store = await openLmdbBrokerStore(dir, { fsync });
        try {
          const found = checkBatches(await store.loadOutbound('c'), BATCH, PAYLOAD, run.acked);
          // Acks are printed in commit order: batches 0..max, none skipped.
          const last = Math.max(...run.acked);
          assert.equal(run.acked.size, last + 1);
          for (const b of found) assert.ok(b <= last + 4, `batch ${b} is beyond what was ever in flight`);
        } finally {
          await store.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
