// Recursive-descent parser: tokens → RuleAst. Stops at the first syntax error (RuleSyntaxError
// with the position of the offending token); semantic checks live in checker.ts.
//
// Precedence, lowest first (PostgreSQL's order): OR; AND; NOT; comparison, IS [NOT] NULL,
// [NOT] IN, [NOT] LIKE, [NOT] BETWEEN (non-associative); ||; + -; * / %; unary -; paths.

import type { BinaryOp, Expr, PathRoot, PathStep, Pos, RuleAst, SelectItem, WindowSpec } from './ast.js';
import { RuleSyntaxError, tokenize, type Token } from './lexer.js';

const RESERVED = new Set([
  'select', 'from', 'where', 'as', 'and', 'or', 'not', 'is', 'null', 'true', 'false', 'in', 'like',
  'between', 'case', 'when', 'then', 'else', 'end', 'group', 'by', 'window',
]);

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Largest duration or count a WINDOW accepts (about 30 days / 1e6 messages): bounds window state. */
export const MAX_WINDOW_MS = 30 * 86_400_000;
export const MAX_WINDOW_COUNT = 1_000_000;
/** A SLIDING window keeps size/step panes per key. */
export const MAX_SLIDING_PANES = 1000;

const PATH_ROOTS = new Set<string>(['payload', 'device', 'twin']);

export function parseRule(src: string): RuleAst {
  return new Parser(tokenize(src)).rule();
}

/** Parses a lone expression (used by tests and the property-test printer). */
export function parseExpr(src: string): Expr {
  const p = new Parser(tokenize(src));
  const e = p.expr();
  p.expectEof();
  return e;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private get t(): Token {
    return this.toks[this.i]!;
  }
  private peek(k = 1): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.t;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private isKw(kw: string, t: Token = this.t): boolean {
    return t.kind === 'ident' && t.lower === kw;
  }
  private isOp(op: string, t: Token = this.t): boolean {
    return t.kind === 'op' && t.text === op;
  }
  private acceptKw(kw: string): boolean {
    if (!this.isKw(kw)) return false;
    this.i++;
    return true;
  }
  private acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false;
    this.i++;
    return true;
  }
  private fail(msg: string, t: Token = this.t): never {
    throw new RuleSyntaxError(msg, t.pos);
  }
  private describe(t: Token): string {
    if (t.kind === 'eof') return 'end of rule';
    if (t.kind === 'string') return `string '${t.text}'`;
    if (t.kind === 'qident') return `"${t.text}"`;
    return `'${t.text}${t.unit}'`;
  }
  private expectKw(kw: string): Token {
    if (!this.isKw(kw)) this.fail(`expected ${kw.toUpperCase()}, found ${this.describe(this.t)}`);
    return this.next();
  }
  private expectOp(op: string): Token {
    if (!this.isOp(op)) this.fail(`expected '${op}', found ${this.describe(this.t)}`);
    return this.next();
  }
  expectEof(): void {
    this.acceptOp(';');
    if (this.t.kind !== 'eof') this.fail(`unexpected ${this.describe(this.t)}`);
  }

  rule(): RuleAst {
    this.expectKw('select');
    const select: SelectItem[] = [];
    do select.push(this.selectItem());
    while (this.acceptOp(','));
    this.expectKw('from');
    const from: { filter: string; pos: Pos }[] = [];
    do {
      const t = this.t;
      if (t.kind !== 'string') this.fail(`expected a topic filter in single quotes, found ${this.describe(t)}`);
      this.next();
      from.push({ filter: t.text, pos: t.pos });
    } while (this.acceptOp(','));
    let where: Expr | null = null;
    if (this.acceptKw('where')) where = this.expr();
    const groupBy: Expr[] = [];
    if (this.isKw('group')) {
      this.next();
      this.expectKw('by');
      do groupBy.push(this.expr());
      while (this.acceptOp(','));
    }
    let window: WindowSpec | null = null;
    if (this.isKw('window')) {
      this.next();
      window = this.windowSpec();
    } else if (groupBy.length > 0) {
      this.fail(`GROUP BY needs a WINDOW clause, found ${this.describe(this.t)}`);
    }
    this.expectEof();
    return { select, from, where, groupBy, window };
  }

  private selectItem(): SelectItem {
    const start = this.t;
    if (this.isOp('*')) {
      this.next();
      return { kind: 'star', pos: start.pos };
    }
    const expr = this.expr();
    let alias: string | null = null;
    if (this.acceptKw('as')) {
      const a = this.t;
      if (a.kind === 'qident' || (a.kind === 'ident' && !RESERVED.has(a.lower)) || a.kind === 'string') {
        this.next();
        alias = a.text;
        if (alias === '') this.fail('an alias cannot be empty', a);
      } else this.fail(`expected an alias after AS, found ${this.describe(a)}`);
    }
    return { kind: 'expr', expr, alias, pos: start.pos };
  }

  private windowSpec(): WindowSpec {
    const kw = this.t;
    if (kw.kind !== 'ident') this.fail(`expected TUMBLING, SLIDING or COUNT, found ${this.describe(kw)}`);
    this.next();
    this.expectOp('(');
    let w: WindowSpec;
    if (kw.lower === 'tumbling') {
      w = { kind: 'tumbling', sizeMs: this.duration(), pos: kw.pos };
    } else if (kw.lower === 'sliding') {
      const sizeTok = this.t;
      const sizeMs = this.duration();
      this.expectOp(',');
      const stepTok = this.t;
      const stepMs = this.duration();
      if (stepMs > sizeMs) this.fail('the SLIDING step must not exceed the window size', stepTok);
      if (sizeMs % stepMs !== 0) this.fail('the SLIDING size must be a multiple of the step', sizeTok);
      if (sizeMs / stepMs > MAX_SLIDING_PANES) {
        this.fail(`a SLIDING window holds at most ${MAX_SLIDING_PANES} steps (size/step)`, stepTok);
      }
      w = { kind: 'sliding', sizeMs, stepMs, pos: kw.pos };
    } else if (kw.lower === 'count') {
      const t = this.t;
      if (t.kind !== 'number' || t.unit !== '' || !Number.isInteger(t.num) || t.num < 1 || t.num > MAX_WINDOW_COUNT) {
        this.fail(`COUNT needs a whole number of messages from 1 to ${MAX_WINDOW_COUNT}`, t);
      }
      this.next();
      w = { kind: 'count', count: t.num, pos: kw.pos };
    } else {
      this.fail(`unknown window '${kw.text}': expected TUMBLING, SLIDING or COUNT`, kw);
    }
    this.expectOp(')');
    return w;
  }

  /** A duration literal such as 500ms, 10s, 5m, 1h, 1d. */
  private duration(): number {
    const t = this.t;
    if (t.kind !== 'number') this.fail(`expected a duration such as 60s, found ${this.describe(t)}`);
    const unit = DURATION_UNITS[t.unit.toLowerCase()];
    if (unit === undefined) {
      this.fail(t.unit === '' ? `a duration needs a unit (ms, s, m, h, d): ${t.text}s?` : `unknown duration unit '${t.unit}' (ms, s, m, h, d)`, t);
    }
    const ms = t.num * unit;
    if (!Number.isInteger(ms) || ms < 1 || ms > MAX_WINDOW_MS) {
      this.fail(`a window duration is a whole number of milliseconds from 1ms to 30d`, t);
    }
    this.next();
    return ms;
  }

  expr(): Expr {
    return this.or();
  }

  private or(): Expr {
    let left = this.and();
    while (this.isKw('or')) {
      const t = this.next();
      left = { kind: 'binary', op: 'or', left, right: this.and(), pos: t.pos };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isKw('and')) {
      const t = this.next();
      left = { kind: 'binary', op: 'and', left, right: this.not(), pos: t.pos };
    }
    return left;
  }

  private not(): Expr {
    if (this.isKw('not')) {
      const t = this.next();
      return { kind: 'unary', op: 'not', arg: this.not(), pos: t.pos };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.concat();
    const t = this.t;
    if (t.kind === 'op' && (t.text === '=' || t.text === '!=' || t.text === '<' || t.text === '<=' || t.text === '>' || t.text === '>=')) {
      this.next();
      const e: Expr = { kind: 'binary', op: t.text as BinaryOp, left, right: this.concat(), pos: t.pos };
      this.noChainedComparison();
      return e;
    }
    if (this.isKw('is')) {
      this.next();
      const negated = this.acceptKw('not');
      this.expectKw('null');
      return { kind: 'isnull', arg: left, negated, pos: t.pos };
    }
    let negated = false;
    if (this.isKw('not') && (this.isKw('in', this.peek()) || this.isKw('like', this.peek()) || this.isKw('between', this.peek()))) {
      this.next();
      negated = true;
    }
    if (this.acceptKw('in')) {
      this.expectOp('(');
      const list: Expr[] = [];
      do list.push(this.expr());
      while (this.acceptOp(','));
      this.expectOp(')');
      return { kind: 'in', arg: left, list, negated, pos: t.pos };
    }
    if (this.acceptKw('like')) {
      return { kind: 'like', arg: left, pattern: this.concat(), negated, pos: t.pos };
    }
    if (this.acceptKw('between')) {
      const low = this.concat();
      this.expectKw('and');
      const high = this.concat();
      return { kind: 'between', arg: left, low, high, negated, pos: t.pos };
    }
    return left;
  }

  private noChainedComparison(): void {
    const t = this.t;
    if (t.kind === 'op' && ['=', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.fail('comparisons do not chain: use AND (a < b AND b < c)');
    }
  }

  private concat(): Expr {
    let left = this.additive();
    while (this.isOp('||')) {
      const t = this.next();
      left = { kind: 'binary', op: '||', left, right: this.additive(), pos: t.pos };
    }
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const t = this.next();
      left = { kind: 'binary', op: t.text as BinaryOp, left, right: this.multiplicative(), pos: t.pos };
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const t = this.next();
      left = { kind: 'binary', op: t.text as BinaryOp, left, right: this.unary(), pos: t.pos };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp('-')) {
      const t = this.next();
      return { kind: 'unary', op: '-', arg: this.unary(), pos: t.pos };
    }
    if (this.isOp('+')) {
      this.next();
      return this.unary();
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.t;
    switch (t.kind) {
      case 'number':
        if (t.unit !== '') this.fail(`unexpected '${t.unit}' after the number ${t.text}`, t);
        if (!Number.isFinite(t.num)) this.fail(`the number ${t.text} is out of range`, t);
        this.next();
        return { kind: 'lit', value: t.num, pos: t.pos };
      case 'string':
        this.next();
        return { kind: 'lit', value: t.text, pos: t.pos };
      case 'op':
        if (t.text === '(') {
          this.next();
          const e = this.expr();
          this.expectOp(')');
          return e;
        }
        return this.fail(`expected an expression, found ${this.describe(t)}`);
      case 'qident':
        return this.fail(`"${t.text}" is a quoted name: write payload."${t.text}" for a payload field or '${t.text}' for a string`);
      case 'eof':
        return this.fail('expected an expression, found end of rule');
      case 'ident':
        break;
    }
    switch (t.lower) {
      case 'null':
        this.next();
        return { kind: 'lit', value: null, pos: t.pos };
      case 'true':
      case 'false':
        this.next();
        return { kind: 'lit', value: t.lower === 'true', pos: t.pos };
      case 'case':
        return this.caseExpr();
    }
    if (RESERVED.has(t.lower)) this.fail(`expected an expression, found keyword ${t.text.toUpperCase()}`);
    this.next();
    if (this.isOp('(')) return this.call(t);
    if (PATH_ROOTS.has(t.lower)) return this.path(t.lower as PathRoot, t.pos);
    // EMQX lets a rule name message attributes bare (topic, clientid, qos…): a call without ().
    return { kind: 'call', name: t.lower, args: [], star: false, bare: true, pos: t.pos };
  }

  private call(nameTok: Token): Expr {
    this.expectOp('(');
    const args: Expr[] = [];
    let star = false;
    if (this.isOp('*')) {
      this.next();
      star = true;
    } else if (!this.isOp(')')) {
      do args.push(this.expr());
      while (this.acceptOp(','));
    }
    this.expectOp(')');
    return { kind: 'call', name: nameTok.lower, args, star, pos: nameTok.pos };
  }

  private path(root: PathRoot, pos: Pos): Expr {
    const steps: PathStep[] = [];
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const k = this.t;
        // After '.', keywords are plain names (payload.from) and 'quoted keys' hold any text.
        if (k.kind === 'ident' || k.kind === 'qident' || k.kind === 'string') {
          this.next();
          steps.push({ kind: 'key', name: k.text, pos: k.pos });
        } else this.fail(`expected a field name after '.', found ${this.describe(k)}`, k);
      } else if (this.isOp('[')) {
        const b = this.next();
        const k = this.t;
        if (k.kind === 'qident') {
          this.next();
          steps.push({ kind: 'key', name: k.text, pos: k.pos });
        } else {
          steps.push({ kind: 'index', expr: this.expr(), pos: b.pos });
        }
        this.expectOp(']');
      } else break;
    }
    return { kind: 'path', root, steps, pos };
  }

  private caseExpr(): Expr {
    const t = this.next();
    let subject: Expr | null = null;
    if (!this.isKw('when')) subject = this.expr();
    const whens: { when: Expr; then: Expr }[] = [];
    if (!this.isKw('when')) this.fail(`expected WHEN, found ${this.describe(this.t)}`);
    while (this.acceptKw('when')) {
      const when = this.expr();
      this.expectKw('then');
      whens.push({ when, then: this.expr() });
    }
    let otherwise: Expr | null = null;
    if (this.acceptKw('else')) otherwise = this.expr();
    this.expectKw('end');
    return { kind: 'case', subject, whens, otherwise, pos: t.pos };
  }
}
