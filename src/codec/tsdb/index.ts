// The time-series chunk codec: pure (no I/O, no clocks), used by the telemetry store.
export { encodeChunk, decodeChunk, chunkStats, CHUNK_FORMAT_VERSION, MAX_CHUNK_POINTS } from './chunk.js';
export type { ChunkStats, DecodedChunk, EncodeOptions, ValueEncoding, ValueType } from './chunk.js';
export { ChunkEncoder } from './chunk-encoder.js';
export { sortPoints } from './sort-points.js';
export { TsdbCodecError } from './errors.js';
export type { TsdbCodecErrorCode } from './errors.js';
export { MAX_ABS_TIMESTAMP } from './timestamps.js';
