// The registry's client.authenticate over a memory store: the paths the socket tests do not
// reach cheaply (fleet JWT key, credential expiry, token without a device username, the
// verification cache after revocation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import pino from 'pino';
import { MemoryRegistryStore } from '../../adapters/memory/registry-store.js';
import type { AuthenticateRequest, ClientInfo } from '../hooks.js';
import { DeviceAuthenticator } from './authenticate.js';
import { hashPassword, sha256Hex, signJwt } from './credentials/index.js';

const FAST = { costLog2: 10, blockSize: 8, parallelization: 1 };

function request(clientId: string, username: string | undefined, password: string | undefined, anonymousAllowed = false): AuthenticateRequest {
  const client: ClientInfo = { clientId, username, deviceId: undefined, protocol: 'mqtt', version: 5, listener: 'mqtt', loopback: true, remoteAddress: '127.0.0.1', certificate: undefined, auth: undefined };
  return { client, username, password: password === undefined ? undefined : Buffer.from(password), anonymousAllowed };
}

async function setup(now: () => number, fleet?: { alg: 'ES256'; key: import('node:crypto').KeyObject }) {
  const store = new MemoryRegistryStore();
  await store.createDevice({ id: 'd1', tags: {}, enabled: true, createdAt: 0, updatedAt: 0 });
  await store.createDevice({ id: 'off', tags: {}, enabled: false, createdAt: 0, updatedAt: 0 });
  const auth = new DeviceAuthenticator({
    store,
    config: { registry: { clientIdMustMatch: true, ownTopics: [], password: FAST, jwt: { fleetKeyFile: null, fleetAlg: 'ES256', clockSkew: 0 }, limits: { messagesPerSecond: 0, bytesPerSecond: 0, burstSeconds: 1, maxViolations: 1 } } },
    log: pino({ level: 'silent' }),
    now,
    fleetKey: fleet,
    grant: (_d, _r, cred, expiresAt) => ({ credentialId: cred?.id, expiresAt, quota: undefined, authz: undefined }),
  });
  return { store, auth };
}

test('a JWT signed with the fleet key proves the device named by username and sub; the session ends at exp', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const { auth } = await setup(() => now, { alg: 'ES256', key: publicKey });
  const exp = Math.floor(now / 1000) + 30;
  const r = await auth.authenticate(request('d1', 'd1', signJwt({ sub: 'd1', exp }, 'ES256', privateKey)));
  assert.equal(r.ok, true);
  assert.equal(r.ok && r.auth?.expiresAt, exp * 1000);
  assert.equal(r.ok && r.auth?.credentialId, undefined, 'no per-device credential was used');
  const wrongSub = await auth.authenticate(request('d1', 'd1', signJwt({ sub: 'd2', exp }, 'ES256', privateKey)));
  assert.deepEqual([wrongSub.ok, !wrongSub.ok && wrongSub.reason], [false, 'bad-credentials']);
});

test('an expired credential no longer proves anything, and its expiry caps the session', async () => {
  let now = 1_000_000;
  const { store, auth } = await setup(() => now);
  const hash = await hashPassword('long enough', FAST);
  await store.addCredential({ id: 'c1', deviceId: 'd1', type: 'password', createdAt: 0, hash, expiresAt: 2_000_000 });
  const ok = await auth.authenticate(request('d1', 'd1', 'long enough'));
  assert.equal(ok.ok && ok.auth?.expiresAt, 2_000_000);
  now = 2_000_000;
  const late = await auth.authenticate(request('d1', 'd1', 'long enough'));
  assert.equal(late.ok, false);
});

test('a token alone finds its device; a disabled device is not authorized; a mismatched client id is refused', async () => {
  const { store, auth } = await setup(() => 0);
  const token = 'tht_abcdefghijklmnopqrstuv';
  await store.addCredential({ id: 't1', deviceId: 'd1', type: 'token', createdAt: 0, hash: sha256Hex(token), lookupKey: `token:${sha256Hex(token)}` });
  const viaToken = await auth.authenticate(request('d1', undefined, token));
  assert.equal(viaToken.ok && viaToken.deviceId, 'd1');
  const other = await auth.authenticate(request('not-d1', 'd1', token));
  assert.deepEqual(!other.ok && other.reason, 'bad-client-id');
  await store.addCredential({ id: 'p-off', deviceId: 'off', type: 'password', createdAt: 0, hash: await hashPassword('long enough', FAST) });
  const off = await auth.authenticate(request('off', 'off', 'long enough'));
  assert.deepEqual(!off.ok && off.reason, 'not-authorized');
  assert.equal(auth.counters.badClientId, 1);
  assert.equal(auth.counters.notAuthorized, 1);
});

test('after eviction (revocation) a cached password verification is not reused', async () => {
  const { store, auth } = await setup(() => 0);
  await store.addCredential({ id: 'p1', deviceId: 'd1', type: 'password', createdAt: 0, hash: await hashPassword('long enough', FAST) });
  assert.equal((await auth.authenticate(request('d1', 'd1', 'long enough'))).ok, true);
  await store.removeCredential('p1');
  auth.evict('p1');
  assert.equal((await auth.authenticate(request('d1', 'd1', 'long enough'))).ok, false);
  assert.equal((await auth.authenticate(request('anon', undefined, undefined, true))).ok, true, 'anonymous where allowed');
  const refused = await auth.authenticate(request('anon', undefined, undefined, false));
  assert.deepEqual(!refused.ok && refused.reason, 'not-authorized');
});
