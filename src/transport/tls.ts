// MQTT over TLS (MQTT 5.0 §4.2: TLS [RFC 5246] is a permitted transport; port 8883). With
// tls.requestCert the client's certificate is verified against tls.ca and, when verified, handed
// to the broker so authentication hooks can use it (mutual TLS).
import { readFile } from 'node:fs/promises';
import { createServer, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { formatHostPort } from '../config/address.js';
import { ConfigFileError } from '../config/config-error.js';
import type { ListenAddress, TwinhubConfig } from '../config/types.js';
import { handOver } from './accept.js';
import { bind, ConnectionSet, listenerInfo, serverCloser, type Listener } from './listener.js';
import type { TransportOptions } from './tcp.js';
import type { AcceptedConnection, ListenerInfo } from './types.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

async function readPem(key: string, path: string | null): Promise<Buffer> {
  if (path === null) throw new ConfigFileError(`invalid config: ${key} is required by the MQTT/TLS listener`);
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigFileError(`invalid config: ${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err);
  }
}

/** Read the PEM files named by the config; errors name the key (the CLI exits with code 2). */
export async function readTlsMaterial(tls: TwinhubConfig['tls']): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    readPem('tls.cert', tls.cert),
    readPem('tls.key', tls.key),
    tls.ca === null ? Promise.resolve(undefined) : readPem('tls.ca', tls.ca),
  ]);
  return { cert, key, ca };
}

/** RFC 4514 §2.1 string form: the RDNs from the last to the first, joined by commas. */
export function formatSubject(subject: string): string {
  return subject.split('\n').filter((s) => s !== '').reverse().join(',');
}

function peerCertificate(socket: TLSSocket): AcceptedConnection['certificate'] {
  // Only a certificate that verified against the CA is evidence of identity.
  if (!socket.authorized) return undefined;
  const x509 = socket.getPeerX509Certificate();
  if (x509 === undefined) return undefined;
  return { fingerprint256: x509.fingerprint256, subject: formatSubject(x509.subject) };
}

export interface TlsListenOptions extends TransportOptions {
  tls: TwinhubConfig['tls'];
}

export async function listenTls(address: ListenAddress, opts: TlsListenOptions): Promise<Listener> {
  const material = await readTlsMaterial(opts.tls);
  const connections = new ConnectionSet();
  let info: ListenerInfo | undefined;
  let server;
  try {
    server = createServer({
      cert: material.cert,
      key: material.key,
      ca: material.ca,
      requestCert: opts.tls.requestCert,
      rejectUnauthorized: opts.tls.requestCert && opts.tls.rejectUnauthorized,
    });
  } catch (err) {
    // Unparsable PEM, or a key that does not belong to the certificate.
    throw new ConfigFileError(`invalid config: tls.cert/tls.key: ${(err as Error).message}`, err);
  }
  server.on('connection', (socket: Socket) => connections.add(socket));
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.setNoDelay(true);
    if (opts.tls.requestCert && !socket.authorized) {
      opts.log.debug({ remote: socket.remoteAddress, reason: socket.authorizationError }, 'TLS client certificate not verified');
    }
    handOver(
      opts.acceptor,
      { stream: socket, listener: info!, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0, certificate: peerCertificate(socket) },
      opts.log,
    );
  });
  server.on('tlsClientError', (err, socket) => {
    opts.log.debug({ err: err.message, remote: socket.remoteAddress }, 'TLS handshake failed');
  });
  const bound = await bind(server, 'mqtts', address);
  info = listenerInfo('mqtts', bound, opts.allowAnonymous);
  server.on('error', (err) => opts.log.error({ err, listener: 'mqtts' }, 'MQTT/TLS listener error'));
  return { name: 'mqtts', address: bound, display: formatHostPort(bound), info, ...serverCloser(server, connections) };
}
