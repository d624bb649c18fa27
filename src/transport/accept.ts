// Handing an accepted stream to the broker, the same way for every transport.
import type { Logger } from 'pino';
import type { AcceptedConnection, ConnectionAcceptor } from './types.js';

/**
 * Socket errors (ECONNRESET, EPIPE) are the broker's to handle, but a stream with no 'error'
 * listener would crash the process; this shared listener makes sure one exists.
 */
export function ignoreStreamError(): void {}

export function handOver(acceptor: ConnectionAcceptor, conn: AcceptedConnection, log: Logger): void {
  conn.stream.on('error', ignoreStreamError);
  try {
    acceptor.accept(conn);
  } catch (err) {
    // A failure for one connection must not take the listener down.
    log.error({ err, listener: conn.listener.name, remote: conn.remoteAddress }, 'connection handover failed');
    conn.stream.destroy();
  }
}
