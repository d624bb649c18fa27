// A tiny HTTP API client for tests: JSON in, { status, body, headers } out, never throws on an
// error status (tests assert on problem documents).
import { TEST_ADMIN_KEY } from './hub.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface ApiTarget {
  httpUrl?: string;
}

export async function api<T = any>(
  hub: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
  opts: { key?: string | null; contentType?: string } = {},
): Promise<ApiResponse<T>> {
  if (hub.httpUrl === undefined) throw new Error('the hub has no HTTP listener');
  const headers: Record<string, string> = {};
  const key = opts.key === undefined ? TEST_ADMIN_KEY : opts.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${hub.httpUrl}${path}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) });
  const text = await res.text();
  let parsed: unknown = text;
  const ct = res.headers.get('content-type') ?? '';
  if (ct.includes('json') && !ct.includes('ndjson') && text.length > 0) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, headers: res.headers, text };
}
