// Payload schemas per device type: JSON Schemas (compiled with ajv, draft-07) with semantic
// versions. Registering a version of the same major as the current one must be compatible with it
// (every payload the current schema accepts in its declared structure stays acceptable); a new
// major version may break. No store here: toJSON()/fromJSON() let the owner persist the registry.
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Errors, TwinhubError } from '../../../common/errors.js';

export interface SchemaVersion {
  readonly version: string;
  readonly schema: object;
}

export type RegisterResult =
  | { ok: true }
  | {
      ok: false;
      /** One line per incompatibility (or the one reason the version or schema is refused). */
      breaking: string[];
      /** Why: the version is malformed or not greater, the schema does not compile, or it breaks compatibility. */
      reason: 'device-type' | 'version' | 'invalid-schema' | 'incompatible';
    };

/** The persisted form of a registry (see toJSON). */
export interface SchemaRegistryJSON {
  format: 1;
  deviceTypes: { deviceType: string; versions: { version: string; schema: object }[] }[];
}

interface Entry {
  /** Oldest first; the last is current. */
  readonly history: SchemaVersion[];
  readonly validate: ValidateFunction;
}

/** Most validation errors listed in one dead-letter reason. */
const MAX_LISTED_ERRORS = 10;

// SemVer 2.0.0 §2: X.Y.Z, non-negative integers without leading zeroes. Pre-release and build
// suffixes are not accepted: a device type's schema has releases only.
const SEMVER_RE = /^(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})$/;

export class SchemaRegistry {
  private readonly types = new Map<string, Entry>();

  /**
   * Registers `schema` as `version` of `deviceType`. Refused when the version is not x.y.z or not
   * greater than the current one, when the schema does not compile, or when the major version
   * is unchanged and the schema is incompatible with the current one (see breakingChanges).
   */
  register(deviceType: string, version: string, schema: object): RegisterResult {
    if (typeof deviceType !== 'string' || deviceType.length === 0) {
      return { ok: false, reason: 'device-type', breaking: ['the device type must be a non-empty string'] };
    }
    const v = parseVersion(version);
    if (v === null) {
      return { ok: false, reason: 'version', breaking: [`version ${JSON.stringify(version)} is not a semantic version x.y.z`] };
    }
    const entry = this.types.get(deviceType);
    const current = entry?.history[entry.history.length - 1];
    if (current !== undefined) {
      const cv = parseVersion(current.version)!;
      if (compareVersions(v, cv) <= 0) {
        return { ok: false, reason: 'version', breaking: [`version ${version} is not greater than the current ${current.version}`] };
      }
    }
    let copy: object;
    let validate: ValidateFunction;
    try {
      if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new Error('a schema must be a JSON object');
      copy = JSON.parse(JSON.stringify(schema)) as object;
      validate = compile(copy);
    } catch (e) {
      return { ok: false, reason: 'invalid-schema', breaking: [`invalid schema: ${(e as Error).message}`] };
    }
    if (current !== undefined && v[0] === parseVersion(current.version)![0]) {
      const breaking = breakingChanges(current.schema, copy);
      if (breaking.length > 0) return { ok: false, reason: 'incompatible', breaking };
    }
    const history = entry === undefined ? [] : entry.history.slice();
    history.push(Object.freeze({ version, schema: deepFreeze(copy) }));
    this.types.set(deviceType, { history, validate });
    return { ok: true };
  }

  /** The current schema of a device type, or undefined. */
  current(deviceType: string): SchemaVersion | undefined {
    const e = this.types.get(deviceType);
    return e === undefined ? undefined : e.history[e.history.length - 1];
  }

  /** Every registered version of a device type, oldest first. */
  versions(deviceType: string): readonly SchemaVersion[] {
    return this.types.get(deviceType)?.history ?? [];
  }

  deviceTypes(): string[] {
    return [...this.types.keys()];
  }

  /** Forgets a device type and all its versions. */
  delete(deviceType: string): boolean {
    return this.types.delete(deviceType);
  }

  /**
   * Validation errors of a payload against the device type's current schema, one line each
   * ('/temp must be number'); [] when valid or when the type has no schema.
   */
  validate(deviceType: string, payload: unknown): string[] {
    const e = this.types.get(deviceType);
    if (e === undefined || e.validate(payload)) return [];
    return (e.validate.errors ?? []).map(errorLine);
  }

  /** The ingest path: null when valid (or no schema), else one reason naming type and version. */
  check(deviceType: string, payload: unknown): string | null {
    const e = this.types.get(deviceType);
    if (e === undefined || e.validate(payload)) return null;
    const errors = e.validate.errors ?? [];
    const listed = errors.slice(0, MAX_LISTED_ERRORS).map(errorLine).join('; ');
    const more = errors.length > MAX_LISTED_ERRORS ? `; and ${errors.length - MAX_LISTED_ERRORS} more` : '';
    return `schema ${deviceType}@${e.history[e.history.length - 1]!.version}: ${listed}${more}`;
  }

  /** Every device type with all its versions, for the owner to store. */
  toJSON(): SchemaRegistryJSON {
    const deviceTypes: SchemaRegistryJSON['deviceTypes'] = [];
    for (const [deviceType, e] of this.types) {
      deviceTypes.push({ deviceType, versions: e.history.map((h) => ({ version: h.version, schema: h.schema })) });
    }
    return { format: 1, deviceTypes };
  }

  /**
   * A registry from toJSON() output. Versions are trusted as stored (they were checked when
   * registered); each device type's current schema is compiled. Malformed input throws
   * TwinhubError DATA_FORMAT_UNSUPPORTED.
   */
  static fromJSON(data: unknown): SchemaRegistry {
    const fail = (why: string): never => {
      throw new TwinhubError(Errors.DATA_FORMAT_UNSUPPORTED, `schema registry data: ${why}`);
    };
    if (typeof data !== 'object' || data === null) return fail('not an object');
    const d = data as Partial<SchemaRegistryJSON>;
    if (d.format !== 1) return fail(`unknown format ${JSON.stringify(d.format)}`);
    if (!Array.isArray(d.deviceTypes)) return fail('deviceTypes is not an array');
    const reg = new SchemaRegistry();
    for (const t of d.deviceTypes as unknown[]) {
      const tt = t as { deviceType?: unknown; versions?: unknown };
      if (typeof tt !== 'object' || tt === null || typeof tt.deviceType !== 'string' || tt.deviceType.length === 0) {
        return fail('an entry has no device type');
      }
      if (!Array.isArray(tt.versions) || tt.versions.length === 0) return fail(`${tt.deviceType}: no versions`);
      const history: SchemaVersion[] = [];
      let prev: [number, number, number] | null = null;
      for (const h of tt.versions as unknown[]) {
        const hv = h as { version?: unknown; schema?: unknown };
        const v = typeof hv?.version === 'string' ? parseVersion(hv.version) : null;
        if (v === null) return fail(`${tt.deviceType}: a version is not x.y.z`);
        if (prev !== null && compareVersions(v, prev) <= 0) return fail(`${tt.deviceType}: versions are not increasing`);
        if (typeof hv.schema !== 'object' || hv.schema === null || Array.isArray(hv.schema)) {
          return fail(`${tt.deviceType}@${hv.version as string}: schema is not an object`);
        }
        prev = v;
        history.push(Object.freeze({ version: hv.version as string, schema: deepFreeze(JSON.parse(JSON.stringify(hv.schema)) as object) }));
      }
      if (reg.types.has(tt.deviceType)) return fail(`${tt.deviceType}: listed twice`);
      let validate: ValidateFunction;
      try {
        validate = compile(history[history.length - 1]!.schema);
      } catch (e) {
        return fail(`${tt.deviceType}: current schema does not compile: ${(e as Error).message}`);
      }
      reg.types.set(tt.deviceType, { history, validate });
    }
    return reg;
  }
}

/**
 * What breaks when `next` replaces `prev` within one major version. Walks the nested
 * `properties` of object schemas; paths are JSON Pointers (RFC 6901) into the payload.
 * - a property removed, or its type changed to one that does not accept every type it accepted
 *   ('integer' → 'number' widens and is compatible; 'number' → 'string' breaks);
 * - an optional property made required, or a required property added;
 * - additional properties forbidden where they were allowed.
 * Adding an optional property, dropping a requirement or widening a type is compatible. Other
 * keywords (ranges, enums, patterns, $ref) are not compared.
 */
export function breakingChanges(prev: object, next: object): string[] {
  const out: string[] = [];
  compareSchemas(prev, next, '', out);
  return out;
}

function compareSchemas(prev: unknown, next: unknown, path: string, out: string[]): void {
  if (!isObject(prev) || !isObject(next)) return;
  const at = path === '' ? '(root)' : path;
  const pt = typesOf(prev);
  const nt = typesOf(next);
  if (pt === null) {
    if (nt !== null) out.push(`${at}: type restricted to ${nt.join('|')} (any type was accepted)`);
  } else if (nt !== null && !pt.every((t) => nt.includes(t) || (t === 'integer' && nt.includes('number')))) {
    out.push(`${at}: type changed from ${pt.join('|')} to ${nt.join('|')}`);
  }
  const pProps = propertiesOf(prev);
  const nProps = propertiesOf(next);
  const pReq = requiredOf(prev);
  const nReq = requiredOf(next);
  for (const name of Object.keys(pProps)) {
    const p = `${path}/${escapePointer(name)}`;
    if (!Object.hasOwn(nProps, name)) out.push(`${p}: property removed`);
    else compareSchemas(pProps[name], nProps[name], p, out);
  }
  for (const name of nReq) {
    if (pReq.includes(name)) continue;
    const p = `${path}/${escapePointer(name)}`;
    out.push(Object.hasOwn(pProps, name) ? `${p}: optional property made required` : `${p}: required property added`);
  }
  if (prev.additionalProperties !== false && next.additionalProperties === false) {
    out.push(`${at}: additional properties no longer allowed`);
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function typesOf(s: Record<string, unknown>): string[] | null {
  const t = s.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return null;
}

function propertiesOf(s: Record<string, unknown>): Record<string, unknown> {
  return isObject(s.properties) ? s.properties : {};
}

function requiredOf(s: Record<string, unknown>): string[] {
  return Array.isArray(s.required) ? s.required.filter((x): x is string => typeof x === 'string') : [];
}

/** RFC 6901 §3: '~' is written '~0' and '/' is written '~1'. */
export function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function parseVersion(s: string): [number, number, number] | null {
  if (typeof s !== 'string') return null;
  const m = SEMVER_RE.exec(s);
  return m === null ? null : [+m[1]!, +m[2]!, +m[3]!];
}

function compareVersions(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function compile(schema: object): ValidateFunction {
  // One ajv instance per compiled schema: two versions of a type may share an $id. strict off so
  // annotations such as 'x-unit' are allowed; 'format' is an annotation here (ajv-formats is not a
  // dependency), and nothing is logged.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
  if ((schema as { $async?: unknown }).$async === true) throw new Error('asynchronous schemas ($async) are not supported');
  return ajv.compile(schema);
}

function errorLine(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(root)' : e.instancePath;
  if (e.keyword === 'additionalProperties') {
    return `${at} must not have the additional property '${String((e.params as { additionalProperty?: unknown }).additionalProperty)}'`;
  }
  return `${at} ${e.message ?? 'is invalid'}`;
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v as object);
  return Object.freeze(o);
}
