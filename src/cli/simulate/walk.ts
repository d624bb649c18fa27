// Realistic sensor values for simulated devices. A `walk` metric is the sum of three parts:
//   - a bounded random walk (Gaussian steps, reflected at min/max, pulled gently toward its start
//     so it wanders like a real reading instead of drifting to a bound and sticking there),
//   - a daily sinusoid (amplitude `daily`, highest at `peakHour` UTC, from the message timestamp,
//     so a skewed device clock shifts its daily curve too),
//   - white noise (`noise`, a standard deviation),
// clamped to [min, max] and rounded to `decimals`. A `counter` grows at `rate` per second with a
// little jitter (energy meters, packet counters); a `choice` switches between listed values now
// and then (modes, states); a constant is sent as is.
import { gaussian } from './random.js';

export interface WalkSpec {
  kind: 'walk';
  min: number;
  max: number;
  /** Where the walk starts; default the middle of [min, max]. */
  start?: number;
  /** Standard deviation of one step of the walk. */
  step: number;
  /** Fraction (0..1) of the distance to `start` recovered per sample. */
  revert: number;
  /** Amplitude of the daily sinusoid. */
  daily: number;
  /** Hour of day (UTC, 0..24) of the sinusoid's maximum. */
  peakHour: number;
  /** Standard deviation of the white noise added to each sample. */
  noise: number;
  decimals: number;
}

export interface CounterSpec {
  kind: 'counter';
  start: number;
  /** Mean increase per second; each sample's increase varies by ±`jitter` of it. */
  rate: number;
  jitter: number;
  decimals: number;
}

export interface ChoiceSpec {
  kind: 'choice';
  values: (string | number | boolean)[];
  /** Probability that a sample switches to another value. */
  change: number;
}

export interface ConstantSpec {
  kind: 'constant';
  value: string | number | boolean;
}

export type MetricSpec = WalkSpec | CounterSpec | ChoiceSpec | ConstantSpec;
export type MetricValue = number | string | boolean;

const DAY_MS = 86_400_000;

function roundTo(x: number, decimals: number): number {
  const p = 10 ** decimals;
  return Math.round(x * p) / p;
}

/** The daily component at epoch time `tsMs`: amplitude × cos(2π (hour − peakHour) / 24). */
export function dailyComponent(tsMs: number, amplitude: number, peakHour: number): number {
  if (amplitude === 0) return 0;
  const hours = (((tsMs % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000;
  return amplitude * Math.cos((2 * Math.PI * (hours - peakHour)) / 24);
}

/** Reflects `x` into [min, max] (a walk bouncing off its bounds), then clamps for huge steps. */
export function reflect(x: number, min: number, max: number): number {
  if (x > max) x = 2 * max - x;
  if (x < min) x = 2 * min - x;
  return Math.min(max, Math.max(min, x));
}

/** One metric of one device: call next() for each sample, in time order. */
export class ValueWalk {
  private x: number;
  private lastTs = NaN;
  private current: MetricValue;

  constructor(
    readonly spec: MetricSpec,
    private readonly rand: () => number,
  ) {
    switch (spec.kind) {
      case 'walk':
        this.x = spec.start ?? (spec.min + spec.max) / 2;
        this.current = this.x;
        break;
      case 'counter':
        this.x = spec.start;
        this.current = spec.start;
        break;
      case 'choice':
        this.x = 0;
        this.current = spec.values[Math.floor(rand() * spec.values.length)] ?? '';
        break;
      default:
        this.x = 0;
        this.current = spec.value;
    }
  }

  /** The value at epoch time `tsMs`. */
  next(tsMs: number): MetricValue {
    const s = this.spec;
    const dtS = Number.isNaN(this.lastTs) ? 0 : Math.max(0, (tsMs - this.lastTs) / 1000);
    this.lastTs = tsMs;
    switch (s.kind) {
      case 'walk': {
        const start = s.start ?? (s.min + s.max) / 2;
        this.x += s.revert * (start - this.x) + s.step * gaussian(this.rand);
        this.x = reflect(this.x, s.min, s.max);
        const v = this.x + dailyComponent(tsMs, s.daily, s.peakHour) + (s.noise > 0 ? s.noise * gaussian(this.rand) : 0);
        // Clamped after rounding too: rounding a value at a bound may step outside it.
        this.current = Math.min(s.max, Math.max(s.min, roundTo(Math.min(s.max, Math.max(s.min, v)), s.decimals)));
        return this.current;
      }
      case 'counter': {
        const factor = 1 + s.jitter * (2 * this.rand() - 1);
        this.x += Math.max(0, s.rate * dtS * factor);
        this.current = roundTo(this.x, s.decimals);
        return this.current;
      }
      case 'choice': {
        if (s.values.length > 1 && this.rand() < s.change) {
          let v = this.current;
          while (v === this.current) v = s.values[Math.floor(this.rand() * s.values.length)]!;
          this.current = v;
        }
        return this.current;
      }
      default:
        return this.current;
    }
  }
}
