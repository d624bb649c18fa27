// The MQTT/WebSocket listener (MQTT 5.0 §6), against a fake acceptor that echoes bytes.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { silentLogger } from '../../src/obs/log.js';
import type { Listener } from '../../src/transport/listener.js';
import { selectSubprotocol, listenWs } from '../../src/transport/ws.js';
import { WebSocketDuplex } from '../../src/transport/ws-stream.js';
import { EchoAcceptor, readBytes, withTimeout } from '../helpers/hub.js';

const log = silentLogger();
let l: Listener;
let acceptor: EchoAcceptor;
let base: string;

before(async () => {
  acceptor = new EchoAcceptor();
  l = await listenWs({ host: '127.0.0.1', port: 0 }, { acceptor, allowAnonymous: null, log, path: '/mqtt', maxPayload: 1 << 20 });
  base = `ws://127.0.0.1:${l.address.port}`;
});
after(async () => {
  await l.close();
});

function open(path: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(base + path, protocols);
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    }),
    5000,
    `WebSocket open ${path}`,
  );
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return withTimeout(new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }))), 5000, 'message');
}

describe('MQTT over WebSocket', () => {
  test('upgrade on /mqtt with subprotocol "mqtt"; the server selects "mqtt" [MQTT-6.0.0-3] [MQTT-6.0.0-4]', async () => {
    const ws = await open('/mqtt', ['mqtt']);
    assert.equal(ws.protocol, 'mqtt');
    const conn = await acceptor.next();
    assert.ok(conn.stream instanceof WebSocketDuplex);
    assert.deepEqual(conn.listener, { name: 'ws', loopback: true, allowAnonymous: true });
    assert.equal(conn.remoteAddress, '127.0.0.1');
    ws.send(Buffer.from([0xc0, 0x00]));
    const echoed = await nextMessage(ws);
    assert.equal(echoed.isBinary, true, 'MQTT packets go in binary frames [MQTT-6.0.0-1]');
    assert.deepEqual(echoed.data, Buffer.from([0xc0, 0x00]));
    ws.close();
  });

  test('"mqtt" is selected whenever offered; "mqttv3.1" only when it is the only MQTT one [MQTT-6.0.0-4]', async () => {
    const a = await open('/mqtt', ['mqttv3.1', 'mqtt']);
    assert.equal(a.protocol, 'mqtt');
    a.close();
    const b = await open('/mqtt', ['mqttv3.1']);
    assert.equal(b.protocol, 'mqttv3.1');
    b.close();
    assert.equal(selectSubprotocol(new Set(['x', 'mqtt'])), 'mqtt');
    assert.equal(selectSubprotocol(new Set(['x'])), false);
    await acceptor.next();
    await acceptor.next();
  });

  test('a client offering only other subprotocols is refused with 400 and never reaches the acceptor', async () => {
    const before = acceptor.accepted.length;
    await assert.rejects(open('/mqtt', ['chat']), (err: { status?: number }) => err.status === 400);
    assert.equal(acceptor.accepted.length, before);
  });

  test('upgrades on other paths are refused with 404; a query string on /mqtt is fine', async () => {
    const before = acceptor.accepted.length;
    await assert.rejects(open('/other', ['mqtt']), (err: { status?: number }) => err.status === 404);
    await assert.rejects(open('/mqtt/x', ['mqtt']), (err: { status?: number }) => err.status === 404);
    assert.equal(acceptor.accepted.length, before);
    const ws = await open('/mqtt?client=1', ['mqtt']);
    await acceptor.next();
    ws.close();
  });

  test('plain HTTP on the WebSocket listener answers 426 on /mqtt and 404 elsewhere', async () => {
    const status = (path: string) =>
      withTimeout(
        new Promise<number>((resolve, reject) => {
          request(`http://127.0.0.1:${l.address.port}${path}`, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
            .on('error', reject)
            .end();
        }),
        5000,
        'HTTP request',
      );
    assert.equal(await status('/mqtt'), 426);
    assert.equal(await status('/'), 404);
  });

  test('a text frame closes the connection with 1003 [MQTT-6.0.0-1]', async () => {
    const ws = await open('/mqtt', ['mqtt']);
    const conn = await acceptor.next();
    const closedWith = withTimeout(new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code))), 5000, 'close');
    ws.send('hello');
    assert.equal(await closedWith, 1003);
    assert.equal(conn.stream.destroyed, true);
  });

  test('frames need not align with packets: bytes arrive in order across and within frames [MQTT-6.0.0-2]', async () => {
    const ws = await open('/mqtt', ['mqtt']);
    const conn = await acceptor.next();
    conn.stream.unpipe(conn.stream);
    conn.stream.resume();
    // One packet split over two frames, then two packets in one frame.
    const received = readBytes(conn.stream, 8);
    ws.send(Buffer.from([0x30, 0x03, 0x00]));
    ws.send(Buffer.from([0x01, 0x61]));
    ws.send(Buffer.from([0xc0, 0x00, 0xe0]));
    assert.deepEqual(await received, Buffer.from([0x30, 0x03, 0x00, 0x01, 0x61, 0xc0, 0x00, 0xe0]));
    ws.close();
  });

  test('writes batched by the channel (cork/uncork) leave in one binary frame', async () => {
    const ws = await open('/mqtt', ['mqtt']);
    const conn = await acceptor.next();
    conn.stream.unpipe(conn.stream);
    conn.stream.resume();
    const got = nextMessage(ws);
    conn.stream.cork();
    conn.stream.write(Buffer.from([0x90, 0x03]));
    conn.stream.write(Buffer.from([0x00, 0x01, 0x00]));
    conn.stream.uncork();
    const m = await got;
    assert.equal(m.isBinary, true);
    assert.deepEqual(m.data, Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00]));
    ws.close();
  });

  test('ending the stream sends a close frame after the data written before it', async () => {
    const ws = await open('/mqtt', ['mqtt']);
    const conn = await acceptor.next();
    conn.stream.unpipe(conn.stream);
    conn.stream.resume();
    const got = nextMessage(ws);
    const closedWith = withTimeout(new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code))), 5000, 'close');
    conn.stream.end(Buffer.from([0xe0, 0x00])); // DISCONNECT, then close
    assert.deepEqual((await got).data, Buffer.from([0xe0, 0x00]));
    assert.equal(await closedWith, 1000);
  });
});
