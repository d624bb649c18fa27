// The options of `twinhub telemetry query|export` turned into the query of
// GET /api/v1/telemetry/query: relative times, tags, and usage errors before any request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queryParams, resolveTime } from './telemetry-command.js';

const NOW = 1_700_000_000_000;

test('times: epoch ms and ISO pass through; now, -1h and now-30m become epoch ms', () => {
  assert.equal(resolveTime('1699999999000', '--from', NOW), '1699999999000');
  assert.equal(resolveTime('2026-01-02T03:04:05Z', '--from', NOW), '2026-01-02T03:04:05Z');
  assert.equal(resolveTime('now', '--to', NOW), String(NOW));
  assert.equal(resolveTime('-1h', '--from', NOW), String(NOW - 3_600_000));
  assert.equal(resolveTime('now-30m', '--from', NOW), String(NOW - 1_800_000));
  assert.equal(resolveTime('-1.5s', '--from', NOW), String(NOW - 1500));
  for (const bad of ['', 'yesterday', '-1x', 'now+1h', '1h']) assert.throws(() => resolveTime(bad, '--from', NOW), /--from: expected/, bad);
});

test('query parameters: repeated devices and metrics, tags as key:value, agg needs step', () => {
  assert.deepEqual(queryParams({ device: ['a', 'b'], metric: ['temp'], tag: ['site=paris'], from: '-1h', step: '60s', agg: 'p90' }, NOW), {
    device: ['a', 'b'],
    metric: ['temp'],
    type: undefined,
    group: undefined,
    tag: ['site:paris'],
    from: String(NOW - 3_600_000),
    to: undefined,
    step: '60s',
    agg: 'p90',
  });
  assert.throws(() => queryParams({ agg: 'avg' }), /--agg needs --step/);
  assert.throws(() => queryParams({ step: '1m', agg: 'mean' }), /--agg: expected one of/);
  assert.throws(() => queryParams({ tag: ['novalue'] }), /--tag: expected KEY=VALUE/);
  assert.throws(() => queryParams({ csv: true, json: true }), /choose one/);
});
