// The function table of the rule language: names, arities, static result types and the scalar
// implementations (shared by the compiler and the reference interpreter). Functions of the
// message (topic(), clientid()…) and aggregates are evaluated by the compiler/interpreter
// themselves; they are only declared here.

import { compare, equals, finite, scalarText, toNum, toStr } from './values.js';

/** Static types the checker can know; 'any' when it depends on the message. */
export type Ty = 'number' | 'string' | 'boolean' | 'null' | 'any';

export interface ScalarFn {
  readonly kind: 'scalar';
  readonly min: number;
  readonly max: number;
  readonly returns: Ty;
  /** Missing arguments are undefined. Never throws. */
  readonly call: (a: unknown, b: unknown, c: unknown) => unknown;
}
export interface VariadicFn {
  readonly kind: 'variadic';
  readonly min: number;
  readonly max: number;
  readonly returns: Ty;
  readonly call: (args: readonly unknown[]) => unknown;
}
/** Reads the message or its context (evaluated by the compiler/interpreter). */
export interface ContextFn {
  readonly kind: 'context';
  readonly min: number;
  readonly max: number;
  readonly returns: Ty;
  /** May be written without parentheses (EMQX style: `topic`, `clientid`, `qos`). */
  readonly bare: boolean;
  /** Only in a windowed rule's SELECT. */
  readonly windowOnly: boolean;
}
export interface AggregateFn {
  readonly kind: 'aggregate';
  readonly min: number;
  readonly max: number;
  readonly returns: Ty;
}
export type FnDef = ScalarFn | VariadicFn | ContextFn | AggregateFn;

const ctx = (min: number, max: number, returns: Ty, bare = false, windowOnly = false): ContextFn => ({
  kind: 'context', min, max, returns, bare, windowOnly,
});
const scalar = (min: number, max: number, returns: Ty, call: ScalarFn['call']): ScalarFn => ({ kind: 'scalar', min, max, returns, call });
const agg = (min: number, max: number, returns: Ty): AggregateFn => ({ kind: 'aggregate', min, max, returns });

function str1(f: (s: string) => unknown): ScalarFn['call'] {
  return (a) => {
    const s = scalarText(a);
    return s === null ? null : f(s);
  };
}
function num1(f: (x: number) => number): ScalarFn['call'] {
  return (a) => {
    const x = toNum(a);
    return x === null ? null : finite(f(x));
  };
}
/** An integer argument (positions, counts): numeric values truncated toward zero. */
function iArg(v: unknown): number | null {
  const x = toNum(v);
  return x === null ? null : Math.trunc(x);
}

/** Number of Unicode code points (a surrogate pair counts once). */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** SQL ROUND: half away from zero, to n decimal places (n may be negative, |n| ≤ 15). */
function round(a: unknown, b: unknown): number | null {
  const x = toNum(a);
  if (x === null || !Number.isFinite(x)) return null;
  let n = 0;
  if (b !== undefined) {
    const d = iArg(b);
    if (d === null || d < -15 || d > 15) return null;
    n = d;
  }
  const f = 10 ** n;
  const r = (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
  return finite(r === 0 ? 0 : r);
}

function toBool(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v !== 0 : null;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    return s === 'true' ? true : s === 'false' ? false : null;
  }
  return null;
}

export const FUNCTIONS: ReadonlyMap<string, FnDef> = new Map<string, FnDef>([
  // The message and its context.
  ['topic', ctx(0, 1, 'string', true)],
  ['clientid', ctx(0, 0, 'string', true)],
  ['deviceid', ctx(0, 0, 'any', true)],
  ['timestamp', ctx(0, 0, 'number', true)],
  ['qos', ctx(0, 0, 'number', true)],
  ['retain', ctx(0, 0, 'boolean', true)],
  ['user_property', ctx(1, 1, 'any')],
  ['now', ctx(0, 0, 'number')],
  ['window_start', ctx(0, 0, 'number', false, true)],
  ['window_end', ctx(0, 0, 'number', false, true)],
  // Strings.
  ['lower', scalar(1, 1, 'string', str1((s) => s.toLowerCase()))],
  ['upper', scalar(1, 1, 'string', str1((s) => s.toUpperCase()))],
  ['trim', scalar(1, 1, 'string', str1((s) => s.trim()))],
  [
    'concat',
    {
      kind: 'variadic', min: 1, max: Infinity, returns: 'string',
      // Like PostgreSQL's concat(): null arguments are skipped (|| gives null instead).
      call: (args) => {
        let s = '';
        for (const a of args) {
          const t = toStr(a);
          if (t !== null) s += t;
        }
        return s;
      },
    },
  ],
  [
    'substr',
    // substr(s, start[, len]): start is 1-based as in SQL; start < 1 counts from 1.
    scalar(2, 3, 'string', (a, b, c) => {
      const s = scalarText(a);
      const start = iArg(b);
      if (s === null || start === null) return null;
      const from = Math.max(start, 1) - 1;
      if (c === undefined) return s.slice(from);
      const len = iArg(c);
      if (len === null || len < 0) return null;
      return s.slice(from, Math.max(start - 1 + len, from));
    }),
  ],
  [
    'length',
    // Characters of a string (code points), elements of an array.
    scalar(1, 1, 'number', (a) => (Array.isArray(a) ? a.length : typeof a === 'string' ? codePoints(a) : null)),
  ],
  [
    'replace',
    scalar(3, 3, 'string', (a, b, c) => {
      const s = scalarText(a);
      const from = scalarText(b);
      const to = scalarText(c);
      if (s === null || from === null || to === null) return null;
      return from === '' ? s : s.split(from).join(to);
    }),
  ],
  [
    'split',
    // split(s, sep): the array of parts; split(s, sep, n): the n-th part (1-based; -1 the last).
    scalar(2, 3, 'any', (a, b, c) => {
      const s = scalarText(a);
      const sep = scalarText(b);
      if (s === null || sep === null || sep === '') return null;
      const parts = s.split(sep);
      if (c === undefined) return parts;
      const n = iArg(c);
      if (n === null || n === 0) return null;
      const k = n > 0 ? n - 1 : parts.length + n;
      return k >= 0 && k < parts.length ? parts[k] : null;
    }),
  ],
  // regex_match(s, 'pattern'): the pattern must be a string literal, compiled once (checked at compile time).
  ['regex_match', scalar(2, 2, 'boolean', () => null)],
  // Math.
  ['abs', scalar(1, 1, 'number', num1(Math.abs))],
  ['floor', scalar(1, 1, 'number', num1(Math.floor))],
  ['ceil', scalar(1, 1, 'number', num1(Math.ceil))],
  ['sqrt', scalar(1, 1, 'number', (a) => {
    const x = toNum(a);
    return x === null || x < 0 ? null : finite(Math.sqrt(x));
  })],
  ['round', scalar(1, 2, 'number', round)],
  ['pow', scalar(2, 2, 'number', (a, b) => {
    const x = toNum(a);
    const y = toNum(b);
    return x === null || y === null ? null : finite(x ** y);
  })],
  // min/max with two arguments are scalar; with one they are aggregates (resolved by arity).
  ['min', agg(1, 2, 'any')],
  ['max', agg(1, 2, 'any')],
  [
    'coalesce',
    {
      kind: 'variadic', min: 1, max: Infinity, returns: 'any',
      call: (args) => {
        for (const a of args) if (a !== null && a !== undefined) return a;
        return null;
      },
    },
  ],
  ['nullif', scalar(2, 2, 'any', (a, b) => (equals(a, b) === true || a === undefined ? null : a))],
  // Conversions.
  ['number', scalar(1, 1, 'number', (a) => {
    const x = typeof a === 'boolean' ? (a ? 1 : 0) : toNum(a);
    return x === null ? null : finite(x);
  })],
  ['str', scalar(1, 1, 'string', (a) => toStr(a))],
  ['bool', scalar(1, 1, 'boolean', toBool)],
  // Aggregates (windowed rules only).
  ['avg', agg(1, 1, 'number')],
  ['sum', agg(1, 1, 'number')],
  ['count', agg(1, 1, 'number')], // count(x) or count(*)
  ['first', agg(1, 1, 'any')],
  ['last', agg(1, 1, 'any')],
]);

/** Scalar min(a, b) / max(a, b): numbers, or strings; null when either is null or they are not comparable. */
export function scalarMinMax(isMax: boolean, a: unknown, b: unknown): unknown {
  const c = compare(a, b);
  if (c === null) return null;
  return isMax ? (c >= 0 ? a : b) : c <= 0 ? a : b;
}

/** Is this call an aggregate? min/max only with one argument; count also as count(*). */
export function isAggregateCall(name: string, argc: number, star: boolean): boolean {
  const d = FUNCTIONS.get(name);
  if (d === undefined || d.kind !== 'aggregate') return false;
  if (name === 'min' || name === 'max') return argc === 1;
  return argc <= 1 || star;
}
