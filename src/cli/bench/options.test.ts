import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUrl, resolveOptions } from './options.js';

test('scenario defaults: fanin 10 publishers, fanout 10 subscribers, latency 2000 msg/s', () => {
  const fanin = resolveOptions('fanin', {});
  assert.equal(fanin.publishers, 10);
  assert.equal(fanin.subscribers, 1);
  assert.equal(resolveOptions('fanout', {}).subscribers, 10);
  const lat = resolveOptions('latency', {});
  assert.equal(lat.rate, 2000);
  assert.equal(lat.warmup, 1);
});

test('--url overrides host and port; --clean false gives 5.0 a session expiry (MQTT 5.0 §3.1.2.11.2)', () => {
  const o = resolveOptions('fanin', { url: 'mqtt://10.1.2.3:1999', host: 'x', clean: 'false', version: '5' });
  assert.equal(o.host, '10.1.2.3');
  assert.equal(o.port, 1999);
  assert.equal(o.clean, false);
  assert.equal(o.sessionExpiry, 3600);
  assert.deepEqual(parseUrl('localhost'), { host: 'localhost', port: 1883 });
});

test('bad values are refused with the option name', () => {
  assert.throws(() => resolveOptions('fanin', { qos: '3' }), /--qos/);
  assert.throws(() => resolveOptions('fanin', { version: '3' }), /--version/);
  assert.throws(() => resolveOptions('fanin', { payload: '8' }), /--payload/);
  assert.throws(() => resolveOptions('fanin', { sweep: true, rate: '5' }), /exclude/);
  assert.throws(() => resolveOptions('nope', {}), /unknown scenario/);
});
