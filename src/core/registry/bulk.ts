// Bulk import and export of devices as JSON lines or CSV. An import reports every line it
// refused (line number, code, message) and stores every valid line: one bad line never costs the
// others. Devices are written in batches (one store transaction per batch) so thousands of lines
// per second go through; plain passwords cost one scrypt each on the thread pool, so imports of
// large fleets carry pre-hashed passwords (`passwordHash`) or token hashes instead.
import { Errors, TwinhubError } from '../../common/errors.js';
import type { CredentialRecord, DeviceRecord, RegistryStore } from '../../ports/registry-store.js';
import type { ScryptParams } from './credentials/index.js';
import { prepareCredential } from './credential-input.js';
import { allDevices } from './device-list.js';
import { newDevice } from './device-model.js';

export type BulkFormat = 'jsonl' | 'csv';

export interface ImportLineError {
  line: number;
  id?: string;
  /** 'device': the line was not stored; 'credential': the device was created, one of its credentials was refused. */
  scope: 'device' | 'credential';
  code: string;
  message: string;
}

export interface ImportReport {
  lines: number;
  created: number;
  failed: number;
  credentials: number;
  errors: ImportLineError[];
}

interface Parsed {
  line: number;
  device: DeviceRecord;
  credentials: unknown[];
}

const BATCH = 1000;
const HASH_CONCURRENCY = 8;
export const MAX_IMPORT_LINES = 1_000_000;
export const CSV_COLUMNS = ['id', 'name', 'type', 'group', 'enabled', 'tags', 'passwordHash', 'tokenHash', 'createdAt', 'updatedAt'] as const;
/** Columns an export writes that an import reads past (the hub sets these times itself). */
const IGNORED_COLUMNS: ReadonlySet<string> = new Set(['createdAt', 'updatedAt']);

/** RFC 4180 fields of one CSV record (quotes, doubled quotes; no embedded newlines). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error('unterminated quoted field');
        const ch = line[i]!;
        if (ch === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += ch;
        i++;
      }
      if (i < line.length && line[i] !== ',') throw new Error('a quoted field must end at a comma');
    } else {
      const end = line.indexOf(',', i);
      field = end < 0 ? line.slice(i) : line.slice(i, end);
      if (field.includes('"')) throw new Error('a field with a quote must be quoted');
      i = end < 0 ? line.length : end;
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // the comma
  }
}

export function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

/** `k=v;k2=v2`; a value may hold ';' or '\\' escaped with a backslash (`a\\;b`). */
function tagsFromCsv(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  if (text === '') return tags;
  const pairs: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) cur += text[++i];
    else if (ch === ';') {
      pairs.push(cur);
      cur = '';
    } else cur += ch;
  }
  pairs.push(cur);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new TwinhubError(Errors.DEVICE_INVALID, `tags: expected key=value pairs separated by ";", got ${JSON.stringify(pair)}`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return tags;
}

export function tagsToCsv(tags: Record<string, string>): string {
  return Object.entries(tags).map(([k, v]) => `${k}=${v.replace(/[\\;]/g, (c) => `\\${c}`)}`).join(';');
}

function csvRecord(header: readonly string[], fields: string[]): { device: Record<string, unknown>; credentials: unknown[] } {
  if (fields.length !== header.length) throw new TwinhubError(Errors.IMPORT_INVALID, `expected ${header.length} fields, got ${fields.length}`);
  const device: Record<string, unknown> = {};
  const credentials: unknown[] = [];
  header.forEach((col, i) => {
    const v = fields[i]!;
    if (v === '' || IGNORED_COLUMNS.has(col)) return;
    switch (col) {
      case 'enabled':
        if (v !== 'true' && v !== 'false') throw new TwinhubError(Errors.DEVICE_INVALID, `enabled: must be true or false, got ${JSON.stringify(v)}`);
        device.enabled = v === 'true';
        break;
      case 'tags':
        device.tags = tagsFromCsv(v);
        break;
      case 'passwordHash':
        credentials.push({ type: 'password', hash: v });
        break;
      case 'tokenHash':
        credentials.push({ type: 'token', hash: v });
        break;
      default:
        device[col] = v;
    }
  });
  return { device, credentials };
}

/** Parse the lines of an import; per-line errors go to `errors`. */
export function parseImport(text: string, format: BulkFormat, now: number, errors: ImportLineError[]): { parsed: Parsed[]; lines: number } {
  const lines = text.split(/\r?\n/);
  const parsed: Parsed[] = [];
  let header: string[] | undefined;
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const lineNo = i + 1;
    if (format === 'csv' && header === undefined) {
      header = parseCsvLine(raw).map((h) => h.trim());
      const unknown = header.find((h) => !(CSV_COLUMNS as readonly string[]).includes(h));
      if (unknown !== undefined) throw new TwinhubError(Errors.IMPORT_INVALID, `CSV header: unknown column ${JSON.stringify(unknown)} (known: ${CSV_COLUMNS.join(', ')})`);
      if (!header.includes('id')) throw new TwinhubError(Errors.IMPORT_INVALID, 'CSV header: the column "id" is required');
      continue;
    }
    if (++count > MAX_IMPORT_LINES) throw new TwinhubError(Errors.IMPORT_INVALID, `at most ${MAX_IMPORT_LINES} lines per import`);
    let id: string | undefined;
    try {
      let input: Record<string, unknown>;
      let credentials: unknown[] = [];
      if (format === 'csv') {
        const r = csvRecord(header!, parseCsvLine(raw));
        input = r.device;
        credentials = r.credentials;
      } else {
        const v = JSON.parse(raw) as unknown;
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TwinhubError(Errors.DEVICE_INVALID, 'a line must be a JSON object');
        input = { ...(v as Record<string, unknown>) };
        if ('credentials' in input) {
          if (!Array.isArray(input.credentials)) throw new TwinhubError(Errors.CREDENTIAL_INVALID, 'credentials: must be a list');
          credentials = input.credentials;
          delete input.credentials;
        }
      }
      id = typeof input.id === 'string' ? input.id : undefined;
      parsed.push({ line: lineNo, device: newDevice(input, now), credentials });
    } catch (err) {
      const e: ImportLineError = {
        line: lineNo,
        scope: 'device',
        code: err instanceof TwinhubError ? err.code : Errors.IMPORT_INVALID.code,
        message: err instanceof TwinhubError ? err.message : `not valid ${format === 'csv' ? 'CSV' : 'JSON'}: ${(err as Error).message}`,
      };
      if (id !== undefined) e.id = id;
      errors.push(e);
    }
  }
  return { parsed, lines: count };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function importDevices(store: RegistryStore, text: string, format: BulkFormat, now: number, scrypt: ScryptParams): Promise<ImportReport> {
  const errors: ImportLineError[] = [];
  const { parsed, lines } = parseImport(text, format, now, errors);
  let created = 0;
  let credentials = 0;
  for (let i = 0; i < parsed.length; i += BATCH) {
    const batch = parsed.slice(i, i + BATCH);
    const results = await store.createDevices(batch.map((p) => p.device));
    const stored: Parsed[] = [];
    results.forEach((r, j) => {
      const p = batch[j]!;
      if (r.ok) {
        created++;
        stored.push(p);
      } else {
        errors.push({ line: p.line, id: p.device.id, scope: 'device', code: Errors.DEVICE_EXISTS.code, message: `device ${p.device.id} already exists` });
      }
    });
    const work = stored.flatMap((p) => p.credentials.map((c, k) => ({ p, c, k })));
    await mapLimit(work, HASH_CONCURRENCY, async ({ p, c, k }) => {
      try {
        const prepared = await prepareCredential(p.device.id, c, now, scrypt);
        const r = await store.addCredential(prepared.record);
        if (!r.ok) throw new TwinhubError(Errors.CREDENTIAL_TAKEN, `credentials[${k}]: already registered`);
        credentials++;
      } catch (err) {
        errors.push({
          line: p.line,
          id: p.device.id,
          scope: 'credential',
          code: err instanceof TwinhubError ? err.code : Errors.CREDENTIAL_INVALID.code,
          message: `device created, but credentials[${k}] was refused: ${(err as Error).message}`,
        });
      }
    });
  }
  errors.sort((a, b) => a.line - b.line);
  const failedLines = new Set(errors.filter((e) => e.scope === 'device').map((e) => e.line));
  return { lines, created, failed: failedLines.size, credentials, errors };
}

/** An importable credential (hashes, never secrets) for exports with credentials. */
function exportCredential(c: CredentialRecord): Record<string, unknown> {
  const o: Record<string, unknown> = { type: c.type };
  if (c.label !== undefined) o.label = c.label;
  if (c.expiresAt !== undefined) o.expiresAt = c.expiresAt;
  if (c.type === 'password' || c.type === 'token') o.hash = c.hash;
  if (c.fingerprint !== undefined) o.fingerprint = c.fingerprint;
  if (c.subject !== undefined) o.subject = c.subject;
  if (c.type === 'jwt-key') {
    o.alg = c.alg;
    o.key = c.key;
  }
  return o;
}

/** Export lines (each ending in "\n"), streamed: the fleet is never held whole in memory. */
export async function* exportDevices(store: RegistryStore, format: BulkFormat, withCredentials: boolean): AsyncGenerator<string> {
  if (format === 'csv') yield `${['id', 'name', 'type', 'group', 'enabled', 'tags', 'createdAt', 'updatedAt'].join(',')}\n`;
  for await (const d of allDevices(store)) {
    if (format === 'csv') {
      const tags = tagsToCsv(d.tags);
      const row = [d.id, d.name ?? '', d.type ?? '', d.group ?? '', String(d.enabled), tags, new Date(d.createdAt).toISOString(), new Date(d.updatedAt).toISOString()];
      yield `${row.map(csvField).join(',')}\n`;
      continue;
    }
    const line: Record<string, unknown> = { id: d.id };
    if (d.name !== undefined) line.name = d.name;
    if (d.type !== undefined) line.type = d.type;
    if (d.group !== undefined) line.group = d.group;
    line.tags = d.tags;
    line.enabled = d.enabled;
    if (d.acl !== undefined) line.acl = d.acl;
    if (d.limits !== undefined) line.limits = d.limits;
    if (withCredentials) line.credentials = (await store.listCredentials(d.id)).map(exportCredential);
    yield `${JSON.stringify(line)}\n`;
  }
}
