// Fuzz properties of the MQTT decoder, shared by the bounded test run (codec.fuzz.test.ts) and
// the long run (long-fuzz.ts): on any bytes, random or mutated from valid frames, the parser
// either delivers packets or throws MqttProtocolError — never another error, never a hang —
// and whatever it accepts the encoder can write back to the same packets.
import fc from 'fast-check';
import { MqttParser } from '../../src/codec/mqtt/parser.js';
import { encode } from '../../src/codec/mqtt/encoder.js';
import { MqttProtocolError } from '../../src/codec/mqtt/packets.js';
import type { Packet, ProtocolVersion } from '../../src/codec/mqtt/packets.js';
import { normalise, packetArb } from './arbitraries.js';

const MAX_PACKET = 1 << 16;

interface Outcome {
  packets: Packet[];
  /** Parser version before each delivered packet was decoded. */
  versions: ProtocolVersion[];
  error: MqttProtocolError | undefined;
}

/** Feeds `chunks`; any throw other than MqttProtocolError fails the property. */
export function run(chunks: Buffer[], version: ProtocolVersion): Outcome {
  const packets: Packet[] = [];
  const versions: ProtocolVersion[] = [];
  let before: ProtocolVersion = version;
  const parser = new MqttParser((p) => {
    packets.push(p);
    versions.push(before);
    before = parser.version;
  }, MAX_PACKET);
  parser.version = version;
  let error: MqttProtocolError | undefined;
  try {
    for (const c of chunks) parser.feed(c);
  } catch (e) {
    if (!(e instanceof MqttProtocolError)) throw new Error(`decoder threw a non-protocol error: ${String(e)}`, { cause: e });
    if (typeof e.reasonCode !== 'number' || e.reasonCode < 0x80) throw new Error(`bad reason code ${e.reasonCode}`);
    error = e;
  }
  return { packets, versions, error };
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  out.push(buf.subarray(last));
  return out;
}

/** Same verdict whole and in pieces; accepted packets re-encode to themselves. */
function check(bytes: Buffer, cuts: number[], version: ProtocolVersion): void {
  const whole = run([bytes], version);
  const pieces = run(split(bytes, cuts), version);
  if (whole.packets.length !== pieces.packets.length || (whole.error === undefined) !== (pieces.error === undefined)) {
    throw new Error('chunking changed the outcome');
  }
  if (whole.error && pieces.error && (whole.error.reasonCode !== pieces.error.reasonCode || whole.error.statement !== pieces.error.statement)) {
    throw new Error(`chunking changed the error: ${whole.error.message} vs ${pieces.error.message}`);
  }
  whole.packets.forEach((p, i) => {
    const v = p.type === 1 ? p.protocolVersion : whole.versions[i]!;
    const again = run([encode(p, v)], whole.versions[i]!);
    if (again.error || again.packets.length !== 1) throw new Error(`re-encoded packet not accepted: ${again.error?.message}`);
    const a = JSON.stringify(normalise(again.packets[0]!));
    const b = JSON.stringify(normalise(p));
    if (a !== b) throw new Error(`re-encoding changed the packet:\n${b}\n${a}`);
  });
}

const versionArb = fc.constantFrom<ProtocolVersion>(4, 5);
const cutsArb = fc.array(fc.nat(), { maxLength: 8 });

/** Random bytes, often starting with a plausible first byte. */
export const randomBytesProperty = fc.property(
  versionArb,
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 127 }), fc.uint8Array({ maxLength: 200 })).map(([b0, len, rest]) => Uint8Array.from([b0, len, ...rest])),
  ),
  cutsArb,
  (version, bytes, cuts) => check(Buffer.from(bytes), cuts, version),
);

type Mutation = { kind: 'flip' | 'set' | 'insert' | 'delete' | 'truncate'; at: number; value: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation['kind']>('flip', 'set', 'insert', 'delete', 'truncate'),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
});

function mutate(buf: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at] = b[at]! ^ (1 << (m.value & 7));
        break;
      case 'set':
        b[at] = m.value;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      default:
        b = b.subarray(0, at);
    }
  }
  return b;
}

/** Valid frames of every packet type with a few mutations applied. */
export const mutatedFramesProperty = fc.property(
  versionArb.chain((v) => fc.tuple(fc.constant(v), fc.array(packetArb(v as 4 | 5), { minLength: 1, maxLength: 4 }))),
  fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
  cutsArb,
  ([version, packets], muts, cuts) => {
    let v: ProtocolVersion = version;
    const wire = Buffer.concat(
      packets.map((p) => {
        if (p.type === 1) v = p.protocolVersion;
        return encode(p, v);
      }),
    );
    check(mutate(wire, muts), cuts, version);
  },
);
