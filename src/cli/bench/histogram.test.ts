import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HISTOGRAM_BUCKETS, Histogram, bucketLow, bucketOf, summarize } from './histogram.js';

test('every value falls in a bucket whose range holds it, within 0.8% above 256 µs', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (v) => {
      const b = bucketOf(v);
      assert.ok(b >= 0 && b < HISTOGRAM_BUCKETS);
      assert.ok(bucketLow(b) <= v, `low ${bucketLow(b)} > ${v}`);
      assert.ok(v < bucketLow(b + 1), `next low ${bucketLow(b + 1)} <= ${v}`);
      if (v >= 256) assert.ok((bucketLow(b + 1) - bucketLow(b)) / bucketLow(b) <= 1 / 128);
    }),
  );
});

test('buckets are contiguous and increasing', () => {
  for (let i = 1; i < HISTOGRAM_BUCKETS; i++) assert.ok(bucketLow(i) > bucketLow(i - 1), `bucket ${i}`);
  assert.equal(bucketOf(-5), 0);
});

test('percentiles of a uniform 1..10000 µs sample are within 1%', () => {
  const h = new Histogram();
  for (let v = 1; v <= 10000; v++) h.record(v);
  for (const q of [0.5, 0.9, 0.99, 0.999]) {
    const got = h.quantileUs(q);
    assert.ok(Math.abs(got - q * 10000) / (q * 10000) < 0.01, `q${q}: ${got}`);
  }
  const s = summarize(h);
  assert.equal(s?.max, 10);
  assert.equal(s?.count, 10000);
});

test('merging two histograms equals recording everything in one', () => {
  const a = new Histogram();
  const b = new Histogram();
  const all = new Histogram();
  for (let v = 0; v < 5000; v += 7) (v % 2 ? a : b).record(v), all.record(v);
  const m = new Histogram();
  m.merge(Array.from(a.counts), a.total, a.maxUs);
  m.merge(Array.from(b.counts), b.total, b.maxUs);
  assert.deepEqual(summarize(m), summarize(all));
  assert.equal(summarize(new Histogram()), null);
});
