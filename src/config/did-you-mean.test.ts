import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest, editDistance } from './did-you-mean.js';

test('edit distance counts insertions, deletions, substitutions and neighbour swaps as one', () => {
  assert.equal(editDistance('', ''), 0);
  assert.equal(editDistance('abc', 'abc'), 0);
  assert.equal(editDistance('abc', 'abd'), 1);
  assert.equal(editDistance('abc', 'ab'), 1);
  assert.equal(editDistance('tsl', 'tls'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('closest ignores case, "_" and "-", and gives nothing when no candidate is close', () => {
  const keys = ['limits.maxKeepAlive', 'limits.maxInflight', 'tls', 'ws'];
  assert.equal(closest('limits.max_keep_alive', keys), 'limits.maxKeepAlive');
  assert.equal(closest('tsl', keys), 'tls');
  assert.equal(closest('completely-different', keys), undefined);
});
