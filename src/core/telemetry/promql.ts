// A small PromQL subset, parsed by hand (no eval): what Grafana's Prometheus data source needs to
// chart Twinhub series.
//
//   expr      := selector                          instant vector (latest sample within 5 m)
//              | selector '[' duration ']'         range vector (instant queries only)
//              | fn '(' selector '[' duration ']' ')'
//              | number | '(' expr ')' | expr (+ - * / % ^) expr   between numbers only (a scalar)
//   fn        := avg_over_time | max_over_time | min_over_time | sum_over_time | count_over_time
//              | last_over_time | rate
//   selector  := name | name? '{' matcher (',' matcher)* ','? '}'
//   matcher   := label ('=' | '!=' | '=~' | '!~') string | string   (a quoted name: Prometheus 3)
//
// Everything else (aggregations, other functions, binary operators between series, offset, @,
// subqueries) is refused with a PromQLError naming it, which the HTTP layer answers as
// {"status":"error","errorType":"bad_data"} (Prometheus HTTP API "Format overview": 400 when
// parameters are missing or incorrect).
//
// Numbers between operators are folded here so that the constant expressions a client sends to
// check a data source (Grafana sends `1+1`) answer as a scalar.

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
  /** For =~ and !~: the regex, anchored at both ends as Prometheus anchors it. */
  re?: RegExp;
}

export const RANGE_FUNCTIONS = ['avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'rate'] as const;
export type RangeFunction = (typeof RANGE_FUNCTIONS)[number];

export interface SelectorExpr {
  kind: 'selector';
  matchers: LabelMatcher[];
  /** Range in ms for a range vector (`x[5m]`); undefined for an instant vector. */
  range?: number;
}

export interface CallExpr {
  kind: 'call';
  fn: RangeFunction;
  selector: SelectorExpr & { range: number };
}

export interface NumberExpr {
  kind: 'number';
  value: number;
}

export type PromExpr = SelectorExpr | CallExpr | NumberExpr;

/** A query Twinhub cannot answer: bad_data (400) or execution (422), as the Prometheus API names them. */
export class PromQLError extends Error {
  constructor(
    message: string,
    readonly errorType: 'bad_data' | 'execution' = 'bad_data',
  ) {
    super(message);
    this.name = 'PromQLError';
  }
}

// Words that start a PromQL construct outside the subset: named in the refusal.
const AGGREGATIONS = new Set(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2']);

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/**
 * A Prometheus duration ("5m", "1h30m", "90s", "250ms"): units y w d h m s ms, each at most once,
 * largest first (Prometheus `model.ParseDuration`). Returns milliseconds, or NaN.
 */
export function parsePromDuration(text: string): number {
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  let at = 0;
  let ms = 0;
  let lastUnit = -1;
  if (text.length === 0) return NaN;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) return NaN;
    const unit = UNIT_ORDER.indexOf(m[2]!);
    if (unit <= lastUnit) return NaN;
    lastUnit = unit;
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  return Number.isSafeInteger(ms) ? ms : NaN;
}

type Tok =
  | { t: 'ident'; v: string; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'num'; v: number; at: number }
  | { t: 'dur'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'eof'; at: number };

const IDENT_START = /[A-Za-z_:]/;
const IDENT_PART = /[A-Za-z0-9_:]/;
const OPS = ['!=', '=~', '!~', '==', '>=', '<=', '{', '}', '(', ')', '[', ']', ',', '=', '+', '-', '*', '/', '%', '^', '@', '>', '<'];

function fail(at: number, msg: string): never {
  throw new PromQLError(`parse error at char ${at + 1}: ${msg}`);
}

/** Go's string literal escapes, as PromQL reads "…" and '…' (`…` is raw). */
function readString(src: string, at: number): { v: string; end: number } {
  const q = src[at]!;
  let i = at + 1;
  if (q === '`') {
    const close = src.indexOf('`', i);
    if (close < 0) fail(at, 'unterminated raw string');
    return { v: src.slice(i, close), end: close + 1 };
  }
  let out = '';
  for (;;) {
    if (i >= src.length) fail(at, 'unterminated quoted string');
    const c = src[i]!;
    if (c === q) return { v: out, end: i + 1 };
    if (c === '\n') fail(i, 'unterminated quoted string');
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (e !== undefined && e in simple) {
      out += simple[e];
      i += 2;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = src.slice(i + 2, i + 2 + hexLen);
      if (hex.length !== hexLen || !/^[0-9a-fA-F]+$/.test(hex)) fail(i, `invalid escape \\${e}`);
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(i, `invalid escape \\${e}${hex}`);
      out += String.fromCodePoint(cp);
      i += 2 + hexLen;
      continue;
    }
    if (e !== undefined && /[0-7]/.test(e)) {
      const oct = src.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) fail(i, 'invalid octal escape');
      out += String.fromCharCode(parseInt(oct, 8));
      i += 4;
      continue;
    }
    fail(i, `unknown escape sequence \\${e ?? ''}`);
  }
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      // A comment runs to the end of the line.
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const s = readString(src, i);
      out.push({ t: 'str', v: s.v, at: i });
      i = s.end;
      continue;
    }
    if (/[0-9]/.test(c)) {
      // A duration (5m, 1h30m) wherever it appears; the parser says where one is not allowed.
      const dur = /[0-9]+[A-Za-z][0-9A-Za-z]*/y;
      dur.lastIndex = i;
      const dm = dur.exec(src);
      if (dm !== null && !/^0[xX]/.test(dm[0]) && !/^\d+[eE]\d/.test(dm[0])) {
        out.push({ t: 'dur', v: dm[0], at: i });
        i += dm[0].length;
        continue;
      }
    }
    const num = /(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/y;
    num.lastIndex = i;
    const nm = /[0-9.]/.test(c) ? num.exec(src) : null;
    if (nm !== null) {
      out.push({ t: 'num', v: Number(nm[0]), at: i });
      i += nm[0].length;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < src.length && IDENT_PART.test(src[j]!)) j++;
      out.push({ t: 'ident', v: src.slice(i, j), at: i });
      i = j;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op === undefined) fail(i, `unexpected character ${JSON.stringify(c)}`);
    out.push({ t: 'op', v: op, at: i });
    i += op.length;
  }
  out.push({ t: 'eof', at: src.length });
  return out;
}

/** Compile a =~ / !~ value as Prometheus does: anchored, the whole value must match. */
function compileRegex(value: string, at: number): RegExp {
  try {
    // No 'u' flag: RE2 (Prometheus) accepts escaped punctuation such as \- that unicode mode refuses.
    return new RegExp(`^(?:${value})$`, 's');
  } catch (e) {
    fail(at, `invalid regular expression ${JSON.stringify(value)}: ${(e as Error).message}`);
  }
}

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly src: string,
  ) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private expectOp(v: string, what: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) fail(t.at, `expected ${JSON.stringify(v)} ${what}, found ${this.describe(t)}`);
  }
  private describe(t: Tok): string {
    if (t.t === 'eof') return 'end of input';
    if (t.t === 'str') return `string ${JSON.stringify(t.v)}`;
    return JSON.stringify(this.src.slice(t.at, t.at + String(t.v).length));
  }

  parseTop(): PromExpr {
    const e = this.expr(0);
    const t = this.peek();
    if (t.t !== 'eof') fail(t.at, `unexpected ${this.describe(t)}`);
    return e;
  }

  // Precedence climbing over + - (1), * / % (2), ^ (3, right-associative); only numbers fold.
  private expr(minPrec: number): PromExpr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.t === 'ident' && KEYWORDS.has(t.v)) fail(t.at, `${t.v} is not supported (Twinhub reads a selector or one range function)`);
      if (t.t !== 'op') return left;
      const prec = t.v === '+' || t.v === '-' ? 1 : t.v === '*' || t.v === '/' || t.v === '%' ? 2 : t.v === '^' ? 3 : 0;
      if (['==', '!=', '>', '<', '>=', '<='].includes(t.v)) fail(t.at, `comparison operator ${t.v} is not supported`);
      if (t.v === '@') fail(t.at, 'the @ modifier is not supported');
      if (prec === 0 || prec < minPrec) return left;
      this.next();
      const right = this.expr(t.v === '^' ? prec : prec + 1);
      if (left.kind !== 'number' || right.kind !== 'number') fail(t.at, `binary operator ${t.v} is only supported between numbers, not series`);
      left = { kind: 'number', value: arith(t.v, left.value, right.value) };
    }
  }

  private unary(): PromExpr {
    if (this.isOp('-') || this.isOp('+')) {
      const t = this.next();
      const minus = t.t === 'op' && t.v === '-';
      // ^ binds tighter than unary minus: -2^2 is -4.
      const e = this.expr(3);
      if (e.kind !== 'number') fail(t.at, `unary ${minus ? 'minus' : 'plus'} is only supported on numbers`);
      return { kind: 'number', value: minus ? -e.value : e.value };
    }
    return this.postfix(this.primary());
  }

  private postfix(e: PromExpr): PromExpr {
    if (!this.isOp('[')) {
      const t = this.peek();
      if (t.t === 'ident' && t.v === 'offset') fail(t.at, 'the offset modifier is not supported');
      if (this.isOp('@')) fail(t.at, 'the @ modifier is not supported');
      return e;
    }
    const open = this.next();
    if (e.kind !== 'selector' || e.range !== undefined) fail(open.at, 'a range [ ] applies to a series selector only (subqueries are not supported)');
    const d = this.next();
    if (d.t !== 'dur') fail(d.at, `expected a duration such as 5m in [ ], found ${this.describe(d)}`);
    const ms = parsePromDuration(d.v);
    if (!(ms > 0)) fail(d.at, `bad duration ${JSON.stringify(d.v)}: use units ms, s, m, h, d, w, y (5m, 1h30m)`);
    const close = this.peek();
    // `[5m:1m]` tokenizes the `:1m` as an identifier (':' may start a metric name).
    if ((close.t === 'ident' && close.v.startsWith(':')) || (close.t === 'op' && close.v !== ']')) fail(close.at, 'subqueries are not supported');
    this.expectOp(']', 'after the range');
    const r: SelectorExpr = { kind: 'selector', matchers: e.matchers, range: ms };
    return this.postfix(r);
  }

  private primary(): PromExpr {
    const t = this.peek();
    if (t.t === 'num') {
      this.next();
      return { kind: 'number', value: t.v };
    }
    if (t.t === 'dur') fail(t.at, `a duration (${t.v}) is only allowed in [ ]`);
    if (t.t === 'str') fail(t.at, 'a string is not a query (Twinhub answers vectors, matrices and scalars)');
    if (t.t === 'op' && t.v === '(') {
      this.next();
      const e = this.expr(0);
      this.expectOp(')', 'to close the parenthesis');
      return e;
    }
    if (t.t === 'op' && t.v === '{') return this.selector(undefined, t.at);
    if (t.t === 'ident') {
      this.next();
      const lower = t.v.toLowerCase();
      if (lower === 'inf' || lower === 'nan') return { kind: 'number', value: lower === 'inf' ? Infinity : NaN };
      if (this.isOp('(')) return this.call(t.v, t.at);
      if (AGGREGATIONS.has(t.v) && this.peek().t === 'ident') fail(t.at, `aggregation ${t.v} is not supported`);
      if (KEYWORDS.has(t.v)) fail(t.at, `${t.v} is not supported`);
      if (this.isOp('{')) return this.selector(t.v, t.at);
      return { kind: 'selector', matchers: [{ name: '__name__', op: '=', value: t.v }] };
    }
    fail(t.at, `unexpected ${this.describe(t)}`);
  }

  private call(name: string, at: number): PromExpr {
    if (!(RANGE_FUNCTIONS as readonly string[]).includes(name)) {
      const what = AGGREGATIONS.has(name) ? `aggregation ${name}` : `function ${name}`;
      fail(at, `${what} is not supported; supported: ${RANGE_FUNCTIONS.join(', ')}`);
    }
    this.expectOp('(', `after ${name}`);
    const arg = this.expr(0);
    if (this.isOp(',')) fail(this.peek().at, `${name} takes one argument`);
    this.expectOp(')', `to close ${name}(`);
    if (arg.kind !== 'selector' || arg.range === undefined) {
      fail(at, `${name} expects a range vector such as temp{device="d1"}[5m]`);
    }
    return { kind: 'call', fn: name as RangeFunction, selector: arg as SelectorExpr & { range: number } };
  }

  private selector(name: string | undefined, at: number): SelectorExpr {
    const matchers: LabelMatcher[] = [];
    if (name !== undefined) matchers.push({ name: '__name__', op: '=', value: name });
    this.expectOp('{', 'to open the label matchers');
    while (!this.isOp('}')) {
      const t = this.next();
      if (t.t === 'str' && (this.isOp(',') || this.isOp('}'))) {
        // Prometheus 3: a quoted metric name inside the braces ({"gps.lat", device="d1"}).
        if (name !== undefined || matchers.some((m) => m.name === '__name__' && m.op === '=')) fail(t.at, 'the metric name is given twice');
        matchers.push({ name: '__name__', op: '=', value: t.v });
      } else {
        if (t.t !== 'ident' && t.t !== 'str') fail(t.at, `expected a label name, found ${this.describe(t)}`);
        const opTok = this.next();
        if (opTok.t !== 'op' || !['=', '!=', '=~', '!~'].includes(opTok.v)) fail(opTok.at, `expected = != =~ or !~ after label ${t.v}, found ${this.describe(opTok)}`);
        const v = this.next();
        if (v.t !== 'str') fail(v.at, `expected a quoted label value after ${t.v}${opTok.v}, found ${this.describe(v)}`);
        const m: LabelMatcher = { name: t.v, op: opTok.v as MatchOp, value: v.v };
        if (m.op === '=~' || m.op === '!~') m.re = compileRegex(v.v, v.at);
        if (name !== undefined && m.name === '__name__') fail(t.at, 'the metric name is given twice');
        matchers.push(m);
      }
      if (this.isOp(',')) this.next();
      else if (!this.isOp('}')) fail(this.peek().at, `expected , or } in the label matchers, found ${this.describe(this.peek())}`);
    }
    this.next();
    // Prometheus: "vector selector must contain at least one non-empty matcher" — a selector that
    // matches the empty label set would select every series there is.
    if (!matchers.some((m) => !matchLabel(m, ''))) fail(at, 'vector selector must contain at least one non-empty matcher');
    return { kind: 'selector', matchers };
  }
}

function arith(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    default:
      return a ** b;
  }
}

/** Parse a query. Throws PromQLError (bad_data) naming what is wrong or unsupported. */
export function parsePromQL(text: string): PromExpr {
  if (text.trim() === '') throw new PromQLError('empty query');
  return new Parser(tokenize(text), text).parseTop();
}

/** A series selector of match[] (series, labels, label values): an instant vector selector. */
export function parseSeriesSelector(text: string): LabelMatcher[] {
  const e = parsePromQL(text);
  if (e.kind !== 'selector' || e.range !== undefined) throw new PromQLError(`match[] must be a series selector such as temp{device="d1"}, got ${JSON.stringify(text)}`);
  return e.matchers;
}

/** Does a label value (empty when the label is absent) satisfy a matcher? */
export function matchLabel(m: LabelMatcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return m.re!.test(value);
    case '!~':
      return !m.re!.test(value);
  }
}

/** Does a label set satisfy every matcher? An absent label reads as "" (Prometheus semantics). */
export function matchesAll(matchers: readonly LabelMatcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of matchers) if (!matchLabel(m, Object.hasOwn(labels, m.name) ? labels[m.name]! : '')) return false;
  return true;
}
