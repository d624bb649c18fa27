// Property tests: decode(encode(p)) = p for every packet type of MQTT 3.1 / 3.1.1 / 5.0, and the
// result does not depend on how the byte stream is cut into chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MqttParser } from './parser.js';
import { encode } from './encoder.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { connectArb, normalise, packetArb } from '../../../test/fuzz/arbitraries.js';

function decodeAll(chunks: Buffer[], version: ProtocolVersion): Packet[] {
  const out: Packet[] = [];
  const parser = new MqttParser((p) => out.push(p), 1 << 24);
  parser.version = version;
  for (const c of chunks) parser.feed(c);
  assert.equal(parser.buffered, 0, 'no bytes left over');
  return out;
}

for (const version of [4, 5] as const) {
  test(`MQTT ${version === 5 ? '5.0' : '3.1.1'}: decode(encode(p)) equals p for every packet type`, () => {
    fc.assert(
      fc.property(packetArb(version), (p) => {
        const wire = encode(p, p.type === 1 ? p.protocolVersion : version);
        const [decoded, ...rest] = decodeAll([wire], version);
        assert.equal(rest.length, 0);
        assert.deepStrictEqual(normalise(decoded!), p);
      }),
      { numRuns: 3000 },
    );
  });

  test(`MQTT ${version === 5 ? '5.0' : '3.1.1'}: byte-at-a-time and random cuts decode the same packets as one chunk`, () => {
    fc.assert(
      fc.property(fc.array(packetArb(version), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (packets, cuts) => {
        // Encode each packet in the version the parser will be in when it reaches it.
        let v: ProtocolVersion = version;
        const frames = packets.map((p) => {
          if (p.type === 1) v = p.protocolVersion;
          return encode(p, v);
        });
        const whole = Buffer.concat(frames);
        const once = decodeAll([whole], version);
        assert.equal(once.length, packets.length);
        assert.deepStrictEqual(once.map(normalise), packets);
        // A PUBLISH's frame is its bytes as received.
        once.forEach((p, i) => {
          if (p.type === 3) assert.deepStrictEqual(p.frame, frames[i]);
        });

        const bytewise = decodeAll([...whole].map((b) => Buffer.from([b])), version);
        assert.deepStrictEqual(bytewise.map(normalise), packets);

        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let last = 0;
        for (const c of points) {
          pieces.push(whole.subarray(last, c));
          last = c;
        }
        pieces.push(whole.subarray(last));
        const cut = decodeAll(pieces, version);
        assert.deepStrictEqual(cut.map(normalise), packets);
        cut.forEach((p, i) => {
          if (p.type === 3) assert.deepStrictEqual(p.frame, frames[i]);
        });
      }),
      { numRuns: 500 },
    );
  });
}

test('MQTT 3.1 (MQIsdp, level 3) CONNECT round-trips and sets the parser to level 3', () => {
  fc.assert(
    fc.property(connectArb(3), (p) => {
      const out: Packet[] = [];
      const parser = new MqttParser((x) => out.push(x), 1 << 20);
      parser.feed(encode(p, 3));
      assert.deepStrictEqual(out.map(normalise), [p]);
      assert.equal(parser.version, 3);
    }),
    { numRuns: 300 },
  );
});

test('a CONNECT switches the parser to the version it names: 5.0 after a 3.1.1 default', () => {
  fc.assert(
    fc.property(connectArb(5), (p) => {
      const parser = new MqttParser(() => {}, 1 << 20);
      assert.equal(parser.version, 4);
      parser.feed(encode(p, 5));
      assert.equal(parser.version, 5);
    }),
    { numRuns: 100 },
  );
});
