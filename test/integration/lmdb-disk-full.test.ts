// A write the disk refuses is not acknowledged, and what was acknowledged before stays (DESIGN.md
// "Writes and acks"). A child limited to a 4 MiB file size (`ulimit -f`, so writes beyond it fail
// as on a full disk) commits batches of 500 KB until one fails; the test checks the failure came
// as TH_STORE_WRITE_FAILED without ending the process, then reopens the store without the limit:
// every acknowledged batch is there, the failed one not at all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openLmdbBrokerStore } from '../../src/adapters/lmdb/broker-store.js';
import { checkBatches } from '../helpers/lmdb-batches.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../helpers/lmdb-commit-child.ts', import.meta.url));
const BATCH = 50;
const PAYLOAD = 10_000;
const FILE_LIMIT_KIB = 4096;

function run(dir: string): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // bash's `ulimit -f` counts 1 KiB blocks; Node ignores SIGXFSZ, so an oversized write fails with EFBIG.
    const script = `ulimit -f ${FILE_LIMIT_KIB} && exec "$0" --import tsx "$1" "$2" 0 serial ${BATCH} ${PAYLOAD} 1000`;
    const child = spawn('/bin/bash', ['-c', script, process.execPath, CHILD, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ lines: out.split('\n').filter((l) => l !== ''), code, stderr });
    });
  });
}

describe('lmdb broker store on a full disk', () => {
  it('rejects the commit that does not fit with TH_STORE_WRITE_FAILED and keeps what came before', { timeout: 60_000 }, async (t) => {
    if (process.platform !== 'linux' || !existsSync('/bin/bash')) {
      t.skip('needs Linux and bash for ulimit -f');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'twinhub-full-'));
    try {
      const { lines, code, stderr } = await run(dir);
      assert.equal(code, 0, `the child process ended with ${code}: ${stderr}`);
      const acked = lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
      const failLine = lines.find((l) => l.startsWith('fail '));
      assert.ok(failLine !== undefined, `no commit failed: ${lines.join(' | ')}`);
      const [, failedBatch, errorCode] = failLine.split(' ');
      assert.equal(errorCode, 'TH_STORE_WRITE_FAILED');
      assert.ok(acked.length > 0, 'some batches fit before the limit');
      assert.deepEqual(acked, acked.map((_, i) => i), 'acknowledged in order, none skipped');
      assert.equal(Number(failedBatch), acked.length);
      // After the failure the process goes on: the next commit settles one way or the other.
      const after = lines.find((l) => l.startsWith('after-fail '));
      assert.ok(after === 'after-fail ok' || after?.startsWith('after-fail fail TH_STORE_WRITE_FAILED'), String(after));
      assert.equal(lines.at(-1), 'done');

      const store = await openLmdbBrokerStore(dir, { fsync: false });
      try {
        const found = checkBatches(await store.loadOutbound('c'), BATCH, PAYLOAD, acked);
        assert.equal(found.has(Number(failedBatch)), false, 'the failed batch left nothing behind');
        assert.deepEqual(await store.loadInboundQos2('probe'), after === 'after-fail ok' ? [1] : []);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
