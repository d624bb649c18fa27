import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHostPort, isLoopbackAddress, parseAddressText, parseAddressValue } from './address.js';

test('parseAddressText accepts HOST:PORT, [IPv6]:PORT, a bare port and off/none', () => {
  assert.deepEqual(parseAddressText('10.0.0.1:1883'), { ok: true, value: { host: '10.0.0.1', port: 1883 } });
  assert.deepEqual(parseAddressText('[fe80::1]:0'), { ok: true, value: { host: 'fe80::1', port: 0 } });
  assert.deepEqual(parseAddressText(' 1883 '), { ok: true, value: { host: '127.0.0.1', port: 1883 } });
  assert.deepEqual(parseAddressText('Off'), { ok: true, value: null });
  assert.deepEqual(parseAddressText('none'), { ok: true, value: null });
  assert.deepEqual(parseAddressText('broker.example.com:8883'), { ok: true, value: { host: 'broker.example.com', port: 8883 } });
});

test('parseAddressText refuses unbracketed IPv6, bad ports, empty and bad hosts', () => {
  for (const bad of ['::1:1883', '[::1]1883', 'h:65536', 'h:-1', 'h:1.5', ':1883', 'bad_host!:1', '', 'on']) {
    assert.equal(parseAddressText(bad).ok, false, bad);
  }
});

test('parseAddressValue takes {host, port}, port numbers and null from files', () => {
  assert.deepEqual(parseAddressValue({ host: '::', port: 1 }), { ok: true, value: { host: '::', port: 1 } });
  assert.deepEqual(parseAddressValue({ port: 2 }), { ok: true, value: { host: '127.0.0.1', port: 2 } });
  assert.deepEqual(parseAddressValue(1883), { ok: true, value: { host: '127.0.0.1', port: 1883 } });
  assert.deepEqual(parseAddressValue(null), { ok: true, value: null });
  assert.equal(parseAddressValue({ host: 'h' }).ok, false);
  assert.equal(parseAddressValue({ host: 'h', port: 1, x: 1 }).ok, false);
  assert.equal(parseAddressValue(1.5).ok, false);
  assert.equal(parseAddressValue([]).ok, false);
});

test('formatHostPort brackets IPv6 hosts', () => {
  assert.equal(formatHostPort({ host: '::1', port: 1 }), '[::1]:1');
  assert.equal(formatHostPort({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
});

test('loopback means 127.0.0.0/8, ::1 and IPv4-mapped loopback; wildcards are not loopback', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost']) assert.equal(isLoopbackAddress(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1']) assert.equal(isLoopbackAddress(h), false, h);
});
