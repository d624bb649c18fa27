// Parsing and checking one value against its schema. Two modes: 'typed' for config files and
// objects (YAML/JSON already typed: an integer must be a number), 'text' for environment
// variables and flags (everything is a string: "60" is parsed; lists are JSON).
import { parseAddressText, parseAddressValue, ADDRESS_EXPECTED } from './address.js';
import { showValue } from './config-error.js';
import type { StringFormat, ValueSchema } from './schema.js';

export type Mode = 'typed' | 'text';
export const INVALID: unique symbol = Symbol('invalid');
export type Parsed = unknown | typeof INVALID;

/** Receives a problem with the path below the key ('' for the key itself, '[1].action' …). */
export type Report = (subPath: string, problem: string) => void;

export function describeExpected(schema: ValueSchema): string {
  switch (schema.type) {
    case 'string':
      return describeFormat(schema.format) + (schema.nullable ? ' or null' : '');
    case 'integer':
      return `an integer ${schema.min}..${schema.max}`;
    case 'number':
      return `a number ${schema.min}..${schema.max}`;
    case 'boolean':
      return schema.nullable ? 'true, false or null' : 'true or false';
    case 'enum':
      return `one of ${schema.values.join(', ')}`;
    case 'address':
      return ADDRESS_EXPECTED.replace(/^expected /, '');
    case 'list':
      return `a list of ${describeExpected(schema.item)}`;
    case 'map':
      return `an object of names to ${describeExpected(schema.value)}`;
    case 'object':
      return `{${Object.keys(schema.fields).map((k) => (schema.optional?.includes(k) ? `${k}?` : k)).join(', ')}}`;
  }
}

function describeFormat(format: StringFormat | undefined): string {
  switch (format) {
    case 'path':
      return 'a file path';
    case 'url-path':
      return 'a URL path starting with "/"';
    case 'topic-filter':
      return 'an MQTT topic filter';
    case 'name':
      return 'a non-empty name';
    default:
      return 'a string';
  }
}

/**
 * MQTT 5.0 §4.7: a filter is at least one character [MQTT-4.7.3-1], has no U+0000
 * [MQTT-4.7.3-2], '#' only alone as the last level [MQTT-4.7.1-1], '+' only as a whole level
 * [MQTT-4.7.1-2]. Returns the problem, or undefined when valid.
 */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'a topic filter must not be empty [MQTT-4.7.3-1]';
  if (filter.includes('\u0000')) return 'a topic filter must not contain U+0000 [MQTT-4.7.3-2]';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return `"#" must be a whole level and the last one [MQTT-4.7.1-1], got ${showValue(filter)}`;
    if (level.includes('+') && level !== '+') return `"+" must be a whole level [MQTT-4.7.1-2], got ${showValue(filter)}`;
  }
  return undefined;
}

function stringProblem(format: StringFormat | undefined, s: string): string | undefined {
  switch (format) {
    case 'path':
    case 'name':
      return s.trim() === '' ? `expected ${describeFormat(format)}, got ""` : undefined;
    case 'url-path':
      return s.startsWith('/') && !/[\s?#]/.test(s) ? undefined : `expected ${describeFormat(format)} without spaces, "?" or "#", got ${showValue(s)}`;
    case 'topic-filter':
      return topicFilterProblem(s);
    default:
      return undefined;
  }
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

export function parseValue(schema: ValueSchema, raw: unknown, mode: Mode, report: Report, subPath = ''): Parsed {
  const fail = (problem: string): typeof INVALID => {
    report(subPath, problem);
    return INVALID;
  };
  const expected = () => fail(`expected ${describeExpected(schema)}, got ${showValue(raw)}`);

  switch (schema.type) {
    case 'string': {
      if (raw === null && schema.nullable) return null;
      // In the environment an empty value means "unset" for nullable keys (TWINHUB_TLS__CA=).
      if (mode === 'text' && raw === '' && schema.nullable) return null;
      if (typeof raw !== 'string') return expected();
      const problem = stringProblem(schema.format, raw);
      return problem === undefined ? raw : fail(problem);
    }
    case 'integer': {
      let n: unknown = raw;
      if (mode === 'text' && typeof raw === 'string') n = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < schema.min || n > schema.max) return expected();
      return n;
    }
    case 'number': {
      let n: unknown = raw;
      if (mode === 'text' && typeof raw === 'string') n = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
      if (typeof n !== 'number' || !Number.isFinite(n) || n < schema.min || n > schema.max) return expected();
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (raw === null && schema.nullable) return null;
      if (mode === 'text' && typeof raw === 'string') {
        const w = raw.trim().toLowerCase();
        if (TRUE_WORDS.has(w)) return true;
        if (FALSE_WORDS.has(w)) return false;
        if (schema.nullable && (w === 'null' || w === '')) return null;
      }
      return expected();
    }
    case 'enum': {
      // Text (environment, flags) matches case-insensitively: TWINHUB_LOG__LEVEL=DEBUG, hs256.
      const v = mode === 'text' && typeof raw === 'string' ? (schema.values.find((x) => x.toLowerCase() === raw.trim().toLowerCase()) ?? raw) : raw;
      if (typeof v !== 'string' || !schema.values.includes(v)) return expected();
      return v;
    }
    case 'address': {
      const r = mode === 'text' && typeof raw === 'string' ? parseAddressText(raw) : parseAddressValue(raw);
      if (r.ok) return r.value;
      return fail(`${r.problem}, got ${showValue(raw)}`);
    }
    case 'list': {
      let list: unknown = raw;
      if (mode === 'text' && typeof raw === 'string') {
        try {
          list = raw.trim() === '' ? [] : JSON.parse(raw);
        } catch (err) {
          return fail(`expected a JSON array (${(err as Error).message}), got ${showValue(raw)}`);
        }
      }
      if (list === null && mode === 'typed') return [];
      if (!Array.isArray(list)) return fail(`expected a list of ${describeExpected(schema.item)}, got ${showValue(raw)}`);
      const out: unknown[] = [];
      let ok = true;
      for (let i = 0; i < list.length; i++) {
        // Items of a JSON list from the environment are typed values already.
        const v = parseValue(schema.item, list[i], 'typed', report, `${subPath}[${i}]`);
        if (v === INVALID) ok = false;
        else out.push(v);
      }
      return ok ? out : INVALID;
    }
    case 'map': {
      let obj: unknown = raw;
      if (mode === 'text' && typeof raw === 'string') {
        try {
          obj = raw.trim() === '' ? {} : JSON.parse(raw);
        } catch (err) {
          return fail(`expected a JSON object (${(err as Error).message}), got ${showValue(raw)}`);
        }
      }
      if (obj === null && mode === 'typed') return {};
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return fail(`expected ${describeExpected(schema)}, got ${showValue(raw)}`);
      const out: Record<string, unknown> = {};
      let ok = true;
      for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
        const parsed = parseValue(schema.value, v, 'typed', report, `${subPath}.${k}`);
        if (parsed === INVALID) ok = false;
        else out[k] = parsed;
      }
      return ok ? out : INVALID;
    }
    case 'object': {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return expected();
      const o = raw as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      let ok = true;
      for (const k of Object.keys(o)) {
        if (!Object.hasOwn(schema.fields, k)) {
          report(`${subPath}.${k}`, `unknown key; expected ${describeExpected(schema)}`);
          ok = false;
        }
      }
      for (const [k, fieldSchema] of Object.entries(schema.fields)) {
        if (!Object.hasOwn(o, k)) {
          if (schema.optional?.includes(k)) continue;
          report(`${subPath}.${k}`, `missing; expected ${describeExpected(fieldSchema)}`);
          ok = false;
          continue;
        }
        const v = parseValue(fieldSchema, o[k], 'typed', report, `${subPath}.${k}`);
        if (v === INVALID) ok = false;
        else out[k] = v;
      }
      return ok ? out : INVALID;
    }
  }
}
