// The AST of a rule (issue 6, "Language"). Every node carries the 1-based position of the token
// that starts it, so the type checker can point at the offending token.

export interface Pos {
  readonly line: number;
  readonly column: number;
}

/** Where a path starts: the parsed payload, the registry attributes, or the twin state. */
export type PathRoot = 'payload' | 'device' | 'twin';

export type PathStep =
  | { readonly kind: 'key'; readonly name: string; readonly pos: Pos }
  | { readonly kind: 'index'; readonly expr: Expr; readonly pos: Pos };

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%' | '||'
  | '=' | '!=' | '<' | '<=' | '>' | '>='
  | 'and' | 'or';

export type Expr =
  | { readonly kind: 'lit'; readonly value: string | number | boolean | null; readonly pos: Pos }
  | { readonly kind: 'path'; readonly root: PathRoot; readonly steps: readonly PathStep[]; readonly pos: Pos }
  | {
      readonly kind: 'call';
      /** Lower-cased function name. */
      readonly name: string;
      readonly args: readonly Expr[];
      /** count(*) */
      readonly star: boolean;
      /** Written without parentheses (EMQX style `topic`, `clientid`, `qos`). */
      readonly bare?: boolean;
      readonly pos: Pos;
    }
  | { readonly kind: 'unary'; readonly op: '-' | 'not'; readonly arg: Expr; readonly pos: Pos }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr; readonly pos: Pos }
  | { readonly kind: 'isnull'; readonly arg: Expr; readonly negated: boolean; readonly pos: Pos }
  | { readonly kind: 'in'; readonly arg: Expr; readonly list: readonly Expr[]; readonly negated: boolean; readonly pos: Pos }
  | { readonly kind: 'like'; readonly arg: Expr; readonly pattern: Expr; readonly negated: boolean; readonly pos: Pos }
  | { readonly kind: 'between'; readonly arg: Expr; readonly low: Expr; readonly high: Expr; readonly negated: boolean; readonly pos: Pos }
  | {
      readonly kind: 'case';
      /** The x of `CASE x WHEN v THEN …` (simple CASE), null for `CASE WHEN cond THEN …`. */
      readonly subject: Expr | null;
      readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
      readonly otherwise: Expr | null;
      readonly pos: Pos;
    };

export type SelectItem =
  | { readonly kind: 'star'; readonly pos: Pos }
  | { readonly kind: 'expr'; readonly expr: Expr; readonly alias: string | null; readonly pos: Pos };

export type WindowSpec =
  | { readonly kind: 'tumbling'; readonly sizeMs: number; readonly pos: Pos }
  | { readonly kind: 'sliding'; readonly sizeMs: number; readonly stepMs: number; readonly pos: Pos }
  | { readonly kind: 'count'; readonly count: number; readonly pos: Pos };

export interface RuleAst {
  readonly select: readonly SelectItem[];
  readonly from: readonly { readonly filter: string; readonly pos: Pos }[];
  readonly where: Expr | null;
  readonly groupBy: readonly Expr[];
  readonly window: WindowSpec | null;
}
