// The data shapes of telemetry ingestion, shared by the parsers and re-exported from index.ts.

/** One measurement of one series (device, metric). */
export interface TelemetryPoint {
  device: string;
  metric: string;
  /** Epoch milliseconds. */
  ts: number;
  /** Any float64 (CBOR can carry NaN and ±Infinity; they are kept), or a boolean. */
  value: number | boolean;
  /** The unit, when the payload names one (SenML `u`/`bu`, RFC 8428 §4.5.2). */
  unit?: string;
}

/** A part of a payload that was not turned into points, with the reason. */
export interface DeadLetter {
  /** undefined when the topic gave no usable device id. */
  device: string | undefined;
  topic: string;
  reason: string;
  /**
   * The field concerned (dotted metric path, SenML record name, or the timestamp field whose
   * bad value refused the whole message); absent when the message as a whole is refused.
   */
  field?: string;
}

export interface IngestResult {
  points: TelemetryPoint[];
  deadLetters: DeadLetter[];
}

/** Where the parsers put what they find: one per ingested payload, no per-field closures. */
export interface Sink {
  readonly device: string;
  readonly topic: string;
  /** The hub's receive time (epoch ms): the time of points whose payload gives none, and "now" for SenML relative times. */
  readonly receivedAt: number;
  /** Strings (JSON/CBOR text, CBOR byte strings, SenML vs/vd) are dead letters unless this is true. */
  readonly ignoreStrings: boolean;
  readonly points: TelemetryPoint[];
  readonly deadLetters: DeadLetter[];
}

export function deadLetter(sink: Sink, reason: string, field?: string): void {
  const d: DeadLetter = { device: sink.device, topic: sink.topic, reason };
  if (field !== undefined) d.field = field;
  sink.deadLetters.push(d);
}
