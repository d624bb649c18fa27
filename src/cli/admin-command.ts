// `twinhub admin create-key`: an operator API key from a running hub (POST /api/v1/api-keys, admin
// role). The key is printed once; the hub keeps only its hash.
import type { Command } from 'commander';
import { clientAction, clientCommand, jsonText, type ClientContext, type ClientOptions } from './client/common.js';
import { pathSegment, usageError } from './client/http.js';
import { renderObject, renderTable } from './client/table.js';

const ROLES = ['read-only', 'operator', 'admin'] as const;

interface CreateKeyOptions extends ClientOptions {
  name?: string;
  role?: string;
  expires?: string;
}

/** The body of POST /api/v1/api-keys; usage errors for what the hub would refuse anyway. */
export function createKeyBody(o: CreateKeyOptions): Record<string, unknown> {
  if (o.name === undefined || o.name === '') throw usageError('--name: required (what the key is for, e.g. "ci-provisioning")');
  if (o.role === undefined || !(ROLES as readonly string[]).includes(o.role)) throw usageError(`--role: expected one of ${ROLES.join(', ')}, got ${JSON.stringify(o.role ?? '')}`);
  const body: Record<string, unknown> = { name: o.name, role: o.role };
  if (o.expires !== undefined) body.expiresAt = o.expires;
  return body;
}

async function createKey(ctx: ClientContext, _args: string[], o: CreateKeyOptions): Promise<void> {
  const key = await ctx.client.json<Record<string, unknown>>('POST', '/api/v1/api-keys', { json: createKeyBody(o) });
  if (ctx.json) {
    ctx.out(jsonText(key));
    return;
  }
  ctx.out(renderObject(key, ['id', 'name', 'role', 'createdAt', 'expiresAt', 'key']));
  ctx.err('twinhub: the key is shown only this once (the hub keeps a hash); store it now\n');
}

type KeyRow = Record<string, unknown>;

async function listKeys(ctx: ClientContext): Promise<void> {
  const r = await ctx.client.json<{ items: KeyRow[] }>('GET', '/api/v1/api-keys');
  if (ctx.json) {
    ctx.out(jsonText(r));
    return;
  }
  ctx.out(
    renderTable<KeyRow>(
      [
        { header: 'ID', value: (k) => k.id },
        { header: 'NAME', value: (k) => k.name },
        { header: 'ROLE', value: (k) => k.role },
        { header: 'CREATED', value: (k) => k.createdAt },
        { header: 'EXPIRES', value: (k) => k.expiresAt ?? '-' },
      ],
      r.items,
    ),
  );
}

async function revokeKey(ctx: ClientContext, [id]: string[]): Promise<void> {
  await ctx.client.request('DELETE', `/api/v1/api-keys/${pathSegment(id!, 'key id')}`);
  if (!ctx.json) ctx.err(`twinhub: API key ${id} revoked\n`);
}

/** Adds `twinhub admin …` to the CLI. */
export function registerAdminCommand(program: Command): void {
  const admin = program.command('admin').description('administer a running hub over its HTTP API (admin key)');
  clientCommand(admin, 'create-key', 'create an operator API key; it is printed once')
    .option('--name <name>', 'what the key is for')
    .option('--role <role>', ROLES.join(' | '))
    .option('--expires <time>', 'expiry, ISO 8601 (default: never)')
    .action(clientAction(createKey));
  clientCommand(admin, 'list-keys', 'list operator API keys (never the keys themselves)').action(clientAction(listKeys));
  clientCommand(admin, 'revoke-key', 'revoke an operator API key: requests with it are refused from now on')
    .argument('<ID>', 'the key id (thk_<id>_…)')
    .action(clientAction(revokeKey));
}
