// The contract every SeriesStore adapter passes (src/ports/series-store.ts): one suite, run against
// each adapter by a *.test.ts file beside this. `reopen` closes the store and opens the same data
// again (a restart); `cleanup` closes whatever is open and removes its data.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { encodeChunk } from '../../src/codec/tsdb/index.js';
import { TwinhubError } from '../../src/common/errors.js';
import type { RollupBucket, SealBatch, SeriesRecord, SeriesStore, WalEntry } from '../../src/ports/series-store.js';

export interface OpenedSeriesStore {
  store: SeriesStore;
  reopen: () => Promise<SeriesStore>;
  cleanup: () => Promise<void>;
}

export function seriesRecord(id: number, over: Partial<SeriesRecord> = {}): SeriesRecord {
  return { id, device: `dev-${id}`, metric: 'temp', kind: 'float', appliedSeq: 0, maxTs: -Infinity, ...over };
}

export function walEntry(seq: number, points: Array<[series: number, ts: number, value: number]>): WalEntry {
  return {
    seq,
    series: Uint32Array.from(points.map((p) => p[0])),
    timestamps: Float64Array.from(points.map((p) => p[1])),
    values: Float64Array.from(points.map((p) => p[2])),
  };
}

export function emptyBatch(over: Partial<SealBatch> = {}): SealBatch {
  return { series: [], putChunks: [], deleteChunks: [], heads: [], rollups: [], dropRollupsBefore: [], ...over };
}

function bucket(series: number, resolution: 60_000 | 3_600_000, start: number, value: number): RollupBucket {
  return { series, resolution, start, count: 1, min: value, max: value, sum: value, first: value, firstTs: start, last: value, lastTs: start };
}

function chunk(series: number, ts: number[], vs: number[]) {
  const bytes = encodeChunk(ts, vs);
  return { series, start: ts[0]!, end: ts[ts.length - 1]!, points: ts.length, size: bytes.length, bytes };
}

async function collect(it: AsyncIterable<WalEntry>): Promise<WalEntry[]> {
  const out: WalEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

export function seriesStoreContract(name: string, open: () => Promise<OpenedSeriesStore>): void {
  describe(`SeriesStore contract: ${name}`, () => {
    let h: OpenedSeriesStore;
    let store: SeriesStore;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('starts empty', async () => {
      assert.deepEqual(await store.loadCatalog(), { series: [], nextSeriesId: 1, lastWalSeq: 0 });
      assert.deepEqual(await collect(store.replayWal(0)), []);
      assert.deepEqual(await store.listChunks(), []);
      assert.equal((await store.loadHeads()).size, 0);
      assert.equal((await store.stats()).chunks, 0);
    });

    it('a WAL append registers its new series and replays after a reopen, bit for bit, in seq order', async () => {
      const nanWithPayload = new Float64Array(new Uint32Array([1, 0x7ff80000]).buffer)[0]!;
      await store.appendWal(walEntry(1, [[1, 1000, 21.5], [2, 1000, -0]]), [seriesRecord(1), seriesRecord(2, { kind: 'int' })]);
      await store.appendWal(walEntry(2, [[1, 2000, nanWithPayload], [1, 1500, Infinity], [2, -5, 5e-324]]), []);
      store = await h.reopen();
      const cat = await store.loadCatalog();
      assert.deepEqual(cat.series, [seriesRecord(1), seriesRecord(2, { kind: 'int' })]);
      assert.equal(cat.nextSeriesId, 3);
      assert.equal(cat.lastWalSeq, 2);
      const entries = await collect(store.replayWal(0));
      assert.deepEqual(entries.map((e) => e.seq), [1, 2]);
      assert.deepEqual([...entries[1]!.series], [1, 1, 2]);
      assert.deepEqual([...entries[1]!.timestamps], [2000, 1500, -5]);
      const words = new Uint32Array(entries[1]!.values.buffer);
      assert.deepEqual([words[0], words[1]], [1, 0x7ff80000], 'NaN payload kept');
      assert.ok(Object.is(entries[0]!.values[1], -0));
      assert.equal(entries[1]!.values[2], 5e-324);
      assert.deepEqual((await collect(store.replayWal(1))).map((e) => e.seq), [2]);
    });

    it('refuses a malformed WAL entry with STORE_WRITE_FAILED and writes nothing', async () => {
      const bad = { ...walEntry(1, [[1, 1, 1]]), values: new Float64Array(0) };
      await assert.rejects(store.appendWal(bad, [seriesRecord(1)]), (e: unknown) => e instanceof TwinhubError && e.code === 'TH_STORE_WRITE_FAILED');
      await assert.rejects(store.appendWal(walEntry(0, []), []), (e: unknown) => e instanceof TwinhubError && e.code === 'TH_STORE_WRITE_FAILED');
      assert.deepEqual((await store.loadCatalog()).series, []);
      assert.deepEqual(await collect(store.replayWal(0)), []);
    });

    it('a commit writes chunks, heads, rollups and series records, and drops the WAL through a seq, atomically visible after reopen', async () => {
      await store.appendWal(walEntry(1, [[1, 1000, 1]]), [seriesRecord(1)]);
      await store.appendWal(walEntry(2, [[1, 2000, 2]]), []);
      await store.appendWal(walEntry(3, [[1, 3000, 3]]), []);
      const c = chunk(1, [1000, 2000], [1, 2]);
      const head = encodeChunk([3000], [3]);
      await store.commit(
        emptyBatch({
          series: [seriesRecord(1, { appliedSeq: 2, maxTs: 3000 })],
          putChunks: [c],
          heads: [{ series: 1, bytes: head }],
          rollups: [bucket(1, 60_000, 0, 1), bucket(1, 3_600_000, 0, 1)],
          dropWalThrough: 2,
        }),
      );
      store = await h.reopen();
      assert.deepEqual((await store.loadCatalog()).series, [seriesRecord(1, { appliedSeq: 2, maxTs: 3000 })]);
      assert.deepEqual(await store.listChunks(1), [{ series: 1, start: 1000, end: 2000, points: 2, size: c.size }]);
      assert.deepEqual(Buffer.from((await store.readChunk(1, 1000))!), Buffer.from(c.bytes));
      assert.equal(await store.readChunk(1, 999), undefined);
      assert.deepEqual(Buffer.from((await store.loadHeads()).get(1)!), Buffer.from(head));
      assert.deepEqual(await store.readRollups(1, 60_000, 0, 0), [bucket(1, 60_000, 0, 1)]);
      assert.deepEqual(await store.readRollups(1, 3_600_000, -1, 10), [bucket(1, 3_600_000, 0, 1)]);
      assert.deepEqual((await collect(store.replayWal(0))).map((e) => e.seq), [3]);
      const st = await store.stats();
      assert.equal(st.chunks, 1);
      assert.equal(st.chunkBytes, c.size);
      assert.equal(st.walEntries, 1);
      assert.ok(st.diskBytes >= c.size);
    });

    it('keeps lastWalSeq and nextSeriesId after the WAL and the series are gone (ids and seqs are never reused)', async () => {
      await store.appendWal(walEntry(7, [[4, 1, 1]]), [seriesRecord(4)]);
      await store.commit(emptyBatch({ dropWalThrough: 7 }));
      await store.deleteSeries([4]);
      store = await h.reopen();
      assert.deepEqual(await store.loadCatalog(), { series: [], nextSeriesId: 5, lastWalSeq: 7 });
    });

    it('lists and reads chunks in (series, start) order with negative and large timestamps; replaces and deletes them', async () => {
      const a = chunk(2, [-86_400_000, -1], [1, 2]);
      const b = chunk(2, [0, 10], [3, 4]);
      const c = chunk(1, [2 ** 52, 2 ** 52], [5, 6]);
      await store.commit(emptyBatch({ putChunks: [b, a, c] }));
      assert.deepEqual((await store.listChunks()).map((r) => [r.series, r.start]), [[1, 2 ** 52], [2, -86_400_000], [2, 0]]);
      assert.deepEqual((await store.listChunks(2)).map((r) => r.start), [-86_400_000, 0]);
      // A late point moved b's start: the commit deletes the old key and puts the new one.
      const b2 = chunk(2, [-0.5 * 2, 0, 10], [9, 3, 4]);
      await store.commit(emptyBatch({ deleteChunks: [{ series: 2, start: 0 }], putChunks: [b2] }));
      assert.deepEqual((await store.listChunks(2)).map((r) => [r.start, r.points]), [[-86_400_000, 2], [-1, 3]]);
      await store.commit(emptyBatch({ deleteChunks: [{ series: 2, start: -86_400_000 }] }));
      assert.deepEqual((await store.listChunks(2)).map((r) => r.start), [-1]);
    });

    it('reads rollups by resolution and inclusive range; retention drops those before a time', async () => {
      const rs = [0, 60_000, 120_000, 180_000].map((t) => bucket(3, 60_000, t, t / 60_000));
      await store.commit(emptyBatch({ rollups: [...rs, bucket(3, 3_600_000, 0, 9), bucket(4, 60_000, 0, 7)] }));
      assert.deepEqual((await store.readRollups(3, 60_000, 60_000, 120_000)).map((b) => b.start), [60_000, 120_000]);
      assert.deepEqual((await store.readRollups(3, 3_600_000, 0, 1e12)).map((b) => b.sum), [9]);
      assert.deepEqual(await store.readRollups(3, 60_000, 10, 5), []);
      // A rewritten bucket replaces the stored one.
      await store.commit(emptyBatch({ rollups: [{ ...rs[0]!, count: 2, sum: 5 }] }));
      assert.equal((await store.readRollups(3, 60_000, 0, 0))[0]!.count, 2);
      await store.commit(emptyBatch({ dropRollupsBefore: [{ series: 3, before: 120_000 }] }));
      assert.deepEqual((await store.readRollups(3, 60_000, -1e12, 1e12)).map((b) => b.start), [120_000, 180_000]);
      assert.deepEqual(await store.readRollups(3, 3_600_000, -1e12, 1e12), [], 'both resolutions');
      assert.equal((await store.readRollups(4, 60_000, 0, 0)).length, 1, 'other series untouched');
    });

    it('deleteSeries removes the record, chunks, head and rollups of those series only', async () => {
      await store.appendWal(walEntry(1, [[1, 1, 1], [2, 1, 1]]), [seriesRecord(1), seriesRecord(2)]);
      await store.commit(
        emptyBatch({
          putChunks: [chunk(1, [1], [1]), chunk(2, [1], [1])],
          heads: [{ series: 1, bytes: encodeChunk([2], [2]) }, { series: 2, bytes: encodeChunk([2], [2]) }],
          rollups: [bucket(1, 60_000, 0, 1), bucket(2, 60_000, 0, 1)],
        }),
      );
      await store.deleteSeries([1]);
      store = await h.reopen();
      assert.deepEqual((await store.loadCatalog()).series.map((s) => s.id), [2]);
      assert.deepEqual((await store.listChunks()).map((c) => c.series), [2]);
      assert.deepEqual([...(await store.loadHeads()).keys()], [2]);
      assert.deepEqual(await store.readRollups(1, 60_000, 0, 0), []);
      assert.equal((await store.readRollups(2, 60_000, 0, 0)).length, 1);
    });

    it('a null head removes the stored head', async () => {
      await store.commit(emptyBatch({ heads: [{ series: 1, bytes: encodeChunk([1], [1]) }] }));
      await store.commit(emptyBatch({ heads: [{ series: 1, bytes: null }] }));
      assert.equal((await store.loadHeads()).size, 0);
    });

    it('writes issued back to back settle in call order and reads after them see them', async () => {
      const order: number[] = [];
      const ps: Promise<void>[] = [];
      for (let i = 1; i <= 20; i++) ps.push(store.appendWal(walEntry(i, [[1, i, i]]), i === 1 ? [seriesRecord(1)] : []).then(() => void order.push(i)));
      ps.push(store.commit(emptyBatch({ dropWalThrough: 10 })).then(() => void order.push(99)));
      await Promise.all(ps);
      assert.deepEqual(order, [...Array.from({ length: 20 }, (_, i) => i + 1), 99]);
      const left = (await collect(store.replayWal(0))).map((e) => e.seq);
      assert.deepEqual(left, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    });

    it('rejects writes and reads after close', async () => {
      await store.close();
      await assert.rejects(store.appendWal(walEntry(1, []), []), TwinhubError);
      await assert.rejects(store.commit(emptyBatch()), TwinhubError);
      await assert.rejects(store.loadCatalog(), TwinhubError);
    });
  });
}
