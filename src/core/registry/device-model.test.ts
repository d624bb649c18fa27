import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TwinhubError } from '../../common/errors.js';
import { deviceIdProblem, newDevice, patchDevice } from './device-model.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TwinhubError);
    return `${err.code}: ${err.message}`;
  }
  return 'no error';
};

test('device ids are AWS IoT thing names: [a-zA-Z0-9:_-]{1,128} (so $aws/things/{id}/shadow/… always works)', () => {
  for (const ok of ['a', 'dev-1', 'A:B_c-9', 'x'.repeat(128)]) assert.equal(deviceIdProblem(ok), null, ok);
  for (const bad of ['', 'x'.repeat(129), 'a/b', 'a+b', 'a#', 'a b', 'é', 'a.b', '$SYS', 'a\u0000b']) assert.notEqual(deviceIdProblem(bad), null, bad);
  assert.notEqual(deviceIdProblem(42), null);
});

test('newDevice fills defaults and refuses unknown fields, bad tags, bad ACL rules and bad limits naming the field', () => {
  const d = newDevice({ id: 'd1', type: 'meter', tags: { site: 'x' } }, 1000);
  assert.deepEqual(d, { id: 'd1', type: 'meter', tags: { site: 'x' }, enabled: true, createdAt: 1000, updatedAt: 1000 });
  assert.match(code(() => newDevice({ id: 'd1', colour: 'red' }, 0)), /^TH_DEVICE_INVALID: colour: unknown field/);
  assert.match(code(() => newDevice({ id: 'd 1' }, 0)), /^TH_DEVICE_ID_INVALID/);
  assert.match(code(() => newDevice({ id: 'd1', tags: { k: 1 } }, 0)), /^TH_DEVICE_INVALID: tags\.k/);
  assert.match(code(() => newDevice({ id: 'd1', tags: [] }, 0)), /^TH_DEVICE_INVALID: tags/);
  assert.match(code(() => newDevice({ id: 'd1', tags: { 'a:b': 'v' } }, 0)), /^TH_DEVICE_INVALID: tags\.a:b/, 'no ":" in tag keys (filters use KEY:VALUE)');
  assert.match(code(() => newDevice({ id: 'd1', type: 'a/b' }, 0)), /^TH_DEVICE_INVALID: type/);
  assert.match(code(() => newDevice({ id: 'd1', enabled: 'yes' }, 0)), /^TH_DEVICE_INVALID: enabled/);
  assert.match(code(() => newDevice({ id: 'd1', acl: [{ filter: '#/a', action: 'all', allow: true }] }, 0)), /^TH_ACL_RULE_INVALID: acl\[0\]/);
  assert.match(code(() => newDevice({ id: 'd1', acl: [{ filter: 'a', action: 'all', allow: true, extra: 1 }] }, 0)), /^TH_ACL_RULE_INVALID: acl\[0\]: unknown field "extra"/);
  assert.match(code(() => newDevice({ id: 'd1', limits: { messagesPerSecond: 1.5 } }, 0)), /^TH_DEVICE_INVALID: limits\.messagesPerSecond/);
  assert.match(code(() => newDevice({ id: 'd1', limits: { burst: 1 } }, 0)), /^TH_DEVICE_INVALID: limits\.burst/);
  assert.match(code(() => newDevice([], 0)), /^TH_DEVICE_INVALID/);
  assert.match(code(() => newDevice({ id: 'd1', tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 0)), /at most 50 tags/);
});

test('patchDevice is a merge patch (RFC 7396): absent fields stay, null clears, the id cannot change, the input is not mutated', () => {
  const d = newDevice({ id: 'd1', name: 'A', group: 'g', tags: { a: '1' }, limits: { messagesPerSecond: 5 } }, 1000);
  const p = patchDevice(d, { name: null, tags: { b: '2' }, limits: null }, 2000);
  assert.deepEqual(p, { id: 'd1', group: 'g', tags: { a: '1', b: '2' }, enabled: true, createdAt: 1000, updatedAt: 2000 }, 'tags merge member by member');
  assert.deepEqual(patchDevice(p, { tags: { a: null } }, 3).tags, { b: '2' }, 'a null member removes that tag');
  assert.deepEqual(patchDevice(p, { tags: null }, 3).tags, {}, 'null removes every tag');
  assert.equal(d.name, 'A', 'the stored record is not mutated');
  assert.match(code(() => patchDevice(d, { id: 'd2' }, 0)), /^TH_DEVICE_INVALID: id: a device id cannot be changed/);
  assert.equal(patchDevice(d, { id: 'd1' }, 3).id, 'd1');
});
