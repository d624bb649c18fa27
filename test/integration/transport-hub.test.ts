// The whole hub in process (startTestHub): listeners wired to the broker, MQTT over each
// transport, anonymous access per listener, readiness, restart on the same data folder.
// The MQTT-level tests need the broker core; the listener-level ones only need the hub to start.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { TwinhubError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/obs/log.js';
import { startTestHub, type TestHub, tlsFixture } from '../helpers/hub.js';
import { cleanupClients, closeAll, collect, connect, connectClient, uid } from '../helpers/mqtt.js';

const fixture = tlsFixture;

after(() => cleanupClients());

async function portRefused(port: number): Promise<boolean> {
  const s = netConnect({ host: '127.0.0.1', port });
  try {
    await once(s, 'connect');
    s.destroy();
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** Publish on `pub`, receive on `sub`: the message went through both transports and the broker. */
async function roundTrip(pubUrl: string, subUrl: string, tlsOpts: Record<string, unknown> = {}): Promise<void> {
  const topic = `th/${uid('rt')}`;
  const sub = await connectClient({ mqttUrl: subUrl }, tlsOpts);
  const pub = await connectClient({ mqttUrl: pubUrl }, tlsOpts);
  try {
    const log = collect(sub);
    await sub.subscribeAsync(topic, { qos: 1 });
    await pub.publishAsync(topic, 'hello', { qos: 1 });
    const [m] = await log.waitFor(1);
    assert.equal(m!.topic, topic);
    assert.equal(m!.payload.toString(), 'hello');
  } finally {
    await closeAll(pub, sub);
  }
}

describe('startTestHub and the hub listeners', () => {
  test('ephemeral ports, a fresh data folder, /healthz and /readyz; stop() closes the ports and removes the folder', async (t) => {
    const hub = await startTestHub();
    if (hub.external) return t.skip('external broker');
    try {
      assert.notEqual(hub.mqttPort, 0);
      assert.equal(hub.mqttUrl, `mqtt://127.0.0.1:${hub.mqttPort}`);
      assert.match(hub.wsUrl ?? '', /^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
      assert.match(hub.httpUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(existsSync(hub.dataDir));
      assert.deepEqual(Object.keys(hub.hub.addresses).sort(), ['http', 'mqtt', 'ws']);
      assert.equal((await fetch(`${hub.httpUrl}/healthz`)).status, 200);
      const ready = await fetch(`${hub.httpUrl}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
    } finally {
      await hub.stop();
    }
    assert.equal(await portRefused(hub.mqttPort), true);
    assert.equal(existsSync(hub.dataDir), false);
    await hub.stop(); // idempotent
  });

  test('a taken HTTP port fails startHub naming --http, and the MQTT listener it had started is closed again', async () => {
    const { startHub } = await import('../../src/main/hub.js');
    const taken = createServer().listen({ host: '127.0.0.1', port: 0 });
    await once(taken, 'listening');
    const httpPort = (taken.address() as { port: number }).port;
    const mqttPort = await freePort();
    const { config } = buildConfig({ flags: { mqtt: `127.0.0.1:${mqttPort}`, http: `127.0.0.1:${httpPort}`, 'persistence.enabled': false } });
    try {
      await assert.rejects(
        startHub(config, { log: silentLogger(), out: () => {} }),
        (err: unknown) => err instanceof TwinhubError && err.message.includes(`HTTP address 127.0.0.1:${httpPort} is in use (EADDRINUSE); choose another with --http`),
      );
      assert.equal(await portRefused(mqttPort), true);
    } finally {
      taken.close();
    }
  });

  test('the start-up lines name every listener, then "ready"', async () => {
    const { startHub } = await import('../../src/main/hub.js');
    const lines: string[] = [];
    const { config } = buildConfig({ flags: { mqtt: '127.0.0.1:0', ws: '127.0.0.1:0', http: '127.0.0.1:0', 'persistence.enabled': false } });
    const hub = await startHub(config, { log: silentLogger(), out: (l) => lines.push(l) });
    try {
      // A fresh (here: in-memory) registry prints its generated admin key first (issue 3).
      assert.match(lines.shift()!, /^twinhub: created the admin API key \(shown once, stored hashed\): thk_[0-9a-f]{12}_[\w-]{22}$/);
      assert.match(lines.shift()!, /TWINHUB_ADMIN_KEY/);
      assert.deepEqual(lines, [
        `twinhub: MQTT listening on 127.0.0.1:${hub.addresses.mqtt!.port}`,
        `twinhub: MQTT/WebSocket listening on ws://127.0.0.1:${hub.addresses.ws!.port}/mqtt`,
        `twinhub: HTTP listening on http://127.0.0.1:${hub.addresses.http!.port}`,
        'twinhub: ready',
      ]);
    } finally {
      await hub.stop();
    }
  });

  test('TWINHUB_TEST_BROKER makes startTestHub return that broker, marked external', async () => {
    const saved = process.env.TWINHUB_TEST_BROKER;
    process.env.TWINHUB_TEST_BROKER = '127.0.0.1:1';
    try {
      const hub = await startTestHub();
      assert.equal(hub.external, true);
      assert.equal(hub.mqttUrl, 'mqtt://127.0.0.1:1');
      assert.throws(() => hub.hub, /external/);
      await hub.stop();
    } finally {
      if (saved === undefined) delete process.env.TWINHUB_TEST_BROKER;
      else process.env.TWINHUB_TEST_BROKER = saved;
    }
  });
});

describe('MQTT through each transport (needs the broker core)', () => {
  let hub: TestHub;
  const tlsClient = { ca: readFileSync(fixture('ca.pem')), servername: 'localhost', rejectUnauthorized: true };
  before(async () => {
    hub = await startTestHub({
      config: { mqtts: { host: '127.0.0.1', port: 0 }, tls: { cert: fixture('server.pem'), key: fixture('server-key.pem') } },
    });
  });
  after(() => hub.stop());

  test('TCP to TCP', async (t) => {
    if (hub.external) return t.skip('external broker');
    await roundTrip(hub.mqttUrl, hub.mqttUrl);
  });

  test('WebSocket (/mqtt, subprotocol mqtt) to TCP and back', async (t) => {
    if (hub.external) return t.skip('external broker');
    await roundTrip(hub.wsUrl!, hub.mqttUrl);
    await roundTrip(hub.mqttUrl, hub.wsUrl!);
  });

  test('TLS to TCP and back', async (t) => {
    if (hub.external) return t.skip('external broker');
    assert.ok(hub.mqttsUrl);
    await roundTrip(hub.mqttsUrl!, hub.mqttUrl, tlsClient);
    await roundTrip(hub.mqttUrl, hub.mqttsUrl!, tlsClient);
  });

  test('stop(): connected clients are disconnected and the port is closed', async (t) => {
    if (hub.external) return t.skip('external broker');
    const c = await connectClient(hub);
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    await hub.stop();
    await closed;
    c.end(true);
    assert.equal(await portRefused(hub.mqttPort), true);
  });
});

describe('anonymous access per listener, as Mosquitto 2 (needs the broker core)', () => {
  test('a non-loopback listener refuses anonymous clients unless allowAnonymous is true', async (t) => {
    const hub = await startTestHub({ config: { mqtt: { host: '0.0.0.0', port: 0 } }, persistence: false });
    if (hub.external) return t.skip('external broker');
    try {
      assert.equal(hub.host, '0.0.0.0');
      const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
      await assert.rejects(connect({ mqttUrl: url }, { protocolVersion: 5 }), /Not authorized/i);
      await assert.rejects(connect({ mqttUrl: url }, { protocolVersion: 4 }), /Not authorized/i);
      // The WebSocket listener of the same hub is on loopback: anonymous clients are fine there.
      await closeAll((await connect({ mqttUrl: hub.wsUrl! })).client);
    } finally {
      await hub.stop();
    }
    const open = await startTestHub({ config: { mqtt: { host: '0.0.0.0', port: 0 }, allowAnonymous: true }, persistence: false });
    try {
      const { client, connack } = await connect({ mqttUrl: `mqtt://127.0.0.1:${open.mqttPort}` });
      assert.equal(connack.returnCode ?? 0, 0);
      await closeAll(client);
    } finally {
      await open.stop();
    }
  });

  test('allowAnonymous: false refuses anonymous clients on loopback too', async (t) => {
    const hub = await startTestHub({ config: { allowAnonymous: false }, persistence: false });
    if (hub.external) return t.skip('external broker');
    try {
      await assert.rejects(connect(hub, { protocolVersion: 5 }), /Not authorized/i);
    } finally {
      await hub.stop();
    }
  });
});

describe('mutual TLS through the hub (needs the broker core)', () => {
  test('the verified client certificate reaches the hooks as ClientInfo.certificate', async (t) => {
    const hub = await startTestHub({
      config: {
        mqtts: { host: '127.0.0.1', port: 0 },
        tls: { cert: fixture('server.pem'), key: fixture('server-key.pem'), ca: fixture('ca.pem'), requestCert: true, rejectUnauthorized: true },
      },
      persistence: false,
    });
    if (hub.external) return t.skip('external broker');
    try {
      const seen: Array<{ fingerprint256: string; subject: string } | undefined> = [];
      hub.hub.broker.deps.hooks.on('client.connected', (client) => {
        seen.push(client.certificate);
      });
      const { client } = await connect(
        { mqttUrl: hub.mqttsUrl! },
        { ca: readFileSync(fixture('ca.pem')), cert: readFileSync(fixture('client.pem')), key: readFileSync(fixture('client-key.pem')), servername: 'localhost' },
      );
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.subject, 'CN=client-1,O=Twinhub Test');
      await closeAll(client);
    } finally {
      await hub.stop();
    }
  });
});

describe('restart on the same data folder (needs the broker core and the LMDB store)', () => {
  test('a retained message survives restart(); the ports stay the same', async (t) => {
    const hub = await startTestHub();
    if (hub.external) return t.skip('external broker');
    const topic = `th/${uid('rs')}`;
    let second: TestHub | undefined;
    try {
      const pub = await connectClient(hub);
      await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
      await closeAll(pub);
      second = await hub.restart();
      assert.equal(second.dataDir, hub.dataDir);
      assert.equal(second.mqttPort, hub.mqttPort);
      const sub = await connectClient(second);
      const log = collect(sub);
      await sub.subscribeAsync(topic, { qos: 1 });
      const [m] = await log.waitFor(1);
      assert.equal(m!.payload.toString(), 'kept');
      await closeAll(sub);
    } finally {
      await (second ?? hub).stop();
    }
  });
});
