// The TCP listener and startListeners, against a fake acceptor (no broker needed).
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { Errors, TwinhubError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/obs/log.js';
import { startListeners } from '../../src/transport/start-listeners.js';
import { listenTcp } from '../../src/transport/tcp.js';
import { closed, EchoAcceptor, readBytes } from '../helpers/hub.js';

const log = silentLogger();

async function dial(port: number, host = '127.0.0.1'): Promise<Socket> {
  const s = connect({ host, port });
  await once(s, 'connect');
  return s;
}

async function refused(port: number): Promise<boolean> {
  const s = connect({ host: '127.0.0.1', port });
  try {
    await once(s, 'connect');
    s.destroy();
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

/** A server holding a port, to make the next bind fail with EADDRINUSE. */
async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

describe('TCP listener', () => {
  test('port 0 binds a free port; each connection is handed to the acceptor with its origin', async () => {
    const acceptor = new EchoAcceptor();
    const l = await listenTcp({ host: '127.0.0.1', port: 0 }, { acceptor, allowAnonymous: null, log });
    try {
      assert.equal(l.name, 'mqtt');
      assert.notEqual(l.address.port, 0);
      assert.equal(l.display, `127.0.0.1:${l.address.port}`);
      const client = await dial(l.address.port);
      const conn = await acceptor.next();
      assert.deepEqual(conn.listener, { name: 'mqtt', loopback: true, allowAnonymous: true });
      assert.equal(conn.remoteAddress, '127.0.0.1');
      assert.equal(conn.remotePort, client.localPort);
      assert.equal(conn.certificate, undefined);
      client.write(Buffer.from([0x10, 0x00]));
      assert.deepEqual(await readBytes(client, 2), Buffer.from([0x10, 0x00]));
      client.destroy();
    } finally {
      await l.close();
    }
  });

  test('anonymous access: loopback default, refused on a non-loopback listener unless allowAnonymous is true', async () => {
    const acceptor = new EchoAcceptor();
    const cases: Array<[string, boolean | null, boolean, boolean]> = [
      ['127.0.0.1', null, true, true],
      ['127.0.0.1', false, true, false],
      ['0.0.0.0', null, false, false],
      ['0.0.0.0', true, false, true],
    ];
    for (const [host, allowAnonymous, loopback, allowed] of cases) {
      const l = await listenTcp({ host, port: 0 }, { acceptor, allowAnonymous, log });
      try {
        assert.deepEqual(l.info, { name: 'mqtt', loopback, allowAnonymous: allowed }, `${host} ${allowAnonymous}`);
      } finally {
        await l.close();
      }
    }
  });

  test('a taken port fails with a message naming --mqtt and TWINHUB_MQTT', async () => {
    const { server, port } = await occupy();
    try {
      await assert.rejects(listenTcp({ host: '127.0.0.1', port }, { acceptor: new EchoAcceptor(), allowAnonymous: null, log }), (err: unknown) => {
        assert.ok(err instanceof TwinhubError);
        assert.equal(err.code, Errors.LISTEN_FAILED.code);
        assert.equal(err.message, `MQTT address 127.0.0.1:${port} is in use (EADDRINUSE); choose another with --mqtt HOST:PORT or TWINHUB_MQTT`);
        return true;
      });
    } finally {
      server.close();
    }
  });

  test('stopAccepting frees the port at once; close() also ends the open connections', async () => {
    const acceptor = new EchoAcceptor();
    const l = await listenTcp({ host: '127.0.0.1', port: 0 }, { acceptor, allowAnonymous: null, log });
    const client = await dial(l.address.port);
    await acceptor.next();
    l.stopAccepting();
    assert.equal(await refused(l.address.port), true);
    assert.equal(client.destroyed, false, 'open connections survive stopAccepting');
    await l.close();
    await closed(client);
  });

  test('a throwing acceptor costs that connection only', async () => {
    let calls = 0;
    const l = await listenTcp(
      { host: '127.0.0.1', port: 0 },
      {
        acceptor: {
          accept: () => {
            calls++;
            throw new Error('boom');
          },
        },
        allowAnonymous: null,
        log,
      },
    );
    try {
      const a = await dial(l.address.port);
      await closed(a);
      const b = await dial(l.address.port);
      await closed(b);
      assert.equal(calls, 2);
    } finally {
      await l.close();
    }
  });
});

describe('startListeners', () => {
  test('starts mqtt and ws from the config on ephemeral ports', async () => {
    const { config } = buildConfig({ flags: { mqtt: '127.0.0.1:0', ws: '127.0.0.1:0' } });
    const acceptor = new EchoAcceptor();
    const listeners = await startListeners(config, acceptor, log);
    try {
      assert.deepEqual(listeners.map((l) => l.name), ['mqtt', 'ws']);
      for (const l of listeners) assert.notEqual(l.address.port, 0);
    } finally {
      await Promise.all(listeners.map((l) => l.close()));
    }
  });

  test('when one listener fails, those already started are closed (nothing half-started)', async () => {
    const taken = await occupy();
    // A port that is free now, for the mqtt listener that starts before ws fails.
    const probe = await occupy();
    probe.server.close();
    await once(probe.server, 'close');
    const { config } = buildConfig({ flags: { mqtt: `127.0.0.1:${probe.port}`, ws: `127.0.0.1:${taken.port}` } });
    try {
      await assert.rejects(
        startListeners(config, new EchoAcceptor(), log),
        (err: unknown) =>
          err instanceof TwinhubError &&
          err.message === `MQTT/WebSocket address 127.0.0.1:${taken.port} is in use (EADDRINUSE); choose another with --ws HOST:PORT or TWINHUB_WS`,
      );
      // The mqtt listener had started; it must have been closed again.
      assert.equal(await refused(probe.port), true);
    } finally {
      taken.server.close();
    }
  });
});
