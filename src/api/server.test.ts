import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Errors, TwinhubError } from '../common/errors.js';
import { silentLogger } from '../obs/log.js';
import type { Readiness } from './plugins/health.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { buildApiApp, startHttpServer } from './server.js';

function readinessOf(state: { listeners: boolean; store: boolean }): () => Readiness {
  return () => ({
    ready: state.listeners && state.store,
    checks: {
      listeners: state.listeners ? { ok: true } : { ok: false, detail: 'hub is starting' },
      store: state.store ? { ok: true } : { ok: false, detail: 'store not writable: EIO' },
    },
  });
}

test('/healthz answers 200 while the process is alive, whatever the readiness', async () => {
  const app = await buildApiApp({ log: silentLogger(), readiness: readinessOf({ listeners: false, store: false }) });
  const r = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), { status: 'ok' });
  await app.close();
});

test('/readyz is 200 only when listeners are up and the store is writable; 503 says why', async () => {
  const state = { listeners: true, store: true };
  const app = await buildApiApp({ log: silentLogger(), readiness: readinessOf(state) });
  let r = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().status, 'ready');
  state.store = false;
  r = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(r.statusCode, 503);
  assert.deepEqual(r.json(), { status: 'not-ready', checks: { listeners: { ok: true }, store: { ok: false, detail: 'store not writable: EIO' } } });
  state.store = true;
  state.listeners = false;
  r = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().checks.listeners.detail, 'hub is starting');
  await app.close();
});

test('unknown routes are RFC 9457 problem documents with a code', async () => {
  const app = await buildApiApp({ log: silentLogger(), readiness: readinessOf({ listeners: true, store: true }) });
  const r = await app.inject({ method: 'GET', url: '/nope' });
  assert.equal(r.statusCode, 404);
  assert.match(String(r.headers['content-type']), new RegExp(`^${PROBLEM_CONTENT_TYPE.replace('+', '\\+')}`));
  assert.deepEqual(r.json(), { type: 'urn:twinhub:problem:TH_NOT_FOUND', title: 'Not Found', status: 404, detail: 'no route GET /nope', code: 'TH_NOT_FOUND', instance: '/nope' });
  await app.close();
});

test('errors thrown by routes become problems: TwinhubError keeps its status and code; others are 500 without internals', async () => {
  const { fastify } = await import('fastify');
  const { installProblemHandlers } = await import('./problem.js');
  const app = fastify();
  installProblemHandlers(app);
  app.get('/twinhub', async () => {
    throw new TwinhubError(Errors.STORE_WRITE_FAILED, 'store is read-only');
  });
  app.get('/bug', async () => {
    throw new Error('secret internals');
  });
  let r = await app.inject({ method: 'GET', url: '/twinhub' });
  assert.equal(r.statusCode, 503);
  assert.equal(r.json().code, 'TH_STORE_WRITE_FAILED');
  assert.equal(r.json().detail, 'store is read-only');
  r = await app.inject({ method: 'GET', url: '/bug' });
  assert.equal(r.statusCode, 500);
  assert.equal(r.json().code, 'TH_INTERNAL');
  assert.ok(!r.body.includes('secret internals'));
  await app.close();
});

test('startHttpServer binds port 0 and a taken port names --http', async () => {
  const deps = { log: silentLogger(), readiness: readinessOf({ listeners: true, store: true }) };
  const a = await startHttpServer({ host: '127.0.0.1', port: 0 }, deps);
  try {
    assert.notEqual(a.address.port, 0);
    assert.equal(a.url, `http://127.0.0.1:${a.address.port}`);
    const res = await fetch(`${a.url}/healthz`);
    assert.equal(res.status, 200);
    await assert.rejects(
      startHttpServer(a.address, deps),
      (err: unknown) => err instanceof TwinhubError && err.message === `HTTP address 127.0.0.1:${a.address.port} is in use (EADDRINUSE); choose another with --http HOST:PORT or TWINHUB_HTTP`,
    );
  } finally {
    await a.close();
  }
});
