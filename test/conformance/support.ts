// Shared pieces of the conformance suite: reason codes, raw connects, "the broker closed this
// connection for this reason" and "other clients are unaffected" checks.
import assert from 'node:assert/strict';
import type { IConnackPacket, IConnectPacket, Packet } from 'mqtt-packet';
import { RawClient } from '../helpers/raw-client.js';
import type { ProtocolVersion } from '../helpers/raw-client.js';
import { after, before } from 'node:test';
import { cleanupClients, closeAll, collect, connectClient, uid } from '../helpers/mqtt.js';
import { startTestHub } from '../helpers/hub.js';
import type { TestHub, TestHubOptions } from '../helpers/hub.js';

/** MQTT 5.0 reason codes used by the suite (MQTT 5.0 §2.4). */
export const RC = {
  SUCCESS: 0x00,
  DISCONNECT_WITH_WILL: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  UNSPECIFIED: 0x80,
  MALFORMED: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_ID_NOT_VALID: 0x85,
  NOT_AUTHORIZED: 0x87,
  SERVER_SHUTTING_DOWN: 0x8b,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
} as const;

export const NEEDS_CONFIG = 'needs twinhub config';
export const HUB_CHOICE = 'twinhub design choice (the spec allows other behaviour)';

/** Topic prefix unique to one test, so tests can share one broker and run concurrently. */
export function topicRoot(prefix = 'cf'): string {
  return `${prefix}/${uid('x')}`;
}

/** Raw-connects and asserts the CONNACK accepted the connection. */
export async function rawConnect(
  hub: TestHub,
  version: ProtocolVersion,
  connect: Partial<Omit<IConnectPacket, 'cmd'>> = {},
): Promise<{ client: RawClient; connack: IConnackPacket }> {
  const r = await RawClient.connect(hub, { clientId: uid('r'), protocolVersion: version, ...connect }, { protocolVersion: version });
  const code = version === 5 ? r.connack.reasonCode : r.connack.returnCode;
  assert.equal(code ?? 0, 0, `CONNACK refused the connection (code ${code})`);
  return r;
}

export function disconnectsOf(raw: RawClient): Packet[] {
  return raw.received.filter((p) => p.cmd === 'disconnect');
}

/**
 * The broker must close the connection [MQTT-4.13.1-1]; in MQTT 5.0 it SHOULD first send a
 * DISCONNECT with the matching reason code (§4.13.1). Twinhub always sends it, so `required`
 * (normally `!hub.external`) makes its absence a failure; a DISCONNECT that is sent must always
 * carry one of `reasons`.
 */
export async function expectServerDisconnect(
  raw: RawClient,
  reasons: number | readonly number[],
  opts: { required: boolean; timeoutMs?: number },
): Promise<number | undefined> {
  await raw.expectClose(opts.timeoutMs ?? 3000);
  const allowed = typeof reasons === 'number' ? [reasons] : reasons;
  const discs = disconnectsOf(raw);
  if (discs.length === 0) {
    if (opts.required && raw.protocolVersion === 5) {
      assert.fail(`the broker closed the connection without a DISCONNECT (expected reason ${allowed.map(hex).join(' or ')})`);
    }
    return undefined;
  }
  assert.equal(discs.length, 1, 'at most one DISCONNECT is sent before closing [MQTT-3.14.4-1]');
  const rc = (discs[0] as { reasonCode?: number }).reasonCode ?? 0;
  assert.ok(allowed.includes(rc), `DISCONNECT reason ${hex(rc)}, expected ${allowed.map(hex).join(' or ')}`);
  return rc;
}

export function hex(n: number | undefined): string {
  return n === undefined ? 'none' : `0x${n.toString(16).padStart(2, '0')}`;
}

/** Proves the broker still serves other clients: a QoS 1 round trip through a fresh client. */
export async function assertOthersUnaffected(hub: TestHub): Promise<void> {
  const client = await connectClient(hub, { protocolVersion: 4, clientId: uid('by') });
  try {
    const topic = `${topicRoot('alive')}/ping`;
    const log = collect(client);
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, 'still here', { qos: 1 });
    await log.waitFor(1, 3000);
  } finally {
    await closeAll(client);
  }
}

/** The remaining length of an MQTT packet encoded as a Variable Byte Integer (§1.5.5 / §2.2.3). */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A length-prefixed UTF-8 string field. */
export function str(s: string | Buffer): number[] {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return [b.length >> 8, b.length & 0xff, ...b];
}

/** Builds a packet from its first byte and body bytes (the remaining length is computed). */
export function packet(first: number, body: readonly number[]): Buffer {
  return Buffer.from([first, ...varint(body.length), ...body]);
}

let nextId = 1;
/** A fresh non-zero packet identifier ([MQTT-2.2.1-3]; [MQTT-2.3.1-1] in 3.1.1). */
export function pid(): number {
  nextId = nextId >= 65535 ? 1 : nextId + 1;
  return nextId;
}

/** SUBSCRIBE through a raw client; returns the SUBACK's granted QoS / reason codes in order. */
export async function rawSubscribe(
  raw: RawClient,
  subs: Array<{ topic: string; qos: 0 | 1 | 2; nl?: boolean; rap?: boolean; rh?: number }>,
  properties?: { subscriptionIdentifier?: number },
): Promise<number[]> {
  const messageId = pid();
  raw.send({ cmd: 'subscribe', messageId, subscriptions: subs, ...(properties ? { properties } : {}) } as Packet);
  const suback = await raw.expectPacket('suback');
  assert.equal(suback.messageId, messageId, 'SUBACK carries the SUBSCRIBE packet id [MQTT-3.8.4-2]');
  return suback.granted as number[];
}

/** Removes retained messages (a zero-byte retained PUBLISH each, [MQTT-3.3.1-10]). */
export async function clearRetained(hub: TestHub, ...topics: string[]): Promise<void> {
  const client = await connectClient(hub, { protocolVersion: 4 });
  try {
    for (const t of topics) await client.publishAsync(t, '', { qos: 1, retain: true });
  } finally {
    await closeAll(client);
  }
}

/**
 * The User Properties of every MQTT 5.0 PUBLISH in `bytes` (a received byte stream), as ordered
 * [name, value] pairs straight from the wire: mqtt-packet's parser merges repeated names, which
 * hides the order that [MQTT-3.3.2-18] requires to be kept.
 */
export function wireUserProperties(bytes: Buffer): Array<Array<[string, string]>> {
  const out: Array<Array<[string, string]>> = [];
  let i = 0;
  const readVarint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = bytes[i++]!;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
  };
  const readStr = (): string => {
    const n = bytes.readUInt16BE(i);
    const s = bytes.subarray(i + 2, i + 2 + n).toString('utf8');
    i += 2 + n;
    return s;
  };
  while (i < bytes.length) {
    const first = bytes[i++]!;
    const len = readVarint();
    const end = i + len;
    if (first >> 4 === 3) {
      const qos = (first >> 1) & 3;
      readStr();
      if (qos > 0) i += 2;
      const propEnd = readVarint() + i;
      const pairs: Array<[string, string]> = [];
      while (i < propEnd) {
        const id = readVarint();
        if (id === 0x26) pairs.push([readStr(), readStr()]);
        else if (id === 0x01) i += 1;
        else if (id === 0x02) i += 4;
        else if (id === 0x23) i += 2;
        else if (id === 0x0b) readVarint();
        else if (id === 0x03 || id === 0x08 || id === 0x09) readStr();
        else throw new Error(`unexpected PUBLISH property 0x${id.toString(16)}`);
      }
      out.push(pairs);
    }
    i = end;
  }
  return out;
}

/** A 5.0 property block: varint length + properties. */
export function props(...bytes: number[]): number[] {
  return [...varint(bytes.length), ...bytes];
}

/**
 * A CONNECT the broker must refuse: it closes the connection. 3.1.1 sends no CONNACK at all
 * [MQTT-3.1.4-1]; 5.0 MAY first send a CONNACK with a reason code ≥ 0x80 (one of `reasons` when
 * given) and never anything else, a DISCONNECT included [MQTT-3.14.0-1].
 */
export async function expectConnectRefused(raw: RawClient, reasons?: readonly number[]): Promise<void> {
  await raw.expectClose(3000);
  if (raw.protocolVersion !== 5) {
    assert.deepEqual(raw.received.map((p) => p.cmd), [], 'an invalid CONNECT is closed without a CONNACK [MQTT-3.1.4-1]');
    return;
  }
  assert.ok(raw.received.length <= 1, `at most one CONNACK, got ${raw.received.map((p) => p.cmd).join(', ')}`);
  for (const p of raw.received) {
    assert.equal(p.cmd, 'connack', `only a CONNACK may precede the close, got ${p.cmd}`);
    const rc = p.reasonCode ?? 0;
    assert.ok(rc >= 0x80, `CONNACK reason ${hex(rc)} accepts an invalid CONNECT`);
    if (reasons) assert.ok(reasons.includes(rc), `CONNACK reason ${hex(rc)}, expected ${reasons.map(hex).join(' or ')}`);
  }
}

/**
 * One hub for the enclosing suite: started before its tests (handed to `assign`), stopped after
 * them together with the clients they left open.
 */
export function withHub(assign: (hub: TestHub) => void, opts?: TestHubOptions): void {
  let hub: TestHub | undefined;
  before(async () => {
    hub = await startTestHub(opts);
    assign(hub);
  });
  after(async () => {
    cleanupClients();
    await hub?.stop();
  });
}
