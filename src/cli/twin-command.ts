// `twinhub twin …`: a device's twins on a running hub, over its HTTP API only
// (/api/v1/devices/{id}/twin, …/twins/{name}, …/twin-events). Human output by default, the API's
// JSON with --json; exit codes as every client command (client/common.ts, docs/CLI.md).
//
//   twin get DEVICE [--name N]                                   GET the twin (404 → exit 3)
//   twin set-desired DEVICE (--json DOC | KEY=VALUE…) [--name N] [--if-version V]
//                                                                PATCH {state: {desired}} (a
//                                                                version mismatch → 409 → exit 5)
//   twin watch DEVICE [--name N] [--count N] [--json]            follow the SSE change stream
import type { Command } from 'commander';
import { clientAction, clientCommand, DEFAULT_TIMEOUT_S, EXIT_CODES_HELP, jsonText, resolveClient, reportClientError, type ClientContext, type ClientOptions } from './client/common.js';
import { CliErrorCodes, CliExit, pathSegment, TwinhubCliError, usageError } from './client/http.js';
import { formatValue, renderObject, safeText } from './client/table.js';

type Json = Record<string, unknown>;

/** The API path of the classic twin, or of the named twin `name`. */
export function twinPath(device: string, name: string | undefined): string {
  const base = `/api/v1/devices/${pathSegment(device, 'device id')}`;
  return name === undefined ? `${base}/twin` : `${base}/twins/${pathSegment(name, 'twin name')}`;
}

function checkName(name: string | undefined): void {
  if (name !== undefined && name === '') throw usageError('--name: a twin name is not empty (leave --name out for the classic twin)');
}

/** The twin as `key: value` lines: version, timestamp, desired, reported, delta. */
export function renderTwin(device: string, name: string | undefined, twin: Json): string {
  const state = (twin.state ?? {}) as Json;
  const row: Json = { device, twin: name ?? '(classic)', version: twin.version };
  if (typeof twin.timestamp === 'number') row.timestamp = new Date(twin.timestamp * 1000).toISOString();
  // Sections as JSON (renderObject would show an object of strings as k=v tags); absent is "-".
  for (const k of ['desired', 'reported', 'delta'] as const) row[k] = state[k] === undefined ? undefined : JSON.stringify(state[k]);
  return renderObject(row, ['device', 'twin', 'version', 'timestamp', 'desired', 'reported', 'delta']);
}

// ---------------------------------------------------------------- get

interface NameOptions extends ClientOptions {
  name?: string;
}

async function get(ctx: ClientContext, [device]: string[], o: NameOptions): Promise<void> {
  checkName(o.name);
  const twin = await ctx.client.json<Json>('GET', twinPath(device!, o.name));
  ctx.out(ctx.json ? jsonText(twin) : renderTwin(device!, o.name, twin));
}

// ---------------------------------------------------------------- set-desired

/**
 * The desired section from `--json DOC` or from KEY=VALUE pairs. A VALUE that is JSON (3, true,
 * null, {"a":1}, "\"quoted\"") is taken as such, anything else as a string; null deletes the field
 * (a JSON merge patch, as the MQTT /update).
 */
export function desiredFrom(json: string | undefined, pairs: readonly string[]): Json {
  if (json !== undefined && pairs.length > 0) throw usageError('give the desired state either as --json DOC or as KEY=VALUE pairs, not both');
  if (json !== undefined) {
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch (err) {
      throw usageError(`--json: not JSON (${(err as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw usageError('--json: the desired state is a JSON object, e.g. \'{"mode":"eco"}\'');
    return v as Json;
  }
  if (pairs.length === 0) throw usageError('nothing to set: give --json DOC or KEY=VALUE pairs');
  const out: Json = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw usageError(`expected KEY=VALUE, got ${JSON.stringify(p)}`);
    const key = p.slice(0, eq);
    const text = p.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON: the text itself.
    }
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function parseVersion(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw usageError(`--if-version: expected a twin version (0 or more), got ${JSON.stringify(v)}`);
  return Number(v);
}

interface SetDesiredOptions extends Omit<ClientOptions, 'json'> {
  name?: string;
  json?: string;
  ifVersion?: string;
  output?: string;
}

async function setDesired(device: string, pairs: string[], o: SetDesiredOptions): Promise<number> {
  checkName(o.name);
  if (o.output !== undefined && o.output !== 'json' && o.output !== 'text') throw usageError(`--output: expected text or json, got ${JSON.stringify(o.output)}`);
  const desired = desiredFrom(o.json, pairs);
  const version = parseVersion(o.ifVersion);
  const client = resolveClient({ ...(o.url === undefined ? {} : { url: o.url }), ...(o.key === undefined ? {} : { key: o.key }), ...(o.timeout === undefined ? {} : { timeout: o.timeout }) }, process.env);
  // The AWS update document: `version` makes it conditional ("processes the update only if the
  // specified version matches the latest version it has"; else 409 → exit 5).
  const body: Json = { state: { desired } };
  if (version !== undefined) body.version = version;
  const twin = await client.json<Json>('PATCH', twinPath(device, o.name), { json: body });
  process.stdout.write(o.output === 'json' ? jsonText(twin) : renderTwin(device, o.name, twin));
  return CliExit.OK;
}

// ---------------------------------------------------------------- watch

interface WatchOptions extends NameOptions {
  count?: string;
}

/** One Server-Sent Event: its `event` type and its `data` (joined lines), `id` when sent. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Splits an event stream into events (WHATWG HTML "Server-sent events" §9.2.6 interpretation:
 * lines end in CRLF, LF or CR; a blank line dispatches; `:` lines are comments; `data` lines join
 * with LF; an event with no data is not dispatched). Feed it text as it arrives.
 */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  private sawCr = false;

  constructor(private readonly onEvent: (e: SseEvent) => void) {}

  push(text: string): void {
    let s = this.buf + text;
    // A CR at the end of the last chunk and an LF starting this one are one line end.
    if (this.sawCr && s.startsWith('\n')) s = s.slice(1);
    this.sawCr = false;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      this.line(s.slice(start, i));
      if (c === 0x0d) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 0x0a) i++;
        } else {
          this.sawCr = true;
        }
      }
      start = i + 1;
    }
    this.buf = s.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.event === '' ? 'message' : this.event, data: this.data.join('\n'), id: this.id });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
  }
}

/** A change as one line: time, twin, version, op, writer, what changed. */
export function renderChange(change: Json): string {
  const when = typeof change.timestamp === 'number' ? new Date(change.timestamp * 1000).toISOString() : '-';
  const twin = change.name === '' || change.name === undefined ? '(classic)' : formatValue(change.name);
  let line = `${when} ${twin} v${formatValue(change.version)} ${formatValue(change.op)} by ${formatValue(change.writer)}`;
  if (change.changed !== undefined) line += ` ${safeText(JSON.stringify(change.changed))}`;
  return `${line}\n`;
}

function parseCount(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw usageError(`--count: expected a number of changes (1 or more), got ${JSON.stringify(v)}`);
  return Number(v);
}

async function watch(ctx: ClientContext, [device]: string[], o: WatchOptions): Promise<number> {
  checkName(o.name);
  const count = parseCount(o.count);
  const path = `/api/v1/devices/${pathSegment(device!, 'device id')}/twin-events`;
  const res = await ctx.client.send('GET', path);
  const body = res.body;
  if (body === null) throw new TwinhubCliError(`GET ${path}: empty answer`, CliErrorCodes.BAD_RESPONSE, CliExit.FAILURE);
  const reader = body.getReader();
  let seen = 0;
  let stopped = false;
  // Ctrl-C (or SIGTERM) ends a watch normally: stop reading, exit 0.
  const stop = (): void => {
    stopped = true;
    void reader.cancel().catch(() => undefined);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  ctx.err(`watching the twins of ${safeText(device!)}${o.name === undefined ? '' : ` (only ${safeText(o.name)})`}; Ctrl-C to stop\n`);
  const parser = new SseParser((e) => {
    if (stopped || (e.event !== 'update' && e.event !== 'delete')) return;
    let change: Json;
    try {
      change = JSON.parse(e.data) as Json;
    } catch {
      return; // not ours to print: a malformed event is skipped
    }
    if (o.name !== undefined && change.name !== o.name) return;
    ctx.out(ctx.json ? `${JSON.stringify(change)}\n` : renderChange(change));
    if (count !== undefined && ++seen >= count) stop();
  });
  const decoder = new TextDecoder();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (stopped) break;
        throw new TwinhubCliError(`the event stream broke: ${(err as Error).message}`, CliErrorCodes.INTERRUPTED, CliExit.FAILURE, { cause: err });
      }
      if (chunk.done) break;
      parser.push(decoder.decode(chunk.value, { stream: true }));
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (!stopped) throw new TwinhubCliError('the hub closed the event stream', CliErrorCodes.INTERRUPTED, CliExit.FAILURE);
  return CliExit.OK;
}

// ---------------------------------------------------------------- registration

/** Adds `twinhub twin …` to the CLI. */
export function registerTwinCommand(program: Command): void {
  const twin = program.command('twin').description("read, change and follow a device's twins on a running hub over its HTTP API (--url, --key)");

  clientCommand(twin, 'get', 'show a twin: version, desired, reported, delta')
    .argument('<DEVICE>', 'device id')
    .option('--name <name>', 'a named twin (default: the classic one)')
    .action(clientAction(get));

  // `--json` takes the desired document here, so this command has its own option set
  // (--output json prints the answer as JSON instead).
  twin
    .command('set-desired')
    .description('merge fields into the desired state (null deletes one); the device gets /update/delta')
    .argument('<DEVICE>', 'device id')
    .argument('[KEY=VALUE...]', 'fields to set; a VALUE that is JSON (3, true, null, {"a":1}) is taken as JSON, else as a string')
    .option('--json <document>', 'the desired fields as one JSON object instead of KEY=VALUE pairs')
    .option('--name <name>', 'a named twin (default: the classic one)')
    .option('--if-version <version>', 'apply only if the twin is at this version (else exit 5)')
    .option('--output <format>', 'text (default) or json: the twin after the change')
    .option('--url <url>', "the hub's HTTP API (default: $TWINHUB_URL, else http://127.0.0.1:8080)")
    .option('--key <key>', 'API key (default: $TWINHUB_KEY)')
    .option('--timeout <seconds>', `seconds to wait for the hub's answer, 0 for ever (default ${DEFAULT_TIMEOUT_S})`)
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (device: string, pairs: string[], o: SetDesiredOptions) => {
      try {
        process.exitCode = await setDesired(device, pairs, o);
      } catch (e) {
        process.exitCode = reportClientError(e, (s) => void process.stderr.write(s));
      }
    });

  clientCommand(twin, 'watch', "print the device's twin changes as they happen, one line each (all its twins, or --name)")
    .argument('<DEVICE>', 'device id')
    .option('--name <name>', 'only this named twin')
    .option('--count <n>', 'stop after n changes')
    .action(clientAction(watch));
}
