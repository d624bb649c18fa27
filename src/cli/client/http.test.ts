import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveClient, reportClientError } from './common.js';
import { ApiClient, CliExit, errorFromFetchFailure, errorFromResponse, exitCodeForStatus, pathSegment, TwinhubCliError } from './http.js';

function problemResponse(status: number, code: string, detail: string): Response {
  const body = JSON.stringify({ type: `urn:twinhub:problem:${code}`, title: 'x', status, detail, code });
  return new Response(body, { status, headers: { 'content-type': 'application/problem+json' } });
}

describe('exit codes', () => {
  test('each documented status maps to its code (docs/CLI.md "Exit codes")', () => {
    assert.equal(exitCodeForStatus(400), CliExit.USAGE);
    assert.equal(exitCodeForStatus(401), CliExit.AUTH);
    assert.equal(exitCodeForStatus(403), CliExit.AUTH);
    assert.equal(exitCodeForStatus(404), CliExit.NOT_FOUND);
    assert.equal(exitCodeForStatus(409), CliExit.CONFLICT);
    assert.equal(exitCodeForStatus(412), CliExit.CONFLICT);
    assert.equal(exitCodeForStatus(429), CliExit.FAILURE);
    assert.equal(exitCodeForStatus(500), CliExit.FAILURE);
    assert.equal(exitCodeForStatus(503), CliExit.FAILURE);
    assert.deepEqual(Object.values(CliExit), [0, 1, 2, 3, 4, 5, 6]);
  });

  test('RFC 9457 problem document: detail and code are kept', async () => {
    const e = await errorFromResponse(problemResponse(404, 'TH_DEVICE_NOT_FOUND', 'no device d1'));
    assert.equal(e.message, 'no device d1');
    assert.equal(e.code, 'TH_DEVICE_NOT_FOUND');
    assert.equal(e.exitCode, CliExit.NOT_FOUND);
    const lines: string[] = [];
    assert.equal(reportClientError(e, (s) => lines.push(s)), 3);
    assert.deepEqual(lines, ['twinhub: no device d1 (TH_DEVICE_NOT_FOUND)\n']);
  });

  test("a proxy's HTML error page or a JSON body that is not a problem keeps the status's exit code", async () => {
    const html = await errorFromResponse(new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } }));
    assert.equal(html.code, 'TH_CLI_BAD_RESPONSE');
    assert.equal(html.exitCode, CliExit.FAILURE);
    assert.match(html.message, /^HTTP 502 /);
    const json = await errorFromResponse(new Response('{"error":"nope"}', { status: 401, headers: { 'content-type': 'application/json' } }));
    assert.equal(json.exitCode, CliExit.AUTH);
    assert.equal(json.code, 'TH_CLI_BAD_RESPONSE');
    const broken = await errorFromResponse(new Response('{"status":', { status: 409, headers: { 'content-type': 'application/problem+json' } }));
    assert.equal(broken.exitCode, CliExit.CONFLICT);
  });

  test('no answer → 6, naming the socket error; a timeout → 6 too', () => {
    const refused = errorFromFetchFailure(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) }), 'http://127.0.0.1:9', undefined);
    assert.equal(refused.exitCode, CliExit.UNREACHABLE);
    assert.equal(refused.message, 'cannot reach the hub at http://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9');
    const slow = errorFromFetchFailure(new DOMException('aborted', 'AbortError'), 'http://h', 1500);
    assert.equal(slow.exitCode, CliExit.UNREACHABLE);
    assert.equal(slow.code, 'TH_CLI_TIMEOUT');
    assert.equal(slow.message, 'no answer from http://h within 1.5 s');
  });
});

describe('ApiClient', () => {
  test('sends the bearer key, keeps a path prefix, repeats array query values, skips undefined ones', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fake = (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return new Response('{"items":[]}', { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const c = new ApiClient({ url: 'https://hub.example/twinhub/', key: 'thk_k', timeoutMs: 0, fetch: fake });
    assert.deepEqual(await c.json('GET', '/api/v1/devices', { query: { tag: ['a:1', 'b:2'], type: undefined, connected: false } }), { items: [] });
    assert.equal(seen[0]!.url, 'https://hub.example/twinhub/api/v1/devices?tag=a%3A1&tag=b%3A2&connected=false');
    assert.equal((seen[0]!.init.headers as Record<string, string>).authorization, 'Bearer thk_k');
    assert.equal(seen[0]!.init.redirect, 'manual');
  });

  test('a redirect is refused rather than followed with the key (exit 2)', async () => {
    const fake = (async () => new Response(null, { status: 301, headers: { location: 'https://elsewhere/' } })) as unknown as typeof fetch;
    const c = new ApiClient({ url: 'http://h', key: 'k', timeoutMs: 0, fetch: fake });
    await assert.rejects(c.request('GET', '/x'), (e: TwinhubCliError) => e.exitCode === CliExit.USAGE && e.message.includes('https://elsewhere/'));
  });

  test('429 is retried after Retry-After, then succeeds', async () => {
    let calls = 0;
    const fake = (async () => {
      calls++;
      return calls === 1 ? new Response('', { status: 429, headers: { 'retry-after': '0' } }) : new Response('{"ok":true}', { status: 200 });
    }) as unknown as typeof fetch;
    const c = new ApiClient({ url: 'http://h', key: 'k', timeoutMs: 0, fetch: fake });
    assert.deepEqual(await c.json('GET', '/x'), { ok: true });
    assert.equal(calls, 2);
  });

  test('204 → undefined; a 200 that is not JSON → exit 1', async () => {
    const c204 = new ApiClient({ url: 'http://h', key: 'k', timeoutMs: 0, fetch: (async () => new Response(null, { status: 204 })) as unknown as typeof fetch });
    assert.equal(await c204.request('DELETE', '/x'), undefined);
    const html = new ApiClient({ url: 'http://h', key: 'k', timeoutMs: 0, fetch: (async () => new Response('<html>', { status: 200, headers: { 'content-type': 'text/html' } })) as unknown as typeof fetch });
    await assert.rejects(html.request('GET', '/x'), (e: TwinhubCliError) => e.exitCode === CliExit.FAILURE && e.code === 'TH_CLI_BAD_RESPONSE');
  });

  test('path segments: encoded; "." and ".." cannot be addressed (URL parsing would resolve them)', () => {
    assert.equal(pathSegment('a/b c', 'client id'), 'a%2Fb%20c');
    for (const bad of ['', '.', '..']) assert.throws(() => pathSegment(bad, 'client id'), (e: TwinhubCliError) => e.exitCode === CliExit.USAGE);
  });
});

describe('resolveClient (--url, --key, TWINHUB_URL, TWINHUB_KEY)', () => {
  test('flags win over the environment, which wins over the default', () => {
    assert.equal(resolveClient({ key: 'k' }, {}).baseUrl, 'http://127.0.0.1:8080');
    assert.equal(resolveClient({}, { TWINHUB_URL: 'http://env:1/', TWINHUB_KEY: 'k' }).baseUrl, 'http://env:1');
    assert.equal(resolveClient({ url: 'http://flag:2' }, { TWINHUB_URL: 'http://env:1', TWINHUB_KEY: 'k' }).baseUrl, 'http://flag:2');
  });

  test('usage errors (exit 2): no key, a URL that is not http(s), credentials in the URL, a bad timeout', () => {
    const usage = (e: TwinhubCliError): boolean => e.exitCode === CliExit.USAGE && e.code === 'TH_CLI_USAGE';
    assert.throws(() => resolveClient({}, { TWINHUB_KEY: '' }), usage);
    assert.throws(() => resolveClient({ key: 'k', url: 'mqtt://h:1883' }, {}), usage);
    assert.throws(() => resolveClient({ key: 'k', url: 'not a url' }, {}), usage);
    assert.throws(() => resolveClient({ key: 'k', url: 'http://u:p@h' }, {}), usage);
    assert.throws(() => resolveClient({ key: 'k', timeout: '-1' }, {}), usage);
    assert.throws(() => resolveClient({ key: 'k', timeout: 'soon' }, {}), usage);
    assert.throws(() => resolveClient({ key: 'two words' }, {}), usage);
  });
});
