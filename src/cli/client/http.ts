// A small client of the hub's HTTP API for the CLI: one request → the JSON answer, or a
// TwinhubCliError carrying the exit code scripts rely on. RFC 9457 problem documents from the hub
// keep their `detail` and `code`; everything else (no answer, a proxy's HTML page) gets a
// CLI-side code of its own.
import { STATUS_CODES } from 'node:http';
import type { Problem } from '../../api/problem.js';

/** Exit codes of the client commands (docs/CLI.md "Exit codes"). Never renumber: scripts test them. */
export const CliExit = {
  OK: 0,
  /** The request failed on the hub (5xx, 429), an answer was unusable, or an import had refused lines. */
  FAILURE: 1,
  /** Bad command line or client configuration, or the hub refused the request as invalid (400, 413, 415). */
  USAGE: 2,
  /** 404: no such device, credential, session or route. */
  NOT_FOUND: 3,
  /** 401 (no or unknown key) or 403 (the key's role is too low). */
  AUTH: 4,
  /** 409 (exists, taken) or 412 (precondition failed). */
  CONFLICT: 5,
  /** No answer: connection refused, DNS failure, TLS failure, or a timeout. */
  UNREACHABLE: 6,
} as const;
export type CliExitCode = (typeof CliExit)[keyof typeof CliExit];

/** Codes of failures the CLI finds itself (the hub's own codes start with TH_ and not TH_CLI_). */
export const CliErrorCodes = {
  USAGE: 'TH_CLI_USAGE',
  UNREACHABLE: 'TH_CLI_UNREACHABLE',
  TIMEOUT: 'TH_CLI_TIMEOUT',
  BAD_RESPONSE: 'TH_CLI_BAD_RESPONSE',
  /** The connection broke while an answer was streaming (an export cut off). */
  INTERRUPTED: 'TH_CLI_INTERRUPTED',
  IO: 'TH_CLI_IO',
  IMPORT_PARTIAL: 'TH_CLI_IMPORT_PARTIAL',
} as const;

/** What the hub answers on errors (api/problem.ts): the CLI reads the same shape. */
export type ProblemDocument = Problem;

export class TwinhubCliError extends Error {
  readonly code: string;
  readonly exitCode: CliExitCode;
  /** The HTTP status when the hub answered. */
  readonly status: number | undefined;
  readonly problem: ProblemDocument | undefined;
  constructor(message: string, code: string, exitCode: CliExitCode, extra: { status?: number; problem?: ProblemDocument; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'TwinhubCliError';
    this.code = code;
    this.exitCode = exitCode;
    this.status = extra.status;
    this.problem = extra.problem;
  }
}

export function usageError(message: string): TwinhubCliError {
  return new TwinhubCliError(message, CliErrorCodes.USAGE, CliExit.USAGE);
}

/** The exit code for an HTTP error status. */
export function exitCodeForStatus(status: number): CliExitCode {
  if (status === 401 || status === 403) return CliExit.AUTH;
  if (status === 404) return CliExit.NOT_FOUND;
  if (status === 409 || status === 412) return CliExit.CONFLICT;
  if (status === 400 || status === 413 || status === 415 || status === 422) return CliExit.USAGE;
  return CliExit.FAILURE;
}

function isProblem(v: unknown): v is ProblemDocument {
  if (v === null || typeof v !== 'object') return false;
  const p = v as Record<string, unknown>;
  return typeof p.status === 'number' && typeof p.code === 'string' && typeof p.detail === 'string';
}

/** The error for a non-2xx answer; reads the body (a problem document when the hub wrote it). */
export async function errorFromResponse(res: Response): Promise<TwinhubCliError> {
  const exit = exitCodeForStatus(res.status);
  let text = '';
  try {
    text = await res.text();
  } catch {
    // The body is lost; the status still says what happened.
  }
  const ct = res.headers.get('content-type') ?? '';
  if (ct.includes('json')) {
    try {
      const body = JSON.parse(text) as unknown;
      if (isProblem(body)) return new TwinhubCliError(body.detail, body.code, exit, { status: res.status, problem: body });
    } catch {
      // Not JSON after all: fall through to the generic message.
    }
  }
  const reason = res.statusText || STATUS_CODES[res.status] || 'error';
  // Not the hub's problem document: a proxy, another server on that port, or an old hub.
  return new TwinhubCliError(`HTTP ${res.status} ${reason} from ${res.url} (not a Twinhub problem document)`, CliErrorCodes.BAD_RESPONSE, exit, { status: res.status });
}

/** A failed fetch() (no HTTP answer) → exit 6 with the socket-level reason; timeoutMs when it timed out. */
export function errorFromFetchFailure(err: unknown, url: string, timeoutMs: number | undefined): TwinhubCliError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (timeoutMs !== undefined) {
    return new TwinhubCliError(`no answer from ${url} within ${timeoutMs / 1000} s`, CliErrorCodes.TIMEOUT, CliExit.UNREACHABLE, { cause: err });
  }
  const cause = e.cause;
  const why = cause?.message || cause?.code || e.message || String(err);
  return new TwinhubCliError(`cannot reach the hub at ${url}: ${why}`, CliErrorCodes.UNREACHABLE, CliExit.UNREACHABLE, { cause: err });
}

export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body (sent as application/json). */
  json?: unknown;
  /** A raw body with its content type (imports). */
  body?: { data: string; contentType: string };
  /** Overrides the client's timeout (ms; 0: none). */
  timeoutMs?: number;
}

export interface ApiClientOptions {
  /** The hub's base URL, e.g. http://127.0.0.1:8080 (a path prefix behind a proxy is kept). */
  url: string;
  key: string;
  /** Milliseconds to wait for the answer's headers; 0 waits for ever. */
  timeoutMs: number;
  /** How often a 429 is retried after its Retry-After (at most 5 s each). */
  retries429?: number;
  fetch?: typeof fetch;
}

/** The device id, credential id or client id as one path segment. */
export function pathSegment(value: string, what: string): string {
  // WHATWG URL parsing turns "." and ".." (also as %2E) into path navigation: such ids cannot be
  // addressed in a path at all, so say so instead of sending a request to another route.
  if (value === '' || value === '.' || value === '..') throw usageError(`${what} ${JSON.stringify(value)} cannot be used in a URL path`);
  return encodeURIComponent(value);
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly key: string;
  private readonly timeoutMs: number;
  private readonly retries429: number;
  private readonly fetchFn: typeof fetch;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, '');
    this.key = opts.key;
    this.timeoutMs = opts.timeoutMs;
    this.retries429 = opts.retries429 ?? 2;
    this.fetchFn = opts.fetch ?? fetch;
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v as readonly string[]) u.searchParams.append(k, item);
      else u.searchParams.append(k, String(v));
    }
    return u.toString();
  }

  /**
   * The answer with a 2xx status (its body unread), else throws TwinhubCliError. A 429 is retried
   * after its Retry-After (a paged `list --all` must not fail half way for a short burst).
   */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = this.url(path, opts.query);
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, accept: 'application/json, application/problem+json;q=0.9, */*;q=0.1' };
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers['content-type'] = opts.body.contentType;
      body = opts.body.data;
    }
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      // The timeout bounds the wait for the answer's headers only: a long export keeps streaming.
      const abort = new AbortController();
      let timedOut = false;
      const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), abort.abort()), timeoutMs) : undefined;
      try {
        // A redirect is not followed: it would resend the key to wherever it points.
        const init: RequestInit = { method, headers, redirect: 'manual', signal: abort.signal };
        if (body !== undefined) init.body = body;
        res = await this.fetchFn(url, init);
      } catch (err) {
        throw errorFromFetchFailure(err, this.baseUrl, timedOut ? timeoutMs : undefined);
      } finally {
        clearTimeout(timer);
      }
      if (res.ok) return res;
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const to = res.headers.get('location');
        throw new TwinhubCliError(`${this.baseUrl} redirects${to === null ? '' : ` to ${to}`}; give the hub's own address with --url or TWINHUB_URL`, CliErrorCodes.BAD_RESPONSE, CliExit.USAGE, { status: res.status });
      }
      if (res.status === 429 && attempt < this.retries429) {
        const wait = Number(res.headers.get('retry-after'));
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(wait) && wait > 0 ? wait * 1000 : 1000, 5000)));
        continue;
      }
      throw await errorFromResponse(res);
    }
  }

  /** The parsed JSON answer; undefined for 204 No Content. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T | undefined> {
    const res = await this.send(method, path, opts);
    if (res.status === 204) return undefined;
    const text = await res.text();
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new TwinhubCliError(`${method} ${path}: the answer is not JSON (HTTP ${res.status}, ${res.headers.get('content-type') ?? 'no content type'})`, CliErrorCodes.BAD_RESPONSE, CliExit.FAILURE, { status: res.status });
    }
  }

  /** Like request() for routes that always answer with a JSON body. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const v = await this.request<T>(method, path, opts);
    if (v === undefined) throw new TwinhubCliError(`${method} ${path}: empty answer`, CliErrorCodes.BAD_RESPONSE, CliExit.FAILURE);
    return v;
  }
}
