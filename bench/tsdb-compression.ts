// Time-series compression bench: bytes per (timestamp, value) point on the Beijing multi-site
// air-quality data (12 stations × 11 numeric metrics, hourly, 2013–2017; see
// ../shared/data/README-beijing_multisite_air_quality_2013-2017.md), for plain Gorilla (timestamp
// delta-of-delta in ms + XOR floats, Pelkonen et al. PVLDB 2015 §4.1) and for our per-chunk choice
// of XOR or decimal values (src/codec/tsdb). Both count whole chunks (headers included), and every
// chunk is decoded and compared bit for bit. Prints one JSON line.
//   --data PATH | TSDB_BENCH_DATA   the CSV (default ../shared/data/… beside the repository)
//   --chunks 120,240,1024 | TSDB_BENCH_CHUNKS   chunk sizes in points; the first is the one timed
//   --rounds N | TSDB_BENCH_ROUNDS  timing rounds, best kept (default 3)
// A missing data file prints {"skipped": …} and exits 0, so the bench never fails on a machine
// without the data set.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeChunk, encodeChunk } from '../src/codec/tsdb/index.js';
import type { EncodeOptions } from '../src/codec/tsdb/index.js';
import { timestampBits, timeUnit } from '../src/codec/tsdb/timestamps.js';

const METRICS = ['PM2.5', 'PM10', 'SO2', 'NO2', 'CO', 'O3', 'TEMP', 'PRES', 'DEWP', 'RAIN', 'WSPM'] as const;
const TARGET_BYTES_PER_POINT = 1.37; // Gorilla's headline figure (§4.1), the target
const BEIJING_UTC_OFFSET_MS = 8 * 3600_000; // the data's clock is Beijing local time, UTC+8, no DST

function arg(name: string, env: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1]!;
  return process.env[env] ?? fallback;
}

const defaultData = fileURLToPath(new URL('../../shared/data/beijing_multisite_air_quality_2013-2017.csv', import.meta.url));
const dataPath = arg('data', 'TSDB_BENCH_DATA', defaultData);
const chunkSizes = arg('chunks', 'TSDB_BENCH_CHUNKS', '120,240,1024').split(',').map(Number).filter((x) => Number.isInteger(x) && x > 0);
const rounds = Math.max(1, Number(arg('rounds', 'TSDB_BENCH_ROUNDS', '3')) | 0);

interface Series {
  metric: string;
  timestamps: Float64Array;
  values: Float64Array;
}

function load(path: string): { series: Series[]; skippedNA: number; unparsable: number } {
  const lines = readFileSync(path, 'latin1').split(/\r?\n/);
  const header = lines[0]!.split(',').map((s) => s.replace(/"/g, ''));
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`column ${name} not in ${path}`);
    return i;
  };
  const [cy, cm, cd, ch, cs] = [col('year'), col('month'), col('day'), col('hour'), col('station')];
  const metricCols = METRICS.map(col);
  const acc = new Map<string, { metric: string; ts: number[]; vs: number[] }>();
  let skippedNA = 0;
  let unparsable = 0;
  for (let r = 1; r < lines.length; r++) {
    const line = lines[r]!;
    if (line === '') continue;
    const f = line.split(',');
    const t = Date.UTC(Number(f[cy]), Number(f[cm]) - 1, Number(f[cd]), Number(f[ch])) - BEIJING_UTC_OFFSET_MS;
    for (let k = 0; k < METRICS.length; k++) {
      const cell = f[metricCols[k]!]!;
      if (cell === 'NA') {
        skippedNA++; // missing, never read as 0
        continue;
      }
      const v = Number(cell);
      if (cell === '' || Number.isNaN(v)) {
        unparsable++;
        continue;
      }
      const key = `${f[cs]}|${METRICS[k]}`;
      let s = acc.get(key);
      if (s === undefined) acc.set(key, (s = { metric: METRICS[k]!, ts: [], vs: [] }));
      s.ts.push(t);
      s.vs.push(v);
    }
  }
  const series = [...acc.values()].map((s) => ({ metric: s.metric, timestamps: Float64Array.from(s.ts), values: Float64Array.from(s.vs) }));
  return { series, skippedNA, unparsable };
}

interface Chunk {
  metric: string;
  timestamps: Float64Array;
  values: Float64Array;
}

function split(series: Series[], size: number): Chunk[] {
  const out: Chunk[] = [];
  for (const s of series) {
    for (let i = 0; i < s.timestamps.length; i += size) {
      out.push({ metric: s.metric, timestamps: s.timestamps.subarray(i, i + size), values: s.values.subarray(i, i + size) });
    }
  }
  return out;
}

function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const PLAIN_GORILLA: EncodeOptions = { values: 'xor', timeUnit: 'ms' };

function measure(chunks: Chunk[]): Record<string, unknown> {
  const perMetric = new Map<string, { points: number; gorilla: number; ours: number }>();
  let points = 0;
  let gorilla = 0;
  let ours = 0;
  let oursTimestampBits = 0;
  let decimalChunks = 0;
  let lossless = true;
  for (const c of chunks) {
    const g = encodeChunk(c.timestamps, c.values, PLAIN_GORILLA);
    const o = encodeChunk(c.timestamps, c.values);
    for (const bytes of [g, o]) {
      const d = decodeChunk(bytes);
      if (!sameBits(d.timestamps, c.timestamps) || !sameBits(d.values, c.values)) lossless = false;
    }
    if (decodeChunk(o).encoding === 'decimal') decimalChunks++;
    const n = c.timestamps.length;
    oursTimestampBits += timestampBits(c.timestamps, n, timeUnit(c.timestamps, n));
    points += n;
    gorilla += g.length;
    ours += o.length;
    let m = perMetric.get(c.metric);
    if (m === undefined) perMetric.set(c.metric, (m = { points: 0, gorilla: 0, ours: 0 }));
    m.points += n;
    m.gorilla += g.length;
    m.ours += o.length;
  }
  const byMetric: Record<string, { gorilla: number; ours: number }> = {};
  for (const [k, m] of perMetric) byMetric[k] = { gorilla: round3(m.gorilla / m.points), ours: round3(m.ours / m.points) };
  return {
    chunks: chunks.length,
    gorillaBytesPerPoint: round3(gorilla / points),
    oursBytesPerPoint: round3(ours / points),
    oursTimestampBytesPerPoint: round3(oursTimestampBits / 8 / points),
    decimalChunks,
    xorChunks: chunks.length - decimalChunks,
    lossless,
    perMetric: byMetric,
  };
}

/** Best-of-rounds rate of encoding and of decoding every chunk, in points per second. */
function throughput(chunks: Chunk[], options: EncodeOptions): { encode: number; decode: number } {
  let points = 0;
  for (const c of chunks) points += c.timestamps.length;
  const encoded: Uint8Array[] = new Array(chunks.length);
  let bestEncode = 0;
  let bestDecode = 0;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < chunks.length; i++) encoded[i] = encodeChunk(chunks[i]!.timestamps, chunks[i]!.values, options);
    let s = Number(process.hrtime.bigint() - t0) / 1e9;
    bestEncode = Math.max(bestEncode, points / s);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < encoded.length; i++) sink += decodeChunk(encoded[i]!).values.length;
    s = Number(process.hrtime.bigint() - t0) / 1e9;
    bestDecode = Math.max(bestDecode, points / s);
  }
  if (sink !== points * rounds) throw new Error('decode lost points');
  return { encode: Math.round(bestEncode), decode: Math.round(bestDecode) };
}

function main(): void {
  if (!existsSync(dataPath)) {
    console.log(JSON.stringify({ bench: 'tsdb-compression', skipped: `data file not found: ${dataPath}` }));
    return;
  }
  const { series, skippedNA, unparsable } = load(dataPath);
  const points = series.reduce((a, s) => a + s.timestamps.length, 0);
  const bySize: Record<string, Record<string, unknown>> = {};
  for (const size of chunkSizes) bySize[size] = measure(split(series, size));
  const timed = split(series, chunkSizes[0] ?? 120);
  const ours = throughput(timed, {});
  const plain = throughput(timed, PLAIN_GORILLA);
  const first = bySize[chunkSizes[0] ?? 120];
  console.log(
    JSON.stringify({
      bench: 'tsdb-compression',
      data: dataPath,
      series: series.length,
      points,
      skippedNA,
      unparsable,
      targetBytesPerPoint: TARGET_BYTES_PER_POINT,
      meetsTarget: Object.values(bySize).every((r) => (r.oursBytesPerPoint as number) <= TARGET_BYTES_PER_POINT && r.lossless === true),
      chunkSizes: bySize,
      throughput: {
        chunkSize: chunkSizes[0] ?? 120,
        oursEncodePointsPerSec: ours.encode,
        oursDecodePointsPerSec: ours.decode,
        gorillaEncodePointsPerSec: plain.encode,
        gorillaDecodePointsPerSec: plain.decode,
      },
      summary: first === undefined ? undefined : { gorilla: first.gorillaBytesPerPoint, ours: first.oursBytesPerPoint },
    }),
  );
}

main();
