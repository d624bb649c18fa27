// Malformed input and protocol errors (MQTT 3.1.1 §1.5.3, §2.2–2.3, §4.8; MQTT 5.0 §1.5.4–1.5.5,
// §2.1–2.2, §4.13): each closes only the offending connection (5.0: DISCONNECT 0x81/0x82 first),
// and the broker keeps serving every other client.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestHub } from '../helpers/hub.js';
import { RawClient } from '../helpers/raw-client.js';
import { closeAll, collect, connect, uid } from '../helpers/mqtt.js';
import {
  RC,
  assertOthersUnaffected,
  expectConnectRefused,
  expectServerDisconnect,
  packet,
  props,
  rawConnect,
  str,
  topicRoot,
  withHub,
} from './support.js';

let hub: TestHub;

const MALFORMED = [RC.MALFORMED] as const;
const PROTOCOL = [RC.PROTOCOL_ERROR] as const;
const EITHER = [RC.MALFORMED, RC.PROTOCOL_ERROR] as const;

interface Case {
  name: string;
  /** The packet after a successful CONNECT (v = 4 or 5). */
  bytes: (v: 4 | 5) => number[] | Buffer;
  /** 5.0 reason codes the DISCONNECT may carry. */
  reasons: readonly number[];
  /** Only for this version. */
  only?: 4 | 5;
}

/** PUBLISH body pieces: topic, packet id when QoS > 0, empty 5.0 properties. */
function pubBody(v: 4 | 5, topic: Buffer | string, qos: number, id = 1): number[] {
  return [...str(topic), ...(qos > 0 ? [id >> 8, id & 0xff] : []), ...(v === 5 ? [0] : []), ...Buffer.from('payload')];
}

const t = (s: string): string => `${topicRoot('mal')}/${s}`;

const CASES: Array<Case & { ids: (v: 4 | 5) => string }> = [
  {
    ids: (v) => (v === 4 ? '[MQTT-4.8.0-1]' : '[MQTT-2.1.3-1]'),
    name: 'a packet of the reserved type 0',
    bytes: () => [0x00, 0x00],
    reasons: EITHER,
  },
  {
    ids: () => '[MQTT-4.8.0-1]',
    name: 'a packet of type 15 (AUTH does not exist in 3.1.1)',
    bytes: () => [0xf0, 0x00],
    reasons: MALFORMED,
    only: 4,
  },
  {
    ids: () => '[MQTT-4.12.0-7]',
    name: 'an AUTH packet without an Authentication Method in CONNECT',
    bytes: () => [0xf0, 0x00],
    reasons: PROTOCOL,
    only: 5,
  },
  {
    ids: (v) => (v === 4 ? 'MQTT 3.1.1 §2.2.3' : '[MQTT-1.5.5-1] MQTT 5.0 §1.5.5'),
    name: 'a Remaining Length longer than four bytes',
    bytes: () => [0x30, 0xff, 0xff, 0xff, 0xff, 0x01],
    reasons: MALFORMED,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-4.8.0-1]' : '[MQTT-4.13.1-1]'),
    name: 'a Remaining Length too short for the fields it announces',
    bytes: () => [0x30, 0x03, 0x00, 0x10, 0x61],
    reasons: MALFORMED,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-2.2.2-2]' : '[MQTT-2.1.3-1]'),
    name: 'a PINGREQ with reserved flag bits set',
    bytes: () => [0xc1, 0x00],
    reasons: MALFORMED,
  },
  {
    ids: () => '[MQTT-3.6.1-1]',
    name: 'a PUBREL with flags 0000',
    bytes: () => [0x60, 0x02, 0x00, 0x01],
    reasons: MALFORMED,
  },
  {
    ids: () => '[MQTT-3.8.1-1]',
    name: 'a SUBSCRIBE with flags 0000',
    bytes: (v) => packet(0x80, [0x00, 0x01, ...(v === 5 ? [0] : []), ...str(t('s')), 0x01]),
    reasons: MALFORMED,
  },
  {
    ids: () => '[MQTT-3.10.1-1]',
    name: 'an UNSUBSCRIBE with flags 0000',
    bytes: (v) => packet(0xa0, [0x00, 0x01, ...(v === 5 ? [0] : []), ...str(t('s'))]),
    reasons: MALFORMED,
  },
  {
    ids: () => '[MQTT-3.14.1-1]',
    name: 'a DISCONNECT with reserved flag bits set',
    bytes: () => [0xe1, 0x00],
    reasons: MALFORMED,
    only: 5,
  },
  {
    ids: () => '[MQTT-3.3.1-4]',
    name: 'a PUBLISH with QoS 3',
    bytes: (v) => packet(0x36, pubBody(v, t('q3'), 3)),
    reasons: MALFORMED,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-1.5.3-1]' : '[MQTT-1.5.4-1]'),
    name: 'a Topic Name with ill-formed UTF-8 (an encoded surrogate)',
    bytes: (v) => packet(0x30, pubBody(v, Buffer.concat([Buffer.from(t('x')), Buffer.from([0xed, 0xa0, 0x80])]), 0)),
    reasons: MALFORMED,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-1.5.3-1]' : '[MQTT-1.5.4-1]'),
    name: 'a Topic Name with an invalid UTF-8 sequence',
    bytes: (v) => packet(0x30, pubBody(v, Buffer.concat([Buffer.from(t('x')), Buffer.from([0xc3, 0x28])]), 0)),
    reasons: MALFORMED,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-1.5.3-2]' : '[MQTT-1.5.4-2] [MQTT-4.7.3-2]'),
    name: 'a Topic Name containing U+0000',
    bytes: (v) => packet(0x30, pubBody(v, Buffer.concat([Buffer.from(t('x')), Buffer.from([0x00]), Buffer.from('y')]), 0)),
    reasons: MALFORMED,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-2.3.1-1]' : '[MQTT-2.2.1-3]'),
    name: 'a QoS 1 PUBLISH with packet identifier 0',
    bytes: (v) => packet(0x32, pubBody(v, t('id0'), 1, 0)),
    reasons: EITHER,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-2.3.1-1]' : '[MQTT-2.2.1-3]'),
    name: 'a SUBSCRIBE with packet identifier 0',
    bytes: (v) => packet(0x82, [0x00, 0x00, ...(v === 5 ? [0] : []), ...str(t('s')), 0x01]),
    reasons: EITHER,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-3.3.1-2] [MQTT-4.8.0-1]' : '[MQTT-3.3.1-2]'),
    name: 'a QoS 0 PUBLISH with DUP 1',
    bytes: (v) => packet(0x38, pubBody(v, t('dup'), 0)),
    reasons: EITHER,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-3.8.3-3]' : '[MQTT-3.8.3-2]'),
    name: 'a SUBSCRIBE without any Topic Filter',
    bytes: (v) => packet(0x82, [0x00, 0x05, ...(v === 5 ? [0] : [])]),
    reasons: EITHER,
  },
  {
    ids: () => '[MQTT-3.10.3-2]',
    name: 'an UNSUBSCRIBE without any Topic Filter',
    bytes: (v) => packet(0xa2, [0x00, 0x05, ...(v === 5 ? [0] : [])]),
    reasons: EITHER,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-3.8.3-4]' : '[MQTT-3.8.3-5]'),
    name: 'a SUBSCRIBE whose options byte has reserved bits set',
    bytes: (v) => packet(0x82, [0x00, 0x06, ...(v === 5 ? [0] : []), ...str(t('s')), 0xc1]),
    reasons: MALFORMED,
  },
  {
    ids: (v) => (v === 4 ? '[MQTT-3.8.3-4]' : 'MQTT 5.0 §3.8.3.1'),
    name: 'a SUBSCRIBE requesting QoS 3',
    bytes: (v) => packet(0x82, [0x00, 0x07, ...(v === 5 ? [0] : []), ...str(t('s')), 0x03]),
    reasons: EITHER,
  },
  {
    ids: () => 'MQTT 5.0 §3.8.3.1',
    name: 'a SUBSCRIBE with Retain Handling 3',
    bytes: () => packet(0x82, [0x00, 0x08, 0, ...str(t('s')), 0x31]),
    reasons: EITHER,
    only: 5,
  },
  {
    ids: () => 'MQTT 5.0 §2.2.2.2',
    name: 'a PUBLISH carrying a property PUBLISH does not have (Session Expiry Interval)',
    bytes: () => packet(0x30, [...str(t('p')), ...props(0x11, 0, 0, 0, 5), ...Buffer.from('x')]),
    reasons: EITHER,
    only: 5,
  },
  {
    ids: () => 'MQTT 5.0 §3.3.2.3.9',
    name: 'a PUBLISH with the Content Type property twice',
    bytes: () => packet(0x30, [...str(t('p')), ...props(0x03, ...str('a'), 0x03, ...str('b')), ...Buffer.from('x')]),
    reasons: EITHER,
    only: 5,
  },
  {
    ids: () => 'MQTT 5.0 §2.2.2.1',
    name: 'a PUBLISH whose Property Length runs past the packet',
    bytes: () => packet(0x30, [...str(t('p')), 0x20, 0x01, 0x01]),
    reasons: MALFORMED,
    only: 5,
  },
];

describe('Malformed input', { concurrency: true }, () => {
  withHub((h) => (hub = h));

  for (const v of [4, 5] as const) {
    const V = v === 4 ? '3.1.1' : '5.0';

    test(`[MQTT-3.1.0-1] [MQTT-3.1.4-1] ${V}: garbage bytes instead of a CONNECT close the connection; others are unaffected`, async () => {
      const raw = await RawClient.open(hub, { protocolVersion: v });
      raw.sendBytes(Buffer.from('GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n'));
      await expectConnectRefused(raw);
      await assertOthersUnaffected(hub);
    });

    for (const c of CASES) {
      if (c.only && c.only !== v) continue;
      test(`${c.ids(v)} ${V}: ${c.name} closes the connection${v === 5 ? ' (DISCONNECT ' + c.reasons.map((r) => '0x' + r.toString(16)).join('/') + ')' : ''}; others are unaffected`, async () => {
        const { client: raw } = await rawConnect(hub, v);
        raw.sendBytes(c.bytes(v));
        await expectServerDisconnect(raw, c.reasons, { required: !hub.external });
        await assertOthersUnaffected(hub);
      });
    }

    const willQosIds = v === 4 ? '[MQTT-3.1.2-11] [MQTT-3.1.4-1]' : '[MQTT-3.1.2-11] [MQTT-3.1.4-1]';
    test(`${willQosIds} ${V}: a CONNECT with Will Flag 0 but a Will QoS is refused`, async () => {
      const raw = await RawClient.open(hub, { protocolVersion: v });
      raw.sendBytes(packet(0x10, [...str('MQTT'), v, 0x0a, 0, 30, ...(v === 5 ? [0] : []), ...str(uid('wq'))]));
      await expectConnectRefused(raw, EITHER);
    });

    const willQos3Ids = v === 4 ? '[MQTT-3.1.2-14]' : 'MQTT 5.0 §3.1.2.6';
    test(`${willQos3Ids} ${V}: a CONNECT with Will QoS 3 is refused`, async () => {
      const raw = await RawClient.open(hub, { protocolVersion: v });
      const willProps = v === 5 ? [0] : [];
      raw.sendBytes(
        packet(0x10, [...str('MQTT'), v, 0x1e, 0, 30, ...(v === 5 ? [0] : []), ...str(uid('wq')), ...willProps, ...str('will/t'), ...str('w')]),
      );
      await expectConnectRefused(raw, EITHER);
    });

    test(`[MQTT-1.5.3-3] [MQTT-1.5.4-3] ${V}: U+FEFF in a topic is kept, never stripped: it names a different topic`, async () => {
      const root = topicRoot();
      const bom = `${root}/\uFEFFa`;
      const { client } = await connect(hub, { protocolVersion: v });
      const log = collect(client);
      await client.subscribeAsync(bom, { qos: 1 });
      await client.publishAsync(`${root}/a`, 'plain', { qos: 1 });
      await client.publishAsync(bom, 'with bom', { qos: 1 });
      await log.waitFor(1);
      await log.expectAtMost(1, 300);
      assert.deepEqual(log.payloads(), ['with bom']);
      await closeAll(client);
    });
  }

  test('[MQTT-3.1.2-22] 3.1.1: a CONNECT with the Password Flag but not the User Name Flag is refused', async () => {
    const raw = await RawClient.open(hub, { protocolVersion: 4 });
    raw.sendBytes(packet(0x10, [...str('MQTT'), 4, 0x42, 0, 30, ...str(uid('pw')), ...str('secret')]));
    await expectConnectRefused(raw);
  });

  test('MQTT 5.0 §3.1.2.11.3: a CONNECT with Receive Maximum 0 is a protocol error', async () => {
    const raw = await RawClient.open(hub, { protocolVersion: 5 });
    raw.sendBytes(packet(0x10, [...str('MQTT'), 5, 0x02, 0, 30, ...props(0x21, 0, 0), ...str(uid('rm'))]));
    await expectConnectRefused(raw, EITHER);
  });

  test('MQTT 5.0 §3.1.2.11.4: a CONNECT with Maximum Packet Size 0 is a protocol error', async () => {
    const raw = await RawClient.open(hub, { protocolVersion: 5 });
    raw.sendBytes(packet(0x10, [...str('MQTT'), 5, 0x02, 0, 30, ...props(0x27, 0, 0, 0, 0), ...str(uid('mp'))]));
    await expectConnectRefused(raw, EITHER);
  });

  test('[MQTT-4.13.1-1] 5.0: many malformed connections at once leave the broker serving everyone', async () => {
    const bad = await Promise.all(Array.from({ length: 20 }, () => rawConnect(hub, 5)));
    const kinds = [[0x00, 0x00], [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], [0x30, 0x03, 0x00, 0x10, 0x61], [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01], [0x60, 0x02, 0x00, 0x01]];
    for (const [i, { client }] of bad.entries()) client.sendBytes(kinds[i % kinds.length]!);
    await Promise.all(bad.map(({ client }) => client.expectClose(4000)));
    await assertOthersUnaffected(hub);
  });
});
