import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTopicLevel, parseShadowRequestTopic, shadowTopicPrefix } from './twin-topics.js';

test('classic and named request topics parse to thing, shadow, op and ShadowTopicPrefix (Device Shadow MQTT topics)', () => {
  assert.deepEqual(parseShadowRequestTopic('$aws/things/lamp-1/shadow/update'), { thing: 'lamp-1', shadow: '', op: 'update', prefix: '$aws/things/lamp-1/shadow' });
  assert.deepEqual(parseShadowRequestTopic('$aws/things/lamp-1/shadow/name/cfg/get'), { thing: 'lamp-1', shadow: 'cfg', op: 'get', prefix: '$aws/things/lamp-1/shadow/name/cfg' });
  assert.deepEqual(parseShadowRequestTopic('$aws/things/name/shadow/delete')?.thing, 'name');
  assert.equal(shadowTopicPrefix('t', ''), '$aws/things/t/shadow');
  assert.equal(shadowTopicPrefix('t', 'n'), '$aws/things/t/shadow/name/n');
});

test('response topics and other topics are not requests (the service ignores its own publications)', () => {
  for (const t of [
    '$aws/things/t/shadow/update/accepted',
    '$aws/things/t/shadow/update/rejected',
    '$aws/things/t/shadow/update/delta',
    '$aws/things/t/shadow/update/documents',
    '$aws/things/t/shadow/name/n/get/accepted',
    '$aws/things/t/shadow/name/get',
    '$aws/things/t/shadow/list',
    '$aws/things/t/jobs/get',
    'devices/t/shadow/update',
    '$aws/things/t/shadow',
  ]) {
    assert.equal(parseShadowRequestTopic(t), null, t);
  }
});

test('isTopicLevel: no separators, wildcards, NUL or empty names in a topic level', () => {
  assert.equal(isTopicLevel('dev-1:a_b'), true);
  for (const bad of ['', 'a/b', 'a+', '#', 'a\u0000']) assert.equal(isTopicLevel(bad), false);
});
