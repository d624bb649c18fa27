// What every client command shares: the --url/--key/--json/--timeout options, turning them (and
// TWINHUB_URL / TWINHUB_KEY) into an ApiClient, and running an action so that every failure ends
// as `twinhub: <detail> (<code>)` on stderr with its exit code.
import type { Command } from 'commander';
import { ApiClient, CliErrorCodes, CliExit, TwinhubCliError, usageError } from './http.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
export const ENV_URL = 'TWINHUB_URL';
export const ENV_KEY = 'TWINHUB_KEY';
/** Seconds to wait for an answer; bulk import/export wait longer by default. */
export const DEFAULT_TIMEOUT_S = 30;
export const BULK_TIMEOUT_S = 600;

export interface ClientOptions {
  url?: string;
  key?: string;
  json?: boolean;
  timeout?: string;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  failure: the hub failed (5xx, 429) or an import refused some lines
  2  usage or configuration error, or the hub refused the request as invalid (400)
  3  not found (404)
  4  authentication or permission (401, 403)
  5  conflict (409, 412): e.g. the device already exists
  6  the hub is unreachable (refused, DNS, TLS, timeout)`;

/** Adds the options every client command takes. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', `the hub's HTTP API (default: $${ENV_URL}, else ${DEFAULT_URL})`)
    .option('--key <key>', `API key (default: $${ENV_KEY}; prefer the variable: arguments show in ps)`)
    .option('--json', "print the API's JSON answer, one document")
    .option('--timeout <seconds>', `seconds to wait for the hub's answer, 0 for ever (default ${DEFAULT_TIMEOUT_S}, bulk ${BULK_TIMEOUT_S})`);
}

/** A client subcommand of `parent`: the client options and the exit codes in its help. */
export function clientCommand(parent: Command, name: string, description: string): Command {
  return addClientOptions(parent.command(name).description(description)).addHelpText('after', EXIT_CODES_HELP);
}

export interface ClientContext {
  client: ApiClient;
  json: boolean;
  out: (s: string) => void;
  err: (s: string) => void;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

export function resolveClient(opts: ClientOptions, env: NodeJS.ProcessEnv, defaultTimeoutS = DEFAULT_TIMEOUT_S): ApiClient {
  const url = nonEmpty(opts.url) ?? nonEmpty(env[ENV_URL]) ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`--url / ${ENV_URL}: ${JSON.stringify(url)} is not a URL (expected e.g. ${DEFAULT_URL})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw usageError(`--url / ${ENV_URL}: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
    throw usageError(`--url / ${ENV_URL}: give the hub's base URL without query, fragment or credentials`);
  }
  const key = nonEmpty(opts.key) ?? nonEmpty(env[ENV_KEY]);
  if (key === undefined) throw usageError(`no API key: pass --key or set ${ENV_KEY} (the hub prints an admin key on its first start)`);
  if (/\s/.test(key)) throw usageError('--key / TWINHUB_KEY: an API key has no white space');
  let timeoutS = defaultTimeoutS;
  if (opts.timeout !== undefined) {
    timeoutS = Number(opts.timeout);
    if (opts.timeout.trim() === '' || !Number.isFinite(timeoutS) || timeoutS < 0) throw usageError(`--timeout: expected seconds (0 or more), got ${JSON.stringify(opts.timeout)}`);
  }
  return new ApiClient({ url: parsed.toString(), key, timeoutMs: Math.round(timeoutS * 1000) });
}

/** Prints a failure as `twinhub: <detail> (<code>)`; returns its exit code. */
export function reportClientError(err: unknown, write: (s: string) => void): number {
  if (err instanceof TwinhubCliError) {
    write(`twinhub: ${err.message} (${err.code})\n`);
    return err.exitCode;
  }
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') {
    // A local file or stream failed (import file, -o file).
    write(`twinhub: ${e.message} (${CliErrorCodes.IO})\n`);
    return CliExit.FAILURE;
  }
  write(`twinhub: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return CliExit.FAILURE;
}

/**
 * The action handler of a client command: `fn` gets the context, the positional arguments and the
 * command's options; its result (or the failure's code) becomes the process exit code. The exit
 * code is set rather than process.exit() called, so piped output is flushed first.
 */
export function clientAction<O extends ClientOptions>(
  fn: (ctx: ClientContext, args: string[], opts: O) => Promise<number | void>,
  defaultTimeoutS = DEFAULT_TIMEOUT_S,
): (...a: unknown[]) => Promise<void> {
  return async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const opts = cmd.opts<O>();
    const args = a.slice(0, -2) as string[]; // every positional argument of a client command is required
    const out = (s: string): void => void process.stdout.write(s);
    const err = (s: string): void => void process.stderr.write(s);
    try {
      const client = resolveClient(opts, process.env, defaultTimeoutS);
      const code = await fn({ client, json: opts.json === true, out, err }, args, opts);
      process.exitCode = code ?? CliExit.OK;
    } catch (e) {
      process.exitCode = reportClientError(e, err);
    }
  };
}

/** JSON for --json: one document, indented. */
export function jsonText(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `k=v` → [k, v]; the key is what the hub accepts as a tag name. */
export function parseTag(text: string, flag = '--tag'): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`${flag}: expected KEY=VALUE, got ${JSON.stringify(text)}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}
