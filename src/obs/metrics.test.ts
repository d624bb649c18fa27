// createMetrics with stand-in sources: what is read when, and what a failing or absent source does
// to a scrape. The real hub is covered by test/integration/metrics.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TelemetryCounters, TelemetryStats } from '../core/telemetry/service.js';
import { createMetrics, type TelemetryLike } from './metrics.js';

const COUNTERS: TelemetryCounters = { messages: 4, points: 40, deadLetters: 1, lateRejected: 2, kindRejected: 0, walFailures: 0 };

function telemetry(stats: () => Promise<TelemetryStats>): TelemetryLike & { calls: number } {
  const t = {
    calls: 0,
    counters: () => COUNTERS,
    stats: () => {
      t.calls++;
      return stats();
    },
  };
  return t;
}

const STATS: TelemetryStats = { series: 3, points: 40, bytes: 55, bytesPerPoint: 1.375, diskBytes: 4096 };

describe('createMetrics', () => {
  test('values are read at scrape time, not copied at creation', async () => {
    const counts = { unauthenticated: 0, forbidden: 0, rateLimited: 0 };
    const m = createMetrics({ apiAuth: () => counts }, { defaultMetrics: false });
    assert.match(await m.metrics(), /twinhub_http_auth_failures_total\{reason="forbidden"\} 0/);
    counts.forbidden = 5;
    assert.match(await m.metrics(), /twinhub_http_auth_failures_total\{reason="forbidden"\} 5/);
  });

  test('telemetry storage statistics: one walk per scrape for all five gauges, and at most one per max age', async () => {
    const t = telemetry(async () => STATS);
    const m = createMetrics({ telemetry: () => t }, { defaultMetrics: false, telemetryStatsMaxAgeMs: 60_000 });
    const text = await m.metrics();
    assert.match(text, /twinhub_telemetry_bytes_per_point 1\.375/);
    assert.match(text, /twinhub_telemetry_series 3/);
    assert.match(text, /twinhub_telemetry_points_rejected_total\{reason="late"\} 2/);
    await m.metrics();
    assert.equal(t.calls, 1);
    const fresh = createMetrics({ telemetry: () => t }, { defaultMetrics: false, telemetryStatsMaxAgeMs: 0 });
    await fresh.metrics();
    // Scrapes are HTTP requests, so they come in different event-loop turns.
    await new Promise((r) => setImmediate(r));
    await fresh.metrics();
    assert.equal(t.calls, 3, 'with no max age: one walk per scrape, shared by the gauges');
  });

  test('a telemetry store that fails its statistics leaves those gauges out, not the scrape', async () => {
    const t = telemetry(async () => {
      throw new Error('store closed');
    });
    const m = createMetrics({ telemetry: () => t }, { defaultMetrics: false, telemetryStatsMaxAgeMs: 0 });
    const text = await m.metrics();
    assert.doesNotMatch(text, /^twinhub_telemetry_series /m);
    assert.match(text, /^twinhub_telemetry_points_total 40$/m);
  });

  test('a getter that returns undefined (part disabled or not started) gives no samples', async () => {
    const m = createMetrics({ broker: () => undefined, registry: () => undefined, twins: () => undefined, telemetry: () => undefined }, { defaultMetrics: false });
    const samples = (await m.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(samples, ['twinhub_build_info{version="unknown"} 1']);
  });

  test('label values are escaped as the text format requires (backslash, double quote, line feed)', async () => {
    const m = createMetrics({}, { defaultMetrics: false });
    m.addCollector({ name: 'twinhub_rule_errors_total', help: 'x', type: 'counter', read: () => [{ labels: { rule: 'a"b\\c\nd' }, value: 1 }] });
    assert.match(await m.metrics(), /twinhub_rule_errors_total\{rule="a\\"b\\\\c\\nd"\} 1/);
  });
});
