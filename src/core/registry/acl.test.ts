import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AclPolicyRecord, AclRuleSpec } from '../../ports/registry-store.js';
import { compileDeviceAcl, validateAclRule, type AclSubject, type DeviceAcl } from './acl.js';

const subject: AclSubject = {
  deviceId: 'd1',
  clientId: 'c1',
  username: 'u1',
  type: 'meter',
  group: 'site-a',
  tags: { site: 'paris', empty: '' },
};

const allow = (filter: string, action: AclRuleSpec['action'] = 'all'): AclRuleSpec => ({ filter, action, allow: true });
const deny = (filter: string, action: AclRuleSpec['action'] = 'all'): AclRuleSpec => ({ filter, action, allow: false });

let nextId = 0;
function policy(rules: AclRuleSpec[], select: { type?: string; group?: string } = {}): AclPolicyRecord {
  return { id: `p${nextId++}`, rules, createdAt: 0, updatedAt: 0, ...select };
}

function acl(device: AclRuleSpec[], policies: AclPolicyRecord[] = [], defaults: AclRuleSpec[] = [], s: AclSubject = subject): DeviceAcl {
  return compileDeviceAcl(s, { device, policies, defaults });
}

// --- validateAclRule

test('validateAclRule accepts rules with every known placeholder', () => {
  for (const filter of ['devices/{deviceId}/#', 'c/{clientId}/+', 'u/{username}', 't/{type}/g/{group}', 'sites/{tag:site}/#', 'dev-{deviceId}/x', '#', '+/+', '{deviceId}']) {
    for (const action of ['publish', 'subscribe', 'all'] as const) {
      assert.equal(validateAclRule({ filter, action, allow: true }), null, filter);
    }
  }
});

test('validateAclRule: action, allow and filter types are checked and named', () => {
  const bad = (v: unknown): string | null => validateAclRule(v as AclRuleSpec);
  assert.match(bad({ filter: 'a', action: 'write', allow: true })!, /^action must be "publish", "subscribe" or "all", not "write"$/);
  assert.match(bad({ filter: 'a', allow: true })!, /^action .* not undefined$/);
  assert.match(bad({ filter: 'a', action: 'all', allow: 'yes' })!, /^allow must be true or false, not "yes"$/);
  assert.match(bad({ filter: 'a', action: 'all' })!, /^allow must be true or false/);
  assert.match(bad({ filter: 7, action: 'all', allow: false })!, /^filter must be a string, not 7$/);
  assert.match(bad({ filter: ['a'], action: 'all', allow: false })!, /^filter must be a string, not a value of type array$/);
  assert.match(bad(null)!, /^an ACL rule is an object/);
  assert.match(bad('a/#')!, /^an ACL rule is an object/);
});

test('validateAclRule: the filter is at most 1024 characters', () => {
  assert.equal(validateAclRule(allow('a'.repeat(1024))), null);
  assert.equal(validateAclRule(allow('a'.repeat(1025))), 'filter is 1025 characters long; at most 1024');
});

test("validateAclRule [MQTT-4.7.1-1] (MQTT 5.0): '#' alone, in the last level", () => {
  for (const f of ['a/#/b', 'a#', 'a/b#', '#/a', '{deviceId}#', '#{deviceId}']) {
    assert.match(validateAclRule(allow(f))!, /'#' must be the last level, alone/, f);
  }
});

test("validateAclRule [MQTT-4.7.1-2] (MQTT 5.0): '+' occupies a whole level, also next to a placeholder", () => {
  for (const f of ['a+', 'a/+b', '+{deviceId}', '{deviceId}+/x']) {
    assert.match(validateAclRule(allow(f))!, /'\+' must occupy a whole level/, f);
  }
});

test('validateAclRule: empty filters, U+0000 and shared-subscription filters are refused [MQTT-4.7.3-1] [MQTT-4.7.3-2]', () => {
  assert.equal(validateAclRule(allow('')), 'filter "": topic filter is empty');
  assert.match(validateAclRule(allow('a/\u0000'))!, /U\+0000/);
  assert.match(validateAclRule(allow('$share/g/a/#'))!, /cannot be a shared subscription/);
  assert.match(validateAclRule(allow('$share/{group}/a'))!, /cannot be a shared subscription/);
});

test('validateAclRule: unknown, unclosed, nested and empty-tag placeholders are named', () => {
  assert.equal(
    validateAclRule(allow('a/{device}/#')),
    'filter "a/{device}/#": unknown placeholder {device}; known: {deviceId}, {clientId}, {username}, {type}, {group}, {tag:NAME}',
  );
  assert.match(validateAclRule(allow('a/{deviceId'))!, /'\{' at character 3 opens a placeholder that is never closed/);
  assert.match(validateAclRule(allow('a/{x{deviceId}}'))!, /'\{' at character 5 inside a placeholder/);
  assert.match(validateAclRule(allow('a/{tag:}'))!, /placeholder \{tag:\} needs a tag name/);
  assert.match(validateAclRule(allow('a/{}'))!, /unknown placeholder \{\}/);
  assert.match(validateAclRule(allow('a/{DeviceId}'))!, /unknown placeholder \{DeviceId\}/); // exact names
  assert.equal(validateAclRule(allow('a/}')), null); // a lone '}' is literal text
});

// --- placeholders

test('placeholders take the subject values', () => {
  const a = acl([
    allow('d/{deviceId}', 'publish'),
    allow('c/{clientId}', 'publish'),
    allow('u/{username}', 'publish'),
    allow('t/{type}/g/{group}', 'publish'),
    allow('s/{tag:site}/x-{deviceId}', 'publish'),
  ]);
  for (const t of ['d/d1', 'c/c1', 'u/u1', 't/meter/g/site-a', 's/paris/x-d1']) assert.equal(a.canPublish(t), true, t);
  for (const t of ['d/d2', 'd/{deviceId}', 'c/d1', 's/lyon/x-d1']) assert.equal(a.canPublish(t), false, t);
  assert.equal(a.ruleCount, 5);
});

test('a rule whose placeholder has no value is skipped, and the next rule decides', () => {
  const s: AclSubject = { ...subject, username: undefined, group: undefined, type: undefined, tags: { empty: '' } };
  const rules = [deny('u/{username}/#'), deny('g/{group}/#'), deny('t/{type}/#'), deny('s/{tag:site}/#'), deny('e/{tag:empty}/#'), deny('p/{tag:constructor}/#'), allow('#')];
  const a = acl(rules, [], [], s);
  assert.equal(a.ruleCount, 1);
  for (const t of ['u/x', 'g/x', 't/x', 's/x', 'e/x', 'p/x', 'u//x']) assert.equal(a.canPublish(t), true, t);
});

test('a value holding +, #, / or U+0000 skips the rule: a device id never widens a filter', () => {
  for (const deviceId of ['+', '#', 'a/b', 'a\u0000', 'x+']) {
    const a = acl([allow('devices/{deviceId}/#')], [], [], { ...subject, deviceId });
    assert.equal(a.ruleCount, 0, deviceId);
    assert.equal(a.canPublish('devices/other/x'), false, deviceId);
    assert.equal(a.canSubscribe('devices/+/x'), false, deviceId);
  }
  // Skipping also applies to deny rules: the rule does not exist for this device.
  const a = acl([deny('sites/{tag:site}/#'), allow('sites/#')], [], [], { ...subject, tags: { site: '#' } });
  assert.equal(a.canPublish('sites/paris/x'), true);
});

test("[MQTT-4.7.2-1] a value cannot move a rule into the '$' topics", () => {
  const a = acl([allow('{deviceId}/#')], [], [], { ...subject, deviceId: '$SYS' });
  assert.equal(a.ruleCount, 0);
  assert.equal(a.canPublish('$SYS/x'), false);
  // Elsewhere in a filter '$' is an ordinary character.
  assert.equal(acl([allow('d/{deviceId}')], [], [], { ...subject, deviceId: '$x' }).canPublish('d/$x'), true);
});

test('rules that are not valid (a stored record that bypassed validation) are skipped, never trusted', () => {
  const broken = [{ filter: 'a/#/b', action: 'all', allow: true }, { filter: '#', action: 'write', allow: true }, { filter: '#', action: 'all', allow: 'yes' }] as unknown as AclRuleSpec[];
  const a = acl([...broken, allow('ok')]);
  assert.equal(a.ruleCount, 1);
  assert.equal(a.canPublish('a/x/b'), false);
});

// --- layers and order

test('nothing matched denies (unlike the static config ACL)', () => {
  const a = acl([allow('x', 'publish')]);
  assert.equal(a.canPublish('y'), false);
  assert.equal(a.canSubscribe('y'), false);
  assert.equal(acl([]).canPublish('anything'), false);
});

test('first match decides: device rules, then group, type, fleet policies, then defaults', () => {
  const fleet = policy([allow('f/#'), deny('t/#'), deny('g/#'), deny('d/#'), deny('own/#')]);
  const byType = policy([allow('t/#'), deny('g/#'), deny('d/#')], { type: 'meter' });
  const byGroup = policy([allow('g/#'), deny('d/#')], { group: 'site-a' });
  // The policies are passed fleet first: selection, not input order, makes the layers.
  const a = acl([allow('d/#')], [fleet, byType, byGroup], [allow('own/#')]);
  for (const t of ['d/1', 'g/1', 't/1', 'f/1']) assert.equal(a.canPublish(t), true, t);
  assert.equal(a.canPublish('own/1'), false); // fleet deny comes before the defaults
  assert.equal(acl([], [], [allow('own/#')]).canPublish('own/1'), true);
  assert.equal(a.ruleCount, 1 + 2 + 3 + 5 + 1);
});

test('within a layer the given order decides', () => {
  const p1 = policy([deny('x/#')], { group: 'site-a' });
  const p2 = policy([allow('x/#')], { group: 'site-a' });
  assert.equal(acl([], [p1, p2]).canPublish('x/1'), false);
  assert.equal(acl([], [p2, p1]).canPublish('x/1'), true);
  assert.equal(acl([allow('y'), deny('y')]).canPublish('y'), true);
});

test('policies select by group, type, both, or neither', () => {
  const other = policy([allow('#')], { group: 'site-b' });
  const otherType = policy([allow('#')], { type: 'gateway' });
  const both = policy([allow('both')], { type: 'meter', group: 'site-a' });
  const bothOther = policy([allow('#')], { type: 'gateway', group: 'site-a' });
  const a = acl([], [other, otherType, both, bothOther]);
  assert.equal(a.ruleCount, 1);
  assert.equal(a.canPublish('both'), true);
  assert.equal(a.canPublish('x'), false);
  // A device without a group gets no group policy, even one also naming its type.
  const noGroup = acl([], [both, policy([allow('t')], { type: 'meter' })], [], { ...subject, group: undefined });
  assert.equal(noGroup.canPublish('both'), false);
  assert.equal(noGroup.canPublish('t'), true);
});

test('policies use placeholders too', () => {
  const p = policy([allow('devices/{deviceId}/#'), allow('sites/{tag:site}/+/status', 'subscribe')]);
  const a = acl([], [p]);
  assert.equal(a.canPublish('devices/d1/temp'), true);
  assert.equal(a.canPublish('devices/d2/temp'), false);
  assert.equal(a.canSubscribe('sites/paris/+/status'), true);
  assert.equal(a.canSubscribe('sites/+/+/status'), false);
});

test('actions: publish rules do not answer subscribe checks, and the reverse', () => {
  const a = acl([allow('p/#', 'publish'), allow('s/#', 'subscribe'), deny('x', 'publish'), allow('x')]);
  assert.equal(a.canPublish('p/1'), true);
  assert.equal(a.canSubscribe('p/1'), false);
  assert.equal(a.canSubscribe('s/1'), true);
  assert.equal(a.canPublish('s/1'), false);
  assert.equal(a.canPublish('x'), false);
  assert.equal(a.canSubscribe('x'), true);
});

// --- publish and subscribe semantics

test("[MQTT-4.7.2-1] a rule starting with a wildcard does not grant '$' topics", () => {
  const a = acl([allow('#'), allow('+/status')]);
  assert.equal(a.canPublish('$SYS/broker'), false);
  assert.equal(a.canPublish('$x/status'), false);
  assert.equal(a.canSubscribe('$SYS/#'), false);
  assert.equal(acl([allow('$SYS/#')]).canSubscribe('$SYS/+/uptime'), true);
});

test('subscribe: an allow rule must cover the whole requested filter', () => {
  const a = acl([allow('devices/{deviceId}/#')]);
  assert.equal(a.canSubscribe('devices/d1/+/temp'), true);
  assert.equal(a.canSubscribe('devices/d1/#'), true);
  assert.equal(a.canSubscribe('devices/d1'), true);
  assert.equal(a.canSubscribe('devices/+/temp'), false);
  assert.equal(a.canSubscribe('#'), false);
});

test('subscribe: a deny rule refuses every filter that could reach it', () => {
  const a = acl([deny('devices/+/secret'), allow('#')]);
  assert.equal(a.canSubscribe('#'), false);
  assert.equal(a.canSubscribe('devices/d1/+'), false);
  assert.equal(a.canSubscribe('devices/#'), false);
  assert.equal(a.canSubscribe('devices/d1/temp'), true);
  assert.equal(a.canSubscribe('other/#'), true);
  assert.equal(a.canPublish('devices/d1/temp'), true);
  assert.equal(a.canPublish('devices/d1/secret'), false);
});

test('subscribe: an allow rule earlier in the order wins over a later intersecting deny', () => {
  const a = acl([allow('devices/{deviceId}/#')], [policy([deny('devices/+/secret')])]);
  assert.equal(a.canSubscribe('devices/d1/#'), true);
  assert.equal(a.canSubscribe('devices/d2/secret'), false);
});

test('MQTT 5.0 §4.8.2: a shared subscription is judged by the filter after $share/{name}/', () => {
  const a = acl([allow('jobs/{group}/#', 'subscribe'), deny('secret/#')]);
  assert.equal(a.canSubscribe('$share/workers/jobs/site-a/+'), true);
  assert.equal(a.canSubscribe('$share/workers/jobs/site-b/+'), false);
  assert.equal(a.canSubscribe('$share/workers/secret/x'), false);
});

// --- cache

test('verdicts stay correct across the cache bound (many distinct topics, repeated)', () => {
  const a = acl([deny('t/13'), allow('t/+', 'publish'), allow('s/+/x', 'subscribe')]);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 600; i++) {
      assert.equal(a.canPublish(`t/${i}`), i !== 13);
      assert.equal(a.canPublish(`u/${i}`), false);
      assert.equal(a.canSubscribe(`s/${i}/x`), true);
      assert.equal(a.canSubscribe(`s/${i}/#`), false);
    }
  }
});
