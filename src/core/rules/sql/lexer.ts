// Tokens of the rule language. Keywords are case-insensitive; positions are 1-based line and
// column (UTF-16 code units), reported as they are to the rule author.

import type { Pos } from './ast.js';

export type TokenKind =
  | 'ident' // bare identifier or keyword (value lower-cased in `lower`)
  | 'qident' // "double-quoted" identifier or key
  | 'string' // 'single-quoted' string literal
  | 'number' // numeric literal, with an optional unit suffix (60s) for WINDOW durations
  | 'op' // punctuation and operators
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier or string text (unescaped), operator text, or the number's source text. */
  readonly text: string;
  readonly lower: string;
  readonly num: number;
  /** Unit letters right after a number (`60s` → 's'), '' when none. */
  readonly unit: string;
  readonly pos: Pos;
}

export class RuleSyntaxError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
  ) {
    super(message);
  }
}

const TWO_CHAR_OPS = new Set(['<=', '>=', '<>', '!=', '||']);
const ONE_CHAR_OPS = '+-*/%=<>(),.[];';

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = src.length;
  const pos = (at: number): Pos => ({ line, column: at - lineStart + 1 });
  const push = (kind: TokenKind, text: string, p: Pos, num = 0, unit = ''): void => {
    out.push({ kind, text, lower: kind === 'ident' ? text.toLowerCase() : text, num, unit, pos: p });
  };
  while (i < n) {
    const c = src[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '-' && src[i + 1] === '-') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const p = pos(i);
      i += 2;
      for (;;) {
        if (i >= n) throw new RuleSyntaxError('unterminated comment', p);
        if (src[i] === '*' && src[i + 1] === '/') {
          i += 2;
          break;
        }
        if (src[i] === '\n') {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      continue;
    }
    const p = pos(i);
    if (isIdentStart(c)) {
      const s = i;
      while (i < n && isIdentPart(src[i]!)) i++;
      push('ident', src.slice(s, i), p);
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      const s = i;
      while (i < n && isDigit(src[i]!)) i++;
      if (src[i] === '.' && isDigit(src[i + 1] ?? '')) {
        i++;
        while (i < n && isDigit(src[i]!)) i++;
      }
      if ((src[i] === 'e' || src[i] === 'E') && (isDigit(src[i + 1] ?? '') || ((src[i + 1] === '+' || src[i + 1] === '-') && isDigit(src[i + 2] ?? '')))) {
        i += 2;
        while (i < n && isDigit(src[i]!)) i++;
      }
      const text = src.slice(s, i);
      const us = i;
      while (i < n && isIdentPart(src[i]!)) i++;
      push('number', text, p, Number(text), src.slice(us, i));
      continue;
    }
    if (c === "'" || c === '"') {
      // '' (or "") inside the quotes is one quote character, as in SQL.
      let text = '';
      i++;
      for (;;) {
        if (i >= n) throw new RuleSyntaxError(c === "'" ? 'unterminated string' : 'unterminated quoted identifier', p);
        const d = src[i]!;
        if (d === c) {
          if (src[i + 1] === c) {
            text += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === '\n') {
          line++;
          lineStart = i + 1;
        }
        text += d;
        i++;
      }
      push(c === "'" ? 'string' : 'qident', text, p);
      continue;
    }
    const two = src.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      push('op', two === '<>' ? '!=' : two, p);
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.includes(c)) {
      push('op', c, p);
      i++;
      continue;
    }
    throw new RuleSyntaxError(`unexpected character '${c}'`, p);
  }
  push('eof', '', pos(i));
  return out;
}
