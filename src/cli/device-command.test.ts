import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKeyBody } from './admin-command.js';
import { importFormat } from './client/bulk-io.js';
import { CliExit, type TwinhubCliError } from './client/http.js';
import { credentialBody, listQuery, parseTag, updatePatch } from './device-command.js';

const usage = (e: TwinhubCliError): boolean => e.exitCode === CliExit.USAGE;

describe('options → API requests', () => {
  test('--tag KEY=VALUE splits at the first "="; no key is a usage error', () => {
    assert.deepEqual(parseTag('a=b=c'), ['a', 'b=c']);
    assert.deepEqual(parseTag('a='), ['a', '']);
    assert.throws(() => parseTag('=v'), usage);
    assert.throws(() => parseTag('novalue'), usage);
  });

  test('device list: tags become KEY:VALUE, --connected/--disconnected a boolean, --all pages of 1000', () => {
    assert.deepEqual(listQuery({ tag: ['room=k', 'floor=1'], disconnected: true, sort: '-id' }), {
      type: undefined,
      group: undefined,
      tag: ['room:k', 'floor:1'],
      connected: false,
      prefix: undefined,
      sort: '-id',
      limit: undefined,
    });
    assert.equal(listQuery({ all: true }).limit, '1000');
    assert.equal(listQuery({ all: true, limit: '10' }).limit, '10');
    assert.throws(() => listQuery({ connected: true, disconnected: true }), usage);
    assert.throws(() => listQuery({ limit: '0' }), usage);
    assert.throws(() => listQuery({ limit: '1001' }), usage);
    // The API splits tag=KEY:VALUE at the first ":", so such a key cannot be filtered on.
    assert.throws(() => listQuery({ tag: ['a:b=1'] }), usage);
  });

  test('device update: RFC 7396 merge patch, an empty value clears (null), --enable/--disable exclusive', () => {
    assert.deepEqual(updatePatch({ name: '', type: 't', disable: true }), { name: null, type: 't', enabled: false });
    assert.deepEqual(updatePatch({}), {});
    assert.throws(() => updatePatch({ enable: true, disable: true }), usage);
  });

  test('credential add: the body per type; missing or foreign flags are usage errors', async () => {
    const io = { stdin: async () => 'from-stdin-pw\n', readFile: async (p: string) => `PEM of ${p}` };
    assert.deepEqual(await credentialBody({ type: 'token', label: 'l', expires: '2031-01-01T00:00:00Z' }, io), { type: 'token', label: 'l', expiresAt: '2031-01-01T00:00:00Z' });
    assert.deepEqual(await credentialBody({ type: 'password', password: 'p4ssword' }, io), { type: 'password', password: 'p4ssword' });
    assert.deepEqual(await credentialBody({ type: 'password', passwordStdin: true }, io), { type: 'password', password: 'from-stdin-pw' });
    assert.deepEqual(await credentialBody({ type: 'x509', subject: 'CN=d1' }, io), { type: 'x509', subject: 'CN=d1' });
    assert.deepEqual(await credentialBody({ type: 'jwt-key', alg: 'ES256', keyFile: 'k.pem' }, io), { type: 'jwt-key', alg: 'ES256', key: 'PEM of k.pem' });
    for (const bad of [
      {},
      { type: 'magic' },
      { type: 'password' },
      { type: 'password', password: 'a', passwordStdin: true },
      { type: 'token', password: 'x' },
      { type: 'x509' },
      { type: 'x509', fingerprint: 'f', subject: 's' },
      { type: 'jwt-key', alg: 'RS256' },
    ]) {
      await assert.rejects(credentialBody(bad, io), usage, JSON.stringify(bad));
    }
  });

  test('admin create-key: name and a known role required', () => {
    assert.deepEqual(createKeyBody({ name: 'ci', role: 'operator' }), { name: 'ci', role: 'operator' });
    assert.throws(() => createKeyBody({ role: 'admin' }), usage);
    assert.throws(() => createKeyBody({ name: 'ci', role: 'root' }), usage);
  });

  test('import format: --format, else the extension, else the first line', () => {
    assert.equal(importFormat('x.txt', 'csv', '{}'), 'csv');
    assert.equal(importFormat('fleet.CSV', undefined, '{"id":"a"}'), 'csv');
    assert.equal(importFormat('fleet.ndjson', undefined, 'id\n'), 'jsonl');
    assert.equal(importFormat('-', undefined, '\n  {"id":"a"}\n'), 'jsonl');
    assert.equal(importFormat('-', undefined, 'id,name\n'), 'csv');
    assert.throws(() => importFormat('-', 'xml', ''), usage);
  });
});
