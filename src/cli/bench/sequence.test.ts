import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEQ_DUPLICATE, SEQ_LATE, SEQ_NEW, SEQ_OUT_OF_ORDER, SequenceTracker } from './sequence.js';

test('in-order messages are new; a repeat is a duplicate; a gap filled later is out of order', () => {
  const t = new SequenceTracker(2);
  assert.equal(t.record(1, 0, 0), SEQ_NEW);
  assert.equal(t.record(1, 0, 1), SEQ_NEW);
  assert.equal(t.record(1, 0, 1), SEQ_DUPLICATE);
  assert.equal(t.record(1, 0, 3), SEQ_NEW);
  assert.equal(t.record(1, 0, 2), SEQ_OUT_OF_ORDER);
  assert.equal(t.record(1, 0, 2), SEQ_DUPLICATE);
  // Publishers are tracked apart.
  assert.equal(t.record(1, 1, 1), SEQ_NEW);
});

test('a new step starts a fresh sequence; messages of an older step are late', () => {
  const t = new SequenceTracker(1);
  for (let i = 0; i < 100; i++) assert.equal(t.record(1, 0, i), SEQ_NEW);
  assert.equal(t.record(2, 0, 5), SEQ_NEW);
  assert.equal(t.record(2, 0, 0), SEQ_OUT_OF_ORDER);
  assert.equal(t.record(1, 0, 100), SEQ_LATE);
  assert.equal(t.record(2, 0, 5), SEQ_DUPLICATE);
});

test('the bitmap grows for long steps and unknown publishers are never new', () => {
  const t = new SequenceTracker(1);
  for (let i = 0; i < 100000; i += 3) assert.equal(t.record(0, 0, i), SEQ_NEW);
  assert.equal(t.record(0, 0, 99999), SEQ_DUPLICATE);
  assert.equal(t.record(0, 0, 99998), SEQ_OUT_OF_ORDER);
  assert.equal(t.record(0, 5, 0), SEQ_LATE);
});
