// The telemetry service: turns published messages into points of the time-series store and
// answers queries (the HTTP API, the Prometheus read API, the CLI).
//
// On `message.publish` the ingestor parses the payload (src/core/telemetry/ingest); the points go
// to the engine, which applies them to memory at once and writes the turn's points as one WAL
// entry at the end of the turn. The promise of that write is handed to the broker's committer
// (`hold`), so the PUBACK of a QoS 1 message (PUBREC of QoS 2) is sent only once its points are
// durable (issue 5 "Durability"; DESIGN.md "Writes and acks"). Dead letters are published as
// JSON to the dead-letter topic; the service skips what the hub itself publishes there.
import type { Broker } from '../broker/broker.js';
import type { Message } from '../message.js';
import type { Logger } from '../../obs/log.js';
import type { SeriesStore } from '../../ports/series-store.js';
import { SeriesEngine, type AppendResult, type EngineOptions, type PointInput } from './engine.js';
import type { DeadLetter, Ingestor } from './ingest/index.js';
import { checkQuery, listSeries, querySeries, selectSeries, type PointValue, type QuerySpec, type SeriesResult } from './query.js';

/** Longest stretch a query runs before it lets other events in. */
const QUERY_SLICE_MS = 5;

export interface TelemetryServiceOptions {
  lateWindowMs: number;
  chunkMaxPoints: number;
  /** 0 = keep forever. */
  retentionMs: number;
  /** Default '$telemetry/deadletter'. */
  deadLetterTopic?: string;
  /** Default 2 h. */
  chunkMaxSpanMs?: number;
  /** Default 60 s. */
  checkpointIntervalMs?: number;
}

export interface TelemetryServiceDeps {
  broker: Broker;
  store: SeriesStore;
  ingestor: Ingestor;
  log: Logger;
  options: TelemetryServiceOptions;
  /** The device type of a device (schemas, per-type retention), when the registry knows it. */
  deviceTypeOf?: (deviceId: string) => string | undefined;
  /** Retention per device (e.g. by device type or mapping); undefined falls back to retentionMs. */
  retentionFor?: (deviceId: string) => number | undefined;
}

export interface TelemetryCounters {
  messages: number;
  points: number;
  deadLetters: number;
  lateRejected: number;
  kindRejected: number;
  walFailures: number;
}

export interface TelemetryStats {
  series: number;
  points: number;
  /** Encoded sample bytes of sealed and open chunks. */
  bytes: number;
  bytesPerPoint: number;
  /** Bytes the store occupies (LMDB pages in use, WAL and rollups included). */
  diskBytes: number;
}

export interface LatestEntry {
  device: string;
  metric: string;
  ts: number;
  value: PointValue;
}

export const DEFAULT_DEAD_LETTER_TOPIC = '$telemetry/deadletter';

export class TelemetryService {
  readonly deadLetterTopic: string;
  private engine: SeriesEngine | undefined;
  private unlisten: (() => void) | undefined;
  private readonly counts = { messages: 0, points: 0, deadLetters: 0 };

  constructor(private readonly deps: TelemetryServiceDeps) {
    this.deadLetterTopic = deps.options.deadLetterTopic ?? DEFAULT_DEAD_LETTER_TOPIC;
  }

  /** New mappings (config reload): messages from now on are read with `ingestor`. */
  setIngestor(ingestor: Ingestor): void {
    this.deps.ingestor = ingestor;
  }

  /** Open the store (replaying its WAL) and start listening to published messages. */
  async start(): Promise<void> {
    if (this.engine !== undefined) return;
    const o = this.deps.options;
    const opts: Partial<EngineOptions> = { lateWindowMs: o.lateWindowMs, chunkMaxPoints: o.chunkMaxPoints, retentionMs: o.retentionMs };
    if (o.chunkMaxSpanMs !== undefined) opts.chunkMaxSpanMs = o.chunkMaxSpanMs;
    if (o.checkpointIntervalMs !== undefined) opts.checkpointIntervalMs = o.checkpointIntervalMs;
    if (this.deps.retentionFor !== undefined) opts.retentionFor = this.deps.retentionFor;
    this.engine = await SeriesEngine.open(this.deps.store, this.deps.log, opts);
    this.unlisten = this.deps.broker.hooks.on('message.publish', this.onPublish);
  }

  /** Stop listening, write the open chunks (heads) and checkpoint. The store stays open (its owner closes it). */
  async stop(): Promise<void> {
    this.unlisten?.();
    this.unlisten = undefined;
    const e = this.engine;
    if (e !== undefined) await e.close();
  }

  private get eng(): SeriesEngine {
    if (this.engine === undefined) throw new Error('TelemetryService: start() first');
    return this.engine;
  }

  private readonly onPublish = (msg: Message): void => {
    // The hub's own dead letters are not telemetry (nor a loop).
    if (msg.origin.clientId === '' && msg.topic === this.deadLetterTopic) return;
    const device = msg.origin.deviceId;
    const type = device !== undefined ? this.deps.deviceTypeOf?.(device) : undefined;
    const r = this.deps.ingestor.ingest(msg.topic, msg.payload, msg.receivedAt, type);
    if (r === undefined) return;
    this.counts.messages++;
    if (r.points.length > 0) {
      const a = this.eng.append(r.points);
      this.counts.points += a.accepted;
      // Durable before acknowledged: this message's PUBACK waits for the turn's WAL write.
      if (a.accepted > 0 && msg.qos > 0) this.deps.broker.committer.hold(a.durable);
    }
    for (let i = 0; i < r.deadLetters.length; i++) this.publishDeadLetter(r.deadLetters[i]!);
  };

  private publishDeadLetter(d: DeadLetter): void {
    this.counts.deadLetters++;
    const broker = this.deps.broker;
    if (!broker.hasSubscribers(this.deadLetterTopic)) return;
    const body: Record<string, unknown> = { device: d.device ?? null, topic: d.topic, reason: d.reason };
    if (d.field !== undefined) body.field = d.field;
    broker.publishInternal(this.deadLetterTopic, Buffer.from(JSON.stringify(body)), 0, false, { protocol: 'sys', clientId: '' });
  }

  /**
   * Store points that did not come from a telemetry topic (the rule engine's telemetry action).
   * The same checks as ingested points (kind, late window); durable at the end of the turn
   * (`durable` of the result).
   */
  appendPoints(points: readonly PointInput[]): AppendResult {
    const a = this.eng.append(points);
    this.counts.points += a.accepted;
    return a;
  }

  counters(): TelemetryCounters {
    const c = this.engine?.counters;
    return {
      ...this.counts,
      lateRejected: c?.lateRejected ?? 0,
      kindRejected: c?.kindRejected ?? 0,
      walFailures: c?.walFailures ?? 0,
    };
  }

  /**
   * The series a query selects, each with its points streamed a page at a time. Throws
   * TELEMETRY_QUERY_INVALID for a bad range, step or aggregation.
   */
  query(q: QuerySpec): AsyncIterable<SeriesResult> {
    // Checked now, not at the first iteration, so an HTTP handler can answer 400 before streaming.
    checkQuery(q);
    const engine = this.eng;
    const selected = selectSeries(engine, q);
    return (async function* () {
      // Queries run on the event loop: a large one gives the loop back every few milliseconds
      // (between series), so MQTT traffic keeps flowing while it streams.
      let sliceStart = performance.now();
      for (const s of selected) {
        yield querySeries(engine, s, q);
        if (performance.now() - sliceStart > QUERY_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
    })();
  }

  /** The newest point of each metric of a device (of every device when undefined). */
  async latest(device?: string): Promise<LatestEntry[]> {
    const engine = this.eng;
    const out: LatestEntry[] = [];
    for (const s of selectSeries(engine, device === undefined ? {} : { devices: [device] })) {
      const p = await engine.latest(s);
      if (p !== undefined) out.push({ device: s.device, metric: s.metric, ts: p[0], value: s.kind === 'bool' ? p[1] === 1 : p[1] });
    }
    return out;
  }

  /** Device ids and metric names known to the store, or to one device (label values for the Prometheus API). */
  catalog(device?: string): Array<{ device: string; metric: string }> {
    return listSeries(this.eng, device);
  }

  async stats(): Promise<TelemetryStats> {
    const engine = this.eng;
    const s = engine.stats();
    const disk = await engine.store.stats();
    return { series: s.series, points: s.points, bytes: s.bytes, bytesPerPoint: s.points === 0 ? 0 : s.bytes / s.points, diskBytes: disk.diskBytes };
  }

  /** Delete every series of a device (device deleted from the registry); returns how many. */
  deleteDevice(deviceId: string): Promise<number> {
    return this.eng.deleteDevice(deviceId);
  }

  /** Commit and checkpoint now (tests, operations). */
  sync(): Promise<void> {
    return this.eng.sync(true);
  }
}
