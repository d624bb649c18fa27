// A chunk: the points of one series over a stretch of time, sealed into bytes.
//
//   byte 0    format version (1)
//   byte 1    value type (high nibble: 0 float, 1 int, 2 bool) | value encoding (low nibble:
//             0 Gorilla XOR, 1 decimal)
//   varuint   point count (LEB128)
//   bits      timestamps (timestamps.ts), then values (xor-values.ts or decimal-values.ts),
//             zero-padded to a whole byte
//   4 bytes   CRC-32 of all the bytes before it, big-endian (crc32.ts)
//
// The encoder sizes both value encodings exactly and writes the smaller (ties go to XOR), so the
// choice is per chunk and always lossless. The decoder rejects damaged bytes with a TsdbCodecError:
// the checksum catches corruption, and independently of it every field is range-checked and every
// loop is bounded by the declared count, itself bounded by the bytes present, so even bytes with
// a matching checksum cannot make it hang, over-allocate or throw anything else.
import { BitReader, BitWriter } from './bits.js';
import { decodeDecimalValues, encodeDecimalValues, planDecimal } from './decimal-values.js';
import type { DecimalPlan } from './decimal-values.js';
import { crc32 } from './crc32.js';
import { TsdbCodecError, badPoint, corrupt } from './errors.js';
import { wordsOf } from './float-words.js';
import { MAX_ABS_TIMESTAMP, decodeTimestamps, encodeTimestamps, timeUnit } from './timestamps.js';
import { decodeXorValues, encodeXorValues, xorValueBits } from './xor-values.js';

export const CHUNK_FORMAT_VERSION = 1;
/** Most points one chunk may hold; far above any sensible chunk size, it bounds a decoder's allocation. */
export const MAX_CHUNK_POINTS = 1 << 20;

export type ValueType = 'float' | 'int' | 'bool';
export type ValueEncoding = 'xor' | 'decimal';

const CHECKSUM_BYTES = 4;
const MIN_CHUNK_BYTES = 3 + CHECKSUM_BYTES; // version, tag, count 0, checksum

const TYPE_IDS: Record<ValueType, number> = { float: 0, int: 1, bool: 2 };
const TYPES: readonly ValueType[] = ['float', 'int', 'bool'];
const ENCODINGS: readonly ValueEncoding[] = ['xor', 'decimal'];

export interface EncodeOptions {
  /** Type of the values: ints must be integers, bools 0 or 1. Default 'float'. */
  valueType?: ValueType;
  /** Force a value encoding (benches, tests); default: whichever is smaller. */
  values?: 'auto' | ValueEncoding;
  /** 'gcd' (default) counts timestamp deltas in the chunk's GCD; 'ms' is plain Gorilla (unit 1 ms). */
  timeUnit?: 'gcd' | 'ms';
}

export interface DecodedChunk {
  timestamps: Float64Array;
  values: Float64Array;
  valueType: ValueType;
  encoding: ValueEncoding;
}

export interface ChunkStats {
  points: number;
  bytes: number;
  valueType: ValueType;
  encoding: ValueEncoding;
  /** Timestamp of the first point, NaN when the chunk is empty. */
  firstTimestamp: number;
}

function checkPoints(timestamps: ArrayLike<number>, values: Float64Array, n: number, valueType: ValueType): void {
  if (n > MAX_CHUNK_POINTS) throw badPoint(`a chunk holds at most ${MAX_CHUNK_POINTS} points, got ${n}`);
  let prev = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = timestamps[i]!;
    if (!Number.isInteger(t) || Math.abs(t) > MAX_ABS_TIMESTAMP) throw badPoint(`timestamp ${i} (${t}) is not an integer millisecond within ±2^52`);
    if (t < prev) throw new TsdbCodecError('TSDB_UNSORTED', `timestamp ${i} (${t}) is before the previous one (${prev}): sort the points first (sortPoints)`);
    prev = t;
  }
  if (valueType === 'int') {
    for (let i = 0; i < n; i++) if (!Number.isInteger(values[i]!)) throw badPoint(`value ${i} (${values[i]}) of an int series is not an integer`);
  } else if (valueType === 'bool') {
    for (let i = 0; i < n; i++) if (values[i] !== 0 && values[i] !== 1) throw badPoint(`value ${i} (${values[i]}) of a bool series is not 0 or 1`);
  } else if (TYPE_IDS[valueType] === undefined) {
    throw badPoint(`unknown value type ${String(valueType)}`);
  }
}

/**
 * Encodes points sorted by time (equal timestamps allowed) into a chunk. Timestamps are integer
 * milliseconds; values any float64 (Float64Array input keeps NaN payloads, which plain arrays may not).
 */
export function encodeChunk(timestamps: ArrayLike<number>, values: ArrayLike<number>, options: EncodeOptions = {}): Uint8Array {
  const n = timestamps.length;
  if (values.length !== n) throw badPoint(`${n} timestamps but ${values.length} values`);
  const vals = values instanceof Float64Array ? values : Float64Array.from(values);
  const valueType = options.valueType ?? 'float';
  checkPoints(timestamps, vals, n, valueType);
  const words = wordsOf(vals);

  const mode = options.values ?? 'auto';
  let plan: DecimalPlan | null = null;
  let encoding: ValueEncoding = 'xor';
  if (mode === 'decimal') {
    plan = planDecimal(vals, n);
    encoding = 'decimal';
  } else if (mode === 'auto') {
    const xorBits = xorValueBits(words, n);
    plan = planDecimal(vals, n, xorBits);
    if (plan !== null && plan.bits < xorBits) encoding = 'decimal';
  }

  const w = new BitWriter(16 + n * 3);
  w.writeBits(CHUNK_FORMAT_VERSION, 8);
  w.writeBits((TYPE_IDS[valueType] << 4) | (encoding === 'decimal' ? 1 : 0), 8);
  w.writeVarUint(n);
  encodeTimestamps(w, timestamps, n, options.timeUnit === 'ms' ? 1 : timeUnit(timestamps, n));
  if (encoding === 'decimal') encodeDecimalValues(w, vals, words, n, plan!);
  else encodeXorValues(w, words, n);
  const bytes = w.finish(CHECKSUM_BYTES);
  writeChecksum(bytes);
  return bytes;
}

interface Header {
  reader: BitReader;
  points: number;
  valueType: ValueType;
  encoding: ValueEncoding;
}

/** Stores the CRC-32 of all but the last 4 bytes in the last 4 bytes. */
export function writeChecksum(bytes: Uint8Array): void {
  const end = bytes.length - CHECKSUM_BYTES;
  const crc = crc32(bytes, 0, end);
  bytes[end] = crc >>> 24;
  bytes[end + 1] = crc >>> 16;
  bytes[end + 2] = crc >>> 8;
  bytes[end + 3] = crc;
}

function readHeader(bytes: Uint8Array): Header {
  if (!(bytes instanceof Uint8Array)) throw corrupt('a chunk is a Uint8Array');
  // Every format version ends with this checksum, so it is checked before the version is read:
  // a damaged version byte is reported as damage, not as a format from the future.
  if (bytes.length < MIN_CHUNK_BYTES) throw new TsdbCodecError('TSDB_CHUNK_TRUNCATED', `truncated chunk: ${bytes.length} bytes, a chunk has at least ${MIN_CHUNK_BYTES}`);
  const end = bytes.length - CHECKSUM_BYTES;
  const stored = ((bytes[end]! << 24) | (bytes[end + 1]! << 16) | (bytes[end + 2]! << 8) | bytes[end + 3]!) >>> 0;
  if (crc32(bytes, 0, end) !== stored) throw corrupt('checksum mismatch (damaged, truncated or extended bytes)');
  if (bytes[0] !== CHUNK_FORMAT_VERSION) {
    throw new TsdbCodecError('TSDB_CHUNK_VERSION', `chunk format version ${bytes[0]} is not supported (this codec reads ${CHUNK_FORMAT_VERSION})`);
  }
  const r = new BitReader(bytes.subarray(0, end), 8);
  const tag = r.readBits(8);
  const valueType = TYPES[tag >>> 4];
  const encoding = ENCODINGS[tag & 15];
  if (valueType === undefined) throw corrupt(`unknown value type id ${tag >>> 4}`);
  if (encoding === undefined) throw corrupt(`unknown value encoding id ${tag & 15}`);
  const points = r.readVarUint();
  // Every point after the first costs at least one timestamp bit and one value bit.
  if (points > MAX_CHUNK_POINTS || (points > 1 && points - 1 > r.bitsLeft / 2)) {
    throw corrupt(`${points} points cannot fit in ${bytes.length} bytes`);
  }
  return { reader: r, points, valueType, encoding };
}

export function decodeChunk(bytes: Uint8Array): DecodedChunk {
  const { reader: r, points: n, valueType, encoding } = readHeader(bytes);
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  decodeTimestamps(r, n, timestamps);
  if (encoding === 'decimal') decodeDecimalValues(r, n, values, wordsOf(values));
  else decodeXorValues(r, n, wordsOf(values));
  // The writer pads the last byte with zeros; anything more is not a chunk it wrote.
  if (r.bitsLeft >= 8) throw corrupt(`${r.bitsLeft >>> 3} bytes after the end of the chunk`);
  if (r.bitsLeft > 0 && r.readBits(r.bitsLeft) !== 0) throw corrupt('non-zero padding after the last field');
  if (valueType === 'int') {
    for (let i = 0; i < n; i++) if (!Number.isInteger(values[i]!)) throw corrupt(`value ${i} of an int chunk is not an integer`);
  } else if (valueType === 'bool') {
    for (let i = 0; i < n; i++) if (values[i] !== 0 && values[i] !== 1) throw corrupt(`value ${i} of a bool chunk is not 0 or 1`);
  }
  return { timestamps, values, valueType, encoding };
}

/** Points, size, types and first timestamp, read from the header without decoding the chunk. */
export function chunkStats(bytes: Uint8Array): ChunkStats {
  const { reader, points, valueType, encoding } = readHeader(bytes);
  let firstTimestamp = NaN;
  if (points > 0) {
    firstTimestamp = reader.readInt64();
    if (!(Math.abs(firstTimestamp) <= MAX_ABS_TIMESTAMP)) throw corrupt(`first timestamp ${firstTimestamp} is outside ±2^52 ms`);
  }
  return { points, bytes: bytes.length, valueType, encoding, firstTimestamp };
}
