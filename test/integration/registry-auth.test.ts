// Devices authenticating over real MQTT sockets against the registry: passwords, tokens, JWTs and
// client certificates; refusals with the right CONNACK codes in 3.1.1 and 5.0; revocation,
// deletion and kicks dropping live sessions; the registry ACL on publish and subscribe; and
// per-device rate limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IConnectPacket } from 'mqtt-packet';
import { signJwt } from '../../src/core/registry/credentials/index.js';
import { api } from '../helpers/api.js';
import { startTestHub, type TestHub, tlsFixture, mtlsHubConfig } from '../helpers/hub.js';
import { cleanupClients, waitFor } from '../helpers/mqtt.js';
import { RawClient, type ProtocolVersion } from '../helpers/raw-client.js';

const fixture = tlsFixture;

async function connectRaw(t: TestHub, version: ProtocolVersion, c: Partial<Omit<IConnectPacket, 'cmd'>> & { clientId: string }) {
  return RawClient.connect(t, { protocolVersion: version, ...c }, { protocolVersion: version });
}

function codeOf(version: ProtocolVersion, connack: { reasonCode?: number; returnCode?: number }): number {
  return (version === 5 ? connack.reasonCode : connack.returnCode) ?? 0;
}

async function device(t: TestHub, id: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await api(t, 'POST', '/api/v1/devices', { id, ...extra });
  assert.equal(r.status, 201, r.text);
}

async function credential(t: TestHub, id: string, body: Record<string, unknown>): Promise<any> {
  const r = await api(t, 'POST', `/api/v1/devices/${id}/credentials`, body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

describe('registry authentication over MQTT', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub({
      config: {
        allowAnonymous: false,
        registry: { jwt: { clockSkew: 0 }, limits: { maxViolations: 3 } },
      },
    });
    await device(t, 'dev-1', { type: 'sensor' });
    await credential(t, 'dev-1', { type: 'password', password: 'correct horse battery' });
  });
  after(async () => {
    cleanupClients();
    await t.stop();
  });

  for (const version of [4, 5] as const) {
    test(`v${version}: the right password connects; a wrong one is refused (5.0 0x86, 3.1.1 return code 4) [MQTT-3.2.2-7]`, async () => {
      const ok = await connectRaw(t, version, { clientId: 'dev-1', username: 'dev-1', password: Buffer.from('correct horse battery') });
      assert.equal(codeOf(version, ok.connack), 0);
      ok.client.destroy();
      const bad = await connectRaw(t, version, { clientId: 'dev-1', username: 'dev-1', password: Buffer.from('wrong') });
      assert.equal(codeOf(version, bad.connack), version === 5 ? 0x86 : 4);
      await bad.client.expectClose();
    });

    test(`v${version}: a registered device must use its id as client id (5.0 0x85, 3.1.1 return code 2)`, async () => {
      const r = await connectRaw(t, version, { clientId: 'someone-else', username: 'dev-1', password: Buffer.from('correct horse battery') });
      assert.equal(codeOf(version, r.connack), version === 5 ? 0x85 : 2);
      await r.client.expectClose();
    });

    test(`v${version}: anonymous clients are refused when allowAnonymous is false (5.0 0x87, 3.1.1 return code 5)`, async () => {
      const r = await connectRaw(t, version, { clientId: 'anon-1' });
      assert.equal(codeOf(version, r.connack), version === 5 ? 0x87 : 5);
    });
  }

  test('an unknown username is refused with bad credentials, not as a device', async () => {
    const r = await connectRaw(t, 5, { clientId: 'ghost', username: 'ghost', password: Buffer.from('x') });
    assert.equal(r.connack.reasonCode, 0x86);
  });

  test('a token connects with username = device id, and with an empty username (the token alone names its device)', async () => {
    await device(t, 'dev-tok');
    const cred = await credential(t, 'dev-tok', { type: 'token' });
    assert.match(cred.token, /^tht_/);
    const list = await api(t, 'GET', '/api/v1/devices/dev-tok/credentials');
    assert.equal(JSON.stringify(list.body).includes(cred.token), false, 'the token is never shown again');
    assert.equal(JSON.stringify(list.body).includes('hash'), false, 'no hash leaves the hub');
    const a = await connectRaw(t, 4, { clientId: 'dev-tok', username: 'dev-tok', password: Buffer.from(cred.token) });
    assert.equal(a.connack.returnCode, 0);
    a.client.destroy();
    const b = await connectRaw(t, 5, { clientId: 'dev-tok', username: '', password: Buffer.from(cred.token) });
    assert.equal(b.connack.reasonCode, 0);
    b.client.destroy();
  });

  test('a disabled device is refused (0x87); enabling it lets it in again', async () => {
    await device(t, 'dev-off', { enabled: false });
    await credential(t, 'dev-off', { type: 'password', password: 'password-off' });
    const r = await connectRaw(t, 5, { clientId: 'dev-off', username: 'dev-off', password: Buffer.from('password-off') });
    assert.equal(r.connack.reasonCode, 0x87);
    assert.equal((await api(t, 'PATCH', '/api/v1/devices/dev-off', { enabled: true })).status, 200);
    const ok = await connectRaw(t, 5, { clientId: 'dev-off', username: 'dev-off', password: Buffer.from('password-off') });
    assert.equal(ok.connack.reasonCode, 0);
    ok.client.destroy();
  });

  test('revoking a credential disconnects the sessions that used it (5.0 DISCONNECT 0x87) and no other', async () => {
    await device(t, 'dev-rev');
    const pw = await credential(t, 'dev-rev', { type: 'password', password: 'password-rev' });
    const tok = await credential(t, 'dev-rev', { type: 'token' });
    const viaPw = await connectRaw(t, 5, { clientId: 'dev-rev', username: 'dev-rev', password: Buffer.from('password-rev') });
    assert.equal(viaPw.connack.reasonCode, 0);
    const r = await api(t, 'DELETE', `/api/v1/devices/dev-rev/credentials/${tok.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.disconnected, 0, 'the session proved the password, not the token');
    const r2 = await api(t, 'DELETE', `/api/v1/devices/dev-rev/credentials/${pw.id}`);
    assert.equal(r2.body.disconnected, 1);
    const d = await viaPw.client.expectPacket('disconnect');
    assert.equal(d.reasonCode, 0x87);
    await viaPw.client.expectClose();
    const again = await connectRaw(t, 5, { clientId: 'dev-rev', username: 'dev-rev', password: Buffer.from('password-rev') });
    assert.equal(again.connack.reasonCode, 0x86, 'the revoked password no longer works (the verification cache was evicted)');
  });

  test('a JWT signed with the device key connects; the session ends at exp with DISCONNECT 0xA0 Maximum connect time', async () => {
    await device(t, 'dev-jwt');
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await credential(t, 'dev-jwt', { type: 'jwt-key', alg: 'ES256', key: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = signJwt({ sub: 'dev-jwt', exp }, 'ES256', privateKey);
    const r = await connectRaw(t, 5, { clientId: 'dev-jwt', username: 'dev-jwt', password: Buffer.from(token) });
    assert.equal(r.connack.reasonCode, 0);
    const d = await r.client.expectPacket('disconnect', 4000);
    assert.equal(d.reasonCode, 0xa0);
    assert.ok(Date.now() >= exp * 1000, 'not before exp');
    // A JWT for another subject, or an expired one, is refused.
    const other = signJwt({ sub: 'dev-1', exp: exp + 60 }, 'ES256', privateKey);
    assert.equal((await connectRaw(t, 5, { clientId: 'dev-jwt', username: 'dev-jwt', password: Buffer.from(other) })).connack.reasonCode, 0x86);
    const expired = signJwt({ sub: 'dev-jwt', exp: Math.floor(Date.now() / 1000) - 5 }, 'ES256', privateKey);
    assert.equal((await connectRaw(t, 5, { clientId: 'dev-jwt', username: 'dev-jwt', password: Buffer.from(expired) })).connack.reasonCode, 0x86);
  });

  test('ACL: a device may publish and subscribe on its own topics only (5.0 PUBACK/SUBACK 0x87) [MQTT-3.3.4-… authorization]', async () => {
    const r = await connectRaw(t, 5, { clientId: 'dev-1', username: 'dev-1', password: Buffer.from('correct horse battery') });
    const c = r.client;
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'devices/dev-1/#', qos: 1 }, { topic: 'devices/dev-2/#', qos: 1 }, { topic: '#', qos: 0 }] } as any);
    const suback = await c.expectPacket('suback');
    assert.deepEqual(suback.granted, [1, 0x87, 0x87]);
    c.send({ cmd: 'publish', topic: 'devices/dev-1/telemetry', payload: Buffer.from('1'), qos: 1, messageId: 2, retain: false, dup: false } as any);
    const own = await c.expectPacket('puback');
    assert.equal(own.reasonCode ?? 0, 0);
    c.send({ cmd: 'publish', topic: 'devices/dev-2/telemetry', payload: Buffer.from('1'), qos: 1, messageId: 3, retain: false, dup: false } as any);
    // Our own message comes back first (we subscribed to devices/dev-1/#).
    const acks = [await c.expectPacket('puback')];
    assert.equal(acks[0]!.messageId, 3);
    assert.equal(acks[0]!.reasonCode, 0x87);
    c.destroy();
    const check = await api(t, 'GET', '/api/v1/acl/check?device=dev-1&action=publish&topic=devices/dev-2/x');
    assert.deepEqual(check.body, { allowed: false });
    const stats = await api(t, 'GET', '/api/v1/stats');
    assert.ok(stats.body.registry.aclDeniedPublish >= 1);
    assert.ok(stats.body.registry.aclDeniedSubscribe >= 2);
  });

  test('ACL policies per type widen what devices of that type may do; removing the policy narrows it again at once', async () => {
    const put = await api(t, 'PUT', '/api/v1/acl/sensors-read-config', { type: 'sensor', rules: [{ filter: 'config/{type}/#', action: 'subscribe', allow: true }] });
    assert.equal(put.status, 200, put.text);
    const r = await connectRaw(t, 5, { clientId: 'dev-1', username: 'dev-1', password: Buffer.from('correct horse battery') });
    r.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'config/sensor/#', qos: 0 }, { topic: 'config/other/#', qos: 0 }] } as any);
    assert.deepEqual((await r.client.expectPacket('suback')).granted, [0, 0x87]);
    assert.equal((await api(t, 'DELETE', '/api/v1/acl/sensors-read-config')).status, 204);
    r.client.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'config/sensor/#', qos: 0 }] } as any);
    assert.deepEqual((await r.client.expectPacket('suback')).granted, [0x87], 'the live session sees the change');
    r.client.destroy();
    const bad = await api(t, 'PUT', '/api/v1/acl/broken', { rules: [{ filter: 'a/#/b', action: 'all', allow: true }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'TH_ACL_RULE_INVALID');
    assert.match(bad.body.detail, /rules\[0\]/);
  });

  test('rate limit: over its rate a 5.0 device gets PUBACK 0x97, and one that keeps exceeding is disconnected with 0x96', async () => {
    await device(t, 'dev-rate', { limits: { messagesPerSecond: 1 } });
    await credential(t, 'dev-rate', { type: 'password', password: 'password-rate' });
    const r = await connectRaw(t, 5, { clientId: 'dev-rate', username: 'dev-rate', password: Buffer.from('password-rate') });
    const c = r.client;
    // burstSeconds 2 at 1 msg/s: two messages pass, two are refused, the fifth is the third violation.
    for (let i = 1; i <= 6; i++) c.send({ cmd: 'publish', topic: 'devices/dev-rate/t', payload: Buffer.from('x'), qos: 1, messageId: i, retain: false, dup: false } as any);
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await c.expectPacket('puback')).reasonCode ?? 0);
    assert.deepEqual(codes, [0, 0, 0x97, 0x97], 'two within the burst, then quota exceeded');
    const d = await c.expectPacket('disconnect');
    assert.equal(d.reasonCode, 0x96, 'the third violation in a row (maxViolations 3) disconnects');
    const stats = await api(t, 'GET', '/api/v1/stats');
    assert.ok(stats.body.broker.limitsHit.deviceRate >= 3);
    assert.equal(stats.body.broker.limitsHit.deviceRateDisconnect, 1);
  });

  test('kicking a device over the API sends DISCONNECT 0x98; deleting it drops the session and its credentials', async () => {
    await device(t, 'dev-del');
    await credential(t, 'dev-del', { type: 'password', password: 'password-del' });
    const a = await connectRaw(t, 5, { clientId: 'dev-del', username: 'dev-del', password: Buffer.from('password-del') });
    await waitFor(async () => (await api(t, 'GET', '/api/v1/devices/dev-del')).body.connected === true, 2000, 'presence');
    const sessions = await api(t, 'GET', '/api/v1/devices/dev-del/sessions');
    assert.equal(sessions.body.items.length, 1);
    assert.equal(sessions.body.items[0].clientId, 'dev-del');
    assert.equal((await api(t, 'DELETE', '/api/v1/devices/dev-del/sessions')).body.disconnected, 1);
    assert.equal((await a.client.expectPacket('disconnect')).reasonCode, 0x98);
    const b = await connectRaw(t, 5, { clientId: 'dev-del', username: 'dev-del', password: Buffer.from('password-del') });
    assert.equal(b.connack.reasonCode, 0);
    assert.equal((await api(t, 'DELETE', '/api/v1/devices/dev-del')).status, 204);
    assert.equal((await b.client.expectPacket('disconnect')).reasonCode, 0x87);
    const gone = await connectRaw(t, 5, { clientId: 'dev-del', username: 'dev-del', password: Buffer.from('password-del') });
    assert.equal(gone.connack.reasonCode, 0x86);
    const view = await api(t, 'GET', '/api/v1/devices/dev-del');
    assert.equal(view.status, 404);
    assert.equal(view.body.code, 'TH_DEVICE_NOT_FOUND');
  });
});

describe('registry authentication over mTLS', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub({
      config: mtlsHubConfig(),
    });
  });
  after(async () => {
    cleanupClients();
    await t.stop();
  });

  test('a client certificate registered as an x509 credential (by fingerprint) is the device; without it the client is refused', async () => {
    const { connect } = await import('mqtt');
    const cert = readFileSync(fixture('client.pem'));
    const key = readFileSync(fixture('client-key.pem'));
    const ca = readFileSync(fixture('ca.pem'));
    const attempt = () =>
      new Promise<number>((resolve) => {
        const c = connect(t.mqttsUrl!, { clientId: 'client-1', cert, key, ca, rejectUnauthorized: false, reconnectPeriod: 0, protocolVersion: 5 });
        c.on('connect', () => {
          c.end(true);
          resolve(0);
        });
        c.on('error', (err: Error & { code?: number }) => {
          c.end(true);
          resolve(err.code ?? -1);
        });
      });
    assert.equal(await attempt(), 0x87, 'not registered yet: an anonymous client on a listener that refuses them');
    const { X509Certificate } = await import('node:crypto');
    await device(t, 'client-1');
    await credential(t, 'client-1', { type: 'x509', fingerprint: new X509Certificate(cert).fingerprint256 });
    assert.equal(await attempt(), 0);
  });
});
