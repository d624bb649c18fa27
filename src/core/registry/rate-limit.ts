// Per-device publish limits: a token bucket for messages and one for payload bytes. Pure: the
// caller passes the time (epoch or monotonic milliseconds, as long as it is one clock), so tests
// drive an injected clock and the hot path reads the clock once per message.

/**
 * Tokens refill continuously at `ratePerSec` up to `burst`; the bucket starts full.
 *
 * A take larger than `burst` could never find enough tokens, so it succeeds when the bucket is
 * full and leaves it in debt (negative), repaid by the refill: one message bigger than the burst
 * is not refused forever, and the long-run rate still holds (a 10 kB message at 1 kB/s is
 * followed by 10 s of refill before the next take).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  /**
   * Token counts are fractions (refill is continuous): this slack keeps a take at the time that
   * msUntil announced from failing on a rounding error. The error scales with the largest count
   * involved, the burst or a debt, so the slack does too (a millionth of a millionth of it).
   */
  private slack: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) throw new RangeError(`token bucket rate must be a positive number, not ${ratePerSec}`);
    if (!(burst > 0) || !Number.isFinite(burst)) throw new RangeError(`token bucket burst must be a positive number, not ${burst}`);
    this.tokens = burst;
    this.last = now;
    this.slack = Math.max(1e-9, burst * 1e-12);
  }

  /** Takes `amount` (>= 0) tokens when available (see the class comment for amounts above the burst). */
  take(amount: number, now: number): boolean {
    this.refill(now);
    if (this.tokens + this.slack < Math.min(amount, this.burst)) return false;
    this.tokens -= amount;
    if (this.tokens < 0) this.slack = Math.max(this.slack, -this.tokens * 1e-12);
    return true;
  }

  /** Milliseconds until `take(amount)` would succeed; 0 when it would now. */
  msUntil(amount: number, now: number): number {
    this.refill(now);
    const missing = Math.min(amount, this.burst) - this.tokens;
    return missing <= this.slack ? 0 : Math.ceil((missing * 1000) / this.ratePerSec);
  }

  private refill(now: number): void {
    // A clock that steps back refills nothing and keeps the later reading, so it cannot mint tokens.
    if (now <= this.last) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
    this.last = now;
  }
}

export interface PublishLimits {
  /** Messages per second; 0 is unlimited. */
  messagesPerSecond: number;
  /** Payload bytes per second; 0 is unlimited. */
  bytesPerSecond: number;
  /** How many seconds of the rates a device may send at once after being quiet. */
  burstSeconds: number;
  /** Violations in a row that end the connection; 0 never disconnects. */
  maxViolations: number;
}

export type QuotaVerdict = 'ok' | 'exceeded' | 'disconnect';

/** A violation streak ends after this long without one, once a message passes. */
const COMPLIANCE_MS = 1000;

/**
 * One device connection's publish quota.
 *
 * check() takes from both buckets only when both have enough, so a refused message costs the
 * device nothing. Each refusal is a violation. The violation counter goes back to 0 when a check
 * succeeds at least COMPLIANCE_MS after the last violation, so a device that keeps hitting the
 * limit, passing only the odd message in between, keeps counting; the check that brings the
 * count to `maxViolations` answers 'disconnect' (and so does any later one until the count is
 * reset), the ones before it 'exceeded'.
 */
export class PublishQuota {
  private readonly messages: TokenBucket | undefined;
  private readonly bytes: TokenBucket | undefined;
  private readonly maxViolations: number;
  private count = 0;
  private lastViolation = 0;

  constructor(limits: PublishLimits, now: number) {
    for (const key of ['messagesPerSecond', 'bytesPerSecond', 'burstSeconds', 'maxViolations'] as const) {
      const v = limits[key];
      if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`publish limit ${key} must be a number >= 0, not ${v}`);
    }
    const { messagesPerSecond: mps, bytesPerSecond: bps, burstSeconds } = limits;
    // A burst below one message (or one byte) would refuse everything; a message larger than the
    // byte burst gets through when the bucket is full (TokenBucket).
    this.messages = mps > 0 ? new TokenBucket(mps, Math.max(1, mps * burstSeconds), now) : undefined;
    this.bytes = bps > 0 ? new TokenBucket(bps, Math.max(1, bps * burstSeconds), now) : undefined;
    this.maxViolations = limits.maxViolations;
  }

  /** Violations in the current streak. */
  get violations(): number {
    return this.count;
  }

  check(payloadBytes: number, now: number): QuotaVerdict {
    if (this.pauseMs(payloadBytes, now) === 0) {
      this.messages?.take(1, now);
      this.bytes?.take(payloadBytes, now);
      if (this.count > 0 && now - this.lastViolation >= COMPLIANCE_MS) this.count = 0;
      return 'ok';
    }
    this.count++;
    this.lastViolation = now;
    return this.maxViolations > 0 && this.count >= this.maxViolations ? 'disconnect' : 'exceeded';
  }

  /**
   * Milliseconds until a message of `payloadBytes` would pass; 0 now. A channel can pause reading
   * that long instead of refusing (backpressure rather than PUBACK 0x96).
   */
  pauseMs(payloadBytes: number, now: number): number {
    const m = this.messages?.msUntil(1, now) ?? 0;
    const b = this.bytes?.msUntil(payloadBytes, now) ?? 0;
    return Math.max(m, b);
  }
}
