// The errors of the time-series chunk codec. Each code is stable: callers (the store, the API)
// may branch on it, so a retired code is never reused for another condition.

export type TsdbCodecErrorCode =
  /** The bytes end before the chunk does (a truncated read or write). */
  | 'TSDB_CHUNK_TRUNCATED'
  /** The bytes cannot be a chunk this codec wrote: bad header, impossible field or trailing bytes. */
  | 'TSDB_CHUNK_CORRUPT'
  /** The chunk was written by a format version this codec does not read. */
  | 'TSDB_CHUNK_VERSION'
  /** A timestamp is earlier than the one before it: chunks hold points in time order. */
  | 'TSDB_UNSORTED'
  /** A point the format cannot hold: a timestamp that is not an integer within ±2^52 ms, a value that does not match the series type, mismatched lengths or too many points. */
  | 'TSDB_BAD_POINT';

export class TsdbCodecError extends Error {
  readonly code: TsdbCodecErrorCode;
  constructor(code: TsdbCodecErrorCode, message: string) {
    super(message);
    this.name = 'TsdbCodecError';
    this.code = code;
  }
}

export function corrupt(message: string): TsdbCodecError {
  return new TsdbCodecError('TSDB_CHUNK_CORRUPT', `corrupt chunk: ${message}`);
}

export function badPoint(message: string): TsdbCodecError {
  return new TsdbCodecError('TSDB_BAD_POINT', message);
}
