// Round trips of the lmdb adapter's record and key encodings over generated records: decode(encode(x))
// gives x back, byte for byte for Buffers and in order for user properties [MQTT-3.3.2-18].
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Properties } from '../../codec/mqtt/packets.js';
import type { OutboundRecord, SessionRecord, StoredMessage } from '../../ports/broker-store.js';
import { checkStoreOp } from '../check-store-op.js';
import { put64, Slab } from './binary.js';
import { clientKeyBound, putClientKey, seqOfKey } from './keys.js';
import { decodeOutbound, decodeRetained, decodeSession, encodeOutbound, encodeRetained, encodeSession } from './record-codec.js';

const str = fc.string({ unit: 'binary', maxLength: 40 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const buf = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const qos = fc.constantFrom<0 | 1 | 2>(0, 1, 2);

const properties: fc.Arbitrary<Properties> = fc.record(
  {
    payloadFormatIndicator: fc.integer({ min: 0, max: 1 }),
    messageExpiryInterval: u32,
    contentType: str,
    responseTopic: str,
    correlationData: buf,
    subscriptionIdentifiers: fc.array(fc.integer({ min: 1, max: 268_435_455 }), { maxLength: 4 }),
    willDelayInterval: u32,
    topicAlias: fc.integer({ min: 1, max: 0xffff }),
    userProperties: fc.array(fc.tuple(str, str), { maxLength: 6 }),
  },
  { requiredKeys: [] },
).map((p) => ({ ...p })); // fast-check makes null-prototype objects; the codec returns plain ones

const message: fc.Arbitrary<StoredMessage> = fc
  .record({
    topic: str,
    payload: buf,
    qos,
    retain: fc.boolean(),
    properties: fc.option(properties, { nil: undefined }),
    receivedAt: fc.integer({ min: 0, max: 2 ** 45 }),
    expiresAt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 45 })),
    priority: fc.integer({ min: 0, max: 0xffff }),
    originClientId: str,
  })
  .map(({ properties: p, ...m }) => (p === undefined ? m : { ...m, properties: p }));

const outbound: fc.Arbitrary<OutboundRecord> = fc
  .record({
    seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    message,
    qos,
    subscriptionIds: fc.option(fc.array(fc.integer({ min: 1, max: 268_435_455 }), { maxLength: 3 }), { nil: undefined }),
    packetId: fc.integer({ min: 0, max: 0xffff }),
    state: fc.constantFrom<OutboundRecord['state']>('queued', 'await-puback', 'await-pubrec', 'await-pubcomp'),
  })
  .map(({ subscriptionIds, ...r }) => (subscriptionIds === undefined ? r : { ...r, subscriptionIds }));

const session: fc.Arbitrary<SessionRecord> = fc
  .record({
    clientId: str,
    protocolVersion: fc.constantFrom<3 | 4 | 5>(3, 4, 5),
    expiryInterval: u32,
    disconnectedAt: fc.integer({ min: 0, max: 2 ** 45 }),
    subscriptions: fc.array(
      fc
        .record({
          filter: str,
          qos,
          noLocal: fc.boolean(),
          retainAsPublished: fc.boolean(),
          retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
          subscriptionId: fc.option(fc.integer({ min: 1, max: 268_435_455 }), { nil: undefined }),
        })
        .map(({ subscriptionId, ...s }) => (subscriptionId === undefined ? s : { ...s, subscriptionId })),
      { maxLength: 5 },
    ),
    pendingWill: fc.option(
      fc
        .record({ topic: str, payload: buf, qos, retain: fc.boolean(), delayInterval: u32, properties: fc.option(properties, { nil: undefined }) })
        .map(({ properties: p, ...w }) => (p === undefined ? w : { ...w, properties: p })),
      { nil: undefined },
    ),
    deviceId: fc.option(str, { nil: undefined }),
  })
  .map(({ pendingWill, deviceId, ...s }) => ({
    ...s,
    ...(pendingWill === undefined ? {} : { pendingWill }),
    ...(deviceId === undefined ? {} : { deviceId }),
  }));

/** A record's bytes copied out of the slab, as LMDB hands them back. */
function stored(v: Buffer): Buffer {
  return Buffer.from(v);
}

describe('lmdb record codec', () => {
  // A small slab size is not configurable; many records per run cross slab boundaries anyway.
  const w = new Slab();

  it('round-trips outbound records (the seq travels in the key)', () => {
    fc.assert(
      fc.property(outbound, (r) => {
        checkStoreOp({ op: 'putOutbound', clientId: 'c', record: r }); // the generator makes valid records
        assert.deepStrictEqual(decodeOutbound(stored(encodeOutbound(w, r)), r.seq), r);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips one message shared by many outbound records (fan-out reuses its encoding)', () => {
    fc.assert(
      fc.property(message, fc.array(outbound, { minLength: 2, maxLength: 4 }), (m, rs) => {
        for (const r of rs) {
          const shared = { ...r, message: m };
          assert.deepStrictEqual(decodeOutbound(stored(encodeOutbound(w, shared)), r.seq), shared);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips retained messages and sessions', () => {
    fc.assert(
      fc.property(message, session, (m, s) => {
        assert.deepStrictEqual(decodeRetained(stored(encodeRetained(w, m))), m);
        assert.deepStrictEqual(decodeSession(stored(encodeSession(w, s))), s);
      }),
      { numRuns: 500 },
    );
  });

  it('records a 1 MiB payload that does not fit the current slab', () => {
    const big = { ...(fc.sample(outbound, 1)[0] as OutboundRecord), message: { topic: 't', payload: Buffer.alloc(1 << 20, 7), qos: 1 as const, retain: false, receivedAt: 1, expiresAt: 0, priority: 0, originClientId: 'o' } };
    assert.deepStrictEqual(decodeOutbound(stored(encodeOutbound(w, big)), big.seq), big);
  });

  it('refuses a value of another record kind', () => {
    const m = fc.sample(message, 1)[0]!;
    assert.throws(() => decodeOutbound(stored(encodeRetained(w, m)), 0), /corrupt outbound record/);
    assert.throws(() => decodeSession(Buffer.from([2, 0, 0])), RangeError);
  });
});

describe('lmdb outbound keys', () => {
  function key(clientId: string, seq: number): Buffer {
    const b = Buffer.alloc(clientKeyBound(clientId) + 8);
    return b.subarray(0, put64(b, putClientKey(b, 0, clientId), seq));
  }

  it('sort by seq within a client, seqs up to 2^53 - 1 (MQTT 5.0 §4.6 order)', () => {
    const seq = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(str, seq, seq, (c, a, b) => {
        const ka = key(c, a);
        assert.equal(seqOfKey(ka), a);
        assert.equal(Math.sign(Buffer.compare(ka, key(c, b))), Math.sign(a - b));
      }),
      { numRuns: 1000 },
    );
  });

  it('name long client ids by a digest that still tells them apart', () => {
    const a = key('x'.repeat(500) + 'a', 1);
    const b = key('x'.repeat(500) + 'b', 1);
    assert.equal(a.length, 2 + 32 + 8);
    assert.notDeepEqual(a, b);
  });
});
