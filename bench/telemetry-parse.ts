// Telemetry ingest parsing throughput: payloads/s and values/s through createIngestor().ingest()
// (mapping match, one decode, flatten/resolve, points) for a 10-value JSON object, a 10-record
// SenML JSON Pack and the same Pack in SenML CBOR, 1,000 devices. Prints one JSON line.
//
//   node --import tsx bench/telemetry-parse.ts [--seconds 2]
import { Encoder } from 'cbor-x';
import type { Options as CborOptions } from 'cbor-x';

// Plain CBOR maps, as devices send them: cbor-x would otherwise tag a Map with 259 and encode
// objects as its records extension.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, useTag259ForMaps: false } as CborOptions);
const encode = (v: unknown): Buffer => cbor.encode(v);
import { createIngestor } from '../src/core/telemetry/ingest/index.js';
import type { TelemetryMapping } from '../src/core/telemetry/ingest/index.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const SECONDS = arg('seconds', 2);
const DEVICES = 1000;
const VARIANTS = 4096; // distinct payloads, cycled
const NAMES = ['temp', 'hum', 'pres', 'co2', 'pm25', 'pm10', 'voc', 'lux', 'noise', 'batt'];

// A deterministic PRNG so every run measures the same workload.
let seed = 0x9e3779b9;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
/** Sensor-like short decimals. */
function reading(i: number): number {
  return Math.round((10 * i + rnd() * 50) * 100) / 100;
}

const mappings: TelemetryMapping[] = [
  { filter: 'devices/{deviceId}/telemetry', format: 'json' },
  { filter: 'devices/{deviceId}/senml', format: 'senml-json' },
  { filter: 'devices/{deviceId}/senml-cbor', format: 'senml-cbor' },
];
const ingestor = createIngestor(mappings);

interface Case {
  topics: string[];
  payloads: Buffer[];
}

function build(kind: 'json' | 'senml' | 'senml-cbor'): Case {
  const topics: string[] = [];
  const payloads: Buffer[] = [];
  const suffix = kind === 'json' ? 'telemetry' : kind;
  for (let i = 0; i < VARIANTS; i++) {
    topics.push(`devices/dev-${i % DEVICES}/${suffix}`);
    const ts = 1_700_000_000_000 + i * 1000;
    if (kind === 'json') {
      const o: Record<string, number> = { ts };
      NAMES.forEach((n, k) => (o[n] = reading(k)));
      payloads.push(Buffer.from(JSON.stringify(o)));
    } else {
      const records = NAMES.map((n, k) => (k === 0 ? { bn: `urn:dev:mac:${i % DEVICES}:`, bt: ts / 1000, n, v: reading(k) } : { n, v: reading(k) }));
      if (kind === 'senml') payloads.push(Buffer.from(JSON.stringify(records)));
      else {
        const labels: Record<string, number> = { bn: -2, bt: -3, n: 0, v: 2 };
        payloads.push(encode(records.map((r) => new Map(Object.entries(r).map(([k, v]) => [labels[k]!, v] as [number, unknown])))));
      }
    }
  }
  return { topics, payloads };
}

function run(c: Case): { payloadsPerSec: number; valuesPerSec: number; bytesPerPayload: number } {
  const now = 1_700_000_000_000;
  // Warm up, and check the case is what it claims: 10 points, no dead letters.
  for (let i = 0; i < 20_000; i++) {
    const r = ingestor.ingest(c.topics[i % VARIANTS]!, c.payloads[i % VARIANTS]!, now)!;
    if (r.points.length !== 10 || r.deadLetters.length !== 0) throw new Error(`bench payload gave ${r.points.length} points, ${r.deadLetters.length} dead letters`);
  }
  let payloads = 0;
  let values = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(SECONDS * 1e9));
  let t = t0;
  while (t < end) {
    for (let k = 0; k < 1000; k++) {
      const i = payloads % VARIANTS;
      values += ingestor.ingest(c.topics[i]!, c.payloads[i]!, now)!.points.length;
      payloads++;
    }
    t = process.hrtime.bigint();
  }
  const sec = Number(t - t0) / 1e9;
  const bytes = c.payloads.reduce((s, b) => s + b.length, 0) / VARIANTS;
  return { payloadsPerSec: Math.round(payloads / sec), valuesPerSec: Math.round(values / sec), bytesPerPayload: Math.round(bytes) };
}

const result = {
  bench: 'telemetry-parse',
  node: process.version,
  seconds: SECONDS,
  devices: DEVICES,
  valuesPerPayload: NAMES.length,
  json: run(build('json')),
  senmlJson: run(build('senml')),
  senmlCbor: run(build('senml-cbor')),
};
console.log(JSON.stringify(result));
