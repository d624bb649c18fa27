// AWS's own device SDKs against the hub, unchanged: "devices written for the AWS IoT Device Shadow
// service must work against Twinhub unchanged" (issue 4), checked with clients nobody here wrote.
//
// - aws-iot-device-sdk-v2 (the current SDK, on the AWS Common Runtime's native MQTT clients): its
//   IotShadowClientv2 request-response client over MQTT 5 and over MQTT 3.1.1, connecting the way
//   AWS's builders connect to AWS IoT Core: mutual TLS with the device's X.509 certificate, and a
//   username that carries only SDK metrics ("?SDK=NodeJSv2&Version=…").
// - aws-iot-device-sdk (v1, mqtt.js 4 underneath, still in many fleets): its thingShadow class,
//   which keeps its own version, discards stale deltas and matches responses by clientToken.
//
// Both get the hub's real mTLS listener, its registry (device `client-1` with the fixture
// certificate as an x509 credential; anonymous clients refused) and its LMDB twin store. Each
// assertion names the AWS IoT Developer Guide page ("Device Shadow service documents",
// "Device Shadow MQTT topics", "Device Shadow error messages") whose statement it checks.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { startTestHub, type TestHub, tlsFixture, mtlsHubConfig } from '../helpers/hub.js';
import { sleep, waitFor, withTimeout } from '../helpers/mqtt.js';

const fixture = tlsFixture;
/** The fixture client certificate's subject CN, registered as the device. */
const THING = 'client-1';

let t: TestHub;

before(async () => {
  t = await startTestHub({
    config: mtlsHubConfig(),
  });
  const d = await api(t, 'POST', '/api/v1/devices', { id: THING });
  assert.equal(d.status, 201, d.text);
  const fingerprint = new X509Certificate(readFileSync(fixture('client.pem'))).fingerprint256;
  const c = await api(t, 'POST', `/api/v1/devices/${THING}/credentials`, { type: 'x509', fingerprint });
  assert.equal(c.status, 201, c.text);
});

after(async () => {
  await t.stop();
});

/** Deletes the classic and the named shadow between tests (the version continues, as AWS's does). */
async function resetShadows(): Promise<void> {
  for (const path of [`/api/v1/devices/${THING}/twin`, `/api/v1/devices/${THING}/twins/cfg`]) {
    const r = await api(t, 'DELETE', path);
    assert.ok(r.status === 204 || r.status === 200 || r.status === 404, r.text);
  }
}

// ---------------------------------------------------------------- aws-iot-device-sdk-v2

type Json = any;

/** What a rejected request carried: the /rejected error document, as the SDK modeled it. */
interface Modeled {
  code: number;
  message: string;
  clientToken?: string;
  timestamp?: number;
}

/** Events of a shadow stream the device opened. */
class Stream {
  readonly events: Json[] = [];
  next(n: number, what: string): Promise<Json> {
    return waitFor(() => this.events[n], 5000, what);
  }
}

/**
 * The SDK device in its child process (test/helpers/aws-sdk-v2-device.ts says why), one request
 * method call per line; answers matched by id.
 */
class SdkDevice {
  private nextId = 1;
  private readonly waiting = new Map<number, (a: { ok: boolean; result?: Json; modeled?: Modeled | null; error?: string }) => void>();
  private readonly streams = new Map<number, Stream>();
  private readonly output: string[] = [];
  private constructor(private readonly child: ChildProcess) {}

  static async start(version: '5' | '311'): Promise<SdkDevice> {
    const script = fileURLToPath(new URL('../helpers/aws-sdk-v2-device.ts', import.meta.url));
    const args = [version, '127.0.0.1', String(t.mqttsPort), THING, fixture('client.pem'), fixture('client-key.pem'), fixture('ca.pem')];
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const d = new SdkDevice(child);
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const up = new Promise<void>((res, rej) => ((ready = res), (failed = rej)));
    child.stderr!.on('data', (b: Buffer) => d.output.push(b.toString()));
    child.on('exit', (code) => failed(new Error(`the SDK device exited (${code}) before it connected: ${d.output.join('')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as Json;
      if (m.ready) ready();
      else if (m.fatal) failed(new Error(`the SDK device failed: ${m.fatal}`));
      else if (m.stream !== undefined) d.streams.get(m.stream)?.events.push(m.event);
      else if (m.id !== undefined) {
        const w = d.waiting.get(m.id);
        d.waiting.delete(m.id);
        w?.(m);
      }
    });
    await withTimeout(up, 15_000, 'the SDK device to connect');
    return d;
  }

  private send(cmd: Record<string, unknown>, id = this.nextId++): Promise<{ ok: boolean; result?: Json; modeled?: Modeled | null; error?: string }> {
    const answer = new Promise<{ ok: boolean; result?: Json; modeled?: Modeled | null; error?: string }>((r) => this.waiting.set(id, r));
    this.child.stdin!.write(`${JSON.stringify({ id, ...cmd })}\n`);
    return withTimeout(answer, 15_000, `the SDK's answer to ${String(cmd.op)}`);
  }

  /** An IotShadowClientv2 request (getShadow, updateShadow, deleteNamedShadow…): its accepted document. */
  async request(op: string, req: Record<string, unknown>): Promise<Json> {
    const a = await this.send({ op, req });
    assert.ok(a.ok, `${op} was rejected: ${a.error} ${JSON.stringify(a.modeled)}`);
    return a.result;
  }

  /** The same request expected to fail: the error document the SDK modeled. */
  async rejected(op: string, req: Record<string, unknown>): Promise<Modeled> {
    const a = await this.send({ op, req });
    assert.ok(!a.ok, `${op} was accepted: ${JSON.stringify(a.result)}`);
    assert.ok(a.modeled, `a /rejected error document, not: ${a.error}`);
    return a.modeled;
  }

  /** Opens a delta or updated (/update/documents) stream; resolves once its subscription is established. */
  async stream(kind: 'delta' | 'updated', req: Record<string, unknown>): Promise<Stream> {
    const s = new Stream();
    // Registered before the command goes out: the stream's events are tagged with its id.
    const id = this.nextId++;
    this.streams.set(id, s);
    const a = await this.send({ op: 'stream', kind, req }, id);
    assert.ok(a.ok, a.error);
    return s;
  }

  /** Closes streams, client and connection; the process is killed if its native teardown does not let it exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin!.write(`${JSON.stringify({ id: 0, op: 'quit' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

describe('aws-iot-device-sdk-v2 IotShadowClientv2 over MQTT 5 with mutual TLS', () => {
  let dev: SdkDevice;
  before(async () => {
    await resetShadows();
    dev = await SdkDevice.start('5');
  });
  after(async () => {
    await dev?.stop();
  });

  test('get, update, delta and documents streams, conditional update, delete and the version after it', async () => {
    const thing = { thingName: THING };
    const deltas = await dev.stream('delta', thing);
    const documents = await dev.stream('updated', thing);

    // "Device Shadow error messages": 404 No shadow exists with name: shadowName
    const missing = await dev.rejected('getShadow', thing);
    assert.equal(missing.code, 404);
    assert.equal(missing.message, `No shadow exists with name: ${THING}`);

    // "/update/accepted": state, metadata with per-field timestamps, version 1, the clientToken
    // echoed (the SDK matched the response to its request by it).
    const first = await dev.request('updateShadow', { ...thing, state: { desired: { color: 'red', power: 1 }, reported: { color: 'blue', power: 1 } } });
    assert.equal(first.version, 1);
    assert.deepEqual(first.state.desired, { color: 'red', power: 1 });
    assert.deepEqual(first.state.reported, { color: 'blue', power: 1 });
    assert.equal(typeof first.metadata.desired.color.timestamp, 'number');
    assert.ok(typeof first.clientToken === 'string' && first.clientToken.length > 0);

    // "/update/delta": only the desired fields that differ from reported, their metadata and the version.
    const delta = await deltas.next(0, 'the first delta');
    assert.deepEqual(delta.state, { color: 'red' });
    assert.equal(delta.version, 1);
    assert.equal(typeof delta.metadata.color.timestamp, 'number');

    // "/update/documents": previous and current, each with state, metadata and version.
    const doc = await documents.next(0, 'the first documents message');
    assert.equal(doc.current.version, 1);
    assert.deepEqual(doc.current.state.desired, { color: 'red', power: 1 });

    // "/get/accepted" holds the delta beside desired and reported.
    const got = await dev.request('getShadow', thing);
    assert.equal(got.version, 1);
    assert.deepEqual(got.state.delta, { color: 'red' });

    // A report that catches up leaves nothing differing: no delta is published.
    const second = await dev.request('updateShadow', { ...thing, state: { reported: { color: 'red' } } });
    assert.equal(second.version, 2);
    const doc2 = await documents.next(1, 'the second documents message');
    assert.equal(doc2.previous.version, 1);
    assert.equal(doc2.current.version, 2);
    await sleep(200);
    assert.equal(deltas.events.length, 1, 'no delta when desired equals reported');
    assert.equal((await dev.request('getShadow', thing)).state.delta, undefined);

    // "Version conflict": an update naming a version that is not the current one.
    const conflict = await dev.rejected('updateShadow', { ...thing, version: 1, state: { reported: { power: 2 } } });
    assert.equal(conflict.code, 409);
    assert.equal(conflict.message, 'Version conflict');
    // The same update at the current version is applied; a report equal to what is stored still makes a version.
    const conditional = await dev.request('updateShadow', { ...thing, version: 2, state: { reported: { power: 1 } } });
    assert.equal(conditional.version, 3);

    // A desired change made elsewhere (the HTTP API) reaches the device as a delta.
    const patched = await api(t, 'PATCH', `/api/v1/devices/${THING}/twin`, { state: { desired: { power: 5 } } });
    assert.equal(patched.status, 200, patched.text);
    const delta2 = await deltas.next(1, 'the delta of the API change');
    assert.deepEqual(delta2.state, { power: 5 });
    assert.equal(delta2.version, 4);

    // "/delete/accepted" carries the version deleted; the shadow is gone, and its next update continues the version.
    const deleted = await dev.request('deleteShadow', thing);
    assert.equal(deleted.version, 4);
    assert.equal((await dev.rejected('getShadow', thing)).code, 404);
    const again = await dev.request('updateShadow', { ...thing, state: { reported: { color: 'green' } } });
    assert.equal(again.version, 5);

    // "Device Shadow error messages": 400 for a document without state.
    const bad = await dev.rejected('updateShadow', thing);
    assert.equal(bad.code, 400);
    assert.equal(bad.message, 'Missing required node: state');
  });

  test('named shadows: their own documents, versions and deltas', async () => {
    const named = { thingName: THING, shadowName: 'cfg' };
    const deltas = await dev.stream('delta', named);
    const u = await dev.request('updateNamedShadow', { ...named, state: { desired: { rate: 10 }, reported: { rate: 5 } } });
    assert.equal(u.version, 1);
    assert.deepEqual((await deltas.next(0, 'the named shadow delta')).state, { rate: 10 });
    const g = await dev.request('getNamedShadow', named);
    assert.deepEqual(g.state.reported, { rate: 5 });
    assert.deepEqual(g.state.delta, { rate: 10 });
    assert.equal((await dev.request('deleteNamedShadow', named)).version, 1);
    const gone = await dev.rejected('getNamedShadow', named);
    assert.equal(gone.code, 404);
    assert.equal(gone.message, 'No shadow exists with name: cfg');
  });
});

describe('aws-iot-device-sdk-v2 IotShadowClientv2 over MQTT 3.1.1 with mutual TLS', () => {
  test('update, delta, get and delete', async () => {
    await resetShadows();
    const dev = await SdkDevice.start('311');
    try {
      const thing = { thingName: THING };
      const deltas = await dev.stream('delta', thing);
      const u = await dev.request('updateShadow', { ...thing, state: { desired: { mode: 'eco' }, reported: { mode: 'off' } } });
      assert.ok(u.version >= 1);
      const d = await deltas.next(0, 'the delta');
      assert.deepEqual(d.state, { mode: 'eco' });
      assert.equal(d.version, u.version);
      assert.deepEqual((await dev.request('getShadow', thing)).state.delta, { mode: 'eco' });
      assert.equal((await dev.request('deleteShadow', thing)).version, u.version);
      assert.equal((await dev.rejected('getShadow', thing)).code, 404);
    } finally {
      await dev.stop();
    }
  });
});

// ---------------------------------------------------------------- aws-iot-device-sdk (v1)

interface ThingShadowV1 {
  register(name: string, opts: Record<string, unknown>, cb: (err?: Error, failed?: unknown) => void): void;
  unregister(name: string): void;
  update(name: string, state: unknown): string | null;
  get(name: string, token?: string): string | null;
  delete(name: string, token?: string): string | null;
  on(ev: string, l: (...args: any[]) => void): void;
  end(force: boolean, cb?: () => void): void;
}

describe('aws-iot-device-sdk (v1) thingShadow over mutual TLS', () => {
  test('register, update, delta from another writer, get, delete: status events matched by clientToken', async () => {
    await resetShadows();
    const require = createRequire(import.meta.url);
    const awsIot = require('aws-iot-device-sdk') as { thingShadow(opts: Record<string, unknown>): ThingShadowV1 };
    const shadows = awsIot.thingShadow({
      keyPath: fixture('client-key.pem'),
      certPath: fixture('client.pem'),
      caPath: fixture('ca.pem'),
      clientId: THING,
      host: '127.0.0.1',
      port: t.mqttsPort,
      protocol: 'mqtts',
      reconnectPeriod: 0,
    });
    const statuses: Array<{ stat: string; token: string; doc: any }> = [];
    const deltas: any[] = [];
    const errors: Error[] = [];
    shadows.on('status', (_name: string, stat: string, token: string, doc: unknown) => statuses.push({ stat, token, doc }));
    shadows.on('delta', (_name: string, doc: unknown) => deltas.push(doc));
    shadows.on('error', (e: Error) => errors.push(e));
    const statusOf = (token: string | null): Promise<{ stat: string; token: string; doc: any }> => {
      assert.ok(token !== null, 'the SDK issued the request');
      return waitFor(() => statuses.find((s) => s.token === token), 5000, `the status of ${token}`);
    };
    try {
      await withTimeout(once(shadows as unknown as NodeJS.EventEmitter, 'connect'), 10_000, 'the v1 CONNACK');
      await withTimeout(
        new Promise<void>((resolve, reject) => shadows.register(THING, { persistentSubscribe: true }, (err) => (err ? reject(err) : resolve()))),
        10_000,
        'register',
      );
      const u = await statusOf(shadows.update(THING, { state: { desired: { led: 'on' }, reported: { led: 'off' } } }));
      assert.equal(u.stat, 'accepted');
      assert.deepEqual(u.doc.state.desired, { led: 'on' });
      const firstDelta = await waitFor(() => deltas[0], 5000, 'the delta');
      assert.deepEqual(firstDelta.state, { led: 'on' });
      // Another writer changes desired: the device's thingShadow gets the delta (its version is newer, so not discarded as stale).
      const patched = await api(t, 'PATCH', `/api/v1/devices/${THING}/twin`, { state: { desired: { led: 'blink' } } });
      assert.equal(patched.status, 200, patched.text);
      const secondDelta = await waitFor(() => deltas[1], 5000, 'the delta of the API change');
      assert.deepEqual(secondDelta.state, { led: 'blink' });
      assert.equal(secondDelta.version, firstDelta.version + 1);
      // The SDK sends its last known version with each update: with the API's change seen, this is accepted.
      const catchUp = await statusOf(shadows.update(THING, { state: { reported: { led: 'blink' } } }));
      assert.equal(catchUp.stat, 'accepted', JSON.stringify(catchUp.doc));
      const g = await statusOf(shadows.get(THING));
      assert.equal(g.stat, 'accepted');
      assert.equal(g.doc.state.delta, undefined);
      assert.deepEqual(g.doc.state.reported, { led: 'blink' });
      const del = await statusOf(shadows.delete(THING));
      assert.equal(del.stat, 'accepted');
      const gone = await statusOf(shadows.get(THING));
      assert.equal(gone.stat, 'rejected');
      assert.equal(gone.doc.code, 404);
      assert.deepEqual(errors, []);
    } finally {
      await new Promise<void>((resolve) => shadows.end(true, () => resolve()));
    }
  });
});
