// The reference interpreter: walks the AST for every message, written for obviousness rather than
// speed. Tests hold the compiled closures to it (compiler.test.ts property tests). It shares the
// value semantics (values.ts) and the scalar function bodies (functions.ts) with the compiler;
// what it checks is everything the compiler specialises: paths, short-circuits, literal fast
// paths, IN sets, LIKE/regex caching, CASE, output rows.

import type { Expr, RuleAst } from './ast.js';
import { FUNCTIONS, isAggregateCall, scalarMinMax, type ScalarFn, type VariadicFn } from './functions.js';
import type { RuleInput } from './input.js';
import { printExpr } from './print.js';
import { arith, cmpOp, compare, equals, likeRegExp, scalarText, setField, toNum, toStr, truth } from './values.js';

/** Values a closing window supplies in place of aggregates and GROUP BY expressions. */
export interface WindowScope {
  /** printExpr(aggregate call or GROUP BY expression) → its value. */
  readonly values: ReadonlyMap<string, unknown>;
  readonly start: number;
  readonly end: number;
}

export function evalExpr(e: Expr, i: RuleInput, w: WindowScope | null = null): unknown {
  if (w !== null) {
    const key = printExpr(e);
    if (w.values.has(key)) return w.values.get(key);
  }
  switch (e.kind) {
    case 'lit':
      return e.value;
    case 'path': {
      let v: unknown;
      if (e.root === 'payload') {
        if (e.steps.length === 0) return i.json !== undefined ? i.json : i.payload.toString('utf8');
        v = i.json === undefined ? null : i.json;
      } else v = (e.root === 'device' ? i.device : i.twin) ?? null;
      for (const s of e.steps) {
        const k = s.kind === 'key' ? s.name : evalExpr(s.expr, i, w);
        v = step(v, k);
      }
      return v;
    }
    case 'unary': {
      const v = evalExpr(e.arg, i, w);
      if (e.op === 'not') {
        const t = truth(v);
        return t === null ? null : !t;
      }
      const n = toNum(v);
      return n === null ? null : -n;
    }
    case 'binary': {
      const a = evalExpr(e.left, i, w);
      const b = evalExpr(e.right, i, w);
      switch (e.op) {
        case 'and':
          return evalAnd(truth(a), truth(b));
        case 'or': {
          const x = truth(a);
          const y = truth(b);
          if (x === true || y === true) return true;
          return x === false && y === false ? false : null;
        }
        case '||': {
          const x = toStr(a);
          const y = toStr(b);
          return x === null || y === null ? null : x + y;
        }
        case '+':
        case '-':
        case '*':
        case '/':
        case '%':
          return arith(e.op, a, b);
        default:
          return cmpOp(e.op, a, b);
      }
    }
    case 'isnull': {
      const isNull = evalExpr(e.arg, i, w) === null;
      return e.negated ? !isNull : isNull;
    }
    case 'in': {
      const v = evalExpr(e.arg, i, w);
      let r: boolean | null;
      if (v === null) r = null;
      else {
        const results = e.list.map((x) => equals(v, evalExpr(x, i, w)));
        r = results.includes(true) ? true : results.includes(null) ? null : false;
      }
      return e.negated && r !== null ? !r : r;
    }
    case 'like': {
      const s = scalarText(evalExpr(e.arg, i, w));
      const p = evalExpr(e.pattern, i, w);
      const r = s === null || typeof p !== 'string' ? null : likeRegExp(p).test(s);
      return e.negated && r !== null ? !r : r;
    }
    case 'between': {
      const v = evalExpr(e.arg, i, w);
      const lo = compare(v, evalExpr(e.low, i, w));
      const hi = compare(v, evalExpr(e.high, i, w));
      const r = evalAnd(lo === null ? null : lo >= 0, hi === null ? null : hi <= 0);
      return e.negated && r !== null ? !r : r;
    }
    case 'case': {
      const subject = e.subject ? evalExpr(e.subject, i, w) : undefined;
      for (const b of e.whens) {
        const c = evalExpr(b.when, i, w);
        const hit = e.subject ? equals(subject, c) === true : c === true;
        if (hit) return evalExpr(b.then, i, w);
      }
      return e.otherwise ? evalExpr(e.otherwise, i, w) : null;
    }
    case 'call':
      return evalCall(e, i, w);
  }
}

function evalAnd(x: boolean | null, y: boolean | null): boolean | null {
  if (x === false || y === false) return false;
  return x === true && y === true ? true : null;
}

function step(v: unknown, k: unknown): unknown {
  if (v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) {
    return typeof k === 'number' && Number.isInteger(k) && k >= 0 && k < v.length ? (v[k] ?? null) : null;
  }
  if (typeof k !== 'string' || !Object.hasOwn(v, k)) return null;
  return (v as Record<string, unknown>)[k] ?? null;
}

function evalCall(e: Extract<Expr, { kind: 'call' }>, i: RuleInput, w: WindowScope | null): unknown {
  const args = e.args.map((a) => evalExpr(a, i, w));
  switch (e.name) {
    case 'topic': {
      if (args.length === 0) return i.topic;
      const n = toNum(args[0]);
      const levels = i.topic.split('/');
      return n !== null && Number.isInteger(n) && n >= 1 && n <= levels.length ? levels[n - 1] : null;
    }
    case 'clientid':
      return i.clientId;
    case 'deviceid':
      return i.deviceId ?? null;
    case 'timestamp':
      return i.timestamp;
    case 'qos':
      return i.qos;
    case 'retain':
      return i.retain;
    case 'now':
      return Date.now();
    case 'user_property': {
      const k = args[0];
      return typeof k === 'string' && Object.hasOwn(i.userProperties, k) ? (i.userProperties[k] ?? null) : null;
    }
    case 'window_start':
      return w === null ? null : w.start;
    case 'window_end':
      return w === null ? null : w.end;
    case 'regex_match': {
      const s = scalarText(args[0]);
      return s === null ? null : new RegExp(String(args[1]), 'u').test(s);
    }
    case 'min':
    case 'max':
      if (args.length === 2) return scalarMinMax(e.name === 'max', args[0], args[1]);
  }
  if (isAggregateCall(e.name, args.length, e.star)) return null; // supplied by the window scope
  const d = FUNCTIONS.get(e.name)!;
  if (d.kind === 'variadic') return (d as VariadicFn).call(args);
  return (d as ScalarFn).call(args[0], args[1], args[2]);
}

/** The output row of a non-windowed rule, or undefined when WHERE is not true. */
export function interpretAst(ast: RuleAst, fields: readonly string[], i: RuleInput): Record<string, unknown> | undefined {
  if (ast.where && evalExpr(ast.where, i) !== true) return undefined;
  const row: Record<string, unknown> = {};
  ast.select.forEach((item, k) => {
    if (item.kind === 'star') {
      const p = i.json !== undefined ? i.json : i.payload.toString('utf8');
      if (p !== null && typeof p === 'object' && !Array.isArray(p)) {
        for (const [key, v] of Object.entries(p)) setField(row, key, v);
      } else row['payload'] = p;
    } else setField(row, fields[k]!, evalExpr(item.expr, i));
  });
  return row;
}
