// The numbered batches of test/helpers/lmdb-commit-child.ts and how a parent checks them: every
// record's payload names its batch and index, so a reopened store shows exactly which batches
// (and whether whole batches) survived.
import assert from 'node:assert/strict';
import type { OutboundRecord } from '../../src/ports/broker-store.js';

export function batchPayload(batch: number, index: number, size: number): Buffer {
  const p = Buffer.alloc(Math.max(size, 8), (batch * 31 + index) & 0xff);
  p.writeUInt32BE(batch, 0);
  p.writeUInt32BE(index, 4);
  return p;
}

/**
 * Checks the outbound records of client "c" after a restart: each batch is complete and intact or
 * entirely absent (one commit = one transaction), and every batch in `mustHave` is present.
 * Returns the batch numbers found.
 */
export function checkBatches(records: OutboundRecord[], batchSize: number, payloadBytes: number, mustHave: Iterable<number>): Set<number> {
  const byBatch = new Map<number, OutboundRecord[]>();
  for (const r of records) {
    const b = Math.floor(r.seq / batchSize);
    let list = byBatch.get(b);
    if (list === undefined) byBatch.set(b, (list = []));
    list.push(r);
  }
  for (const [b, list] of byBatch) {
    assert.equal(list.length, batchSize, `batch ${b} is partial: ${list.length} of ${batchSize} records`);
    list.forEach((r, i) => {
      assert.equal(r.seq, b * batchSize + i, `batch ${b} record ${i} seq`);
      assert.ok(r.message.payload.equals(batchPayload(b, i, payloadBytes)), `batch ${b} record ${i} payload`);
    });
  }
  for (const b of mustHave) assert.ok(byBatch.has(b), `acknowledged batch ${b} is missing after the restart`);
  return new Set(byBatch.keys());
}
