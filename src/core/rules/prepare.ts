// A parsed rule file made ready to run: its SQL compiled (errors placed in the file), each alert's
// clear condition compiled as `SELECT * FROM <each FROM filter> WHERE <condition>`, and every
// template checked against the SELECT's output fields so `${tmep}` is refused at load, not found
// blank at run time.
import { fileError, placeInFile, type AlertAction, type RuleFileError, type RuleSpec } from './rule-file.js';
import type { CompiledRule, CompileResult, RuleError } from './sql/index.js';
import { TEMPLATE_FUNCTIONS, unknownRefs } from './template.js';

export type Compile = (sql: string) => CompileResult;

export interface PreparedRule {
  spec: RuleSpec;
  compiled: CompiledRule;
  /** The alert actions with a clear condition, in action order. */
  clears: PreparedClear[];
}

export interface PreparedClear {
  action: AlertAction;
  /** One compiled clear condition per FROM filter (same order as compiled.from). */
  conditions: CompiledRule[];
}

export type PrepareResult = { ok: true; rule: PreparedRule } | { ok: false; errors: RuleFileError[] };

function sqlError(file: string | undefined, path: string, e: RuleError, at: { line: number; column: number } | undefined, what: string): RuleFileError {
  return fileError(file, path, `${what} line ${e.line}, column ${e.column}: ${e.message}`, at);
}

export function prepareRule(spec: RuleSpec, file: string | undefined, compile: Compile): PrepareResult {
  const r = compile(spec.sql);
  if (!r.ok) return { ok: false, errors: r.errors.map((e) => sqlError(file, 'sql', e, placeInFile(spec.sqlOrigin, e.line, e.column), 'SQL')) };
  const compiled = r.rule;
  const errors: RuleFileError[] = [];
  const clears: PreparedClear[] = [];
  for (const a of spec.actions) {
    if (a.kind !== 'alert' || a.clear === undefined) continue;
    const list: CompiledRule[] = [];
    for (const filter of compiled.from) {
      if (filter.includes("'")) {
        errors.push(fileError(file, `${a.path}.clear`, `a clear condition needs FROM filters without quotes (${filter})`));
        continue;
      }
      const prefix = `SELECT * FROM '${filter}' WHERE `;
      const c = compile(prefix + a.clear);
      if (!c.ok) {
        for (const e of c.errors) {
          // Positions inside the condition: line 1 is shifted by the prefix we added.
          const col = e.line === 1 ? Math.max(1, e.column - prefix.length) : e.column;
          errors.push(sqlError(file, `${a.path}.clear`, { ...e, column: col }, placeInFile(a.clearOrigin, e.line, col), 'clear condition'));
        }
        break;
      }
      list.push(c.rule);
    }
    clears.push({ action: a, conditions: list });
  }
  // Windowed rows carry only their output fields; plain rows too. '*' lets any name through.
  for (const t of spec.templates) {
    for (const ref of unknownRefs(t.template, compiled.fields)) {
      const message = `\${${ref.name}} is neither an output field of the SELECT (${compiled.fields.join(', ') || 'none'}) nor one of ${TEMPLATE_FUNCTIONS.join(', ')}`;
      errors.push(fileError(file, t.path, message, placeInFile(t.origin, 1, ref.offset + 1)));
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, rule: { spec, compiled, clears } };
}
