// `twinhub device …`: the fleet of a running hub, over its HTTP API only (/api/v1/devices,
// /api/v1/bulk/devices). Human output by default, the API's JSON with --json; exit codes in
// client/common.ts EXIT_CODES_HELP and docs/CLI.md.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { BULK_TIMEOUT_S, clientAction, clientCommand, collect, jsonText, parseTag, type ClientContext, type ClientOptions } from './client/common.js';
import { importFormat, readImportInput, writeExport, type BulkFormat } from './client/bulk-io.js';
import { CliErrorCodes, CliExit, pathSegment, usageError } from './client/http.js';
import { renderObject, renderTable, type Column } from './client/table.js';

type Json = Record<string, unknown>;

interface DevicePage {
  items: Json[];
  next?: string;
}

const DEVICE_ORDER = ['id', 'name', 'type', 'group', 'tags', 'enabled', 'connected', 'lastSeen', 'protocol', 'remoteAddress', 'createdAt', 'updatedAt'];
const CREDENTIAL_ORDER = ['id', 'deviceId', 'type', 'label', 'createdAt', 'expiresAt', 'fingerprint', 'subject', 'alg', 'token'];
const SORTS = ['id', '-id', 'name', '-name', 'createdAt', '-createdAt', 'updatedAt', '-updatedAt'];

const DEVICE_COLUMNS: Column<Json>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'NAME', value: (d) => d.name },
  { header: 'TYPE', value: (d) => d.type },
  { header: 'GROUP', value: (d) => d.group },
  { header: 'ENABLED', value: (d) => (d.enabled === false ? 'no' : 'yes') },
  { header: 'CONNECTED', value: (d) => (d.connected === true ? 'yes' : 'no') },
  { header: 'LAST SEEN', value: (d) => d.lastSeen },
  { header: 'TAGS', value: (d) => d.tags },
];

const CREDENTIAL_COLUMNS: Column<Json>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'TYPE', value: (c) => c.type },
  { header: 'LABEL', value: (c) => c.label },
  { header: 'CREATED', value: (c) => c.createdAt },
  { header: 'EXPIRES', value: (c) => c.expiresAt },
  { header: 'DETAIL', value: (c) => c.fingerprint ?? c.subject ?? c.alg },
];

const SESSION_COLUMNS: Column<Json>[] = [
  { header: 'CLIENT ID', value: (s) => s.clientId },
  { header: 'PROTOCOL', value: (s) => s.protocol },
  { header: 'LISTENER', value: (s) => s.listener },
  { header: 'REMOTE ADDRESS', value: (s) => s.remoteAddress },
  { header: 'CONNECTED AT', value: (s) => s.connectedAt },
  { header: 'CREDENTIAL', value: (s) => s.credentialId },
  { header: 'EXPIRES', value: (s) => s.expiresAt },
];

const devicePath = (id: string): string => `/api/v1/devices/${pathSegment(id, 'device id')}`;

export { parseTag };

function tagsOf(list: readonly string[] | undefined): Record<string, string> | undefined {
  if (list === undefined || list.length === 0) return undefined;
  return Object.fromEntries(list.map((t) => parseTag(t)));
}

function print(ctx: ClientContext, doc: unknown, human: () => string): void {
  ctx.out(ctx.json ? jsonText(doc) : human());
}

// ---------------------------------------------------------------- create / get / update / delete

interface CreateOptions extends ClientOptions {
  type?: string;
  name?: string;
  group?: string;
  tag?: string[];
  disabled?: boolean;
}

async function create(ctx: ClientContext, [id]: string[], o: CreateOptions): Promise<void> {
  const body: Json = { id };
  if (o.name !== undefined) body.name = o.name;
  if (o.type !== undefined) body.type = o.type;
  if (o.group !== undefined) body.group = o.group;
  const tags = tagsOf(o.tag);
  if (tags !== undefined) body.tags = tags;
  if (o.disabled === true) body.enabled = false;
  const device = await ctx.client.json<Json>('POST', '/api/v1/devices', { json: body });
  print(ctx, device, () => renderObject(device, DEVICE_ORDER));
}

async function get(ctx: ClientContext, [id]: string[]): Promise<void> {
  const device = await ctx.client.json<Json>('GET', devicePath(id!));
  print(ctx, device, () => renderObject(device, DEVICE_ORDER));
}

interface UpdateOptions extends ClientOptions {
  name?: string;
  type?: string;
  group?: string;
  tag?: string[];
  untag?: string[];
  enable?: boolean;
  disable?: boolean;
}

/** The merge patch of `device update`; an empty option value clears the field (null). */
export function updatePatch(o: UpdateOptions): Json {
  const patch: Json = {};
  for (const f of ['name', 'type', 'group'] as const) {
    const v = o[f];
    if (v !== undefined) patch[f] = v === '' ? null : v;
  }
  if (o.enable === true && o.disable === true) throw usageError('--enable and --disable: choose one');
  if (o.enable === true) patch.enabled = true;
  if (o.disable === true) patch.enabled = false;
  return patch;
}

async function update(ctx: ClientContext, [id]: string[], o: UpdateOptions): Promise<void> {
  const patch = updatePatch(o);
  const set = (o.tag ?? []).map((t) => parseTag(t));
  const unset = o.untag ?? [];
  if (Object.keys(patch).length === 0 && set.length === 0 && unset.length === 0) {
    throw usageError('nothing to change: give --name, --type, --group, --tag, --untag, --enable or --disable');
  }
  if (set.length > 0 || unset.length > 0) {
    // PATCH merges `tags` member by member (RFC 7396): send only the changes, null removes.
    const tags: Record<string, string | null> = {};
    for (const k of unset) tags[k] = null;
    for (const [k, v] of set) tags[k] = v;
    patch.tags = tags;
  }
  const device = await ctx.client.json<Json>('PATCH', devicePath(id!), { json: patch });
  print(ctx, device, () => renderObject(device, DEVICE_ORDER));
}

async function remove(ctx: ClientContext, [id]: string[], o: ClientOptions & { keepData?: boolean }): Promise<void> {
  await ctx.client.request('DELETE', devicePath(id!), { query: { keepData: o.keepData === true ? true : undefined } });
  // 204 No Content: with --json nothing is printed; the exit code says it worked.
  if (!ctx.json) ctx.out(`deleted device ${id}${o.keepData === true ? ' (its twins and telemetry are kept)' : ''}\n`);
}

// ---------------------------------------------------------------- list

interface ListOptions extends ClientOptions {
  type?: string;
  group?: string;
  tag?: string[];
  connected?: boolean;
  disconnected?: boolean;
  prefix?: string;
  sort?: string;
  limit?: string;
  cursor?: string;
  all?: boolean;
}

/** The query of `device list` (without cursor). */
export function listQuery(o: ListOptions): Record<string, string | string[] | boolean | undefined> {
  if (o.connected === true && o.disconnected === true) throw usageError('--connected and --disconnected: choose one');
  const tag = (o.tag ?? []).map((t) => {
    const [k, v] = parseTag(t);
    // The API splits tag=KEY:VALUE at the first colon, so a key with a colon cannot be asked for.
    if (k.includes(':')) throw usageError(`--tag: the hub cannot filter on a tag name with ":" (${JSON.stringify(k)})`);
    return `${k}:${v}`;
  });
  let limit: string | undefined;
  if (o.limit !== undefined) {
    const n = Number(o.limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw usageError(`--limit: expected 1 to 1000, got ${JSON.stringify(o.limit)}`);
    limit = String(n);
  }
  return {
    type: o.type,
    group: o.group,
    tag: tag.length > 0 ? tag : undefined,
    connected: o.connected === true ? true : o.disconnected === true ? false : undefined,
    prefix: o.prefix,
    sort: o.sort,
    limit: limit ?? (o.all === true ? '1000' : undefined),
  };
}

async function list(ctx: ClientContext, _args: string[], o: ListOptions): Promise<void> {
  const query = listQuery(o);
  let cursor = o.cursor;
  const items: Json[] = [];
  let next: string | undefined;
  for (;;) {
    const page = await ctx.client.json<DevicePage>('GET', '/api/v1/devices', { query: { ...query, cursor } });
    items.push(...page.items);
    next = page.next;
    if (o.all !== true || next === undefined) break;
    cursor = next;
  }
  const doc: DevicePage = next === undefined ? { items } : { items, next };
  if (ctx.json) {
    ctx.out(jsonText(doc));
    return;
  }
  ctx.out(renderTable(DEVICE_COLUMNS, items));
  if (next !== undefined) ctx.err(`twinhub: more devices: add --cursor ${next} for the next page, or --all\n`);
}

// ---------------------------------------------------------------- import / export

interface ImportReport {
  lines: number;
  created: number;
  failed: number;
  credentials: number;
  errors: { line: number; id?: string; code: string; message: string }[];
}

async function importCmd(ctx: ClientContext, [file]: string[], o: ClientOptions & { format?: string }): Promise<number> {
  const text = await readImportInput(file!);
  const format = importFormat(file!, o.format, text);
  const report = await ctx.client.json<ImportReport>('POST', '/api/v1/bulk/devices', {
    query: { format },
    body: { data: text, contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson' },
  });
  if (ctx.json) ctx.out(jsonText(report));
  else {
    ctx.out(renderObject({ lines: report.lines, created: report.created, failed: report.failed, credentials: report.credentials }));
    for (const e of report.errors) ctx.out(`line ${e.line}${e.id === undefined ? '' : ` (${e.id})`}: ${e.message} (${e.code})\n`);
  }
  // Credential refusals on created devices are in `errors` without counting as failed lines: the
  // import still did not do all it was asked to.
  if (report.failed > 0 || report.errors.length > 0) {
    ctx.err(`twinhub: ${report.failed} of ${report.lines} lines refused, ${report.errors.length} problem(s) in the report (${CliErrorCodes.IMPORT_PARTIAL})\n`);
    return CliExit.FAILURE;
  }
  return CliExit.OK;
}

async function exportCmd(ctx: ClientContext, _args: string[], o: ClientOptions & { format?: string; credentials?: boolean; output?: string }): Promise<void> {
  let format: BulkFormat = 'jsonl';
  if (o.format !== undefined) {
    if (o.format !== 'jsonl' && o.format !== 'csv') throw usageError(`--format: expected jsonl or csv, got ${JSON.stringify(o.format)}`);
    format = o.format;
  } else if (o.output !== undefined && o.output.toLowerCase().endsWith('.csv')) format = 'csv';
  if (o.credentials === true && format === 'csv') throw usageError('--credentials: only JSON lines carry credentials; use --format jsonl');
  const res = await ctx.client.send('GET', '/api/v1/bulk/devices', { query: { format, credentials: o.credentials === true ? true : undefined } });
  const lines = await writeExport(res, o.output);
  if (o.output !== undefined && o.output !== '-') ctx.err(`twinhub: wrote ${lines} line(s) to ${o.output}\n`);
}

// ---------------------------------------------------------------- credentials

interface CredentialOptions extends ClientOptions {
  type?: string;
  password?: string;
  passwordStdin?: boolean;
  fingerprint?: string;
  subject?: string;
  alg?: string;
  keyFile?: string;
  label?: string;
  expires?: string;
}

const CREDENTIAL_FLAGS: Record<string, readonly (keyof CredentialOptions)[]> = {
  password: ['password', 'passwordStdin'],
  token: [],
  x509: ['fingerprint', 'subject'],
  'jwt-key': ['alg', 'keyFile'],
};
const FLAG_NAMES: Partial<Record<keyof CredentialOptions, string>> = {
  password: '--password',
  passwordStdin: '--password-stdin',
  fingerprint: '--fingerprint',
  subject: '--subject',
  alg: '--alg',
  keyFile: '--key-file',
};

/** The body of POST /credentials from the options; usage errors for missing or foreign flags. */
export async function credentialBody(o: CredentialOptions, io: { stdin: () => Promise<string>; readFile: (p: string) => Promise<string> }): Promise<Json> {
  const type = o.type;
  if (type === undefined || !(type in CREDENTIAL_FLAGS)) throw usageError(`--type: expected one of ${Object.keys(CREDENTIAL_FLAGS).join(', ')}, got ${JSON.stringify(type ?? '')}`);
  for (const [flag, name] of Object.entries(FLAG_NAMES) as [keyof CredentialOptions, string][]) {
    if (o[flag] !== undefined && !CREDENTIAL_FLAGS[type]!.includes(flag)) throw usageError(`${name} does not go with --type ${type}`);
  }
  const body: Json = { type };
  switch (type) {
    case 'password': {
      if ((o.password === undefined) === (o.passwordStdin !== true)) throw usageError('--type password: give --password P or --password-stdin');
      const password = o.password ?? (await io.stdin()).replace(/\r?\n$/, '');
      if (password === '') throw usageError('--type password: the password is empty');
      body.password = password;
      break;
    }
    case 'x509':
      if ((o.fingerprint === undefined) === (o.subject === undefined)) throw usageError('--type x509: give --fingerprint F or --subject S');
      if (o.fingerprint !== undefined) body.fingerprint = o.fingerprint;
      if (o.subject !== undefined) body.subject = o.subject;
      break;
    case 'jwt-key':
      if (o.alg === undefined || o.keyFile === undefined) throw usageError('--type jwt-key: give --alg HS256|RS256|ES256 and --key-file FILE');
      body.alg = o.alg;
      body.key = await io.readFile(o.keyFile);
      break;
  }
  if (o.label !== undefined) body.label = o.label;
  if (o.expires !== undefined) body.expiresAt = o.expires;
  return body;
}

async function credentialAdd(ctx: ClientContext, [id]: string[], o: CredentialOptions): Promise<void> {
  const body = await credentialBody(o, { stdin: () => readImportInput('-'), readFile: (p) => readFile(p, 'utf8') });
  const cred = await ctx.client.json<Json>('POST', `${devicePath(id!)}/credentials`, { json: body });
  print(ctx, cred, () => renderObject(cred, CREDENTIAL_ORDER));
  if (!ctx.json && typeof cred.token === 'string') ctx.err('twinhub: the token is shown only this once (the hub keeps a hash); store it now\n');
}

async function credentialList(ctx: ClientContext, [id]: string[]): Promise<void> {
  const r = await ctx.client.json<{ items: Json[] }>('GET', `${devicePath(id!)}/credentials`);
  print(ctx, r, () => renderTable(CREDENTIAL_COLUMNS, r.items));
}

async function credentialRevoke(ctx: ClientContext, [id, credentialId]: string[]): Promise<void> {
  const r = await ctx.client.json<{ disconnected: number }>('DELETE', `${devicePath(id!)}/credentials/${pathSegment(credentialId!, 'credential id')}`);
  print(ctx, r, () => `revoked credential ${credentialId} of ${id}; disconnected ${r.disconnected} session(s)\n`);
}

// ---------------------------------------------------------------- sessions

async function sessions(ctx: ClientContext, [id]: string[]): Promise<void> {
  const r = await ctx.client.json<{ items: Json[] }>('GET', `${devicePath(id!)}/sessions`);
  print(ctx, r, () => renderTable(SESSION_COLUMNS, r.items));
}

async function kick(ctx: ClientContext, [id]: string[], o: ClientOptions & { clientId?: string }): Promise<void> {
  const path = o.clientId === undefined ? `${devicePath(id!)}/sessions` : `${devicePath(id!)}/sessions/${pathSegment(o.clientId, 'client id')}`;
  const r = await ctx.client.json<{ disconnected: number }>('DELETE', path);
  print(ctx, r, () => `disconnected ${r.disconnected} session(s) of ${id}\n`);
}

// ---------------------------------------------------------------- registration

/** Adds `twinhub device …` to the CLI. */
export function registerDeviceCommand(program: Command): void {
  const device = program.command('device').description("manage a running hub's devices over its HTTP API (--url, --key)");

  clientCommand(device, 'create', 'register a device')
    .argument('<ID>', 'device id: 1–128 of a-z A-Z 0-9 : _ -')
    .option('--type <type>', 'device type')
    .option('--name <name>', 'display name')
    .option('--group <group>', 'group')
    .option('--tag <key=value>', 'a tag (repeatable)', collect)
    .option('--disabled', 'register it disabled (it cannot connect until enabled)')
    .action(clientAction(create));

  clientCommand(device, 'get', 'show a device with its connection state').argument('<ID>').action(clientAction(get));

  clientCommand(device, 'list', 'list devices (a page of --limit, or --all)')
    .option('--type <type>', 'only this type')
    .option('--group <group>', 'only this group')
    .option('--tag <key=value>', 'only devices with this tag (repeatable: all must match)', collect)
    .option('--connected', 'only connected devices')
    .option('--disconnected', 'only disconnected devices')
    .option('--prefix <prefix>', 'only ids starting with this')
    .option('--sort <field>', `order: ${SORTS.join(' ')}`)
    .option('--limit <n>', 'devices per page, 1–1000 (hub default 100; with --all 1000)')
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all', 'follow the cursors to the end')
    .action(clientAction(list));

  clientCommand(device, 'update', 'change a device (an empty --name/--type/--group clears it)')
    .argument('<ID>')
    .option('--name <name>', 'display name')
    .option('--type <type>', 'device type')
    .option('--group <group>', 'group')
    .option('--tag <key=value>', 'set a tag (repeatable)', collect)
    .option('--untag <key>', 'remove a tag (repeatable)', collect)
    .option('--enable', 'allow it to connect')
    .option('--disable', 'refuse its connections')
    .action(clientAction(update));

  clientCommand(device, 'delete', 'delete a device: disconnects it, removes its credentials, and its twins and telemetry unless --keep-data')
    .argument('<ID>')
    .option('--keep-data', 'keep its twins and telemetry')
    .action(clientAction(remove));

  clientCommand(device, 'import', 'import devices from CSV or JSON lines; prints the per-line report (exit 1 when a line was refused)')
    .argument('<FILE>', 'a file, or - for stdin')
    .option('--format <format>', 'csv or jsonl (default: from the extension .csv/.jsonl/.ndjson, else from the content)')
    .action(clientAction(importCmd, BULK_TIMEOUT_S));

  clientCommand(device, 'export', 'export every device (streamed)')
    .option('--format <format>', 'jsonl or csv (default: csv when -o ends in .csv, else jsonl)')
    .option('--credentials', 'include importable credential hashes (JSON lines; admin key)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(clientAction(exportCmd, BULK_TIMEOUT_S));

  const credential = device.command('credential').description("a device's credentials");
  clientCommand(credential, 'add', 'add a credential (a generated token is printed once)')
    .argument('<ID>', 'device id')
    .option('--type <type>', 'password | token | x509 | jwt-key')
    .option('--password <password>', 'password (--type password; visible in ps: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin (--type password)')
    .option('--fingerprint <sha256>', 'certificate fingerprint (--type x509)')
    .option('--subject <dn>', 'certificate subject (--type x509)')
    .option('--alg <alg>', 'HS256 | RS256 | ES256 (--type jwt-key)')
    .option('--key-file <file>', 'PEM public key, or the HS256 secret (--type jwt-key)')
    .option('--label <label>', 'a label for rotation')
    .option('--expires <time>', 'expiry, ISO 8601')
    .action(clientAction(credentialAdd));
  clientCommand(credential, 'list', "list a device's credentials (never secrets)").argument('<ID>').action(clientAction(credentialList));
  clientCommand(credential, 'revoke', 'revoke a credential; sessions that used it are disconnected')
    .argument('<ID>', 'device id')
    .argument('<CREDENTIAL_ID>')
    .action(clientAction(credentialRevoke));

  clientCommand(device, 'sessions', "a device's connected sessions").argument('<ID>').action(clientAction(sessions));
  clientCommand(device, 'kick', 'disconnect a device (every session, or one with --client-id)')
    .argument('<ID>')
    .option('--client-id <clientId>', 'only this session')
    .action(clientAction(kick));
}
