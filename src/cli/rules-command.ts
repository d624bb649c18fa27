// `twinhub rules …`: the rules of a running hub over its HTTP API (/api/v1/rules). `apply` sends
// a rule file as it is (YAML, comments kept) and prints the hub's refusal as FILE:LINE:COLUMN
// lines; `test` dry-runs a rule file against a sample message. Exit codes: client/common.ts.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { clientAction, clientCommand, jsonText, type ClientContext, type ClientOptions } from './client/common.js';
import { pathSegment, TwinhubCliError, usageError } from './client/http.js';
import { formatValue, renderObject, renderTable, type Column } from './client/table.js';

type Json = Record<string, unknown>;

interface LoadError {
  file?: string;
  line?: number;
  column?: number;
  path: string;
  message: string;
}

const counter = (name: string) => (r: Json) => (r.counters as Json | undefined)?.[name];

const RULE_COLUMNS: Column<Json>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'STATUS', value: (r) => (Array.isArray(r.loadErrors) && r.status !== 'invalid' ? `${String(r.status)} (edit refused)` : r.status) },
  { header: 'PRIORITY', value: (r) => r.priority },
  { header: 'MATCHED', value: counter('matched') },
  { header: 'PASSED', value: counter('passedWhere') },
  { header: 'ACTIONS OK', value: counter('actionsOk') },
  { header: 'FAILED', value: counter('actionsFailed') },
  { header: 'DROPPED', value: counter('actionsDropped') },
];

const rulePath = (id: string): string => `/api/v1/rules/${pathSegment(id, 'rule id')}`;

/** `file:line:column: path: message`, the shape editors jump to. */
export function formatLoadError(e: LoadError, fallbackFile: string): string {
  const at = e.line !== undefined ? `${e.file ?? fallbackFile}:${e.line}:${e.column ?? 1}` : (e.file ?? fallbackFile);
  return `${at}: ${e.path !== '' ? `${e.path}: ` : ''}${e.message}`;
}

/** Rethrow a 400 refusal after printing its errors one per line. */
function reportRefusal(ctx: ClientContext, err: unknown, file: string): never {
  if (err instanceof TwinhubCliError && err.problem !== undefined) {
    const errors = (err.problem as unknown as { errors?: LoadError[] }).errors;
    // The hub names its own copy (<id>.yaml); the user edits the file they sent.
    if (Array.isArray(errors)) for (const e of errors) ctx.err(`${formatLoadError({ ...e, file }, file)}\n`);
  }
  throw err;
}

/** The rule id of a file: its `id` key, else the file name without .yaml. */
function idOf(text: string, file: string): string {
  const doc = parseDocument(text);
  const id = doc.errors.length === 0 ? doc.get('id') : undefined;
  return typeof id === 'string' && id !== '' ? id : basename(file).replace(/\.ya?ml$/i, '');
}

async function readRuleFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw usageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

async function list(ctx: ClientContext): Promise<void> {
  const r = await ctx.client.json<{ items: Json[]; stats: Json }>('GET', '/api/v1/rules');
  if (ctx.json) return ctx.out(jsonText(r));
  ctx.out(r.items.length === 0 ? 'no rules\n' : renderTable(RULE_COLUMNS, r.items));
  for (const rule of r.items) {
    for (const e of (rule.loadErrors as LoadError[] | undefined) ?? []) ctx.out(`${formatLoadError(e, String(rule.file))}\n`);
  }
}

async function apply(ctx: ClientContext, [file]: string[]): Promise<void> {
  const text = await readRuleFile(file!);
  const id = idOf(text, file!);
  let rule: Json;
  try {
    rule = await ctx.client.json<Json>('PUT', rulePath(id), { body: { data: text, contentType: 'application/yaml' } });
  } catch (err) {
    reportRefusal(ctx, err, file!);
  }
  ctx.out(ctx.json ? jsonText(rule) : `rule ${String(rule.id)} applied (${String(rule.status)})\n`);
}

async function testCmd(ctx: ClientContext, [file]: string[], o: ClientOptions & { message?: string }): Promise<void> {
  if (o.message === undefined) throw usageError('--message JSON is required, e.g. --message \'{"topic":"devices/d1/telemetry","payload":{"temp":31}}\'');
  let message: unknown;
  try {
    message = JSON.parse(o.message);
  } catch (e) {
    throw usageError(`--message: not JSON: ${(e as Error).message}`);
  }
  const text = await readRuleFile(file!);
  let r: { matched: boolean; rows: Json[]; actions: Json[]; clears: Json[] };
  try {
    r = await ctx.client.json('POST', '/api/v1/rules/test', { json: { rule: text, message } });
  } catch (err) {
    reportRefusal(ctx, err, file!);
  }
  if (ctx.json) return ctx.out(jsonText(r));
  if (!r.matched) return ctx.out('the topic matches no FROM filter of the rule\n');
  if (r.rows.length === 0) ctx.out('no output (WHERE is false, or the window is still open)\n');
  r.rows.forEach((row, i) => {
    ctx.out(`output ${i + 1}: ${formatValue(row)}\n`);
    for (const a of r.actions.filter((x) => x.row === i)) {
      ctx.out(`  ${String(a.kind)}#${String(a.index)}: ${a.error !== undefined ? `would fail: ${String(a.error)}` : formatValue(a.plan)}\n`);
    }
  });
  for (const c of r.clears) ctx.out(`would clear alert ${String(c.key)}\n`);
}

async function setEnabled(ctx: ClientContext, [id]: string[], enabled: boolean): Promise<void> {
  const r = await ctx.client.json<Json>('POST', `${rulePath(id!)}/${enabled ? 'enable' : 'disable'}`);
  ctx.out(ctx.json ? jsonText(r) : `rule ${id} ${enabled ? 'enabled' : 'disabled'}\n`);
}

async function get(ctx: ClientContext, [id]: string[]): Promise<void> {
  const r = await ctx.client.json<Json>('GET', rulePath(id!));
  if (ctx.json) return ctx.out(jsonText(r));
  const { yaml, counters, ...rest } = r;
  ctx.out(renderObject({ ...rest, ...(counters as Json) }, ['id', 'file', 'status', 'priority', 'enabled', 'sql']));
  if (typeof yaml === 'string') ctx.out(`\n${yaml}${yaml.endsWith('\n') ? '' : '\n'}`);
}

async function remove(ctx: ClientContext, [id]: string[]): Promise<void> {
  await ctx.client.request('DELETE', rulePath(id!));
  ctx.out(ctx.json ? jsonText({ deleted: id }) : `rule ${id} deleted\n`);
}

async function errors(ctx: ClientContext, [id]: string[]): Promise<void> {
  const r = await ctx.client.json<{ items: Json[] }>('GET', `${rulePath(id!)}/errors`);
  if (ctx.json) return ctx.out(jsonText(r));
  if (r.items.length === 0) return ctx.out(`no errors recorded for ${id}\n`);
  for (const e of r.items) {
    const m = e.message as Json | undefined;
    ctx.out(`${String(e.at)} ${String(e.stage)}: ${String(e.error)}${m ? `\n  message: ${String(m.topic)} ${String(m.payload)}` : ''}\n`);
  }
}

/** Adds `twinhub rules …` to the CLI. */
export function registerRulesCommand(program: Command): void {
  const rules = program.command('rules').description("manage a running hub's rules over its HTTP API (--url, --key)");
  clientCommand(rules, 'list', 'list rules with their status and counters').action(clientAction(list));
  clientCommand(rules, 'get', 'show a rule with its counters and file').argument('<ID>').action(clientAction(get));
  clientCommand(rules, 'apply', 'create or replace a rule from its YAML file (refusals print FILE:LINE:COLUMN)').argument('<FILE>').action(clientAction(apply));
  clientCommand(rules, 'test', 'dry-run a rule file against a sample message; nothing is executed')
    .argument('<FILE>')
    .option('--message <json>', 'the message: {"topic": …, "payload": …, "clientid"?, "deviceid"?, "qos"?, "userProperties"?, "device"?, "twin"?}')
    .action(clientAction(testCmd));
  clientCommand(rules, 'enable', 'enable a rule').argument('<ID>').action(clientAction((ctx, args) => setEnabled(ctx, args, true)));
  clientCommand(rules, 'disable', 'disable a rule (it stays in the folder)').argument('<ID>').action(clientAction((ctx, args) => setEnabled(ctx, args, false)));
  clientCommand(rules, 'delete', 'delete a rule (its file)').argument('<ID>').action(clientAction(remove));
  clientCommand(rules, 'errors', "show a rule's recent errors with the messages that caused them").argument('<ID>').action(clientAction(errors));
}
