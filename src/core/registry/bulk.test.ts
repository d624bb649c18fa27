import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRegistryStore } from '../../adapters/memory/registry-store.js';
import { csvField, exportDevices, importDevices, parseCsvLine } from './bulk.js';

const FAST = { costLog2: 10, blockSize: 8, parallelization: 1 };

test('parseCsvLine follows RFC 4180 quoting: quoted commas, doubled quotes, empty fields; refuses stray quotes', () => {
  assert.deepEqual(parseCsvLine('a,b,c'), ['a', 'b', 'c']);
  assert.deepEqual(parseCsvLine('a,,c,'), ['a', '', 'c', '']);
  assert.deepEqual(parseCsvLine('"a,b","say ""hi""",c'), ['a,b', 'say "hi"', 'c']);
  assert.deepEqual(parseCsvLine('""'), ['']);
  assert.throws(() => parseCsvLine('"open'), /unterminated/);
  assert.throws(() => parseCsvLine('"a"b,c'), /must end at a comma/);
  assert.throws(() => parseCsvLine('a"b'), /must be quoted/);
  for (const v of ['plain', 'a,b', 'q"q', ' padded ', '']) assert.deepEqual(parseCsvLine(csvField(v)), [v]);
});

test('import keeps every valid line and reports each bad one by line number; duplicates inside the file too', async () => {
  const store = new MemoryRegistryStore();
  const text = ['{"id":"a"}', '', '{"id":"b","credentials":[{"type":"password","password":"long enough"}]}', '{"id":"a"}', '{"id":"c","credentials":[{"type":"password","password":"x"}]}', '[1]', '{"id":"d e"}'].join('\n');
  const r = await importDevices(store, text, 'jsonl', 1, FAST);
  assert.equal(r.lines, 6);
  assert.equal(r.created, 3);
  assert.equal(r.credentials, 1);
  assert.deepEqual(r.errors.map((e) => [e.line, e.code]), [[4, 'TH_DEVICE_EXISTS'], [5, 'TH_CREDENTIAL_INVALID'], [6, 'TH_DEVICE_INVALID'], [7, 'TH_DEVICE_ID_INVALID']]);
  assert.equal(r.failed, 3, 'line 5 created its device; only its credential was refused');
  assert.equal(await store.countDevices(), 3);
  assert.equal((await store.listCredentials('b')).length, 1);
  assert.match((await store.listCredentials('b'))[0]!.hash!, /^\$scrypt\$/);
});

test('export then import moves a fleet with its credential hashes (JSON lines) and round-trips CSV fields', async () => {
  const a = new MemoryRegistryStore();
  await importDevices(a, ['{"id":"x1","name":"Hall, east","tags":{"k":"v","odd":"a;b\\\\c=d"},"credentials":[{"type":"password","password":"long enough"}]}', '{"id":"x2","enabled":false}'].join('\n'), 'jsonl', 1, FAST);
  let jsonl = '';
  for await (const line of exportDevices(a, 'jsonl', true)) jsonl += line;
  const b = new MemoryRegistryStore();
  const r = await importDevices(b, jsonl, 'jsonl', 2, FAST);
  assert.deepEqual([r.created, r.credentials, r.errors.length], [2, 1, 0]);
  assert.equal((await b.listCredentials('x1'))[0]!.hash, (await a.listCredentials('x1'))[0]!.hash);
  let csv = '';
  for await (const line of exportDevices(a, 'csv', false)) csv += line;
  const c = new MemoryRegistryStore();
  const rc = await importDevices(c, csv, 'csv', 3, FAST);
  assert.equal(rc.created, 2, JSON.stringify(rc.errors));
  assert.equal((await c.getDevice('x1'))!.name, 'Hall, east');
  assert.deepEqual((await c.getDevice('x1'))!.tags, { k: 'v', odd: 'a;b\\c=d' }, 'tag values with ";", "\\" and "=" survive the CSV');
  assert.equal((await c.getDevice('x2'))!.enabled, false);
});
