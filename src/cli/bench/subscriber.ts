// The subscribing side of a bench process: counts every PUBLISH per step, checks each publisher's
// sequence, records latency from the send time in the payload, and acknowledges QoS 1/2 in one
// write per received chunk. Runs in a process of its own so publishers cannot starve it of CPU.
import { openConnection, type BenchConnection, type PacketHandler } from './connection.js';
import { Histogram } from './histogram.js';
import { clientId, filterOf, type FromChild, type InitMessage, type StepStatsMessage } from './ipc.js';
import { HEADER_BYTES, OFF_PUBLISHER, OFF_SEQ, OFF_STEP, OFF_TIME } from './payload.js';
import { SEQ_DUPLICATE, SEQ_NEW, SEQ_OUT_OF_ORDER, SequenceTracker } from './sequence.js';
import { PacketType, readVarint } from './wire.js';

/** Step numbers above this are not ours (u16 in the payload, but sweeps take a few dozen). */
export const MAX_STEPS = 4096;
/** One read takes up to this much: a millisecond of a very fast broker's output. */
const READ_BUFFER_BYTES = 1 << 20;

export class SubscriberGroup implements PacketHandler {
  private conns: BenchConnection[] = [];
  private trackers: SequenceTracker[] = [];
  private readonly received = new Float64Array(MAX_STEPS);
  private readonly duplicates = new Float64Array(MAX_STEPS);
  private readonly outOfOrder = new Float64Array(MAX_STEPS);
  private readonly late = new Float64Array(MAX_STEPS);
  private readonly lastMs = new Float64Array(MAX_STEPS);
  private readonly histograms: (Histogram | undefined)[] = [];
  private closing = false;
  totalReceived = 0;
  /** Messages whose payload is not a bench header (shorter than 16 bytes). */
  foreign = 0;

  constructor(
    private readonly init: InitMessage,
    private readonly send: (m: FromChild) => void,
  ) {}

  async connect(): Promise<void> {
    const o = this.init.opts;
    this.conns = await Promise.all(
      Array.from({ length: this.init.count }, async (_, i) => {
        const conn = await openConnection({
          host: o.host,
          port: o.port,
          version: o.version,
          clientId: clientId(this.init.runId, 's', this.init.offset + i),
          clean: o.clean,
          keepAlive: o.keepAlive,
          sessionExpiry: o.sessionExpiry,
          index: i,
          handler: this,
          read: { kind: 'buffer', size: READ_BUFFER_BYTES, intervalMs: o.readInterval },
        });
        const codes = await conn.subscribe(filterOf(this.init.runId), o.qos);
        // 0x80 and above is a refusal in both versions (3.1.1 §3.9.3, 5.0 §3.9.3).
        if (codes.length !== 1 || codes[0] >= 0x80) {
          throw new Error(`SUBSCRIBE refused with 0x${(codes[0] ?? 0).toString(16)}`);
        }
        return conn;
      }),
    );
    this.trackers = this.conns.map(() => new SequenceTracker(o.publishers));
  }

  onPacket(conn: BenchConnection, type: number, flags: number, buf: Buffer, start: number, end: number): void {
    if (type === PacketType.PUBREL) {
      conn.queueAck(PacketType.PUBCOMP, buf.readUInt16BE(start)); // QoS 2 receiver, MQTT 3.1.1 §4.3.3
      return;
    }
    if (type !== PacketType.PUBLISH) return;
    const qos = (flags >> 1) & 3;
    let p = start + 2 + buf.readUInt16BE(start);
    if (qos > 0) {
      // PUBACK for QoS 1, PUBREC for QoS 2 (MQTT 3.1.1 §4.3.2, §4.3.3).
      conn.queueAck(qos === 1 ? PacketType.PUBACK : PacketType.PUBREC, buf.readUInt16BE(p));
      p += 2;
    }
    if (conn.version === 5) {
      // Skip the PUBLISH properties (MQTT 5.0 §3.3.2.3); almost always one length byte.
      const n = buf[p];
      if (n < 0x80) p += 1 + n;
      else {
        const [len, after] = readVarint(buf, p);
        p = after + len;
      }
    }
    this.totalReceived++;
    if (end - p < HEADER_BYTES) {
      this.foreign++;
      return;
    }
    const step = buf.readUInt16LE(p + OFF_STEP);
    if (step >= MAX_STEPS) {
      this.foreign++;
      return;
    }
    const tracker = this.trackers[conn.index];
    const kind = tracker.record(step, buf.readUInt16LE(p + OFF_PUBLISHER), buf.readUInt32LE(p + OFF_SEQ));
    if (kind === SEQ_NEW || kind === SEQ_OUT_OF_ORDER) {
      this.received[step]++;
      if (kind === SEQ_OUT_OF_ORDER) this.outOfOrder[step]++;
      this.lastMs[step] = conn.nowMs;
      let h = this.histograms[step];
      if (h === undefined) this.histograms[step] = h = new Histogram();
      h.record((conn.nowMs - buf.readDoubleLE(p + OFF_TIME)) * 1000);
    } else if (kind === SEQ_DUPLICATE) this.duplicates[step]++;
    else this.late[step]++;
  }

  stats(step: number, withHistogram: boolean): StepStatsMessage {
    const cpu = process.cpuUsage();
    const m: StepStatsMessage = {
      t: 'stepStats',
      step,
      received: this.received[step],
      duplicates: this.duplicates[step],
      outOfOrder: this.outOfOrder[step],
      late: this.late[step],
      lastMs: this.lastMs[step],
      cpuUs: cpu.user + cpu.system,
    };
    const h = this.histograms[step];
    if (withHistogram && h !== undefined) m.histogram = { counts: Array.from(h.counts), total: h.total, maxUs: h.maxUs };
    return m;
  }

  onClose(_conn: BenchConnection, err: Error | null): void {
    if (err !== null && !this.closing) {
      this.closing = true;
      this.send({ t: 'error', message: `subscriber connection lost: ${err.message}` });
    }
  }

  connections(): BenchConnection[] {
    return this.conns;
  }

  /**
   * Disconnects; a persistent session is then removed by connecting once more with Clean Session
   * set, which discards it [MQTT-3.1.2-6] (Clean Start with Session Expiry 0 in 5.0, §3.1.2.4), so
   * a bench leaves no queued messages behind on a shared broker.
   */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.conns.map((c) => c.close()));
    const o = this.init.opts;
    if (o.clean && o.sessionExpiry === 0) return;
    await Promise.all(
      this.conns.map(async (c) => {
        const again = await openConnection({
          host: o.host,
          port: o.port,
          version: o.version,
          clientId: clientId(this.init.runId, 's', this.init.offset + c.index),
          clean: true,
          keepAlive: 0,
          sessionExpiry: 0,
          index: c.index,
          handler: this,
        });
        await again.close();
      }),
    ).catch(() => undefined);
  }
}
