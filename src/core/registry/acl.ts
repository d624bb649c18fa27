// The device ACL engine: rules with placeholders, compiled once per connection into a checker
// for one device. Pure: the registry service loads the device and the policies and calls this.
//
// Evaluation: the first rule that applies decides; the layers are the device's own rules, then
// policies of its group (a policy naming a type too applies only to devices of both), then
// policies of its type, then fleet-wide policies (neither type nor group), each in the order
// given, then the hub's defaults. No rule applies → DENY: a registered device gets what it is
// granted, unlike the static config ACL (core/broker/static-auth.ts), which allows on no match.
//
// Publish: a rule applies when its filter matches the topic. Subscribe: an ALLOW rule applies
// only when it covers the requested filter (every topic the subscription could receive is one
// the rule allows), a DENY rule as soon as the two intersect, so a broad subscription cannot
// reach a denied branch. A shared subscription `$share/{name}/{filter}` is judged by `{filter}`:
// the share name does not change which messages arrive (MQTT 5.0 §4.8.2).
import type { AclPolicyRecord, AclRuleSpec } from '../../ports/registry-store.js';
import { SHARE_PREFIX, parseShared, topicMatches, validateTopicFilter } from '../router/topic.js';
import { filterCovers, filtersIntersect } from './filter-relations.js';
import { setBounded } from '../../common/bounded-map.js';

export { filterCovers, filtersIntersect } from './filter-relations.js';

/** Longest rule filter accepted, in characters, before placeholders are replaced. */
export const MAX_RULE_FILTER_LENGTH = 1024;

/** Entries kept per action in a DeviceAcl's verdict cache before it is cleared. */
const CACHE_LIMIT = 256;

/** What placeholders are replaced with: the device as it connected. */
export interface AclSubject {
  deviceId: string;
  clientId: string;
  username: string | undefined;
  type: string | undefined;
  group: string | undefined;
  tags: Record<string, string>;
}

export interface DeviceAcl {
  canPublish(topic: string): boolean;
  /** `filter` as requested in SUBSCRIBE, shared form included. */
  canSubscribe(filter: string): boolean;
  /** Rules kept for this device after selection and placeholder replacement. */
  readonly ruleCount: number;
}

export interface AclLayers {
  device: readonly AclRuleSpec[];
  policies: readonly AclPolicyRecord[];
  defaults: readonly AclRuleSpec[];
}

// --- placeholders

type SimpleKey = 'deviceId' | 'clientId' | 'username' | 'type' | 'group';
type Slot = { key: SimpleKey } | { tag: string };
type Template = (string | Slot)[];

const SIMPLE_KEYS: ReadonlySet<string> = new Set<SimpleKey>(['deviceId', 'clientId', 'username', 'type', 'group']);
const KNOWN = '{deviceId}, {clientId}, {username}, {type}, {group}, {tag:NAME}';

/**
 * Splits a rule filter into literal text and placeholders, or returns why it cannot. '{' always
 * opens a placeholder (there is no escape), so a rule cannot name a literal '{'; a lone '}' is
 * literal text.
 */
function parseTemplate(filter: string): Template | string {
  const parts: Template = [];
  let i = 0;
  while (i < filter.length) {
    const open = filter.indexOf('{', i);
    if (open < 0) {
      parts.push(filter.slice(i));
      break;
    }
    if (open > i) parts.push(filter.slice(i, open));
    const close = filter.indexOf('}', open + 1);
    const nested = filter.indexOf('{', open + 1);
    if (close < 0) return `'{' at character ${open + 1} opens a placeholder that is never closed`;
    if (nested >= 0 && nested < close) return `'{' at character ${nested + 1} inside a placeholder`;
    const name = filter.slice(open + 1, close);
    if (SIMPLE_KEYS.has(name)) parts.push({ key: name as SimpleKey });
    else if (name.startsWith('tag:') && name.length > 4) parts.push({ tag: name.slice(4) });
    else if (name === 'tag:') return 'placeholder {tag:} needs a tag name, as in {tag:site}';
    else return `unknown placeholder {${name}}; known: ${KNOWN}`;
    i = close + 1;
  }
  return parts;
}

function slotValue(slot: Slot, s: AclSubject): string | undefined {
  if ('tag' in slot) return Object.hasOwn(s.tags, slot.tag) ? s.tags[slot.tag] : undefined;
  return s[slot.key];
}

/**
 * A value may only fill in a literal: one carrying '/', '+', '#' or U+0000 would add levels or
 * wildcards (a device id '#' must not turn `devices/{deviceId}/#` into everything), and a value
 * that puts '$' first would move the rule into the server's '$' topics. Empty counts as absent.
 */
function safeValue(v: string | undefined, atStart: boolean): v is string {
  if (v === undefined || v.length === 0) return false;
  if (atStart && v.charCodeAt(0) === 0x24) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x2f || c === 0x2b || c === 0x23 || c === 0) return false;
  }
  return true;
}

/** The rule's filter for this subject, or undefined when the rule does not apply to it. */
function instantiate(template: Template, s: AclSubject): string | undefined {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const v = slotValue(part, s);
    if (!safeValue(v, out.length === 0)) return undefined;
    out += v;
  }
  return out;
}

// --- validation

const ACTIONS: ReadonlySet<unknown> = new Set(['publish', 'subscribe', 'all']);

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === undefined) return String(v);
  return `a value of type ${Array.isArray(v) ? 'array' : typeof v}`;
}

/** Why a parsed rule filter cannot be used, or null. */
function templateProblem(template: Template): string | null {
  // Placeholders stand for literal text only (see safeValue), so checking the filter with a
  // sample literal in their place checks every filter they can produce.
  const sample = template.map((p) => (typeof p === 'string' ? p : 'x')).join('');
  if (sample.startsWith(SHARE_PREFIX)) {
    return 'a rule filter cannot be a shared subscription; write the topic filter after $share/{name}/';
  }
  return validateTopicFilter(sample, Number.MAX_SAFE_INTEGER);
}

/**
 * Checks a rule from the API or a policy file. Returns null when valid, else a message naming
 * the field and the problem. Wildcards: '#' alone in the last level, '+' a whole level (MQTT 5.0
 * [MQTT-4.7.1-1], [MQTT-4.7.1-2]; MQTT 3.1.1 numbers them [MQTT-4.7.1-2], [MQTT-4.7.1-3]).
 */
export function validateAclRule(spec: AclRuleSpec): string | null {
  const checked = checkRule(spec);
  return typeof checked === 'string' ? checked : null;
}

/** The parsed filter of a valid rule, or why the rule is not valid. */
function checkRule(spec: AclRuleSpec): Template | string {
  // API input need not match the declared type: check what actually arrived.
  const raw: unknown = spec;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return `an ACL rule is an object {filter, action, allow}, not ${describe(raw)}`;
  }
  const { filter, action, allow } = raw as Record<string, unknown>;
  if (!ACTIONS.has(action)) return `action must be "publish", "subscribe" or "all", not ${describe(action)}`;
  if (typeof allow !== 'boolean') return `allow must be true or false, not ${describe(allow)}`;
  if (typeof filter !== 'string') return `filter must be a string, not ${describe(filter)}`;
  if (filter.length > MAX_RULE_FILTER_LENGTH) {
    return `filter is ${filter.length} characters long; at most ${MAX_RULE_FILTER_LENGTH}`;
  }
  const template = parseTemplate(filter);
  const problem = typeof template === 'string' ? template : templateProblem(template);
  return problem === null ? template : `filter ${describe(filter)}: ${problem}`;
}

// --- compilation

interface Rule {
  filter: string;
  allow: boolean;
}

/** The policies that select this subject, most specific layer first. */
function selectPolicies(s: AclSubject, policies: readonly AclPolicyRecord[]): AclPolicyRecord[] {
  const byGroup: AclPolicyRecord[] = [];
  const byType: AclPolicyRecord[] = [];
  const fleet: AclPolicyRecord[] = [];
  for (const p of policies) {
    if (p.group !== undefined) {
      if (p.group === s.group && (p.type === undefined || p.type === s.type)) byGroup.push(p);
    } else if (p.type !== undefined) {
      if (p.type === s.type) byType.push(p);
    } else {
      fleet.push(p);
    }
  }
  return [...byGroup, ...byType, ...fleet];
}

export function compileDeviceAcl(subject: AclSubject, layers: AclLayers): DeviceAcl {
  const publish: Rule[] = [];
  const subscribe: Rule[] = [];
  let count = 0;
  const add = (rules: readonly AclRuleSpec[]): void => {
    for (const spec of rules) {
      // Stored rules were validated on the way in; a rule that is not valid (an older record, a
      // hand-edited store) is skipped rather than trusted.
      const template = checkRule(spec);
      if (typeof template === 'string') continue;
      const filter = instantiate(template, subject);
      if (filter === undefined) continue;
      const rule = { filter, allow: spec.allow };
      if (spec.action !== 'subscribe') publish.push(rule);
      if (spec.action !== 'publish') subscribe.push(rule);
      count++;
    }
  };
  add(layers.device);
  for (const p of selectPolicies(subject, layers.policies)) add(p.rules);
  add(layers.defaults);
  return new CompiledAcl(publish, subscribe, count);
}

/**
 * A device publishes to a handful of topics, so verdicts are cached: a repeated check is one Map
 * lookup. The maps are created on first use (an idle connection pays nothing) and cleared when
 * full, which keeps a device that walks through many topics bounded at CACHE_LIMIT entries.
 */
class CompiledAcl implements DeviceAcl {
  private publishCache: Map<string, boolean> | undefined;
  private subscribeCache: Map<string, boolean> | undefined;

  constructor(
    private readonly publishRules: readonly Rule[],
    private readonly subscribeRules: readonly Rule[],
    readonly ruleCount: number,
  ) {}

  canPublish(topic: string): boolean {
    const cache = (this.publishCache ??= new Map());
    const hit = cache.get(topic);
    if (hit !== undefined) return hit;
    let verdict = false;
    for (const r of this.publishRules) {
      if (topicMatches(r.filter, topic)) {
        verdict = r.allow;
        break;
      }
    }
    remember(cache, topic, verdict);
    return verdict;
  }

  canSubscribe(filter: string): boolean {
    const cache = (this.subscribeCache ??= new Map());
    const hit = cache.get(filter);
    if (hit !== undefined) return hit;
    const target = parseShared(filter)?.filter ?? filter;
    let verdict = false;
    for (const r of this.subscribeRules) {
      if (r.allow ? filterCovers(r.filter, target) : filtersIntersect(r.filter, target)) {
        verdict = r.allow;
        break;
      }
    }
    remember(cache, filter, verdict);
    return verdict;
  }
}

function remember(cache: Map<string, boolean>, key: string, verdict: boolean): void {
  setBounded(cache, CACHE_LIMIT, key, verdict);
}
