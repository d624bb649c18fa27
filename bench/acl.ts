// Device ACL check throughput: one device with 20 rules across the layers (own rules, group,
// type and fleet policies, defaults), publishing to its own topics, which the last layer (the
// defaults) grants, so an uncached check walks every rule. Cached: the device repeats a few
// topics (the usual case). Uncached: it cycles through more distinct topics than the verdict
// cache holds, so every check misses. Prints one JSON line.
//
//   node --import tsx bench/acl.ts [--seconds 1]
import type { AclPolicyRecord, AclRuleSpec } from '../src/ports/registry-store.js';
import { compileDeviceAcl, type AclSubject, type DeviceAcl } from '../src/core/registry/acl.js';

const i = process.argv.indexOf('--seconds');
const SECONDS = i > 0 ? Number(process.argv[i + 1]) : 1;

const rule = (filter: string, action: AclRuleSpec['action'], allow: boolean): AclRuleSpec => ({ filter, action, allow });
const policy = (id: string, rules: AclRuleSpec[], select: { type?: string; group?: string }): AclPolicyRecord => ({
  id, rules, createdAt: 0, updatedAt: 0, ...select,
});

const subject: AclSubject = { deviceId: 'meter-00042', clientId: 'meter-00042', username: 'meter-00042', type: 'meter', group: 'site-17', tags: { site: 'paris', floor: '3' } };
const device = [rule('debug/{deviceId}/#', 'publish', true), rule('legacy/{clientId}/+', 'all', true), rule('devices/{deviceId}/secret', 'all', false), rule('fw/{deviceId}/+/chunk', 'subscribe', true)];
const policies = [
  policy('site', [rule('sites/{group}/alarms', 'publish', true), rule('sites/{group}/+/config', 'subscribe', true), rule('sites/{group}/admin/#', 'all', false), rule('floors/{tag:floor}/+', 'publish', true)], { group: 'site-17' }),
  policy('meters', [rule('meters/{type}/{deviceId}/reading', 'publish', true), rule('meters/+/calibration', 'subscribe', true), rule('billing/#', 'all', false), rule('tariffs/{tag:site}/#', 'subscribe', true)], { type: 'meter' }),
  policy('other-type', [rule('#', 'all', true)], { type: 'gateway' }), // not selected: costs nothing per check
  policy('fleet', [rule('$SYS/#', 'all', false), rule('broadcast/+', 'subscribe', true), rule('time/+', 'subscribe', true), rule('ota/{type}/#', 'subscribe', true), rule('status/{deviceId}', 'publish', true), rule('internal/#', 'all', false)], {}),
];
const defaults = [rule('devices/{deviceId}/#', 'all', true), rule('twins/{deviceId}/#', 'all', true)];

const acl = compileDeviceAcl(subject, { device, policies, defaults });
if (acl.ruleCount !== 20) throw new Error(`expected 20 rules, compiled ${acl.ruleCount}`);

const kinds = ['temp', 'power', 'voltage', 'status'];
const few = kinds.map((k) => `devices/meter-00042/telemetry/${k}`);
const many = Array.from({ length: 4096 }, (_, n) => `devices/meter-00042/telemetry/${kinds[n % 4]}/${n}`);

function rate(topics: string[], check: (a: DeviceAcl, t: string) => boolean): number {
  let n = 0;
  let allowed = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(SECONDS * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let k = 0; k < 10_000; k++) if (check(acl, topics[(n + k) % topics.length]!)) allowed++;
    n += 10_000;
    elapsed = process.hrtime.bigint() - start;
  }
  if (allowed !== n) throw new Error('a check that should allow denied'); // keeps the work observable
  return Math.round(n / (Number(elapsed) / 1e9));
}

const publish = (a: DeviceAcl, t: string): boolean => a.canPublish(t);
rate(many, publish); // warm-up: JIT
const checksPerSec_cached = rate(few, publish);
const checksPerSec_uncached = rate(many, publish);
const subscribeChecksPerSec_uncached = rate(many.map((t) => t.replace(/\/\d+$/, '/+')).concat(many), (a, f) => a.canSubscribe(f));
console.log(JSON.stringify({ bench: 'acl', rules: acl.ruleCount, checksPerSec_cached, checksPerSec_uncached, subscribeChecksPerSec_uncached }));
