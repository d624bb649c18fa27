// Value semantics shared by the compiler and the reference interpreter: SQL null (a missing field
// is null), three-valued logic, numeric coercion of numeric strings, comparison and LIKE.
// Nothing here throws on data: a value of the wrong type gives null.

/** A finite decimal number written as a string ("21.5", " -3e2 "); hex, "", "Infinity" are not. */
const NUMERIC = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

/**
 * The number an arithmetic operand stands for, or null (null, non-numeric strings, booleans,
 * objects). Numbers pass as they are (JSON.parse gives Infinity for 1e999); every arithmetic
 * result goes through finite(), so a non-finite value never leaves an operator.
 */
export function toNum(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return null;
}

/** A number result, or null when it is not finite (division by zero, overflow). */
export function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

export function arith(op: '+' | '-' | '*' | '/' | '%', a: unknown, b: unknown): number | null {
  const x = toNum(a);
  if (x === null) return null;
  const y = toNum(b);
  if (y === null) return null;
  switch (op) {
    case '+':
      return finite(x + y);
    case '-':
      return finite(x - y);
    case '*':
      return finite(x * y);
    case '/':
      return y === 0 ? null : finite(x / y);
    case '%':
      return y === 0 ? null : finite(x % y);
  }
}

/** Text of a value for ||, concat and string functions: null stays null, objects become JSON. */
export function toStr(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? String(v) : null;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v === null ? null : JSON.stringify(v);
    default:
      return null;
  }
}

/** A truth value: only booleans are; anything else (null, numbers, strings) is unknown. */
export function truth(v: unknown): boolean | null {
  return v === true ? true : v === false ? false : null;
}

/**
 * Order of two values: -1, 0, 1, or null when either is null or they are not comparable.
 * Numbers with numbers (a numeric string counts as its number), strings with strings (code
 * units), booleans with booleans (false < true).
 */
export function compare(a: unknown, b: unknown): -1 | 0 | 1 | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  const ta = typeof a;
  const tb = typeof b;
  if (ta === 'string' && tb === 'string') {
    return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  }
  if ((ta === 'number' || ta === 'string') && (tb === 'number' || tb === 'string')) {
    const x = toNum(a);
    const y = toNum(b);
    if (x === null || y === null) return null;
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : null;
  }
  if (ta === 'boolean' && tb === 'boolean') return a === b ? 0 : a ? 1 : -1;
  return null;
}

/** SQL `=`: null when either side is null; objects and arrays compare by structure. */
export function equals(a: unknown, b: unknown): boolean | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (typeof a === 'object' && typeof b === 'object') return deepEqual(a, b);
  const c = compare(a, b);
  return c === null ? false : c === 0;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' ? a === b : false;
  }
  const aa = Array.isArray(a);
  if (aa !== Array.isArray(b)) return false;
  if (aa) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i])) return false;
    return true;
  }
  const xo = a as Record<string, unknown>;
  const yo = b as Record<string, unknown>;
  const kx = Object.keys(xo);
  if (kx.length !== Object.keys(yo).length) return false;
  for (const k of kx) if (!Object.hasOwn(yo, k) || !deepEqual(xo[k], yo[k])) return false;
  return true;
}

/** Result of a comparison operator from compare(): null stays null. */
export function cmpOp(op: '=' | '!=' | '<' | '<=' | '>' | '>=', a: unknown, b: unknown): boolean | null {
  if (op === '=' || op === '!=') {
    const e = equals(a, b);
    return e === null ? null : op === '=' ? e : !e;
  }
  const c = compare(a, b);
  if (c === null) return null;
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

/**
 * A LIKE pattern as an anchored RegExp: % any run of characters, _ one character, a backslash
 * makes the next character literal (PostgreSQL's default escape).
 */
export function likeRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRe(pattern[++i]!);
    } else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += escapeRe(c);
  }
  return new RegExp(re + '$', 'u');
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? '\\' + c : c;
}

/**
 * The text of a scalar, for LIKE, regex_match and the string functions: strings, numbers and
 * booleans; null for null, undefined, objects and arrays.
 */
export function scalarText(v: unknown): string | null {
  return typeof v === 'object' ? null : toStr(v);
}

/** row[k] = v, also for k = '__proto__' (an own field, never the row's prototype). */
export function setField(row: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(row, k, { value: v, enumerable: true, writable: true, configurable: true });
  else row[k] = v;
}
