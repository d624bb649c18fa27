import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe as describeValue, epochToMs, isoToMs, timestampToMs } from './timestamp.js';

test('ISO 8601 date-time with Z or an offset → epoch ms (RFC 3339 §5.6 profile)', () => {
  assert.equal(isoToMs('2024-05-01T12:00:00Z'), Date.UTC(2024, 4, 1, 12));
  assert.equal(isoToMs('2024-05-01T12:00:00.123Z'), Date.UTC(2024, 4, 1, 12, 0, 0, 123));
  assert.equal(isoToMs('2024-05-01T14:00:00+02:00'), Date.UTC(2024, 4, 1, 12));
  assert.equal(isoToMs('2024-05-01T07:30:00-0430'), Date.UTC(2024, 4, 1, 12));
  assert.equal(isoToMs('2024-05-01t12:00:00z'), Date.UTC(2024, 4, 1, 12), 'RFC 3339 §5.6 NOTE: t and z may be lower case');
  assert.equal(isoToMs('2024-05-01 12:00:00Z'), Date.UTC(2024, 4, 1, 12), 'RFC 3339 §5.6 NOTE: a space may separate');
  assert.equal(isoToMs('2024-05-01T12:00Z'), Date.UTC(2024, 4, 1, 12), 'ISO 8601 allows omitting seconds');
  assert.equal(isoToMs('2024-05-01T12:00:00,5Z'), Date.UTC(2024, 4, 1, 12, 0, 0, 500), 'ISO 8601 allows a comma as decimal sign');
  assert.equal(isoToMs('1970-01-01T00:00:00Z'), 0);
});

test('ISO 8601: fractions beyond the millisecond are truncated, not rounded', () => {
  assert.equal(isoToMs('2024-05-01T12:00:00.123999999Z'), Date.UTC(2024, 4, 1, 12, 0, 0, 123));
  assert.equal(isoToMs('2024-05-01T12:00:00.1Z'), Date.UTC(2024, 4, 1, 12, 0, 0, 100));
});

test('ISO 8601: leap days follow the Gregorian rules', () => {
  assert.equal(isoToMs('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
  assert.equal(isoToMs('2000-02-29T00:00:00Z'), Date.UTC(2000, 1, 29));
  assert.equal(typeof isoToMs('2023-02-29T00:00:00Z'), 'string');
  assert.equal(typeof isoToMs('1900-02-29T00:00:00Z'), 'string');
});

test('ISO 8601: bad strings are refused with a reason', () => {
  for (const s of [
    '',
    '2024-05-01', // no time
    '2024-05-01T12:00:00', // no zone: the instant would depend on where the device is
    '2024-13-01T00:00:00Z',
    '2024-00-01T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-05-01T24:00:00Z',
    '2024-05-01T12:60:00Z',
    '2024-05-01T12:00:60Z',
    '2024-05-01T12:00:00+24:00',
    '2024-05-01T12:00:00+02:60',
    'May 1 2024 12:00 UTC', // Date.parse would take this
    '1714564800000',
    '1969-12-31T23:59:59Z', // before 1970
    ' 2024-05-01T12:00:00Z',
    '+002024-05-01T12:00:00Z',
  ]) {
    const r = isoToMs(s);
    assert.equal(typeof r, 'string', s);
  }
});

test('ISO 8601 agrees with Date for every valid instant (property)', () => {
  fc.assert(
    fc.property(fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
      assert.equal(isoToMs(d.toISOString()), d.getTime());
    }),
  );
});

test('epoch numbers: units, rounding to the millisecond, range', () => {
  assert.equal(epochToMs(1714564800123, 'ms'), 1714564800123);
  assert.equal(epochToMs(1714564800.123, 's'), 1714564800123);
  assert.equal(epochToMs(1714564800123456, 'us'), 1714564800123);
  assert.equal(epochToMs(1714564800123456789, 'ns'), 1714564800123);
  assert.equal(epochToMs(1.5, 'ms'), 2);
  assert.equal(epochToMs(0, 'ms'), 0);
  assert.equal(typeof epochToMs(-1, 'ms'), 'string');
  assert.equal(typeof epochToMs(8.64e15 + 1, 'ms'), 'string');
  assert.equal(typeof epochToMs(NaN, 'ms'), 'string');
  assert.equal(typeof epochToMs(Infinity, 's'), 'string');
});

test('timestampToMs: numbers, strings, CBOR dates and bigints; other types refused', () => {
  assert.equal(timestampToMs(5, 'ms'), 5);
  assert.equal(timestampToMs('1970-01-01T00:00:01Z', 'ms'), 1000);
  assert.equal(timestampToMs(new Date(42), 'ms'), 42);
  assert.equal(timestampToMs(42n, 's'), 42000);
  for (const bad of [true, {}, [], new Uint8Array(1), new Date(NaN)]) {
    assert.equal(typeof timestampToMs(bad, 'ms'), 'string', String(bad));
  }
});

test('describe never throws, even on objects whose "constructor" field is not a function', () => {
  assert.equal(describeValue({ constructor: null }), 'an object');
  assert.equal(describeValue(Object.create(null)), 'an object');
  assert.equal(describeValue(new Map()), 'a Map');
  assert.equal(describeValue([]), 'an array');
  assert.equal(describeValue(null), 'null');
  assert.equal(describeValue('x'), 'a string');
});
