import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AWS_SHADOW_LIMITS } from './limits.js';
import { parseUpdateRequest, requestClientToken } from './update-request.js';

const L = AWS_SHADOW_LIMITS;

function rejected(request: unknown): { code: number; message: string; clientToken?: string } {
  const r = parseUpdateRequest(request, L);
  assert.equal(r.ok, false, JSON.stringify(request));
  return r as { code: number; message: string; clientToken?: string };
}

// Messages of "Device Shadow error messages" (AWS IoT Developer Guide), 400 (Bad Request).

test('update request: malformed JSON → 400 "Invalid JSON"', () => {
  for (const p of ['{', '', 'nope', Buffer.from('{"state":')]) {
    assert.deepEqual(rejected(p), { ok: false, code: 400, message: 'Invalid JSON' });
  }
  for (const p of ['5', '[]', 'null', '"x"']) assert.equal(rejected(p).message, 'Invalid JSON', p);
});

test('update request: bytes that are not UTF-8 → 415 (supported encoding is UTF-8)', () => {
  const r = rejected(Buffer.from([0x7b, 0xff, 0x7d]));
  assert.equal(r.code, 415);
  assert.equal(r.message, 'Unsupported documented encoding; supported encoding is UTF-8');
});

test('update request: no state → 400 "Missing required node: state"', () => {
  assert.equal(rejected('{}').message, 'Missing required node: state');
  assert.equal(rejected({ version: 1 }).message, 'Missing required node: state');
});

test('update request: state not an object → 400 "State node must be an object"', () => {
  for (const s of [1, 'x', true, []]) assert.equal(rejected({ state: s }).message, 'State node must be an object');
});

test('update request: desired / reported not objects → "Desired node must be an object" / "Reported node must be an object"', () => {
  for (const v of [1, 'x', [], false]) {
    assert.equal(rejected({ state: { desired: v } }).message, 'Desired node must be an object');
    assert.equal(rejected({ state: { reported: v } }).message, 'Reported node must be an object');
  }
});

test('update request: another node under state → 400 "State contains an invalid node"', () => {
  const r = rejected({ state: { desired: {}, delta: { a: 1 } } });
  assert.equal(r.code, 400);
  assert.equal(r.message, "State contains an invalid node: 'delta'");
  assert.ok(rejected({ state: { foo: {} } }).message.startsWith('State contains an invalid node'));
});

test('update request: version must be a non-negative integer → else 400 "Invalid version"', () => {
  for (const v of ['1', -1, 1.5, null, {}, Number.MAX_SAFE_INTEGER + 2]) {
    assert.equal(rejected({ state: {}, version: v }).message, 'Invalid version', String(v));
  }
});

test('update request: clientToken longer than 64 bytes or not a string → 400 "Invalid clientToken"', () => {
  const r = rejected({ state: {}, clientToken: 'x'.repeat(65) });
  assert.deepEqual(r, { ok: false, code: 400, message: 'Invalid clientToken' });
  assert.equal(rejected({ state: {}, clientToken: 7 }).message, 'Invalid clientToken');
});

test('update request: too deep → 400 "JSON contains too many levels of nesting; maximum is 6"', () => {
  const seven = '{"1": {"2": {"3": {"4": {"5": {"6": {"7": "The Beatles"}}}}}}}';
  const six = '{"1": {"2": {"3": {"4": {"5": {"6": "The Beatles"}}}}}}';
  assert.equal(rejected(`{"state": {"reported": ${seven}}}`).message, 'JSON contains too many levels of nesting; maximum is 6');
  assert.equal(rejected(`{"state": {"desired": ${six}, "reported": ${seven}}}`).code, 400);
  assert.equal(parseUpdateRequest(`{"state": {"desired": ${six}, "reported": ${six}}}`, L).ok, true);
  const r = parseUpdateRequest(`{"state": {"desired": ${six}}}`, { ...L, maxDepth: 3 });
  assert.equal(r.ok ? '' : r.message, 'JSON contains too many levels of nesting; maximum is 3');
});

test('update request: arrays cannot hold null ("Array values in shadow documents")', () => {
  const r = rejected({ state: { desired: { colors: [null, 'RED', 'GREEN'] } } });
  assert.equal(r.code, 400);
  assert.equal(rejected({ state: { desired: { a: [['x', null]] } } }).code, 400);
  assert.equal(parseUpdateRequest({ state: { desired: { colors: ['RED'], off: null } } }, L).ok, true);
});

test('update request: a valid clientToken is echoed in rejections that follow valid JSON (Error response document)', () => {
  assert.equal(rejected({ clientToken: 'tok', state: 5 }).clientToken, 'tok');
  assert.equal(rejected({ clientToken: 'tok' }).clientToken, 'tok');
  assert.equal(rejected({ clientToken: 'tok', state: {}, version: 'x' }).clientToken, 'tok');
  assert.equal(rejected('{"clientToken": "tok", ').clientToken, undefined);
});

test('update request: accepted parts; fields outside state/clientToken/version are ignored ("Diagnosing problems with shadows")', () => {
  const r = parseUpdateRequest('{"state": {"reported": {"a": 1}, "desired": null}, "version": 3, "clientToken": "c", "extra": 1}', L);
  assert.ok(r.ok);
  assert.deepEqual(r.patch, { reported: { a: 1 }, desired: null });
  assert.deepEqual(r.sent, { reported: { a: 1 }, desired: null });
  assert.equal(r.version, 3);
  assert.equal(r.clientToken, 'c');
});

test('update request: "state": null clears both sections', () => {
  const r = parseUpdateRequest({ state: null }, L);
  assert.ok(r.ok);
  assert.deepEqual(r.patch, { desired: null, reported: null });
});

test('requestClientToken: the token of a /get or /delete payload, if any', () => {
  assert.equal(requestClientToken('{"clientToken": "abc"}', L), 'abc');
  assert.equal(requestClientToken(Buffer.from(''), L), undefined);
  assert.equal(requestClientToken('{"clientToken": 5}', L), undefined);
  assert.equal(requestClientToken('garbage', L), undefined);
  assert.equal(requestClientToken(`{"clientToken": "${'x'.repeat(65)}"}`, L), undefined);
});
