// Compile-time checks of a parsed rule: what can be known before a message arrives. Collects every
// error with the position of the offending token (a rule with errors is refused as a whole).
//
// - FROM filters are valid MQTT topic filters (MQTT 5.0 §4.7.1, §4.7.3), not shared subscriptions.
// - Functions exist, with the right number of arguments; regex_match takes a literal, valid pattern.
// - device.* and twin.* paths name attributes that exist (device.id/type/group/tags.k,
//   twin.desired.*/twin.reported.*).
// - Aggregates appear only in the SELECT of a windowed rule, never nested; in a windowed SELECT
//   every column outside an aggregate is a GROUP BY expression (or built from them and literals).
// - Operands whose type is known statically fit their operator (no NOT 5, no TRUE * 2).
// - Output field names (aliases or derived names) are unique.

import type { Expr, Pos, RuleAst, SelectItem } from './ast.js';
import { FUNCTIONS, isAggregateCall, type Ty } from './functions.js';
import { printExpr } from './print.js';
import { toNum } from './values.js';
import { validateTopicFilter } from '../../router/topic.js';

export interface RuleError {
  line: number;
  column: number;
  message: string;
}

export interface Analysis {
  readonly errors: RuleError[];
  /** Output names in SELECT order; '*' for a `*` item. */
  readonly fields: string[];
  readonly needs: { json: boolean; device: boolean; twin: boolean };
  readonly windowed: boolean;
}

/** Topic filters of FROM may be this deep; the broker's own limit applies to what it routes. */
const MAX_FILTER_LEVELS = 1024;

const DEVICE_ATTRS = new Set(['id', 'type', 'group', 'tags']);
const TWIN_SECTIONS = new Set(['desired', 'reported']);

/** Where an expression sits, for the aggregate rules. */
type Place = 'select' | 'where' | 'groupby' | 'aggarg';

export function analyze(ast: RuleAst): Analysis {
  return new Checker(ast).run();
}

/** The name an unaliased SELECT expression gets (documented in docs/RULES.md, "Output names"). */
export function derivedName(e: Expr, index: number): string {
  return deriveName(e) ?? 'col' + (index + 1);
}

function deriveName(e: Expr): string | null {
  switch (e.kind) {
    case 'path': {
      // The last key of the path; an index step appends _n to the name before it.
      let name: string = e.root;
      for (const s of e.steps) {
        if (s.kind === 'key') name = s.name;
        else if (s.expr.kind === 'lit' && (typeof s.expr.value === 'number' || typeof s.expr.value === 'string')) {
          name = typeof s.expr.value === 'string' ? s.expr.value : name + '_' + s.expr.value;
        } else return null;
      }
      return name;
    }
    case 'call': {
      // name, then _ and the derived name of the first argument when it has one: avg_temp, topic_2.
      if (e.star || e.args.length === 0) return e.name;
      const a = e.args[0]!;
      if (a.kind === 'lit') {
        const v = a.value;
        if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return e.name + '_' + v;
        if (typeof v === 'string' && /^\w+$/.test(v)) return e.name + '_' + v;
        return e.name;
      }
      const inner = deriveName(a);
      return inner === null ? e.name : e.name + '_' + inner;
    }
    default:
      return null;
  }
}

class Checker {
  private readonly errors: RuleError[] = [];
  private readonly needs = { json: false, device: false, twin: false };
  private readonly windowed: boolean;
  private readonly groupKeys: Set<string>;

  constructor(private readonly ast: RuleAst) {
    this.windowed = ast.window !== null;
    this.groupKeys = new Set(ast.groupBy.map(printExpr));
  }

  private err(pos: Pos, message: string): void {
    this.errors.push({ line: pos.line, column: pos.column, message });
  }

  run(): Analysis {
    const ast = this.ast;
    for (const f of ast.from) {
      if (f.filter.startsWith('$share/')) {
        this.err(f.pos, 'FROM takes a topic filter, not a shared subscription ($share/…)');
        continue;
      }
      const why = validateTopicFilter(f.filter, MAX_FILTER_LEVELS);
      if (why !== null) this.err(f.pos, `invalid topic filter '${f.filter}': ${why}`);
    }
    const fields: string[] = [];
    const seen = new Map<string, Pos>();
    ast.select.forEach((item, idx) => {
      const name = this.selectItem(item, idx);
      if (name !== '*') {
        if (seen.has(name)) this.err(item.pos, `duplicate output field '${name}': give one of them another name with AS`);
        seen.set(name, item.pos);
      }
      fields.push(name);
    });
    if (ast.where) {
      const t = this.expr(ast.where, 'where', false);
      this.wantBoolean(ast.where, t, 'WHERE');
    }
    for (const g of ast.groupBy) this.expr(g, 'groupby', false);
    this.errors.sort((a, b) => a.line - b.line || a.column - b.column);
    return { errors: this.errors, fields, needs: this.needs, windowed: this.windowed };
  }

  private selectItem(item: SelectItem, idx: number): string {
    if (item.kind === 'star') {
      if (this.windowed) this.err(item.pos, 'SELECT * is not allowed in a windowed rule: name the aggregates');
      this.needs.json = true;
      return '*';
    }
    this.expr(item.expr, 'select', false);
    if (this.windowed) this.grounded(item.expr);
    return item.alias ?? derivedName(item.expr, idx);
  }

  /** In a windowed SELECT, a column outside aggregates must come from GROUP BY (or be constant). */
  private grounded(e: Expr): void {
    if (this.groupKeys.has(printExpr(e))) return;
    switch (e.kind) {
      case 'lit':
        return;
      case 'path':
        this.err(e.pos, `'${printExpr(e)}' is neither aggregated nor in GROUP BY`);
        return;
      case 'call': {
        if (isAggregateCall(e.name, e.args.length, e.star)) return;
        const d = FUNCTIONS.get(e.name);
        if (d?.kind === 'context' && e.name !== 'now' && !d.windowOnly) {
          this.err(e.pos, `'${printExpr(e)}' is neither aggregated nor in GROUP BY`);
          return;
        }
        for (const a of e.args) this.grounded(a);
        return;
      }
      case 'unary':
      case 'isnull':
        this.grounded(e.arg);
        return;
      case 'binary':
        this.grounded(e.left);
        this.grounded(e.right);
        return;
      case 'in':
        this.grounded(e.arg);
        e.list.forEach((x) => this.grounded(x));
        return;
      case 'like':
        this.grounded(e.arg);
        this.grounded(e.pattern);
        return;
      case 'between':
        this.grounded(e.arg);
        this.grounded(e.low);
        this.grounded(e.high);
        return;
      case 'case':
        if (e.subject) this.grounded(e.subject);
        for (const w of e.whens) {
          this.grounded(w.when);
          this.grounded(w.then);
        }
        if (e.otherwise) this.grounded(e.otherwise);
        return;
    }
  }

  private wantBoolean(e: Expr, t: Ty, what: string): void {
    if (t === 'number' || t === 'string') this.err(e.pos, `${what} needs a boolean condition, not a ${t}`);
  }
  private wantNumber(e: Expr, t: Ty, what: string): void {
    if (t === 'boolean') this.err(e.pos, `${what} needs numbers, not a boolean`);
    else if (e.kind === 'lit' && typeof e.value === 'string' && toNum(e.value) === null) {
      this.err(e.pos, `${what} needs numbers, not the string ${printExpr(e)}`);
    }
  }

  /** Checks e and returns its static type. */
  private expr(e: Expr, place: Place, inAgg: boolean): Ty {
    switch (e.kind) {
      case 'lit':
        return e.value === null ? 'null' : (typeof e.value as Ty);
      case 'path':
        this.path(e, place, inAgg);
        return 'any';
      case 'call':
        return this.call(e, place, inAgg);
      case 'unary': {
        const t = this.expr(e.arg, place, inAgg);
        if (e.op === 'not') {
          this.wantBoolean(e.arg, t, 'NOT');
          return 'boolean';
        }
        this.wantNumber(e.arg, t, "unary '-'");
        return 'number';
      }
      case 'binary': {
        const l = this.expr(e.left, place, inAgg);
        const r = this.expr(e.right, place, inAgg);
        switch (e.op) {
          case 'and':
          case 'or':
            this.wantBoolean(e.left, l, e.op.toUpperCase());
            this.wantBoolean(e.right, r, e.op.toUpperCase());
            return 'boolean';
          case '||':
            return 'string';
          case '+':
          case '-':
          case '*':
          case '/':
          case '%':
            this.wantNumber(e.left, l, `'${e.op}'`);
            this.wantNumber(e.right, r, `'${e.op}'`);
            return 'number';
          default:
            return 'boolean';
        }
      }
      case 'isnull':
        this.expr(e.arg, place, inAgg);
        return 'boolean';
      case 'in':
        this.expr(e.arg, place, inAgg);
        for (const x of e.list) this.expr(x, place, inAgg);
        return 'boolean';
      case 'like': {
        this.expr(e.arg, place, inAgg);
        const t = this.expr(e.pattern, place, inAgg);
        if (t === 'number' || t === 'boolean') this.err(e.pattern.pos, `LIKE needs a string pattern, not a ${t}`);
        return 'boolean';
      }
      case 'between':
        this.expr(e.arg, place, inAgg);
        this.expr(e.low, place, inAgg);
        this.expr(e.high, place, inAgg);
        return 'boolean';
      case 'case': {
        if (e.subject) this.expr(e.subject, place, inAgg);
        let ty: Ty | null = null;
        const join = (t: Ty): void => {
          if (t === 'null') return;
          ty = ty === null || ty === t ? t : 'any';
        };
        for (const w of e.whens) {
          const c = this.expr(w.when, place, inAgg);
          if (!e.subject) this.wantBoolean(w.when, c, 'WHEN');
          join(this.expr(w.then, place, inAgg));
        }
        if (e.otherwise) join(this.expr(e.otherwise, place, inAgg));
        return ty ?? 'null';
      }
    }
  }

  private path(e: Extract<Expr, { kind: 'path' }>, place: Place, inAgg: boolean): void {
    for (const s of e.steps) if (s.kind === 'index') this.expr(s.expr, place, inAgg);
    if (e.root === 'payload') {
      this.needs.json = true;
      return;
    }
    const first = e.steps[0];
    if (e.root === 'device') {
      this.needs.device = true;
      if (first === undefined) return;
      if (first.kind !== 'key' || !DEVICE_ATTRS.has(first.name)) {
        this.err(first.pos, 'a device has id, type, group and tags (device.tags.site)');
      } else if (first.name !== 'tags' && e.steps.length > 1) {
        this.err(e.steps[1]!.pos, `device.${first.name} is a string and has no fields`);
      }
      return;
    }
    this.needs.twin = true;
    if (first !== undefined && (first.kind !== 'key' || !TWIN_SECTIONS.has(first.name))) {
      this.err(first.pos, 'a twin has desired and reported state (twin.reported.fw)');
    }
  }

  private call(e: Extract<Expr, { kind: 'call' }>, place: Place, inAgg: boolean): Ty {
    const d = FUNCTIONS.get(e.name);
    if (d === undefined) {
      if (e.bare) {
        this.err(e.pos, `unknown name '${e.name}': payload fields are written payload.${e.name}`);
      } else this.err(e.pos, `unknown function '${e.name}'`);
      for (const a of e.args) this.expr(a, place, inAgg);
      return 'any';
    }
    if (e.bare && !(d.kind === 'context' && d.bare)) {
      this.err(e.pos, `'${e.name}' is a function: write ${e.name}(…)`);
      return d.returns;
    }
    const argc = e.args.length;
    if (e.star && e.name !== 'count') this.err(e.pos, `only count takes *`);
    if (!e.star && (argc < d.min || argc > d.max)) {
      const want = d.min === d.max ? `${d.min}` : d.max === Infinity ? `at least ${d.min}` : `${d.min} to ${d.max}`;
      this.err(e.pos, `${e.name}() takes ${want} argument${d.max === 1 && d.min === 1 ? '' : 's'}, not ${argc}`);
    }
    const aggregate = isAggregateCall(e.name, argc, e.star);
    if (aggregate) {
      if (!this.windowed) {
        this.err(e.pos, `aggregate ${e.name}() needs a windowed rule (GROUP BY … WINDOW …)`);
      } else if (place !== 'select') {
        this.err(e.pos, `aggregate ${e.name}() is only allowed in SELECT`);
      } else if (inAgg) this.err(e.pos, `aggregate ${e.name}() cannot be nested in another aggregate`);
    }
    if (d.kind === 'context' && d.windowOnly && (!this.windowed || place !== 'select' || inAgg)) {
      this.err(e.pos, `${e.name}() is only allowed in the SELECT of a windowed rule, outside aggregates`);
    }
    if (e.name === 'regex_match' && argc === 2) {
      const p = e.args[1]!;
      if (p.kind !== 'lit' || typeof p.value !== 'string') {
        this.err(p.pos, 'regex_match needs a string literal pattern');
      } else {
        try {
          new RegExp(p.value, 'u');
        } catch (x) {
          this.err(p.pos, `invalid regular expression: ${(x as Error).message}`);
        }
      }
    }
    if (e.name === 'user_property' && argc === 1) {
      const a = e.args[0]!;
      if (a.kind === 'lit' && typeof a.value !== 'string') this.err(a.pos, 'user_property needs a string key');
    }
    for (const a of e.args) this.expr(a, place, inAgg || aggregate);
    if ((e.name === 'min' || e.name === 'max') && argc === 2) return 'any';
    return d.returns;
  }
}
