import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from 'cbor-x';
import { DecodeFailure, decodeCborItem, decodeJson } from './decode.js';

test('JSON: one parse; a leading byte order mark is ignored (RFC 8259 §8.1)', () => {
  assert.deepEqual(decodeJson(Buffer.from('{"a":1}')), { a: 1 });
  assert.deepEqual(decodeJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')])), { a: 1 });
});

test('JSON: text that is not JSON, and bytes that are not UTF-8 (RFC 8259 §8.1), are failures with a reason', () => {
  for (const b of [Buffer.from(''), Buffer.from('{'), Buffer.from("{'a':1}"), Buffer.from('{"a":1} x'), Buffer.from([0x7b, 0xff, 0x7d])]) {
    const r = decodeJson(b);
    assert.ok(r instanceof DecodeFailure, b.toString('hex'));
  }
  assert.match((decodeJson(Buffer.from([0x22, 0xc3, 0x22])) as DecodeFailure).reason, /not valid UTF-8/);
});

test('CBOR: one item; integer map keys become strings; trailing bytes and empty payloads fail', () => {
  assert.deepEqual(decodeCborItem(Buffer.from('a22161610203', 'hex')), { '-2': 'a', '2': 3 });
  assert.deepEqual(decodeCborItem(encode({ temp: 21.5 })), { temp: 21.5 });
  for (const hex of ['', '0102', 'ff', 'ffff', '1b', 'a1', '9bffffffffffffffff', '7b0000000100000000']) {
    assert.ok(decodeCborItem(Buffer.from(hex, 'hex')) instanceof DecodeFailure, hex);
  }
});

test('CBOR: a map key "__proto__" cannot replace the prototype', () => {
  const v = decodeCborItem(Buffer.from('a1695f5f70726f746f5f5fa1617801', 'hex')) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('CBOR: a break code outside an indefinite-length item is not well-formed (RFC 8949 §3.2.1)', () => {
  const r = decodeCborItem(Buffer.from('ff', 'hex'));
  assert.ok(r instanceof DecodeFailure);
  assert.match(r.reason, /break code/);
});
