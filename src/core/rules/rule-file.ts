// The rule file format (`<rules folder>/<id>.yaml`), which other tools read and write:
//
//   id: overheat                 # [A-Za-z0-9_.-]{1,64}, the file's name without .yaml
//   sql: SELECT ... FROM '...'   # the rule language (src/core/rules/sql)
//   priority: 10                 # optional integer, higher runs first under load; default 0
//   enabled: true                # optional; default true
//   actions:                     # a list of one-key objects
//     - republish: {topic: "alerts/${deviceid}", payload?: "...", qos?: 0|1|2, retain?: bool}
//     - webhook: {url, method?, headers?, body?, timeoutMs?, retries?}
//     - twin: {device?, name?, desired?: {...}, reported?: {...}}
//     - alert: {severity: info|warning|critical, key, message?, clear?: "<condition>"}
//     - log: {level?}
//     - telemetry: {device?, metrics?: [field, ...] | {metric: field}}
//
// Parsing walks the YAML nodes so every error names the file, the line and column (from the
// yaml package's source ranges) and the key path (`actions[1].webhook.url`). A JSON body of the
// API goes through the same walk, without positions.
import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node, type Pair, type YAMLMap } from 'yaml';
import { parseTemplate, type Template, type TemplateTree } from './template.js';

export interface RuleFileError {
  file?: string;
  /** 1-based line and column in the file, when the error has a position. */
  line?: number;
  column?: number;
  /** Key path of the offending value, '' for the document. */
  path: string;
  message: string;
}

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type ActionLogLevel = (typeof LOG_LEVELS)[number];
export const ACTION_KINDS = ['republish', 'webhook', 'twin', 'alert', 'log', 'telemetry'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];
export const HTTP_METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'] as const;

/** Where a string value of the file starts, to place errors inside it (SQL, templates). */
export interface TextOrigin {
  /** 'block': a literal block scalar (`|`), lines map one to one; 'inline': a one-line scalar. 'approx': folded text, positions point at its start. */
  kind: 'block' | 'inline' | 'approx';
  line: number;
  column: number;
}

interface ActionBase {
  /** Position in `actions`. */
  index: number;
  /** Key path of the action object, e.g. `actions[0].republish`. */
  path: string;
}
export interface RepublishAction extends ActionBase {
  kind: 'republish';
  topic: Template;
  payload: Template | undefined;
  qos: 0 | 1 | 2;
  retain: boolean;
}
export interface WebhookAction extends ActionBase {
  kind: 'webhook';
  url: Template;
  method: string;
  headers: Array<[string, Template]>;
  body: Template | undefined;
  timeoutMs: number;
  retries: number;
}
export interface TwinAction extends ActionBase {
  kind: 'twin';
  device: Template | undefined;
  /** Named shadow; '' the classic one. */
  name: string;
  desired: TemplateTree | undefined;
  reported: TemplateTree | undefined;
}
export interface AlertAction extends ActionBase {
  kind: 'alert';
  severity: Severity;
  key: Template;
  message: Template | undefined;
  /** A condition (the WHERE language) on the rule's FROM topics that clears the alert. */
  clear: string | undefined;
  clearOrigin: TextOrigin | undefined;
}
export interface LogAction extends ActionBase {
  kind: 'log';
  level: ActionLogLevel;
}
export interface TelemetryAction extends ActionBase {
  kind: 'telemetry';
  device: Template | undefined;
  /** metric name → output field; undefined: every number/boolean field under its own name. */
  metrics: Array<{ metric: string; field: string }> | undefined;
}
export type ActionSpec = RepublishAction | WebhookAction | TwinAction | AlertAction | LogAction | TelemetryAction;

export interface RuleSpec {
  id: string;
  sql: string;
  sqlOrigin: TextOrigin | undefined;
  priority: number;
  enabled: boolean;
  actions: ActionSpec[];
  /** Every template of the rule with its key path (checked against the SELECT's fields). */
  templates: Array<{ path: string; template: Template; origin: TextOrigin | undefined }>;
  /** The document as plain data (the API's view of the file). */
  document: Record<string, unknown>;
}

export type RuleFileResult = { ok: true; spec: RuleSpec } | { ok: false; errors: RuleFileError[] };

export const RULE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_RULE_FILE_BYTES = 256 * 1024;
const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;
const DEFAULT_WEBHOOK_RETRIES = 3;
const MAX_WEBHOOK_RETRIES = 10;

/** Parse the text of a rule file. `file` names it in errors; `expectId` is the id its name implies. */
export function parseRuleFile(text: string, file?: string, expectId?: string): RuleFileResult {
  if (Buffer.byteLength(text) > MAX_RULE_FILE_BYTES) return fail([{ file, path: '', message: `rule file larger than ${MAX_RULE_FILE_BYTES} bytes` }]);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((e) => {
        const p = lc.linePos(e.pos[0]);
        return { file, line: p.line, column: p.col, path: '', message: e.message.split('\n')[0]! };
      }),
    );
  }
  return new Walker(file, lc, text).rule(doc.contents, expectId);
}

/** Validate a rule given as data (an API JSON body). Errors carry key paths, no positions. */
export function parseRuleObject(value: unknown, expectId?: string): RuleFileResult {
  const doc = new Document(value);
  return new Walker(undefined, undefined, undefined).rule(doc.contents, expectId);
}

/** The YAML text of a rule document (what the API writes for a JSON body). */
export function ruleYaml(document: Record<string, unknown>): string {
  return new Document(document).toString({ lineWidth: 0 });
}

/** Set top-level keys of a rule file's text, keeping its comments and layout (enable/disable). */
export function setRuleKeys(text: string, keys: Record<string, unknown>): string {
  const doc = parseDocument(text);
  for (const [k, v] of Object.entries(keys)) doc.set(k, v);
  return doc.toString({ lineWidth: 0 });
}

/** An error of a rule file: `file` and the position only when known. */
export function fileError(file: string | undefined, path: string, message: string, at?: { line: number; column: number }): RuleFileError {
  const e: RuleFileError = { path, message };
  if (file !== undefined) e.file = file;
  if (at !== undefined) {
    e.line = at.line;
    e.column = at.column;
  }
  return e;
}

function fail(errors: RuleFileError[]): RuleFileResult {
  return { ok: false, errors };
}

/** Place a position of a string value (1-based line/column inside it) in the file. */
export function placeInFile(origin: TextOrigin | undefined, line: number, column: number): { line: number; column: number } | undefined {
  if (origin === undefined) return undefined;
  if (origin.kind === 'block') return { line: origin.line + line - 1, column: origin.column + column - 1 };
  if (origin.kind === 'inline' && line === 1) return { line: origin.line, column: origin.column + column - 1 };
  return { line: origin.line, column: origin.column };
}

const TOP_KEYS = ['id', 'sql', 'priority', 'enabled', 'actions'];

class Walker {
  private readonly errors: RuleFileError[] = [];
  private readonly templates: RuleSpec['templates'] = [];

  constructor(
    private readonly file: string | undefined,
    private readonly lc: LineCounter | undefined,
    private readonly text: string | undefined,
  ) {}

  rule(root: unknown, expectId: string | undefined): RuleFileResult {
    const m = this.map(root, '', 'a rule (a mapping with id, sql and actions)');
    if (m === undefined) return fail(this.errors);
    this.keys(m, '', TOP_KEYS);
    const id = this.str(this.get(m, 'id'), 'id', m, true);
    if (id !== undefined && !RULE_ID.test(id)) this.err(this.get(m, 'id'), 'id', `id ${JSON.stringify(id)} must be 1-64 characters of A-Z a-z 0-9 _ . -`);
    else if (id !== undefined && expectId !== undefined && id !== expectId) this.err(this.get(m, 'id'), 'id', `id ${JSON.stringify(id)} does not match the file name (${expectId}.yaml)`);
    const sqlNode = this.get(m, 'sql');
    const sql = this.str(sqlNode, 'sql', m, true);
    if (sql !== undefined && sql.trim() === '') this.err(sqlNode, 'sql', 'sql is empty');
    const priorityNode = this.get(m, 'priority');
    let priority = 0;
    if (priorityNode !== undefined) {
      const v = this.scalar(priorityNode);
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || Math.abs(v) > 1_000_000) this.err(priorityNode, 'priority', 'priority must be an integer between -1000000 and 1000000 (higher runs first)');
      else priority = v;
    }
    const enabled = this.bool(this.get(m, 'enabled'), 'enabled') ?? true;
    const actions: ActionSpec[] = [];
    const actionsNode = this.get(m, 'actions');
    if (actionsNode === undefined) this.err(m, 'actions', 'missing key "actions" (a list, may be empty)');
    else if (!isSeq(actionsNode)) this.err(actionsNode, 'actions', 'actions must be a list of one-key objects such as `- log: {}`');
    else
      actionsNode.items.forEach((item, i) => {
        const a = this.action(item, i);
        if (a !== undefined) actions.push(a);
      });
    if (this.errors.length > 0 || id === undefined || sql === undefined) return fail(this.errors);
    const document = (new Document(root).toJS() ?? {}) as Record<string, unknown>;
    return { ok: true, spec: { id, sql, sqlOrigin: this.origin(sqlNode), priority, enabled, actions, templates: this.templates, document } };
  }

  private action(node: unknown, index: number): ActionSpec | undefined {
    const path = `actions[${index}]`;
    const m = this.map(node, path, `an action: one of ${ACTION_KINDS.join(', ')} (e.g. "- log: {}")`);
    if (m === undefined) return undefined;
    if (m.items.length !== 1) {
      this.err(m, path, `an action has exactly one key (${ACTION_KINDS.join(', ')}); found ${m.items.length}`);
      return undefined;
    }
    const pair = m.items[0]!;
    const kind = isScalar(pair.key) ? String(pair.key.value) : '';
    const ap = `${path}.${kind}`;
    const base = { index, path: ap };
    // `- log:` with nothing after it is an empty options object.
    const value = pair.value === null || (isScalar(pair.value) && pair.value.value === null) ? undefined : pair.value;
    const opts = value === undefined ? undefined : this.map(value, ap, `the options of ${kind} (a mapping)`);
    if (value !== undefined && opts === undefined) return undefined;
    const get = (k: string): unknown => (opts === undefined ? undefined : this.get(opts, k));
    const at = opts ?? (pair.key as Node);
    switch (kind) {
      case 'republish': {
        if (opts) this.keys(opts, ap, ['topic', 'payload', 'qos', 'retain']);
        const topic = this.template(get('topic'), `${ap}.topic`, at, true);
        const payload = this.template(get('payload'), `${ap}.payload`, at, false);
        const qos = this.int(get('qos'), `${ap}.qos`, 0, 2) ?? 0;
        const retain = this.bool(get('retain'), `${ap}.retain`) ?? false;
        if (topic === undefined) return undefined;
        if (topic.refs.length === 0 && /[+#]/.test(topic.source)) this.err(get('topic'), `${ap}.topic`, 'a topic to publish to has no wildcards');
        return { ...base, kind, topic, payload, qos: qos as 0 | 1 | 2, retain };
      }
      case 'webhook': {
        if (opts) this.keys(opts, ap, ['url', 'method', 'headers', 'body', 'timeoutMs', 'retries']);
        const url = this.template(get('url'), `${ap}.url`, at, true);
        if (url !== undefined && url.refs.length === 0) {
          let ok = false;
          try {
            const u = new URL(url.source);
            ok = u.protocol === 'http:' || u.protocol === 'https:';
          } catch {
            ok = false;
          }
          if (!ok) this.err(get('url'), `${ap}.url`, `url must be an http:// or https:// URL, got ${JSON.stringify(url.source)}`);
        }
        const methodNode = get('method');
        let method = 'POST';
        const ms = this.str(methodNode, `${ap}.method`, at, false);
        if (ms !== undefined) {
          if (!(HTTP_METHODS as readonly string[]).includes(ms.toUpperCase())) this.err(methodNode, `${ap}.method`, `method must be one of ${HTTP_METHODS.join(', ')}`);
          else method = ms.toUpperCase();
        }
        const headers: Array<[string, Template]> = [];
        const hn = get('headers');
        if (hn !== undefined) {
          const hm = this.map(hn, `${ap}.headers`, 'a mapping of header names to templates');
          for (const p of hm?.items ?? []) {
            const name = isScalar(p.key) ? String(p.key.value) : '';
            if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) this.err(p.key, `${ap}.headers`, `${JSON.stringify(name)} is not an HTTP header name (RFC 9110 §5.1)`);
            const t = this.template(p.value, `${ap}.headers.${name}`, hm!, true);
            if (t !== undefined) headers.push([name, t]);
          }
        }
        const body = this.template(get('body'), `${ap}.body`, at, false);
        const timeoutMs = this.int(get('timeoutMs'), `${ap}.timeoutMs`, 1, 300_000) ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
        const retries = this.int(get('retries'), `${ap}.retries`, 0, MAX_WEBHOOK_RETRIES) ?? DEFAULT_WEBHOOK_RETRIES;
        if (url === undefined) return undefined;
        return { ...base, kind, url, method, headers, body, timeoutMs, retries };
      }
      case 'twin': {
        if (opts) this.keys(opts, ap, ['device', 'name', 'desired', 'reported']);
        const device = this.template(get('device'), `${ap}.device`, at, false);
        const name = this.str(get('name'), `${ap}.name`, at, false) ?? '';
        const desired = this.tree(get('desired'), `${ap}.desired`);
        const reported = this.tree(get('reported'), `${ap}.reported`);
        if (desired === undefined && reported === undefined) this.err(at, ap, 'a twin action needs desired or reported (a mapping of fields to values or templates)');
        return { ...base, kind, device, name, desired, reported };
      }
      case 'alert': {
        if (opts) this.keys(opts, ap, ['severity', 'key', 'message', 'clear']);
        const sn = get('severity');
        const s = this.str(sn, `${ap}.severity`, at, true);
        if (s !== undefined && !(SEVERITIES as readonly string[]).includes(s)) this.err(sn, `${ap}.severity`, `severity must be one of ${SEVERITIES.join(', ')}`);
        const key = this.template(get('key'), `${ap}.key`, at, true);
        const message = this.template(get('message'), `${ap}.message`, at, false);
        const cn = get('clear');
        const clear = this.str(cn, `${ap}.clear`, at, false);
        if (clear !== undefined && clear.trim() === '') this.err(cn, `${ap}.clear`, 'clear is an empty condition');
        if (key === undefined || s === undefined) return undefined;
        return { ...base, kind, severity: s as Severity, key, message, clear, clearOrigin: this.origin(cn) };
      }
      case 'log': {
        if (opts) this.keys(opts, ap, ['level']);
        const ln = get('level');
        const l = this.str(ln, `${ap}.level`, at, false) ?? 'info';
        if (!(LOG_LEVELS as readonly string[]).includes(l)) this.err(ln, `${ap}.level`, `level must be one of ${LOG_LEVELS.join(', ')}`);
        return { ...base, kind, level: l as ActionLogLevel };
      }
      case 'telemetry': {
        if (opts) this.keys(opts, ap, ['device', 'metrics']);
        const device = this.template(get('device'), `${ap}.device`, at, false);
        const mn = get('metrics');
        let metrics: Array<{ metric: string; field: string }> | undefined;
        if (mn !== undefined) {
          metrics = [];
          if (isSeq(mn)) {
            mn.items.forEach((it, i) => {
              const f = this.str(it, `${ap}.metrics[${i}]`, mn as unknown as Node, true);
              if (f !== undefined) metrics!.push({ metric: f, field: f });
            });
          } else if (isMap(mn)) {
            for (const p of mn.items) {
              const metric = isScalar(p.key) ? String(p.key.value) : '';
              const f = this.str(p.value, `${ap}.metrics.${metric}`, mn, true);
              if (f !== undefined) metrics.push({ metric, field: f });
            }
          } else this.err(mn, `${ap}.metrics`, 'metrics must be a list of output fields or a mapping metric: field');
          for (const x of metrics) if (x.metric === '' || x.field === '') this.err(mn, `${ap}.metrics`, 'metric and field names are not empty');
        }
        return { ...base, kind, device, metrics };
      }
      default:
        this.err(pair.key, path, `unknown action ${JSON.stringify(kind)}; expected one of ${ACTION_KINDS.join(', ')}`);
        return undefined;
    }
  }

  // ------------------------------------------------------------------ node helpers

  private pos(node: unknown): { line: number; column: number } | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (this.lc === undefined || range === undefined) return undefined;
    const p = this.lc.linePos(range[0]);
    return { line: p.line, column: p.col };
  }

  private err(node: unknown, path: string, message: string): void {
    this.errors.push(fileError(this.file, path, message, this.pos(node)));
  }

  private origin(node: unknown): TextOrigin | undefined {
    if (!isScalar(node) || this.text === undefined) return undefined;
    const p = this.pos(node);
    if (p === undefined) return undefined;
    if (node.type === Scalar.BLOCK_LITERAL) {
      // Content starts on the line after the `|` header, at the block's indentation.
      const lines = this.text.split(/\r?\n/);
      for (let l = p.line; l < lines.length; l++) {
        const s = lines[l]!;
        if (s.trim() === '') continue;
        return { kind: 'block', line: l + 1, column: s.length - s.trimStart().length + 1 };
      }
      return { kind: 'approx', line: p.line, column: p.column };
    }
    const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
    const src = String(node.value);
    if (!src.includes('\n') && (node.type === Scalar.PLAIN || quoted)) return { kind: 'inline', line: p.line, column: p.column + (quoted ? 1 : 0) };
    return { kind: 'approx', line: p.line, column: p.column };
  }

  private map(node: unknown, path: string, what: string): YAMLMap | undefined {
    if (isMap(node)) return node;
    this.err(node, path, `expected ${what}`);
    return undefined;
  }

  private get(m: YAMLMap, key: string): unknown {
    const pair = m.items.find((p: Pair) => isScalar(p.key) && p.key.value === key);
    return pair?.value ?? (pair !== undefined ? null : undefined);
  }

  private keys(m: YAMLMap, path: string, allowed: readonly string[]): void {
    for (const p of m.items) {
      const k = isScalar(p.key) ? String(p.key.value) : '';
      if (!allowed.includes(k)) this.err(p.key, path === '' ? k : `${path}.${k}`, `unknown key ${JSON.stringify(k)}; expected ${allowed.join(', ')}`);
    }
  }

  private scalar(node: unknown): unknown {
    return isScalar(node) ? node.value : node;
  }

  private str(node: unknown, path: string, parent: unknown, required: boolean): string | undefined {
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
      if (required) this.err(node ?? parent, path, `missing key "${path.split('.').pop()}"`);
      return undefined;
    }
    const v = this.scalar(node);
    if (typeof v !== 'string') {
      this.err(node, path, `${path} must be a string`);
      return undefined;
    }
    return v;
  }

  private bool(node: unknown, path: string): boolean | undefined {
    if (node === undefined) return undefined;
    const v = this.scalar(node);
    if (typeof v !== 'boolean') {
      this.err(node, path, `${path} must be true or false`);
      return undefined;
    }
    return v;
  }

  private int(node: unknown, path: string, min: number, max: number): number | undefined {
    if (node === undefined) return undefined;
    const v = this.scalar(node);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.err(node, path, `${path} must be an integer from ${min} to ${max}`);
      return undefined;
    }
    return v;
  }

  private template(node: unknown, path: string, parent: unknown, required: boolean): Template | undefined {
    const s = this.str(node, path, parent, required);
    if (s === undefined) return undefined;
    const r = parseTemplate(s);
    if (!r.ok) {
      const origin = this.origin(node);
      this.errors.push(fileError(this.file, path, r.message, placeInFile(origin, 1, r.offset + 1) ?? this.pos(node)));
      return undefined;
    }
    this.templates.push({ path, template: r.template, origin: this.origin(node) });
    return r.template;
  }

  private tree(node: unknown, path: string): TemplateTree | undefined {
    if (node === undefined) return undefined;
    if (!isMap(node)) {
      this.err(node, path, `${path} must be a mapping of fields to values or templates`);
      return undefined;
    }
    return this.treeOf(node, path);
  }

  private treeOf(node: unknown, path: string): TemplateTree {
    if (isMap(node)) {
      const entries: Array<[string, TemplateTree]> = [];
      for (const p of node.items) {
        const k = isScalar(p.key) ? String(p.key.value) : '';
        entries.push([k, this.treeOf(p.value, `${path}.${k}`)]);
      }
      return { kind: 'object', entries };
    }
    if (isSeq(node)) return { kind: 'array', items: node.items.map((x, i) => this.treeOf(x, `${path}[${i}]`)) };
    const v = this.scalar(node);
    if (typeof v === 'string' && v.includes('${')) {
      const t = this.template(node, path, node, true);
      if (t !== undefined) return { kind: 'template', t };
    }
    return { kind: 'value', v: v ?? null };
  }
}
