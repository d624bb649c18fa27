// `${name}` templates of rule actions (topics, payloads, headers, keys, twin patches). A template
// is parsed once when the rule file loads into literal parts and references; rendering is a loop
// over the parts. A reference names a SELECT output field (`${temp}`, `${a.b}` for a nested
// member) or a rule function (`${deviceid}`, `${clientid}`, `${topic}`, `${timestamp}`);
// `$${` writes a literal `${`.

/** The message-level values templates can name besides the output fields. */
export interface TemplateContext {
  deviceId: string | undefined;
  clientId: string;
  topic: string;
  /** Epoch ms. */
  timestamp: number;
}

export const TEMPLATE_FUNCTIONS = ['deviceid', 'clientid', 'topic', 'timestamp'] as const;
const FUNCTIONS = new Set<string>(TEMPLATE_FUNCTIONS);

export interface TemplateRef {
  /** The text between `${` and `}`, trimmed. */
  name: string;
  /** Offset of `${` in the template text. */
  offset: number;
}

export interface Template {
  readonly source: string;
  /** Literal text and references alternate: parts[0] literal, parts[1] ref, parts[2] literal… */
  readonly literals: readonly string[];
  readonly refs: readonly TemplateRef[];
}

export type TemplateParse = { ok: true; template: Template } | { ok: false; offset: number; message: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export function parseTemplate(source: string): TemplateParse {
  const literals: string[] = [];
  const refs: TemplateRef[] = [];
  let lit = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '$' && source.startsWith('$${', i)) {
      lit += '${';
      i += 3;
      continue;
    }
    if (c === '$' && source[i + 1] === '{') {
      const end = source.indexOf('}', i + 2);
      if (end < 0) return { ok: false, offset: i, message: 'unclosed "${": expected "}"' };
      const name = source.slice(i + 2, end).trim();
      if (!NAME.test(name)) return { ok: false, offset: i, message: `"\${${name}}" is not a field name or one of ${TEMPLATE_FUNCTIONS.join(', ')}` };
      literals.push(lit);
      lit = '';
      refs.push({ name, offset: i });
      i = end + 1;
      continue;
    }
    lit += c;
    i++;
  }
  literals.push(lit);
  return { ok: true, template: { source, literals, refs } };
}

/** References that are neither rule functions nor among `fields` (undefined/'*' = any field allowed). */
export function unknownRefs(t: Template, fields: readonly string[] | undefined): TemplateRef[] {
  if (fields === undefined || fields.includes('*')) return [];
  return t.refs.filter((r) => {
    const head = r.name.split('.')[0]!;
    return !FUNCTIONS.has(r.name.toLowerCase()) && !fields.includes(head);
  });
}

/** The value a reference stands for: output fields first, then the rule functions. */
export function resolveRef(name: string, row: Record<string, unknown>, ctx: TemplateContext): unknown {
  const dot = name.indexOf('.');
  if (dot < 0) {
    if (Object.hasOwn(row, name)) return row[name];
  } else {
    let v: unknown = row;
    for (const part of name.split('.')) {
      if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined;
      v = (v as Record<string, unknown>)[part];
    }
    return v;
  }
  switch (name.toLowerCase()) {
    case 'deviceid':
      return ctx.deviceId;
    case 'clientid':
      return ctx.clientId;
    case 'topic':
      return ctx.topic;
    case 'timestamp':
      return ctx.timestamp;
    default:
      return undefined;
  }
}

/** Text of a value in a rendered string: objects as JSON, null/undefined as ''. */
export function valueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return JSON.stringify(v);
}

export function render(t: Template, row: Record<string, unknown>, ctx: TemplateContext): string {
  const refs = t.refs;
  if (refs.length === 0) return t.literals[0]!;
  let out = t.literals[0]!;
  for (let i = 0; i < refs.length; i++) out += valueText(resolveRef(refs[i]!.name, row, ctx)) + t.literals[i + 1]!;
  return out;
}

/** A template that is exactly one reference (`"${temp}"`) keeps the value's type (twin patches). */
export function renderValue(t: Template, row: Record<string, unknown>, ctx: TemplateContext): unknown {
  if (t.refs.length === 1 && t.literals[0] === '' && t.literals[1] === '') {
    const v = resolveRef(t.refs[0]!.name, row, ctx);
    return v === undefined ? null : v;
  }
  return render(t, row, ctx);
}

/** A JSON-like value whose strings are templates (twin action `desired`/`reported`). */
export type TemplateTree = { kind: 'template'; t: Template } | { kind: 'value'; v: unknown } | { kind: 'object'; entries: Array<[string, TemplateTree]> } | { kind: 'array'; items: TemplateTree[] };

export function renderTree(tree: TemplateTree, row: Record<string, unknown>, ctx: TemplateContext): unknown {
  switch (tree.kind) {
    case 'template':
      return renderValue(tree.t, row, ctx);
    case 'value':
      return tree.v;
    case 'array':
      return tree.items.map((x) => renderTree(x, row, ctx));
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of tree.entries) o[k] = renderTree(v, row, ctx);
      return o;
    }
  }
}

export function treeTemplates(tree: TemplateTree, out: Template[] = []): Template[] {
  if (tree.kind === 'template') out.push(tree.t);
  else if (tree.kind === 'array') for (const x of tree.items) treeTemplates(x, out);
  else if (tree.kind === 'object') for (const [, v] of tree.entries) treeTemplates(v, out);
  return out;
}
