import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PublishQuota, TokenBucket, type PublishLimits } from './rate-limit.js';

const T0 = 1_700_000_000_000; // an injected clock: every test passes the time explicitly

// --- TokenBucket

test('TokenBucket starts full and refuses once the burst is spent', () => {
  const b = new TokenBucket(10, 5, T0);
  for (let i = 0; i < 5; i++) assert.equal(b.take(1, T0), true);
  assert.equal(b.take(1, T0), false);
  assert.equal(b.msUntil(1, T0), 100);
});

test('TokenBucket refills continuously, not in steps, and never above the burst', () => {
  const b = new TokenBucket(10, 5, T0);
  assert.equal(b.take(5, T0), true);
  assert.equal(b.take(1, T0 + 99), false);
  assert.equal(b.take(1, T0 + 100), true); // 1 token after 100 ms at 10/s
  assert.equal(b.take(0.5, T0 + 150), true); // half a token after 50 ms more
  assert.equal(b.take(5, T0 + 60_000), true); // a long pause refills to the burst only
  assert.equal(b.take(1, T0 + 60_000), false);
});

test('TokenBucket: a take larger than the burst succeeds only when full, then leaves a debt', () => {
  const b = new TokenBucket(1000, 1000, T0);
  assert.equal(b.take(1, T0), true);
  assert.equal(b.take(5000, T0), false); // not full
  assert.equal(b.msUntil(5000, T0), 1); // full again in 1 ms: what msUntil waits for
  assert.equal(b.take(5000, T0 + 1), true);
  // The debt of 4000 is repaid before the next take of 1: 4001 ms at 1000/s.
  assert.equal(b.msUntil(1, T0 + 1), 4001);
  assert.equal(b.take(1, T0 + 4001), false);
  assert.equal(b.take(1, T0 + 4002), true);
});

test('TokenBucket: a clock that steps back mints no tokens', () => {
  const b = new TokenBucket(10, 1, T0);
  assert.equal(b.take(1, T0), true);
  assert.equal(b.take(1, T0 - 10_000), false);
  assert.equal(b.take(1, T0 + 99), false);
  assert.equal(b.take(1, T0 + 100), true);
});

test('TokenBucket refuses rates and bursts that are not positive finite numbers', () => {
  for (const [rate, burst] of [[0, 1], [-1, 1], [NaN, 1], [Infinity, 1], [1, 0], [1, NaN]] as const) {
    assert.throws(() => new TokenBucket(rate, burst, T0), RangeError, `${rate}, ${burst}`);
  }
});

test('TokenBucket: a take succeeds exactly when msUntil says, at any scale (property)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.001, max: 1e9, noNaN: true }),
      fc.double({ min: 0.001, max: 1e9, noNaN: true }),
      fc.array(fc.tuple(fc.double({ min: 0, max: 2e9, noNaN: true }), fc.nat(5000)), { maxLength: 20 }),
      (rate, burst, steps) => {
        const b = new TokenBucket(rate, burst, T0);
        let now = T0;
        for (const [amount, dt] of steps) {
          now += dt;
          const wait = b.msUntil(amount, now);
          if (wait > 0) {
            assert.equal(b.take(amount, now), false);
            now += wait;
          }
          assert.equal(b.msUntil(amount, now), 0);
          assert.equal(b.take(amount, now), true);
        }
      },
    ),
  );
});

// --- PublishQuota

const limits = (l: Partial<PublishLimits>): PublishLimits => ({ messagesPerSecond: 0, bytesPerSecond: 0, burstSeconds: 1, maxViolations: 0, ...l });

test('PublishQuota: 0 is unlimited for either rate', () => {
  const q = new PublishQuota(limits({}), T0);
  for (let i = 0; i < 10_000; i++) assert.equal(q.check(1_000_000, T0), 'ok');
  const onlyBytes = new PublishQuota(limits({ bytesPerSecond: 100 }), T0);
  for (let i = 0; i < 100; i++) assert.equal(onlyBytes.check(0, T0), 'ok'); // no message limit
  assert.equal(onlyBytes.check(60, T0), 'ok');
  assert.equal(onlyBytes.check(60, T0), 'exceeded');
});

test('PublishQuota: burst is rate × burstSeconds, at least one message', () => {
  const q = new PublishQuota(limits({ messagesPerSecond: 10, burstSeconds: 2 }), T0);
  for (let i = 0; i < 20; i++) assert.equal(q.check(10, T0), 'ok');
  assert.equal(q.check(10, T0), 'exceeded');
  assert.equal(q.pauseMs(10, T0), 100);
  assert.equal(q.check(10, T0 + 100), 'ok');

  const slow = new PublishQuota(limits({ messagesPerSecond: 0.1, burstSeconds: 1 }), T0);
  assert.equal(slow.check(1, T0), 'ok'); // a burst of 0.1 message would refuse everything
  assert.equal(slow.check(1, T0), 'exceeded');
  assert.equal(slow.pauseMs(1, T0), 10_000);
});

test('PublishQuota: a message larger than the byte burst passes when the bucket is full', () => {
  const q = new PublishQuota(limits({ bytesPerSecond: 100, burstSeconds: 1 }), T0);
  assert.equal(q.check(1000, T0), 'ok');
  // A debt of 900 bytes, 100 of it repaid a second later: 801 bytes to go at 100 B/s.
  assert.equal(q.check(1, T0 + 1000), 'exceeded');
  assert.equal(q.pauseMs(1, T0 + 1000), 8010);
});

test('PublishQuota: exceeded takes nothing from either bucket', () => {
  const q = new PublishQuota(limits({ messagesPerSecond: 2, bytesPerSecond: 100, burstSeconds: 1 }), T0);
  assert.equal(q.check(60, T0), 'ok');
  assert.equal(q.check(60, T0), 'exceeded'); // bytes short; the message token stays
  assert.equal(q.check(40, T0), 'ok'); // ... so this one still has a message token and 40 bytes
  assert.equal(q.check(0, T0), 'exceeded'); // messages short now; no bytes taken either
  assert.equal(q.pauseMs(0, T0), 500);
  assert.equal(q.pauseMs(50, T0), 500);
  assert.equal(q.pauseMs(60, T0), 600);
});

test('PublishQuota: the maxViolations-th violation in a row disconnects', () => {
  const q = new PublishQuota(limits({ messagesPerSecond: 1, maxViolations: 3 }), T0);
  assert.equal(q.check(1, T0), 'ok');
  assert.equal(q.check(1, T0 + 1), 'exceeded');
  assert.equal(q.check(1, T0 + 2), 'exceeded');
  assert.equal(q.violations, 2);
  assert.equal(q.check(1, T0 + 3), 'disconnect');
  assert.equal(q.check(1, T0 + 4), 'disconnect'); // still over until the streak is reset
  assert.equal(q.violations, 4);
});

test('PublishQuota: a pass within 1000 ms of the last violation does not end the streak', () => {
  const q = new PublishQuota(limits({ messagesPerSecond: 1, maxViolations: 3 }), T0);
  q.check(1, T0);
  assert.equal(q.check(1, T0 + 500), 'exceeded');
  assert.equal(q.check(1, T0 + 1000), 'ok'); // 500 ms after the violation
  assert.equal(q.violations, 1);
  assert.equal(q.check(1, T0 + 1200), 'exceeded');
  assert.equal(q.check(1, T0 + 2000), 'ok'); // 800 ms after: the streak goes on
  assert.equal(q.check(1, T0 + 2100), 'disconnect');
});

test('PublishQuota: a pass 1000 ms or more after the last violation resets the count', () => {
  const q = new PublishQuota(limits({ messagesPerSecond: 1, maxViolations: 2 }), T0);
  q.check(1, T0);
  assert.equal(q.check(1, T0 + 10), 'exceeded');
  assert.equal(q.violations, 1);
  assert.equal(q.check(1, T0 + 1010), 'ok'); // exactly 1000 ms of compliance
  assert.equal(q.violations, 0);
  assert.equal(q.check(1, T0 + 1020), 'exceeded'); // a new streak starts at 1
  assert.equal(q.violations, 1);
  // Time alone does not reset it: a check must pass.
  assert.equal(q.check(1, T0 + 1021), 'disconnect');
});

test('PublishQuota: maxViolations 0 never disconnects', () => {
  const q = new PublishQuota(limits({ messagesPerSecond: 1 }), T0);
  q.check(1, T0);
  for (let i = 1; i <= 100; i++) assert.equal(q.check(1, T0 + i), 'exceeded');
  assert.equal(q.violations, 100);
});

test('PublishQuota refuses negative, NaN and infinite limits', () => {
  for (const l of [{ messagesPerSecond: -1 }, { bytesPerSecond: NaN }, { burstSeconds: Infinity }, { maxViolations: -2 }]) {
    assert.throws(() => new PublishQuota(limits(l), T0), /must be a number >= 0/, JSON.stringify(l));
  }
});
