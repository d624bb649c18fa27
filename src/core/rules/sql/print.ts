// AST → SQL text. The printed form parses back to the same AST (property-tested); it is also the
// structural key the checker uses to match SELECT expressions with GROUP BY expressions.

import type { Expr, PathStep, RuleAst, SelectItem, WindowSpec } from './ast.js';

export function quoteString(s: string): string {
  return "'" + s.replaceAll("'", "''") + "'";
}
function quoteIdent(s: string): string {
  return '"' + s.replaceAll('"', '""') + '"';
}
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function printStep(s: PathStep): string {
  if (s.kind === 'key') return PLAIN_KEY.test(s.name) ? '.' + s.name : '.' + quoteString(s.name);
  return '[' + printExpr(s.expr) + ']';
}

function printLit(v: string | number | boolean | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return quoteString(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  // A negative literal (built by code, never parsed) prints as the unary minus the parser reads back.
  const t = Object.is(v, -0) ? '0' : String(v);
  return v < 0 ? '(' + t + ')' : t;
}

/** Fully parenthesised (every composite operand in parentheses), so precedence never matters. */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case 'lit':
      return printLit(e.value);
    case 'path':
      return e.root + e.steps.map(printStep).join('');
    case 'call':
      if (e.bare) return e.name;
      return e.name + '(' + (e.star ? '*' : e.args.map(printExpr).join(', ')) + ')';
    case 'unary':
      return e.op === '-' ? '(-' + printExpr(e.arg) + ')' : '(NOT ' + printExpr(e.arg) + ')';
    case 'binary':
      return '(' + printExpr(e.left) + ' ' + (e.op === 'and' || e.op === 'or' ? e.op.toUpperCase() : e.op) + ' ' + printExpr(e.right) + ')';
    case 'isnull':
      return '(' + printExpr(e.arg) + (e.negated ? ' IS NOT NULL)' : ' IS NULL)');
    case 'in':
      return '(' + printExpr(e.arg) + (e.negated ? ' NOT IN (' : ' IN (') + e.list.map(printExpr).join(', ') + '))';
    case 'like':
      return '(' + printExpr(e.arg) + (e.negated ? ' NOT LIKE ' : ' LIKE ') + printExpr(e.pattern) + ')';
    case 'between':
      return '(' + printExpr(e.arg) + (e.negated ? ' NOT BETWEEN ' : ' BETWEEN ') + printExpr(e.low) + ' AND ' + printExpr(e.high) + ')';
    case 'case': {
      let s = 'CASE';
      if (e.subject) s += ' ' + printExpr(e.subject);
      for (const w of e.whens) s += ' WHEN ' + printExpr(w.when) + ' THEN ' + printExpr(w.then);
      if (e.otherwise) s += ' ELSE ' + printExpr(e.otherwise);
      return s + ' END';
    }
  }
}

function printItem(i: SelectItem): string {
  if (i.kind === 'star') return '*';
  return printExpr(i.expr) + (i.alias === null ? '' : ' AS ' + quoteIdent(i.alias));
}

function printDuration(ms: number): string {
  return ms % 1000 === 0 ? ms / 1000 + 's' : ms + 'ms';
}
function printWindow(w: WindowSpec): string {
  switch (w.kind) {
    case 'tumbling':
      return 'TUMBLING(' + printDuration(w.sizeMs) + ')';
    case 'sliding':
      return 'SLIDING(' + printDuration(w.sizeMs) + ', ' + printDuration(w.stepMs) + ')';
    case 'count':
      return 'COUNT(' + w.count + ')';
  }
}

export function printRule(r: RuleAst): string {
  let s = 'SELECT ' + r.select.map(printItem).join(', ') + ' FROM ' + r.from.map((f) => quoteString(f.filter)).join(', ');
  if (r.where) s += ' WHERE ' + printExpr(r.where);
  if (r.groupBy.length > 0) s += ' GROUP BY ' + r.groupBy.map(printExpr).join(', ');
  if (r.window) s += ' WINDOW ' + printWindow(r.window);
  return s;
}
