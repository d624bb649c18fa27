import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleSyntaxError, tokenize } from './lexer.js';

const kinds = (src: string) => tokenize(src).map((t) => `${t.kind}:${t.text}${t.unit}`);

test('tokens: identifiers, strings with doubled quotes, quoted names, numbers with units, operators', () => {
  assert.deepEqual(kinds(`SELECT a_1, 'it''s', "odd ""key""", 1.5e3, .5, 60s, 500ms <> != <= >= || ;`), [
    'ident:SELECT', 'ident:a_1', 'op:,', "string:it's", 'op:,', 'qident:odd "key"', 'op:,', 'number:1.5e3', 'op:,',
    'number:.5', 'op:,', 'number:60s', 'op:,', 'number:500ms', 'op:!=', 'op:!=', 'op:<=', 'op:>=', 'op:||', 'op:;', 'eof:',
  ]);
});

test('keywords are case-insensitive (lower-cased view), text keeps its case', () => {
  const [t] = tokenize('SeLeCt');
  assert.equal(t!.lower, 'select');
  assert.equal(t!.text, 'SeLeCt');
});

test('comments: -- to end of line and /* … */ across lines; positions count lines inside them', () => {
  const toks = tokenize("-- note\nSELECT /* a\n b */ x");
  assert.deepEqual(toks.map((t) => [t.text, t.pos.line, t.pos.column]), [['SELECT', 2, 1], ['x', 3, 7], ['', 3, 8]]);
});

test('positions are 1-based line and column, also after a multi-line string', () => {
  const toks = tokenize("a\n  'x\ny' b");
  assert.deepEqual(toks.map((t) => [t.pos.line, t.pos.column]), [[1, 1], [2, 3], [3, 4], [3, 5]]);
});

test('errors: unterminated string, comment, quoted name, stray character, with their position', () => {
  const at = (src: string) => {
    try {
      tokenize(src);
    } catch (e) {
      assert.ok(e instanceof RuleSyntaxError);
      return [e.pos.line, e.pos.column, e.message];
    }
    return null;
  };
  assert.deepEqual(at("SELECT 'abc"), [1, 8, 'unterminated string']);
  assert.deepEqual(at('x /* never'), [1, 3, 'unterminated comment']);
  assert.deepEqual(at('x "never'), [1, 3, 'unterminated quoted identifier']);
  assert.deepEqual(at('a\n  #'), [2, 3, "unexpected character '#'"]);
  assert.deepEqual(at('a ! b'), [1, 3, "unexpected character '!'"]);
});

test('a minus sign is an operator, never part of a number (1-2 is three tokens)', () => {
  assert.deepEqual(kinds('1-2'), ['number:1', 'op:-', 'number:2', 'eof:']);
  assert.deepEqual(kinds('a--b'), ['ident:a', 'eof:']);
});
