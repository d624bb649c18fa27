// Windowed aggregates per GROUP BY key (issue 6: "with the window state bounded and its memory
// reported"). Windows run on the engine's clock: the `now` passed to add()/tick().
//
// - TUMBLING(d): windows [k·d, (k+1)·d) aligned to the epoch; all keys close together at the end.
// - SLIDING(d, s): windows of length d starting every s (d a multiple of s). Each key keeps one
//   pane of partial aggregates per step; a closing window merges its d/s panes, so a message is
//   added once whatever the overlap.
// - COUNT(n): a key's window closes with its n-th message.
//
// A window emits one row per key that received at least one message in it. Keys are bounded
// (options.maxKeys): a message that would open a key beyond the bound is dropped and counted.

import type { Expr, RuleAst } from './ast.js';
import { compileExpr, compileMessageExpr, type Fn } from './compiler.js';
import { isAggregateCall } from './functions.js';
import type { RuleInput } from './input.js';
import { printExpr } from './print.js';
import { finite, setField, toNum } from './values.js';

export interface WindowState {
  /** Add a message (WHERE applied first); returns rows of windows this closes (COUNT windows, or time windows passed by `now`). */
  add(input: RuleInput, now: number): Record<string, unknown>[];
  /** Close time windows that ended by `now` (called by a timer); returns their rows. */
  tick(now: number): Record<string, unknown>[];
  /** Group keys held. */
  readonly keys: number;
  /** Estimate, for the metric. */
  readonly memoryBytes: number;
  /** Messages dropped because they would have opened a key beyond options.maxKeys. */
  readonly dropped: number;
  /** When the next time window closes (epoch ms), or null when nothing is open (COUNT windows: always null). */
  readonly nextCloseAt: number | null;
}

export interface WindowOptions {
  /** Most group keys held at once (default 100,000). */
  maxKeys?: number;
}

export const DEFAULT_MAX_KEYS = 100_000;

type AggKind = 'count_star' | 'count' | 'sum' | 'avg' | 'min' | 'max' | 'first' | 'last';

/** Partial state of one aggregate; the same shape for every kind so panes merge simply. */
class Acc {
  n = 0;
  num = 0; // sum, or the min/max so far
  val: unknown = null; // first/last
}

function accAdd(kind: AggKind, a: Acc, v: unknown): void {
  switch (kind) {
    case 'count_star':
      a.n++;
      return;
    case 'count':
      if (v !== null) a.n++;
      return;
    case 'sum':
    case 'avg': {
      const x = toNum(v);
      if (x !== null) {
        a.n++;
        a.num += x;
      }
      return;
    }
    case 'min':
    case 'max': {
      const x = toNum(v);
      if (x !== null && x === x) {
        if (a.n === 0 || (kind === 'min' ? x < a.num : x > a.num)) a.num = x;
        a.n++;
      }
      return;
    }
    case 'first':
      if (v !== null && a.n === 0) {
        a.val = v;
        a.n = 1;
      }
      return;
    case 'last':
      if (v !== null) {
        a.val = v;
        a.n = 1;
      }
      return;
  }
}

/** Folds `from` (a later pane) into `into`. */
function accMerge(kind: AggKind, into: Acc, from: Acc): void {
  if (from.n === 0) return;
  switch (kind) {
    case 'count_star':
    case 'count':
      into.n += from.n;
      return;
    case 'sum':
    case 'avg':
      into.n += from.n;
      into.num += from.num;
      return;
    case 'min':
    case 'max':
      if (into.n === 0 || (kind === 'min' ? from.num < into.num : from.num > into.num)) into.num = from.num;
      into.n += from.n;
      return;
    case 'first':
      if (into.n === 0) {
        into.val = from.val;
        into.n = 1;
      }
      return;
    case 'last':
      into.val = from.val;
      into.n = 1;
      return;
  }
}

function accResult(kind: AggKind, a: Acc): unknown {
  switch (kind) {
    case 'count_star':
    case 'count':
      return a.n;
    case 'sum':
      return a.n === 0 ? null : finite(a.num);
    case 'avg':
      return a.n === 0 ? null : finite(a.num / a.n);
    case 'min':
    case 'max':
      return a.n === 0 ? null : a.num;
    case 'first':
    case 'last':
      return a.n === 0 ? null : a.val;
  }
}

interface AggSlot {
  readonly kind: AggKind;
  readonly arg: Fn<RuleInput> | null;
}

/** What a closing window gives the SELECT expressions of a windowed rule. */
interface Frame {
  readonly group: readonly unknown[];
  readonly aggs: readonly unknown[];
  readonly start: number;
  readonly end: number;
}

interface Group {
  readonly key: unknown;
  readonly values: unknown[];
  /** TUMBLING/COUNT: one pane; SLIDING: panes by pane index. */
  accs: Acc[];
  panes: Map<number, Acc[]> | null;
  count: number;
  firstAt: number;
  lastAt: number;
}

/** Collects the distinct aggregate calls of the SELECT (by printed form) in order. */
function collectAggregates(e: Expr, out: Map<string, Extract<Expr, { kind: 'call' }>>): void {
  switch (e.kind) {
    case 'call':
      if (isAggregateCall(e.name, e.args.length, e.star)) {
        out.set(printExpr(e), e);
        return;
      }
      e.args.forEach((a) => collectAggregates(a, out));
      return;
    case 'unary':
    case 'isnull':
      collectAggregates(e.arg, out);
      return;
    case 'binary':
      collectAggregates(e.left, out);
      collectAggregates(e.right, out);
      return;
    case 'in':
      collectAggregates(e.arg, out);
      e.list.forEach((a) => collectAggregates(a, out));
      return;
    case 'like':
      collectAggregates(e.arg, out);
      collectAggregates(e.pattern, out);
      return;
    case 'between':
      collectAggregates(e.arg, out);
      collectAggregates(e.low, out);
      collectAggregates(e.high, out);
      return;
    case 'case':
      if (e.subject) collectAggregates(e.subject, out);
      for (const w of e.whens) {
        collectAggregates(w.when, out);
        collectAggregates(w.then, out);
      }
      if (e.otherwise) collectAggregates(e.otherwise, out);
      return;
    default:
      return;
  }
}

// Rough V8 sizes, for the memory metric.
const GROUP_BYTES = 160;
const ACC_BYTES = 48;
const PANE_BYTES = 64;

export function createWindowState(ast: RuleAst, fields: readonly string[], where: Fn<RuleInput> | null, options: WindowOptions = {}): WindowState {
  const spec = ast.window!;
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  const groupFns = ast.groupBy.map(compileMessageExpr);
  const groupIndex = new Map(ast.groupBy.map((g, j) => [printExpr(g), j] as const));
  const aggCalls = new Map<string, Extract<Expr, { kind: 'call' }>>();
  for (const item of ast.select) if (item.kind === 'expr') collectAggregates(item.expr, aggCalls);
  const aggIndex = new Map<string, number>();
  const slots: AggSlot[] = [];
  for (const [key, call] of aggCalls) {
    aggIndex.set(key, slots.length);
    const kind: AggKind = call.star ? 'count_star' : (call.name as AggKind);
    slots.push({ kind, arg: call.star ? null : compileMessageExpr(call.args[0]!) });
  }
  const nAggs = slots.length;
  const hook = (e: Expr): Fn<Frame> | null => {
    const key = printExpr(e);
    const j = groupIndex.get(key);
    if (j !== undefined) return (f) => f.group[j];
    const k = aggIndex.get(key);
    if (k !== undefined) return (f) => f.aggs[k];
    if (e.kind === 'call' && e.name === 'window_start') return (f) => f.start;
    if (e.kind === 'call' && e.name === 'window_end') return (f) => f.end;
    return null;
  };
  const outputs = ast.select.map((item, k) => ({
    name: fields[k]!,
    fn: item.kind === 'expr' ? compileExpr<Frame>(item.expr, hook) : () => null,
  }));

  const groups = new Map<unknown, Group>();
  let dropped = 0;
  let keyBytes = 0;
  let paneCount = 0;

  const newAccs = (): Acc[] => {
    const a: Acc[] = new Array(nAggs);
    for (let k = 0; k < nAggs; k++) a[k] = new Acc();
    return a;
  };

  /** The group of this message, created if there is room; null when dropped. */
  const groupOf = (i: RuleInput, now: number): Group | null => {
    let key: unknown;
    let values: unknown[] | null = null;
    if (groupFns.length === 0) key = '';
    else if (groupFns.length === 1) {
      const v = groupFns[0]!(i);
      if (v !== null && typeof v === 'object') {
        values = [v];
        key = '\u0000' + JSON.stringify(values);
      } else key = v;
    } else {
      values = groupFns.map((f) => f(i));
      key = '\u0000' + JSON.stringify(values);
    }
    let g = groups.get(key);
    if (g === undefined) {
      if (groups.size >= maxKeys) {
        dropped++;
        return null;
      }
      g = { key, values: values ?? [key], accs: spec.kind === 'sliding' ? [] : newAccs(), panes: spec.kind === 'sliding' ? new Map() : null, count: 0, firstAt: now, lastAt: now };
      groups.set(key, g);
      keyBytes += typeof key === 'string' ? 2 * key.length : 8;
    }
    return g;
  };

  const deleteGroup = (g: Group): void => {
    groups.delete(g.key);
    keyBytes -= typeof g.key === 'string' ? 2 * g.key.length : 8;
    if (g.panes) paneCount -= g.panes.size;
  };

  const row = (g: Group, accs: readonly Acc[], start: number, end: number): Record<string, unknown> => {
    const aggs: unknown[] = new Array(nAggs);
    for (let k = 0; k < nAggs; k++) aggs[k] = accResult(slots[k]!.kind, accs[k]!);
    const frame: Frame = { group: g.values, aggs, start, end };
    const r: Record<string, unknown> = {};
    for (const o of outputs) setField(r, o.name, o.fn(frame));
    return r;
  };

  const accumulate = (accs: Acc[], i: RuleInput): void => {
    for (let k = 0; k < nAggs; k++) {
      const s = slots[k]!;
      accAdd(s.kind, accs[k]!, s.arg === null ? null : s.arg(i));
    }
  };

  const passes = (i: RuleInput): boolean => where === null || where(i) === true;

  if (spec.kind === 'count') {
    const n = spec.count;
    return {
      add(i, now) {
        if (!passes(i)) return [];
        const g = groupOf(i, now);
        if (g === null) return [];
        accumulate(g.accs, i);
        g.lastAt = now;
        if (++g.count < n) return [];
        deleteGroup(g);
        return [row(g, g.accs, g.firstAt, g.lastAt)];
      },
      tick: () => [],
      get keys() {
        return groups.size;
      },
      get memoryBytes() {
        return groups.size * (GROUP_BYTES + nAggs * ACC_BYTES) + keyBytes;
      },
      get dropped() {
        return dropped;
      },
      nextCloseAt: null,
    };
  }

  if (spec.kind === 'tumbling') {
    const size = spec.sizeMs;
    let start: number | null = null; // of the open window, when any key is open
    const tick = (now: number): Record<string, unknown>[] => {
      if (start === null || now < start + size) return [];
      const rows: Record<string, unknown>[] = [];
      for (const g of groups.values()) rows.push(row(g, g.accs, start, start + size));
      groups.clear();
      keyBytes = 0;
      start = null;
      return rows;
    };
    return {
      add(i, now) {
        const rows = tick(now);
        if (!passes(i)) return rows;
        const g = groupOf(i, now);
        if (g === null) return rows;
        start ??= Math.floor(now / size) * size;
        accumulate(g.accs, i);
        return rows;
      },
      tick,
      get keys() {
        return groups.size;
      },
      get memoryBytes() {
        return groups.size * (GROUP_BYTES + nAggs * ACC_BYTES) + keyBytes;
      },
      get dropped() {
        return dropped;
      },
      get nextCloseAt() {
        return start === null ? null : start + size;
      },
    };
  }

  // SLIDING: pane p covers [p·step, (p+1)·step); the window closing at boundary q·step covers panes q-P … q-1.
  const step = spec.stepMs;
  const P = spec.sizeMs / step;
  let current: number | null = null; // pane index of `now` as last seen
  const tick = (now: number): Record<string, unknown>[] => {
    const np = Math.floor(now / step);
    const rows: Record<string, unknown>[] = [];
    if (current === null || np <= current) {
      if (current === null) current = np;
      return rows;
    }
    for (let q = current + 1; q <= np && groups.size > 0; q++) {
      for (const g of groups.values()) {
        const merged = newAccs();
        let any = false;
        for (let p = q - P; p < q; p++) {
          const pane = g.panes!.get(p);
          if (pane === undefined) continue;
          any = true;
          for (let k = 0; k < nAggs; k++) accMerge(slots[k]!.kind, merged[k]!, pane[k]!);
        }
        if (any) rows.push(row(g, merged, (q - P) * step, q * step));
        // Pane q-P is in no later window.
        if (g.panes!.delete(q - P)) paneCount--;
        if (g.panes!.size === 0) deleteGroup(g);
      }
    }
    current = np;
    return rows;
  };
  return {
    add(i, now) {
      const rows = tick(now);
      if (!passes(i)) return rows;
      const g = groupOf(i, now);
      if (g === null) return rows;
      // A clock that stepped back adds to the current pane (older panes may be gone already).
      const p = Math.max(Math.floor(now / step), current!);
      let pane = g.panes!.get(p);
      if (pane === undefined) {
        pane = newAccs();
        g.panes!.set(p, pane);
        paneCount++;
      }
      accumulate(pane, i);
      return rows;
    },
    tick,
    get keys() {
      return groups.size;
    },
    get memoryBytes() {
      return groups.size * GROUP_BYTES + paneCount * (PANE_BYTES + nAggs * ACC_BYTES) + keyBytes;
    },
    get dropped() {
      return dropped;
    },
    get nextCloseAt() {
      return groups.size === 0 || current === null ? null : (current + 1) * step;
    },
  };
}
