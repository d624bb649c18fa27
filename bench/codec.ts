// Codec bench: decode and encode streams of PUBLISH frames (64-byte payload, topics like
// "bench/17/telemetry"), QoS 0 and QoS 1, with our codec and with mqtt-packet (the codec of
// MQTT.js and Aedes). Decoding feeds 64 KiB chunks, as a socket would deliver them, so some
// frames span chunks. Each case alternates the two codecs for a few rounds and keeps each one's
// best round, which damps the noise of a shared machine. Prints one JSON line of operations
// (packets) per second.
//   BENCH_SECONDS  measuring time per round (default 0.35)
import mqttPacket from 'mqtt-packet';
import { MqttParser } from '../src/codec/mqtt/parser.js';
import { encodePublish } from '../src/codec/mqtt/encoder.js';
import type { Packet, ProtocolVersion, QoS } from '../src/codec/mqtt/packets.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.35);
const WARMUP_SECONDS = 0.25;
const ROUNDS = 3;
const FRAMES = 20_000;
const CHUNK = 64 * 1024;
const payload = Buffer.alloc(64, 0x5a);
const topics = Array.from({ length: 100 }, (_, i) => `bench/${i}/telemetry`);

/** Runs `batch` (returning operations done) repeatedly for `seconds`; returns ops/s. */
function rate(batch: () => number, seconds: number): number {
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    ops += batch();
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}

/** Warms both up, then alternates them for ROUNDS rounds; returns each one's best rate. */
function compare(a: () => number, b: () => number): [number, number] {
  rate(a, WARMUP_SECONDS);
  rate(b, WARMUP_SECONDS);
  let bestA = 0;
  let bestB = 0;
  for (let r = 0; r < ROUNDS; r++) {
    bestA = Math.max(bestA, rate(a, SECONDS));
    bestB = Math.max(bestB, rate(b, SECONDS));
  }
  return [Math.round(bestA), Math.round(bestB)];
}

function stream(qos: QoS, version: ProtocolVersion): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < FRAMES; i++) frames.push(encodePublish(topics[i % topics.length]!, payload, qos, false, false, (i % 65_535) + 1, undefined, version));
  const all = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  for (let off = 0; off < all.length; off += CHUNK) chunks.push(all.subarray(off, off + CHUNK));
  return chunks;
}

let sink = 0; // consumed fields, so no work can be optimised away

function oursDecode(chunks: Buffer[], version: ProtocolVersion): () => number {
  let n = 0;
  const parser = new MqttParser((p: Packet) => {
    if (p.type === 3) sink += p.payload.length + p.topic.length;
    n++;
  }, 1 << 20);
  parser.version = version;
  return () => {
    n = 0;
    for (const c of chunks) parser.feed(c);
    return n;
  };
}

function mqttPacketDecode(chunks: Buffer[], version: ProtocolVersion): () => number {
  let n = 0;
  const parser = mqttPacket.parser({ protocolVersion: version });
  parser.on('packet', (p) => {
    if (p.cmd === 'publish') sink += (p.payload as Buffer).length + p.topic.length;
    n++;
  });
  parser.on('error', (e) => {
    throw e;
  });
  return () => {
    n = 0;
    for (const c of chunks) parser.parse(c);
    return n;
  };
}

function oursEncode(qos: QoS, version: ProtocolVersion): () => number {
  return () => {
    for (let i = 0; i < 1000; i++) sink += encodePublish(topics[i % 100]!, payload, qos, false, false, i + 1, undefined, version).length;
    return 1000;
  };
}

function mqttPacketEncode(qos: QoS, version: ProtocolVersion): () => number {
  const opts = { protocolVersion: version };
  return () => {
    for (let i = 0; i < 1000; i++) {
      sink += mqttPacket.generate({ cmd: 'publish', topic: topics[i % 100]!, payload, qos, messageId: i + 1, retain: false, dup: false }, opts).length;
    }
    return 1000;
  };
}

const s0 = stream(0, 4);
const s1 = stream(1, 4);
const s1v5 = stream(1, 5);

const cases: [string, () => number, () => number][] = [
  ['decodeQos0', oursDecode(s0, 4), mqttPacketDecode(s0, 4)],
  ['decodeQos1', oursDecode(s1, 4), mqttPacketDecode(s1, 4)],
  ['decodeQos1v5', oursDecode(s1v5, 5), mqttPacketDecode(s1v5, 5)],
  ['encodeQos0', oursEncode(0, 4), mqttPacketEncode(0, 4)],
  ['encodeQos1', oursEncode(1, 4), mqttPacketEncode(1, 4)],
  ['encodeQos1v5', oursEncode(1, 5), mqttPacketEncode(1, 5)],
];
const ours: Record<string, number> = {};
const mqttPacketResults: Record<string, number> = {};
const speedup: Record<string, number> = {};
for (const [name, a, b] of cases) {
  [ours[name], mqttPacketResults[name]] = compare(a, b);
  speedup[name] = Math.round((ours[name]! / mqttPacketResults[name]!) * 10) / 10;
}

console.log(
  JSON.stringify({
    bench: 'codec',
    unit: 'packets/s',
    payloadBytes: payload.length,
    node: process.version,
    ours,
    mqttPacket: mqttPacketResults,
    speedup,
    sink: sink > 0,
  }),
);
