// The rule language (issue 6, "Language"): compileRule turns a rule's SQL into closures once;
// the engine calls evaluate() per message (or a WindowState for windowed rules). interpretRule
// is the slow reference the tests hold the compiled form to. See docs/RULES.md, "Language".

import type { RuleAst } from './ast.js';
import { analyze, type RuleError } from './checker.js';
import { compileMessageExpr, payloadRoot, type Fn } from './compiler.js';
import type { RuleInput } from './input.js';
import { interpretAst } from './interpreter.js';
import { RuleSyntaxError } from './lexer.js';
import { parseRule } from './parser.js';
import { setField } from './values.js';
import { createWindowState, type WindowOptions, type WindowState } from './window.js';

export type { RuleError } from './checker.js';
export type { RuleInput } from './input.js';
export type { WindowOptions, WindowState } from './window.js';
export type { RuleAst } from './ast.js';

export type CompileResult = { ok: true; rule: CompiledRule } | { ok: false; errors: RuleError[] };

export interface CompiledRule {
  /** Topic filters of FROM (one or more, comma-separated strings). */
  readonly from: readonly string[];
  /** Output field names in SELECT order (aliases or derived names); '*' for a `*` item. */
  readonly fields: readonly string[];
  /** What the rule reads, so the engine fetches only that (registry, twin) and parses JSON only when needed. */
  readonly needs: { json: boolean; device: boolean; twin: boolean };
  /** Whether the rule has a window (`window` is set). */
  readonly windowed: boolean;
  /** The window's kind for a windowed rule: a time window ('tumbling', 'sliding') closes at its end, a 'count' window with its key's message. */
  readonly window: 'tumbling' | 'sliding' | 'count' | undefined;
  /** Non-windowed rules: the output row, or undefined when WHERE is false. Never throws on data (a missing field is null). */
  evaluate(input: RuleInput): Record<string, unknown> | undefined;
  /** Windowed rules: a fresh window state (one per rule). */
  createWindows(options?: WindowOptions): WindowState;
}

/** Parses, checks and compiles; errors carry 1-based line and column of the offending token. */
export function compileRule(sql: string): CompileResult {
  const parsed = parse(sql);
  if ('errors' in parsed) return { ok: false, errors: parsed.errors };
  const ast = parsed.ast;
  const a = analyze(ast);
  if (a.errors.length > 0) return { ok: false, errors: a.errors };
  const where = ast.where ? compileMessageExpr(ast.where) : null;
  const window = ast.window?.kind;
  const windowed = window !== undefined;
  const evaluate = windowed ? () => undefined : compileSelect(ast, a.fields, where);
  const rule: CompiledRule = {
    from: Object.freeze(ast.from.map((f) => f.filter)),
    fields: Object.freeze(a.fields.slice()),
    needs: Object.freeze({ ...a.needs }),
    windowed,
    window,
    evaluate,
    createWindows: (options?: WindowOptions) => {
      if (!windowed) throw new Error('createWindows() is for windowed rules (GROUP BY … WINDOW …)');
      return createWindowState(ast, a.fields, where, options);
    },
  };
  return { ok: true, rule: Object.freeze(rule) };
}

function parse(sql: string): { ast: RuleAst } | { errors: RuleError[] } {
  try {
    return { ast: parseRule(sql) };
  } catch (e) {
    if (e instanceof RuleSyntaxError) return { errors: [{ line: e.pos.line, column: e.pos.column, message: e.message }] };
    throw e;
  }
}

function compileSelect(ast: RuleAst, fields: readonly string[], where: Fn<RuleInput> | null): (i: RuleInput) => Record<string, unknown> | undefined {
  const items = ast.select.map((item, k) => ({
    star: item.kind === 'star',
    name: fields[k]!,
    fn: item.kind === 'star' ? payloadRoot : compileMessageExpr(item.expr),
  }));
  const n = items.length;
  const plain = items.every((it) => !it.star && it.name !== '__proto__');
  if (plain) {
    const names = items.map((it) => it.name);
    const fns = items.map((it) => it.fn);
    return (i) => {
      if (where !== null && where(i) !== true) return undefined;
      const row: Record<string, unknown> = {};
      for (let k = 0; k < n; k++) row[names[k]!] = fns[k]!(i);
      return row;
    };
  }
  return (i) => {
    if (where !== null && where(i) !== true) return undefined;
    const row: Record<string, unknown> = {};
    for (let k = 0; k < n; k++) {
      const it = items[k]!;
      const v = it.fn(i);
      if (!it.star) setField(row, it.name, v);
      else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const key in v) if (Object.hasOwn(v, key)) setField(row, key, (v as Record<string, unknown>)[key]);
      } else row['payload'] = v;
    }
    return row;
  };
}

/** The reference interpreter (tests only): walks the AST. Throws on a rule that does not compile. */
export function interpretRule(sql: string, input: RuleInput): Record<string, unknown> | undefined {
  const parsed = parse(sql);
  if ('errors' in parsed) throw new Error(formatErrors(parsed.errors));
  const a = analyze(parsed.ast);
  if (a.errors.length > 0) throw new Error(formatErrors(a.errors));
  if (a.windowed) throw new Error('interpretRule is for non-windowed rules');
  return interpretAst(parsed.ast, a.fields, input);
}

/** "line:column message" lines, for logs and CLI output. */
export function formatErrors(errors: readonly RuleError[]): string {
  return errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n');
}
