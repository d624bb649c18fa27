// The simulator's own command sender: one client that publishes commands to random devices of the
// fleet (only those whose class answers commands) and times each round trip until the reply.
// MQTT 5: the request carries a Response Topic and Correlation Data (MQTT 5.0 §4.10) and the
// device answers there. MQTT 3.1.1: the request carries {"id"} and the device answers on
// devices/{id}/commands/{cmd}/reply with the same id.
import { Histogram } from '../bench/histogram.js';
import type { PublishPacket } from '../../codec/mqtt/packets.js';
import { openSimConnection, type ClientHandler, type SimConnection } from './client.js';
import { credentialsOf, deviceId, type SimOptions } from './options.js';
import { classOf } from './profile.js';
import { hashSeed, mulberry32 } from './random.js';
import { ErrorLog, HISTOGRAMS, toSparse, zeroCounters, type Counters, type SecondSample } from './stats.js';

export class Commander implements ClientHandler {
  readonly errors = new ErrorLog();
  /** PUBLISH packets this client sent (requests): the broker counts them as received. */
  sent = 0;
  private conn: SimConnection | null = null;
  private readonly targets: number[] = [];
  private readonly pending = new Map<string, { at: number }>();
  private seq = 0;
  private counters: Counters = zeroCounters();
  private hist = new Histogram();
  private readonly rand: () => number;
  private timer: NodeJS.Timeout | null = null;
  private debt = 0;
  private readonly replyTopic: string;

  constructor(private readonly opts: SimOptions) {
    this.rand = mulberry32(hashSeed(opts.seed, 'commander'));
    for (let i = 0; i < opts.devices; i++) if (classOf(opts.profile, i).commands !== undefined) this.targets.push(i);
    this.replyTopic = `sim/${opts.runId}/replies`;
  }

  get active(): boolean {
    return this.opts.commandRate > 0 && this.targets.length > 0;
  }

  async connect(): Promise<void> {
    const o = this.opts;
    const creds = credentialsOf(o.commanderCredentials, o.commanderId, -1);
    this.conn = await openSimConnection(
      { host: o.host, port: o.port, version: o.protocol, clientId: o.commanderId, ...creds, keepAlive: 60, timeoutMs: 15_000 },
      this,
      null,
    );
    const filter = o.protocol === 5 ? this.replyTopic : 'devices/+/commands/+/reply';
    const codes = await this.conn.subscribe([filter], 1, false);
    if ((codes[0] ?? 0x80) >= 0x80) throw new Error(`the broker refused the commander's subscription to ${filter} (0x${(codes[0] ?? 0x80).toString(16)})`);
  }

  /** Sends commands at the configured rate until stop(). */
  start(): void {
    const rate = this.opts.commandRate;
    this.timer = setInterval(() => {
      this.debt += rate / 20;
      for (; this.debt >= 1; this.debt--) this.issue();
      this.expire();
    }, 50);
  }

  private issue(): void {
    const c = this.conn;
    if (c === null || c.closed) return;
    const o = this.opts;
    const i = this.targets[Math.floor(this.rand() * this.targets.length)]!;
    const names = o.profile.commands.names;
    const cmd = names[Math.floor(this.rand() * names.length)]!;
    const id = `${o.runId}-${++this.seq}`;
    const payload = Buffer.from(JSON.stringify({ id, args: {}, ts: Date.now() }));
    const props = o.protocol === 5 ? { responseTopic: this.replyTopic, correlationData: Buffer.from(id) } : undefined;
    if (c.publish(`devices/${deviceId(o, i)}/commands/${cmd}`, payload, 1, props) === 0) return;
    this.sent++;
    this.counters.commandsIssued++;
    this.pending.set(id, { at: performance.now() });
  }

  private expire(): void {
    const limit = performance.now() - this.opts.profile.commands.timeout;
    for (const [id, p] of this.pending) {
      if (p.at > limit) break; // insertion order is send order
      this.pending.delete(id);
      this.counters.commandsTimedOut++;
      this.errors.add('command', `no reply within ${this.opts.profile.commands.timeout} ms`);
    }
  }

  onMessage(_conn: SimConnection, p: PublishPacket): void {
    let id: string | undefined = p.properties?.correlationData?.toString('utf8');
    let status: unknown;
    try {
      const body = JSON.parse(p.payload.toString('utf8')) as { id?: unknown; status?: unknown };
      if (id === undefined && typeof body.id === 'string') id = body.id;
      status = body.status;
    } catch {
      // not a reply of ours
    }
    if (id === undefined) return;
    const req = this.pending.get(id);
    if (req === undefined) return; // someone else's, a duplicate, or already timed out
    this.pending.delete(id);
    this.hist.record((performance.now() - req.at) * 1000);
    this.counters.commandsAnswered++;
    if (status !== 'ok') this.counters.commandsFailed++;
  }

  onAck(_conn: SimConnection, reasonCode: number): void {
    if (reasonCode >= 0x80) {
      this.counters.rejected++;
      this.errors.add('command', `request refused with reason 0x${reasonCode.toString(16)}`);
    }
  }

  onClose(_conn: SimConnection, err: Error | null): void {
    if (err !== null) this.errors.add('commander', err.message);
  }

  /** The counters and round-trip histogram since the last call. */
  take(sec: number): SecondSample {
    const s: SecondSample = { sec, counters: this.counters, connected: 0, histograms: {} as SecondSample['histograms'] };
    for (const name of HISTOGRAMS) s.histograms[name] = { c: [], total: 0, maxUs: 0 };
    s.histograms.command = toSparse(this.hist);
    this.counters = zeroCounters();
    this.hist = new Histogram();
    return s;
  }

  /** Requests still unanswered (not yet timed out) when the run ends. */
  get unanswered(): number {
    return this.pending.size;
  }

  stopIssuing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async close(): Promise<void> {
    this.stopIssuing();
    this.expire();
    await this.conn?.close();
  }
}
