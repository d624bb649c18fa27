// The MQTT/TLS listener with the test PKI of test/fixtures/tls/, against a fake acceptor.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { describe, test } from 'node:test';
import { isConfigError } from '../../src/config/config-error.js';
import { DEFAULT_CONFIG, type TwinhubConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/obs/log.js';
import type { Listener } from '../../src/transport/listener.js';
import { formatSubject, listenTls } from '../../src/transport/tls.js';
import { EchoAcceptor, readBytes, withTimeout, tlsFixture } from '../helpers/hub.js';

const log = silentLogger();
const fixture = tlsFixture;
const ca = readFileSync(fixture('ca.pem'));

function tlsConfig(over: Partial<TwinhubConfig['tls']> = {}): TwinhubConfig['tls'] {
  return { ...DEFAULT_CONFIG.tls, cert: fixture('server.pem'), key: fixture('server-key.pem'), ...over };
}

async function start(over: Partial<TwinhubConfig['tls']> = {}): Promise<{ l: Listener; acceptor: EchoAcceptor }> {
  const acceptor = new EchoAcceptor();
  const l = await listenTls({ host: '127.0.0.1', port: 0 }, { acceptor, allowAnonymous: null, log, tls: tlsConfig(over) });
  return { l, acceptor };
}

function dial(port: number, client?: { cert: string; key: string }): Promise<TLSSocket> {
  const s = connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca,
    ...(client ? { cert: readFileSync(fixture(client.cert)), key: readFileSync(fixture(client.key)) } : {}),
  });
  return withTimeout(
    new Promise((resolve, reject) => {
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    }),
    5000,
    'TLS handshake',
  );
}

/**
 * True when the server refuses the client: the handshake fails, or (TLS 1.3, where the client
 * certificate is checked after the client's handshake completes) the connection fails before
 * the echoed bytes come back. False when the bytes are echoed.
 */
async function refused(port: number, client?: { cert: string; key: string }): Promise<boolean> {
  let s: TLSSocket;
  try {
    s = await dial(port, client);
  } catch {
    return true;
  }
  s.write(Buffer.from([0xc0, 0x00]));
  const outcome = await withTimeout(
    new Promise<boolean>((resolve) => {
      s.once('data', () => resolve(false));
      s.once('error', () => resolve(true));
      s.once('close', () => resolve(true));
    }),
    5000,
    'TLS refusal or echo',
  );
  s.destroy();
  return outcome;
}

describe('MQTT/TLS listener', () => {
  test('handshake with the server certificate; the connection reaches the acceptor as mqtts', async () => {
    const { l, acceptor } = await start();
    try {
      assert.equal(l.name, 'mqtts');
      const s = await dial(l.address.port);
      assert.equal(s.authorized, true, 'server certificate verifies against the test CA');
      const conn = await acceptor.next();
      assert.deepEqual(conn.listener, { name: 'mqtts', loopback: true, allowAnonymous: true });
      assert.equal(conn.certificate, undefined, 'no client certificate was asked for');
      s.write(Buffer.from([0xc0, 0x00])); // PINGREQ, echoed by the fake acceptor
      assert.deepEqual(await readBytes(s, 2), Buffer.from([0xc0, 0x00]));
      s.destroy();
    } finally {
      await l.close();
    }
  });

  test('mTLS: a verified client certificate is passed on with its SHA-256 fingerprint and RFC 4514 subject', async () => {
    const { l, acceptor } = await start({ requestCert: true, rejectUnauthorized: true, ca: fixture('ca.pem') });
    try {
      const s = await dial(l.address.port, { cert: 'client.pem', key: 'client-key.pem' });
      const conn = await acceptor.next();
      const expected = new X509Certificate(readFileSync(fixture('client.pem')));
      assert.deepEqual(conn.certificate, { fingerprint256: expected.fingerprint256, subject: 'CN=client-1,O=Twinhub Test' });
      s.destroy();
    } finally {
      await l.close();
    }
  });

  test('mTLS with rejectUnauthorized: a certificate from another CA, or none, never reaches the acceptor', async () => {
    const { l, acceptor } = await start({ requestCert: true, rejectUnauthorized: true, ca: fixture('ca.pem') });
    try {
      assert.equal(await refused(l.address.port, { cert: 'rogue-client.pem', key: 'rogue-client-key.pem' }), true);
      assert.equal(await refused(l.address.port), true);
      assert.equal(acceptor.accepted.length, 0);
    } finally {
      await l.close();
    }
  });

  test('mTLS without rejectUnauthorized: an unverified certificate is accepted but not passed on as identity', async () => {
    const { l, acceptor } = await start({ requestCert: true, rejectUnauthorized: false, ca: fixture('ca.pem') });
    try {
      const s = await dial(l.address.port, { cert: 'rogue-client.pem', key: 'rogue-client-key.pem' });
      const conn = await acceptor.next();
      assert.equal(conn.certificate, undefined);
      s.destroy();
    } finally {
      await l.close();
    }
  });

  test('unreadable certificate files are config errors naming the key', async () => {
    const missing = fixture('nope.pem');
    await assert.rejects(
      listenTls({ host: '127.0.0.1', port: 0 }, { acceptor: new EchoAcceptor(), allowAnonymous: null, log, tls: tlsConfig({ cert: missing }) }),
      (err: unknown) => isConfigError(err) && (err as Error).message === `invalid config: tls.cert: cannot read ${missing}: ENOENT`,
    );
    await assert.rejects(
      listenTls({ host: '127.0.0.1', port: 0 }, { acceptor: new EchoAcceptor(), allowAnonymous: null, log, tls: tlsConfig({ key: fixture('client-key.pem') }) }),
      (err: unknown) => isConfigError(err) && /^invalid config: tls\.cert\/tls\.key: /.test((err as Error).message),
    );
  });

  test('formatSubject writes RDNs last to first (RFC 4514 §2.1)', () => {
    assert.equal(formatSubject('C=DE\nO=Acme\nCN=dev-1'), 'CN=dev-1,O=Acme,C=DE');
  });
});
