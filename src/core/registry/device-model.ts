// Device records as users write them (API bodies, import lines) → validated DeviceRecords. The
// one place that knows what a valid device id, type, group, tag or limit is; the HTTP schemas
// check shapes early, this checks meaning, so bulk import and the API refuse the same things with
// the same messages.
import { Errors, TwinhubError } from '../../common/errors.js';
import type { AclRuleSpec, DeviceLimits, DeviceRecord } from '../../ports/registry-store.js';
import { validateAclRule } from './acl.js';

/**
 * Device ids are AWS IoT thing names ([a-zA-Z0-9:_-], 1–128; CreateThing ThingName pattern), so
 * every device can use the AWS shadow topics `$aws/things/{id}/shadow/…`, and an id can never
 * hold MQTT wildcards or level separators that would widen an ACL filter.
 */
export const DEVICE_ID_MAX = 128;
const DEVICE_ID = /^[a-zA-Z0-9:_-]+$/;
const LABEL = /^[a-zA-Z0-9:_.-]+$/;
export const MAX_TAGS = 50;
export const MAX_DEVICE_ACL_RULES = 100;

/** Null when valid, else the reason. */
export function deviceIdProblem(id: unknown): string | null {
  if (typeof id !== 'string') return 'device id must be a string';
  if (id.length === 0) return 'device id must not be empty';
  if (id.length > DEVICE_ID_MAX) return `device id is longer than ${DEVICE_ID_MAX} characters`;
  if (!DEVICE_ID.test(id)) return `device id ${JSON.stringify(id.slice(0, 140))} may contain only a-z, A-Z, 0-9, ":", "_" and "-"`;
  return null;
}

export function assertDeviceId(id: unknown): asserts id is string {
  const p = deviceIdProblem(id);
  if (p !== null) throw new TwinhubError(Errors.DEVICE_ID_INVALID, p, { field: 'id' });
}

function invalid(field: string, message: string): TwinhubError {
  return new TwinhubError(Errors.DEVICE_INVALID, `${field}: ${message}`, { field });
}

function label(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !LABEL.test(value)) {
    throw invalid(field, `must be 1–${max} characters of a-z, A-Z, 0-9, ":", "_", "." and "-"`);
  }
  return value;
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) throw invalid(field, `must be a string of at most ${max} characters`);
  return value;
}

// Tag keys leave out ':' and '=' so filters can say `tag=KEY:VALUE` unambiguously.
const TAG_KEY = /^[a-zA-Z0-9_.-]{1,64}$/;

/**
 * Tags after applying `value` to `base` as an RFC 7396 merge patch: members set, `null` members
 * removed, others kept. A new device starts from no tags.
 */
function tags(value: unknown, base: Record<string, string>): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('tags', 'must be an object of string values');
  const out: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!TAG_KEY.test(k)) throw invalid(`tags.${k}`, 'a tag key must be 1–64 characters of a-z, A-Z, 0-9, "_", "." and "-"');
    if (v === null) delete out[k];
    else out[k] = text(v, `tags.${k}`, 256);
  }
  if (Object.keys(out).length > MAX_TAGS) throw invalid('tags', `at most ${MAX_TAGS} tags`);
  return out;
}

function aclRules(value: unknown, field: string): AclRuleSpec[] {
  if (!Array.isArray(value)) throw invalid(field, 'must be a list of {filter, action, allow}');
  if (value.length > MAX_DEVICE_ACL_RULES) throw invalid(field, `at most ${MAX_DEVICE_ACL_RULES} rules`);
  return value.map((r: unknown, i) => parseAclRule(r, `${field}[${i}]`));
}

/** One ACL rule from user input, or a TwinhubError(ACL_RULE_INVALID) naming the field. */
export function parseAclRule(r: unknown, field: string): AclRuleSpec {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) {
    throw new TwinhubError(Errors.ACL_RULE_INVALID, `${field}: must be an object {filter, action, allow}`, { field });
  }
  const o = r as Record<string, unknown>;
  const spec = { filter: o.filter, action: o.action, allow: o.allow } as AclRuleSpec;
  const unknownKey = Object.keys(o).find((k) => k !== 'filter' && k !== 'action' && k !== 'allow');
  const problem = unknownKey !== undefined ? `unknown field "${unknownKey}"` : validateAclRule(spec);
  if (problem !== null) throw new TwinhubError(Errors.ACL_RULE_INVALID, `${field}: ${problem}`, { field });
  return { filter: spec.filter, action: spec.action, allow: spec.allow };
}

function limits(value: unknown): DeviceLimits {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('limits', 'must be an object');
  const out: DeviceLimits = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k !== 'messagesPerSecond' && k !== 'bytesPerSecond') throw invalid(`limits.${k}`, 'unknown limit (messagesPerSecond, bytesPerSecond)');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) throw invalid(`limits.${k}`, 'must be a non-negative integer (0 is unlimited)');
    out[k] = v;
  }
  return out;
}

const DEVICE_FIELDS = new Set(['id', 'name', 'type', 'group', 'tags', 'enabled', 'acl', 'limits']);

/** Fields a caller may set, validated; unknown fields are refused (a typo must not pass silently). */
function fields(input: Record<string, unknown>, target: Partial<DeviceRecord>): void {
  for (const k of Object.keys(input)) {
    if (!DEVICE_FIELDS.has(k)) throw invalid(k, 'unknown field');
  }
  // null clears an optional field (JSON merge patch semantics, RFC 7396).
  if ('name' in input) input.name === null ? delete target.name : (target.name = text(input.name, 'name', 256));
  if ('type' in input) input.type === null ? delete target.type : (target.type = label(input.type, 'type', 64));
  if ('group' in input) input.group === null ? delete target.group : (target.group = label(input.group, 'group', 64));
  if ('tags' in input) target.tags = input.tags === null ? {} : tags(input.tags, target.tags ?? {});
  if ('enabled' in input) {
    if (typeof input.enabled !== 'boolean') throw invalid('enabled', 'must be true or false');
    target.enabled = input.enabled;
  }
  if ('acl' in input) input.acl === null ? delete target.acl : (target.acl = aclRules(input.acl, 'acl'));
  if ('limits' in input) input.limits === null ? delete target.limits : (target.limits = limits(input.limits));
}

function asObject(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TwinhubError(Errors.DEVICE_INVALID, 'a device must be a JSON object');
  }
  return input as Record<string, unknown>;
}

/** A new device from `{"id", "type"?, "name"?, "tags"?, "group"?, "enabled"?, "acl"?, "limits"?}`. */
export function newDevice(input: unknown, now: number): DeviceRecord {
  const o = asObject(input);
  assertDeviceId(o.id);
  const device: DeviceRecord = { id: o.id, tags: {}, enabled: true, createdAt: now, updatedAt: now };
  fields(o, device);
  return device;
}

/** The device after a merge patch (absent fields unchanged, null clears); the id cannot change. */
export function patchDevice(current: DeviceRecord, patch: unknown, now: number): DeviceRecord {
  const o = asObject(patch);
  if ('id' in o && o.id !== current.id) throw invalid('id', 'a device id cannot be changed');
  const next: DeviceRecord = structuredClone(current);
  fields(o, next);
  next.updatedAt = now;
  return next;
}
