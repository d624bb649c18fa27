import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readNumber } from './number.js';
import type { Sink } from '../types.js';

const NOW = 1_700_000_000_000;

function read(text: string | Buffer, metric = 'value'): Sink {
  const s: Sink = { device: 'd1', topic: 't', receivedAt: NOW, ignoreStrings: false, points: [], deadLetters: [] };
  readNumber(typeof text === 'string' ? Buffer.from(text) : text, metric, s);
  return s;
}

test('numbers in JSON number syntax (RFC 8259 §6), with surrounding whitespace', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['-0', -0],
    ['21.5', 21.5],
    ['-3', -3],
    ['1e3', 1000],
    ['1.5E-2', 0.015],
    [' 42\n', 42],
    ['\t7\r\n', 7],
    ['123456789012345678901234567890', 123456789012345678901234567890],
  ];
  for (const [text, value] of cases) {
    const s = read(text, 'temp');
    assert.deepEqual(s.deadLetters, [], text);
    assert.equal(s.points.length, 1);
    assert.ok(Object.is(s.points[0]!.value, value), text);
    assert.deepEqual({ ...s.points[0]!, value: 0 }, { device: 'd1', metric: 'temp', ts: NOW, value: 0 });
  }
});

test('true and false are boolean points', () => {
  assert.equal(read('true').points[0]!.value, true);
  assert.equal(read('false\n').points[0]!.value, false);
});

test('anything else is one dead letter: Number() leniencies are refused', () => {
  for (const text of ['', '   ', 'NaN', 'Infinity', '-Infinity', '0x10', '0b1', '1_000', '+5', '.5', '5.', '01', '1,5', '1 2', 'True', 'null', '"5"', '[5]', '{"v":5}', '5abc', '1e', '--1']) {
    const s = read(text);
    assert.deepEqual(s.points, [], JSON.stringify(text));
    assert.equal(s.deadLetters.length, 1);
    assert.match(s.deadLetters[0]!.reason, /not a number, true or false/);
  }
});

test('a number beyond the float64 range is refused, not stored as Infinity', () => {
  const s = read('1e999');
  assert.deepEqual(s.points, []);
  assert.match(s.deadLetters[0]!.reason, /out of the float64 range/);
});

test('invalid UTF-8 and oversized payloads are refused', () => {
  assert.equal(read(Buffer.from([0x31, 0xff])).deadLetters.length, 1);
  assert.equal(read(Buffer.from(' '.repeat(2000) + '1')).deadLetters.length, 1);
});
