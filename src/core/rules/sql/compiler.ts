// AST → closures, built once per rule. Each node becomes a function of the evaluation context;
// constants, literal LIKE/regex patterns, literal IN lists and constant path keys are resolved at
// compile time. Runs only on checked ASTs (checker.ts). Never throws on data.
//
// The context type C is the message (RuleInput) for WHERE, GROUP BY, aggregate arguments and the
// SELECT of plain rules; the SELECT of a windowed rule is compiled over a closing window instead
// (window.ts), with a hook that resolves aggregates and GROUP BY expressions.

import type { Expr, PathStep } from './ast.js';
import { FUNCTIONS, scalarMinMax, type ScalarFn } from './functions.js';
import type { RuleInput } from './input.js';
import { arith, compare, equals, likeRegExp, scalarText, toNum, toStr, truth } from './values.js';

export type Fn<C> = (c: C) => unknown;
/** Returns a closure for a node the context resolves itself, or null to compile it normally. */
export type Hook<C> = (e: Expr) => Fn<C> | null;

/** Property names every object inherits: looked up with hasOwn, never through the prototype. */
const INHERITED = new Set<string>([...Object.getOwnPropertyNames(Object.prototype), '__proto__']);

/** An own field of a JSON object (not an array), else null. */
export function getKey(v: unknown, k: string): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const x = (v as Record<string, unknown>)[k];
  return x === undefined || (INHERITED.has(k) && !Object.hasOwn(v, k)) ? null : x;
}

/** A path step with a computed key: an integer ≥ 0 indexes an array, a string names a field. */
export function getIndex(v: unknown, k: unknown): unknown {
  if (typeof k === 'number') {
    if (!Array.isArray(v) || !Number.isInteger(k) || k < 0 || k >= v.length) return null;
    const x: unknown = v[k];
    return x === undefined ? null : x;
  }
  if (typeof k === 'string') return getKey(v, k);
  return null;
}

/** Level n (1-based) of a topic, or null. */
export function topicLevel(topic: string, n: number): string | null {
  if (!Number.isInteger(n) || n < 1) return null;
  let start = 0;
  for (let level = 1; level < n; level++) {
    const s = topic.indexOf('/', start);
    if (s < 0) return null;
    start = s + 1;
  }
  const end = topic.indexOf('/', start);
  return end < 0 ? topic.slice(start) : topic.slice(start, end);
}

/** The rule's root values: the payload JSON (its text when it is not JSON), registry attributes, twin. */
export function payloadRoot(i: RuleInput): unknown {
  return i.json !== undefined ? i.json : i.payload.toString('utf8');
}

/** Compiles a message-level expression (WHERE, plain SELECT, GROUP BY, aggregate arguments). */
export function compileMessageExpr(e: Expr): Fn<RuleInput> {
  return compileExpr<RuleInput>(e, messageHook);
}

function messageHook(e: Expr): Fn<RuleInput> | null {
  if (e.kind === 'path') return compilePath(e.root, e.steps);
  if (e.kind === 'call') {
    const d = FUNCTIONS.get(e.name);
    if (d?.kind === 'context') return compileContextCall(e.name, e.args);
  }
  return null;
}

function compilePath(root: 'payload' | 'device' | 'twin', steps: readonly PathStep[]): Fn<RuleInput> {
  if (root === 'payload' && steps.length === 0) return payloadRoot;
  const base: Fn<RuleInput> =
    root === 'payload' ? (i) => (i.json === undefined ? null : i.json) : root === 'device' ? (i) => i.device ?? null : (i) => i.twin ?? null;
  if (steps.length === 0) return base;
  // Constant steps (the common case): keys resolved now, walked in a loop without closures.
  if (steps.every((s) => s.kind === 'key' || s.expr.kind === 'lit')) {
    const keys = steps.map((s) => (s.kind === 'key' ? s.name : (s.expr as { value: unknown }).value));
    if (keys.length === 1 && typeof keys[0] === 'string' && !INHERITED.has(keys[0])) {
      const k = keys[0];
      return (i) => {
        const v = base(i);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
        const x = (v as Record<string, unknown>)[k];
        return x === undefined ? null : x;
      };
    }
    const n = keys.length;
    return (i) => {
      let v = base(i);
      for (let s = 0; s < n; s++) {
        const k = keys[s];
        v = typeof k === 'string' ? getKey(v, k) : getIndex(v, k);
        if (v === null) return null;
      }
      return v;
    };
  }
  const fs = steps.map((s): Fn<RuleInput> | string => (s.kind === 'key' ? s.name : compileMessageExpr(s.expr)));
  const n = fs.length;
  return (i) => {
    let v = base(i);
    for (let s = 0; s < n; s++) {
      const f = fs[s]!;
      v = typeof f === 'string' ? getKey(v, f) : getIndex(v, f(i));
      if (v === null) return null;
    }
    return v;
  };
}

function compileContextCall(name: string, args: readonly Expr[]): Fn<RuleInput> {
  switch (name) {
    case 'topic': {
      if (args.length === 0) return (i) => i.topic;
      const a = args[0]!;
      if (a.kind === 'lit') {
        const n = typeof a.value === 'number' ? a.value : NaN;
        return (i) => topicLevel(i.topic, n);
      }
      const f = compileMessageExpr(a);
      return (i) => {
        const n = toNum(f(i));
        return n === null ? null : topicLevel(i.topic, n);
      };
    }
    case 'clientid':
      return (i) => i.clientId;
    case 'deviceid':
      return (i) => i.deviceId ?? null;
    case 'timestamp':
      return (i) => i.timestamp;
    case 'qos':
      return (i) => i.qos;
    case 'retain':
      return (i) => i.retain;
    case 'now':
      return () => Date.now();
    case 'user_property': {
      const f = compileMessageExpr(args[0]!);
      return (i) => {
        const k = f(i);
        return typeof k === 'string' ? getKey(i.userProperties, k) : null;
      };
    }
    default:
      // window_start/window_end outside a window cannot pass the checker.
      return () => null;
  }
}

/** Compiles any expression; `hook` resolves the nodes that read the context. */
export function compileExpr<C>(e: Expr, hook: Hook<C>): Fn<C> {
  const h = hook(e);
  if (h !== null) return h;
  const c = (x: Expr): Fn<C> => compileExpr(x, hook);
  switch (e.kind) {
    case 'lit': {
      const v = e.value;
      return () => v;
    }
    case 'path':
      return () => null; // paths are resolved by the hook
    case 'unary': {
      const f = c(e.arg);
      if (e.op === 'not') {
        return (x) => {
          const t = truth(f(x));
          return t === null ? null : !t;
        };
      }
      return (x) => {
        const v = f(x);
        if (typeof v === 'number') return -v;
        const n = toNum(v);
        return n === null ? null : -n;
      };
    }
    case 'binary':
      return compileBinary(e.op, c(e.left), c(e.right), e.right);
    case 'isnull': {
      const f = c(e.arg);
      return e.negated ? (x) => f(x) !== null : (x) => f(x) === null;
    }
    case 'in': {
      const f = c(e.arg);
      const lits = e.list.every((l) => l.kind === 'lit') ? e.list.map((l) => (l as { value: unknown }).value) : null;
      let test: Fn<C>;
      if (lits !== null && lits.length > 0 && lits.every((v) => typeof v === 'string')) {
        // A string can only equal a literal string; anything else goes through equals().
        const set = new Set(lits as string[]);
        test = (x) => {
          const v = f(x);
          if (typeof v === 'string') return set.has(v);
          return inList(v, lits);
        };
      } else if (lits !== null) {
        test = (x) => inList(f(x), lits);
      } else {
        const fs = e.list.map(c);
        test = (x) => {
          const v = f(x);
          if (v === null) return null;
          let unknown = false;
          for (const g of fs) {
            const r = equals(v, g(x));
            if (r === true) return true;
            if (r === null) unknown = true;
          }
          return unknown ? null : false;
        };
      }
      return e.negated ? (x) => negate(test(x)) : test;
    }
    case 'like': {
      const f = c(e.arg);
      let test: Fn<C>;
      if (e.pattern.kind === 'lit') {
        const p = e.pattern.value;
        const re = typeof p === 'string' ? likeRegExp(p) : null;
        test = (x) => {
          const s = scalarText(f(x));
          return s === null || re === null ? null : re.test(s);
        };
      } else {
        const pf = c(e.pattern);
        let lastPattern = '';
        let lastRe = likeRegExp('');
        test = (x) => {
          const s = scalarText(f(x));
          const p = pf(x);
          if (s === null || typeof p !== 'string') return null;
          if (p !== lastPattern) {
            lastPattern = p;
            lastRe = likeRegExp(p);
          }
          return lastRe.test(s);
        };
      }
      return e.negated ? (x) => negate(test(x)) : test;
    }
    case 'between': {
      const f = c(e.arg);
      const lo = c(e.low);
      const hi = c(e.high);
      const test: Fn<C> = (x) => {
        const v = f(x);
        const a = compare(v, lo(x));
        const b = compare(v, hi(x));
        const ge = a === null ? null : a >= 0;
        const le = b === null ? null : b <= 0;
        if (ge === false || le === false) return false;
        return ge === null || le === null ? null : true;
      };
      return e.negated ? (x) => negate(test(x)) : test;
    }
    case 'case': {
      const whens = e.whens.map((w) => ({ when: c(w.when), then: c(w.then) }));
      const otherwise = e.otherwise ? c(e.otherwise) : () => null;
      const n = whens.length;
      if (e.subject) {
        const subj = c(e.subject);
        return (x) => {
          const v = subj(x);
          for (let k = 0; k < n; k++) {
            const w = whens[k]!;
            if (equals(v, w.when(x)) === true) return w.then(x);
          }
          return otherwise(x);
        };
      }
      return (x) => {
        for (let k = 0; k < n; k++) {
          const w = whens[k]!;
          if (w.when(x) === true) return w.then(x);
        }
        return otherwise(x);
      };
    }
    case 'call':
      return compileCall(e, c);
  }
}

function negate(v: unknown): boolean | null {
  return v === true ? false : v === false ? true : null;
}

/** SQL IN over constant values: true on a match, null when none matched and a comparison was unknown. */
function inList(v: unknown, lits: readonly unknown[]): boolean | null {
  if (v === null) return null;
  let unknown = false;
  for (const l of lits) {
    const r = equals(v, l);
    if (r === true) return true;
    if (r === null) unknown = true;
  }
  return unknown ? null : false;
}

function compileBinary<C>(op: Extract<Expr, { kind: 'binary' }>['op'], l: Fn<C>, r: Fn<C>, right: Expr): Fn<C> {
  switch (op) {
    case 'and':
      return (x) => {
        const a = truth(l(x));
        if (a === false) return false;
        const b = truth(r(x));
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    case 'or':
      return (x) => {
        const a = truth(l(x));
        if (a === true) return true;
        const b = truth(r(x));
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    case '+':
      return (x) => {
        const a = l(x);
        const b = r(x);
        if (typeof a === 'number' && typeof b === 'number') {
          const v = a + b;
          return Number.isFinite(v) ? v : null;
        }
        return arith('+', a, b);
      };
    case '-':
      return (x) => {
        const a = l(x);
        const b = r(x);
        if (typeof a === 'number' && typeof b === 'number') {
          const v = a - b;
          return Number.isFinite(v) ? v : null;
        }
        return arith('-', a, b);
      };
    case '*':
      return (x) => {
        const a = l(x);
        const b = r(x);
        if (typeof a === 'number' && typeof b === 'number') {
          const v = a * b;
          return Number.isFinite(v) ? v : null;
        }
        return arith('*', a, b);
      };
    case '/':
    case '%':
      return (x) => arith(op, l(x), r(x));
    case '||':
      return (x) => {
        const a = toStr(l(x));
        if (a === null) return null;
        const b = toStr(r(x));
        return b === null ? null : a + b;
      };
    case '=':
    case '!=': {
      const eq = op === '=';
      if (right.kind === 'lit' && typeof right.value === 'string') {
        // Against a string literal: a string compares directly; numbers go through equals().
        const s = right.value;
        return (x) => {
          const a = l(x);
          if (typeof a === 'string') return (a === s) === eq;
          const e = equals(a, s);
          return e === null ? null : e === eq;
        };
      }
      return (x) => {
        const e = equals(l(x), r(x));
        return e === null ? null : e === eq;
      };
    }
    case '<':
      return (x) => {
        const a = l(x);
        const b = r(x);
        if (typeof a === 'number' && typeof b === 'number' && a === a && b === b) return a < b;
        const k = compare(a, b);
        return k === null ? null : k < 0;
      };
    case '<=':
      return (x) => {
        const a = l(x);
        const b = r(x);
        if (typeof a === 'number' && typeof b === 'number' && a === a && b === b) return a <= b;
        const k = compare(a, b);
        return k === null ? null : k <= 0;
      };
    case '>':
      return (x) => {
        const a = l(x);
        const b = r(x);
        if (typeof a === 'number' && typeof b === 'number' && a === a && b === b) return a > b;
        const k = compare(a, b);
        return k === null ? null : k > 0;
      };
    case '>=':
      return (x) => {
        const a = l(x);
        const b = r(x);
        if (typeof a === 'number' && typeof b === 'number' && a === a && b === b) return a >= b;
        const k = compare(a, b);
        return k === null ? null : k >= 0;
      };
  }
}

function compileCall<C>(e: Extract<Expr, { kind: 'call' }>, c: (x: Expr) => Fn<C>): Fn<C> {
  const d = FUNCTIONS.get(e.name)!;
  const args = e.args.map(c);
  switch (e.name) {
    case 'now':
      return () => Date.now();
    case 'min':
    case 'max': {
      // Two arguments: scalar (one-argument aggregates are resolved by the window hook).
      const isMax = e.name === 'max';
      const [a, b] = args as [Fn<C>, Fn<C>];
      return (x) => scalarMinMax(isMax, a(x), b(x));
    }
    case 'coalesce':
      return (x) => {
        for (const f of args) {
          const v = f(x);
          if (v !== null) return v;
        }
        return null;
      };
    case 'concat':
      return (x) => {
        let s = '';
        for (const f of args) {
          const t = toStr(f(x));
          if (t !== null) s += t;
        }
        return s;
      };
    case 'regex_match': {
      const p = e.args[1]!;
      const re = new RegExp(p.kind === 'lit' ? String(p.value) : '(?!)', 'u');
      const a = args[0]!;
      return (x) => {
        const s = scalarText(a(x));
        return s === null ? null : re.test(s);
      };
    }
  }
  const call = (d as ScalarFn).call;
  switch (args.length) {
    case 1: {
      const a = args[0]!;
      return (x) => call(a(x), undefined, undefined);
    }
    case 2: {
      const [a, b] = args as [Fn<C>, Fn<C>];
      return (x) => call(a(x), b(x), undefined);
    }
    default: {
      const [a, b, c3] = args as [Fn<C>, Fn<C>, Fn<C>];
      return (x) => call(a(x), b(x), c3(x));
    }
  }
}
