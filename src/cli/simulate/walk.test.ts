import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mulberry32 } from './random.js';
import { ValueWalk, dailyComponent, reflect, type WalkSpec } from './walk.js';

const base: WalkSpec = { kind: 'walk', min: 0, max: 100, start: 50, step: 1, revert: 0.02, daily: 0, peakHour: 15, noise: 0, decimals: 2 };
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1); // midnight UTC

function samples(w: ValueWalk, n: number, everyMs = 1000, t0 = T0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(w.next(t0 + i * everyMs) as number);
  return out;
}

describe('value walks', () => {
  it('reflect() mirrors a value that crossed a bound back inside, and clamps a huge overshoot', () => {
    assert.equal(reflect(105, 0, 100), 95);
    assert.equal(reflect(-3, 0, 100), 3);
    assert.equal(reflect(50, 0, 100), 50);
    assert.equal(reflect(1000, 0, 100), 100); // mirrored twice to 800, then clamped
  });

  it('a bounded walk never leaves [min, max], whatever its step, noise and daily swing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        fc.double({ min: 0.001, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 200, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: -300, max: 300, noNaN: true }),
        (seed, min, span, step, noise, daily) => {
          const spec: WalkSpec = { ...base, min, max: min + span, start: undefined, step, noise, daily, decimals: 15 };
          const w = new ValueWalk(spec, mulberry32(seed));
          for (const v of samples(w, 300, 600_000)) {
            assert.ok(v >= spec.min && v <= spec.max, `${v} outside [${spec.min}, ${spec.max}]`);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic for one seed and differs between seeds (--seed repeats a run)', () => {
    const a = samples(new ValueWalk(base, mulberry32(7)), 50);
    const b = samples(new ValueWalk(base, mulberry32(7)), 50);
    const c = samples(new ValueWalk(base, mulberry32(8)), 50);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('moves in small steps like a sensor, not jumps like uniform noise', () => {
    const v = samples(new ValueWalk({ ...base, step: 0.2 }, mulberry32(1)), 2000);
    let maxJump = 0;
    for (let i = 1; i < v.length; i++) maxJump = Math.max(maxJump, Math.abs(v[i]! - v[i - 1]!));
    assert.ok(maxJump < 2, `largest step ${maxJump}`); // 10 standard deviations
    assert.ok(new Set(v).size > 100, 'and it does move');
  });

  it('mean reversion keeps the walk around its start instead of stuck at a bound', () => {
    const v = samples(new ValueWalk({ ...base, step: 3, revert: 0.05 }, mulberry32(3)), 20_000);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    assert.ok(Math.abs(mean - 50) < 5, `mean ${mean}`);
  });

  it('the daily sinusoid peaks at peakHour UTC and bottoms twelve hours later', () => {
    assert.ok(Math.abs(dailyComponent(T0 + 15 * HOUR, 4, 15) - 4) < 1e-9);
    assert.ok(Math.abs(dailyComponent(T0 + 3 * HOUR, 4, 15) + 4) < 1e-9);
    assert.ok(Math.abs(dailyComponent(T0 + 9 * HOUR, 4, 15)) < 1e-9);
    assert.equal(dailyComponent(T0, 0, 15), 0);
    // Timestamps before 1970 still land on the right hour of the day.
    assert.ok(Math.abs(dailyComponent(-9 * HOUR, 4, 15) - 4) < 1e-9);
  });

  it('a walk with only a daily swing follows the timestamps it is given (a skewed clock shifts it)', () => {
    const spec: WalkSpec = { ...base, step: 0, revert: 0, daily: 10, peakHour: 12 };
    const w = new ValueWalk(spec, mulberry32(1));
    assert.equal(w.next(T0 + 12 * HOUR), 60);
    assert.equal(w.next(T0 + 24 * HOUR), 40);
    assert.equal(w.next(T0 + 18 * HOUR), 50);
  });

  it('rounds to the configured decimals', () => {
    for (const v of samples(new ValueWalk({ ...base, decimals: 1, noise: 0.37 }, mulberry32(5)), 200)) {
      assert.equal(Math.round(v * 10) / 10, v);
    }
    for (const v of samples(new ValueWalk({ ...base, decimals: 0, noise: 0.37 }, mulberry32(5)), 200)) assert.ok(Number.isInteger(v));
  });

  it('a counter never decreases and grows at about its rate per second', () => {
    const w = new ValueWalk({ kind: 'counter', start: 100, rate: 2, jitter: 0.2, decimals: 3 }, mulberry32(9));
    const v = samples(w, 601, 1000);
    assert.equal(v[0], 100);
    for (let i = 1; i < v.length; i++) assert.ok(v[i]! >= v[i - 1]!);
    const perSecond = (v[600]! - v[0]!) / 600;
    assert.ok(Math.abs(perSecond - 2) < 0.1, `rate ${perSecond}`);
  });

  it('a choice sends only its listed values and switches about as often as `change` says', () => {
    const w = new ValueWalk({ kind: 'choice', values: ['a', 'b', 'c'], change: 0.1 }, mulberry32(11));
    let prev = w.next(T0);
    let switches = 0;
    for (let i = 1; i < 5000; i++) {
      const v = w.next(T0 + i);
      assert.ok(['a', 'b', 'c'].includes(v as string));
      if (v !== prev) switches++;
      prev = v;
    }
    assert.ok(switches > 350 && switches < 650, `${switches} switches in 5000 samples at 0.1`);
    const one = new ValueWalk({ kind: 'choice', values: [true], change: 1 }, mulberry32(1));
    assert.equal(one.next(T0), true); // a single value cannot switch (and must not loop)
  });

  it('a constant is sent as is', () => {
    assert.equal(new ValueWalk({ kind: 'constant', value: '1.4.2' }, mulberry32(1)).next(T0), '1.4.2');
  });
});
