import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { certificateLookupKeys, normalizeFingerprint, subjectCommonName } from './x509.js';
import { P256_CERT, P256_CERT_FINGERPRINT256, P256_CERT_SUBJECT } from './test-helpers.js';

const FP_HEX = '53c4dc7ccc0ad2fde16d0e4284f79aea07a9b247567f270ad002846c11f87bef';

test('x509: the fixture prints as Node prints certificates (fingerprint256 with colons, subject one RDN per line)', () => {
  const cert = new X509Certificate(P256_CERT);
  assert.equal(cert.fingerprint256, P256_CERT_FINGERPRINT256);
  assert.equal(cert.subject, P256_CERT_SUBJECT);
});

test('x509: normalizeFingerprint accepts AB:CD:… and plain hex of exactly 32 bytes', () => {
  assert.equal(normalizeFingerprint(P256_CERT_FINGERPRINT256), FP_HEX);
  assert.equal(normalizeFingerprint(FP_HEX), FP_HEX);
  assert.equal(normalizeFingerprint(FP_HEX.toUpperCase()), FP_HEX);
  assert.equal(normalizeFingerprint(P256_CERT_FINGERPRINT256.toLowerCase()), FP_HEX);
  assert.equal(normalizeFingerprint(`  ${P256_CERT_FINGERPRINT256}\n`), FP_HEX); // pasted with a newline
});

test('x509: normalizeFingerprint refuses other lengths, separators and digests', () => {
  const sha1 = new X509Certificate(P256_CERT).fingerprint; // 20 bytes
  for (const bad of [
    '',
    sha1,
    FP_HEX.slice(0, 62), // 31 bytes
    FP_HEX + 'ab', // 33 bytes
    FP_HEX.slice(0, 63), // odd number of digits
    FP_HEX.slice(0, 63) + 'g',
    P256_CERT_FINGERPRINT256.replaceAll(':', '-'),
    P256_CERT_FINGERPRINT256.replaceAll(':', ' '),
    P256_CERT_FINGERPRINT256 + ':',
    ':' + P256_CERT_FINGERPRINT256,
    P256_CERT_FINGERPRINT256.replace(':', ''), // one separator missing
    P256_CERT_FINGERPRINT256.replace(':', '::'),
    'sha256:' + FP_HEX,
  ]) {
    assert.equal(normalizeFingerprint(bad), undefined, bad);
  }
  assert.equal(normalizeFingerprint(null as unknown as string), undefined);
});

test('x509: certificateLookupKeys are x509-fp:<hex> and x509-subject:<subject> (CredentialRecord.lookupKey)', () => {
  const cert = new X509Certificate(P256_CERT);
  assert.deepEqual(certificateLookupKeys(cert), [`x509-fp:${FP_HEX}`, `x509-subject:${P256_CERT_SUBJECT}`]);
  // No subject key for an empty subject: it would match every other certificate without one.
  assert.deepEqual(certificateLookupKeys({ fingerprint256: P256_CERT_FINGERPRINT256, subject: '' }), [`x509-fp:${FP_HEX}`]);
  assert.deepEqual(certificateLookupKeys({ fingerprint256: 'nonsense', subject: 'CN=a' }), ['x509-subject:CN=a']);
});

test('x509: subjectCommonName reads the one CN of a Node subject', () => {
  assert.equal(subjectCommonName(P256_CERT_SUBJECT), 'dev-1');
  assert.equal(subjectCommonName('CN=dev-1'), 'dev-1');
  assert.equal(subjectCommonName('C=DE\nO=Acme\nCN=sensor 42\nemailAddress=x@y'), 'sensor 42');
  // A multi-valued RDN prints as `type=value + type=value` on one line.
  assert.equal(subjectCommonName('O=Acme\nOU=a + CN=multi'), 'multi');
  assert.equal(subjectCommonName('CN=multi + OU=a'), 'multi');
  // '=' needs no escape inside a value.
  assert.equal(subjectCommonName('CN=a=b'), 'a=b');
});

test('x509: subjectCommonName undoes the RFC 2253 §2.4 escapes Node prints', () => {
  assert.equal(subjectCommonName('CN=dev\\,1'), 'dev,1');
  assert.equal(subjectCommonName('CN=a\\;b\\<c\\>\\"d\\"\\\\e\\+f'), 'a;b<c>"d"\\e+f');
  assert.equal(subjectCommonName('CN=\\ lead and trail\\ '), ' lead and trail ');
  assert.equal(subjectCommonName('CN=\\#hash'), '#hash');
  // Control characters print as \XX hex pairs, so a value never holds a raw newline.
  assert.equal(subjectCommonName('CN=a\\0Ab'), 'a\nb');
  assert.equal(subjectCommonName('CN=\\C3\\A9t\\C3\\A9'), 'été');
  assert.equal(subjectCommonName('CN=dév'), 'dév'); // Node prints UTF-8 text as it is
  assert.equal(subjectCommonName('CN=a \\+ b'), 'a + b');
});

test('x509: subjectCommonName is undefined without exactly one non-empty CN', () => {
  for (const bad of [
    '',
    'O=Acme',
    'CN=',
    'CN=first\nCN=second', // implementations disagree on which one names the subject
    'OU=a + CN=x\nCN=y',
    'CN=a\\', // dangling escape
    'CN=\\FF', // not UTF-8
    'cn=lower', // Node prints the short name in capitals
    'XCN=a',
    'CN',
  ]) {
    assert.equal(subjectCommonName(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(subjectCommonName(undefined as unknown as string), undefined);
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
    const cn = subjectCommonName(s);
    assert.ok(cn === undefined || (typeof cn === 'string' && cn.length > 0));
  }));
});
