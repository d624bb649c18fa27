// The publishing side of a bench process. Each publisher's PUBLISH frame is encoded once and
// repeated into a pattern buffer; every time slice, each publisher copies as many frames as are due
// from the pattern and patches the few bytes that change (sequence, send time, packet id), then
// writes them with one socket.write. That keeps generation far above any broker's rate.
import { monoNowMs } from './clock.js';
import { openConnection, type BenchConnection, type PacketHandler } from './connection.js';
import { clientId, topicOf, type FromChild, type InitMessage, type PubStatsMessage } from './ipc.js';
import { OFF_PUBLISHER, OFF_SEQ, OFF_STEP, OFF_TIME } from './payload.js';
import { PacketType, encodePublishTemplate, type PublishTemplate } from './wire.js';

/** Stop writing to a socket while this much is still queued in user space: the broker is behind. */
const HIGH_WATER_BYTES = 1 << 20;
/** Most frames one publisher writes in one slice, so a backlog does not become one huge buffer. */
const MAX_BATCH = 16384;
const PATTERN_BYTES = 64 * 1024;
/**
 * Publishers read acknowledgements once a millisecond rather than on every arrival: it saves a
 * wake-up per PUBACK and costs at most a millisecond of window, far inside --inflight at any rate.
 */
const ACK_READ_INTERVAL_MS = 1;

interface Publisher {
  conn: BenchConnection;
  global: number;
  template: PublishTemplate;
  pattern: Buffer;
  frameLen: number;
  /** Messages sent in the current step; also the next sequence number. */
  sent: number;
  inflight: number;
  window: number;
  nextPacketId: number;
}

export class PublisherGroup implements PacketHandler {
  private readonly pubs: Publisher[] = [];
  private readonly totalPublishers: number;
  private step = -1;
  private ratePerPub = 0;
  private durationMs = 0;
  private t0 = 0;
  private lastWriteMs = 0;
  private blockedTicks = 0;
  private cpuAtStart = 0;
  private ackedAtStart = 0;
  private rejectedAtStart = 0;
  private totalSent = 0;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  acked = 0;
  rejected = 0;

  constructor(
    private readonly init: InitMessage,
    private readonly send: (m: FromChild) => void,
  ) {
    this.totalPublishers = init.opts.publishers;
  }

  async connect(): Promise<void> {
    const o = this.init.opts;
    const conns = await Promise.all(
      Array.from({ length: this.init.count }, (_, i) =>
        openConnection({
          host: o.host,
          port: o.port,
          version: o.version,
          clientId: clientId(this.init.runId, 'p', this.init.offset + i),
          clean: true,
          keepAlive: o.keepAlive,
          sessionExpiry: 0,
          index: i,
          handler: this,
          read: { kind: 'buffer', size: 64 * 1024, intervalMs: ACK_READ_INTERVAL_MS },
        }),
      ),
    );
    for (const conn of conns) {
      const global = this.init.offset + conn.index;
      const template = encodePublishTemplate(o.version, topicOf(this.init.runId, global), o.qos, o.payload);
      const frameLen = template.frame.length;
      const repeat = Math.max(1, Math.floor(PATTERN_BYTES / frameLen));
      const pattern = Buffer.allocUnsafe(repeat * frameLen);
      for (let i = 0; i < repeat; i++) template.frame.copy(pattern, i * frameLen);
      // Without a window the packet ids still must not wrap onto unacknowledged ones, and a 5.0
      // client must not exceed the server's Receive Maximum [MQTT-3.3.4-7].
      const limit = o.inflight > 0 ? o.inflight : 65535;
      const window = o.qos === 0 ? Infinity : Math.min(limit, conn.receiveMaximum);
      this.pubs.push({ conn, global, template, pattern, frameLen, sent: 0, inflight: 0, window, nextPacketId: 1 });
    }
  }

  get sentTotal(): number {
    return this.totalSent;
  }

  startStep(step: number, rate: number, durationMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.step = step;
    this.ratePerPub = rate / this.totalPublishers;
    this.durationMs = durationMs;
    this.blockedTicks = 0;
    for (const p of this.pubs) {
      p.sent = 0;
      // The step and publisher number are the same in every frame of the step: bake them in.
      const off = p.template.payloadOffset;
      for (let at = 0; at < p.pattern.length; at += p.frameLen) {
        p.pattern.writeUInt16LE(step, at + off + OFF_STEP);
        p.pattern.writeUInt16LE(p.global, at + off + OFF_PUBLISHER);
      }
    }
    const cpu = process.cpuUsage();
    this.cpuAtStart = cpu.user + cpu.system;
    this.ackedAtStart = this.acked;
    this.rejectedAtStart = this.rejected;
    this.t0 = monoNowMs();
    this.lastWriteMs = this.t0;
    this.tick();
  }

  private readonly tick = (): void => {
    this.timer = null;
    if (this.closing) return;
    const now = monoNowMs();
    const elapsed = Math.min(now - this.t0, this.durationMs);
    const interval = this.init.opts.slice;
    let blocked = false;
    for (const p of this.pubs) {
      // A phase per publisher spreads their first messages instead of sending all at once.
      const due = Math.floor((this.ratePerPub * elapsed) / 1000 + p.global / this.totalPublishers) - p.sent;
      if (due > 0 && this.sendBatch(p, due, now) < due) blocked = true;
    }
    if (blocked) this.blockedTicks++;
    if (elapsed >= this.durationMs) {
      this.finishStep(now);
      return;
    }
    this.timer = setTimeout(this.tick, interval);
  };

  /** Writes up to `due` frames of one publisher; returns how many went out. */
  private sendBatch(p: Publisher, due: number, now: number): number {
    const k = Math.min(due, MAX_BATCH, p.window - p.inflight);
    if (k <= 0 || p.conn.socket.writableLength > HIGH_WATER_BYTES || p.conn.closed) return 0;
    const len = p.frameLen;
    const bytes = k * len;
    const buf = Buffer.allocUnsafe(bytes);
    for (let off = 0; off < bytes; off += p.pattern.length) {
      p.pattern.copy(buf, off, 0, Math.min(p.pattern.length, bytes - off));
    }
    const pay = p.template.payloadOffset;
    const pid = p.template.packetIdOffset;
    let seq = p.sent;
    for (let at = 0; at < bytes; at += len) {
      buf.writeUInt32LE(seq++, at + pay + OFF_SEQ);
      buf.writeDoubleLE(now, at + pay + OFF_TIME);
      if (pid >= 0) {
        buf.writeUInt16BE(p.nextPacketId, at + pid);
        p.nextPacketId = p.nextPacketId === 65535 ? 1 : p.nextPacketId + 1; // 0 is not a packet id [MQTT-2.3.1-1]
      }
    }
    p.conn.write(buf);
    p.sent += k;
    this.totalSent += k;
    if (pid >= 0) p.inflight += k;
    this.lastWriteMs = now;
    return k;
  }

  private finishStep(now: number): void {
    let sent = 0;
    let due = 0;
    for (const p of this.pubs) {
      sent += p.sent;
      due += Math.floor((this.ratePerPub * this.durationMs) / 1000 + p.global / this.totalPublishers);
    }
    const cpu = process.cpuUsage();
    this.send({
      t: 'stepDone',
      step: this.step,
      sent,
      unsent: Math.max(0, due - sent),
      blockedTicks: this.blockedTicks,
      startMs: this.t0,
      endMs: Math.max(this.lastWriteMs, now),
      cpuUs: cpu.user + cpu.system - this.cpuAtStart,
    });
  }

  stats(step: number): PubStatsMessage {
    return { t: 'pubStats', step, acked: this.acked - this.ackedAtStart, rejected: this.rejected - this.rejectedAtStart };
  }

  onPacket(conn: BenchConnection, type: number, _flags: number, buf: Buffer, start: number, end: number): void {
    const p = this.pubs[conn.index];
    if (p === undefined) return;
    // In 5.0 a reason code of 0x80 or above means the message was not accepted (MQTT 5.0 §3.4.2.1).
    const failed = conn.version === 5 && end - start > 2 && buf[start + 2] >= 0x80;
    switch (type) {
      case PacketType.PUBACK:
        p.inflight--;
        if (failed) this.rejected++;
        else this.acked++;
        return;
      case PacketType.PUBREC:
        if (failed) {
          // A failed PUBREC ends the exchange: no PUBREL follows (MQTT 5.0 §4.3.3).
          p.inflight--;
          this.rejected++;
        } else conn.queueAck(PacketType.PUBREL, buf.readUInt16BE(start));
        return;
      case PacketType.PUBCOMP:
        p.inflight--;
        this.acked++;
        return;
      default:
    }
  }

  onClose(_conn: BenchConnection, err: Error | null): void {
    if (err !== null && !this.closing) {
      this.closing = true;
      this.send({ t: 'error', message: `publisher connection lost: ${err.message}` });
    }
  }

  connections(): BenchConnection[] {
    return this.pubs.map((p) => p.conn);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await Promise.all(this.pubs.map((p) => p.conn.close()));
  }
}
