// The devices of one process: connects them (ramp, handshake concurrency), runs their behaviours
// from one event queue (heartbeats, telemetry, bursts, twin reports), answers commands, churns
// and breaks connections on purpose, and reports a sample each second. It stops sending at the
// deadline, waits for outstanding acknowledgements and replies (bounded by `drain`), sends
// DISCONNECT on every connection and resolves.
import { Histogram } from '../bench/histogram.js';
import { sourceAddress } from '../bench/idle-conns.js';
import type { PublishPacket, QoS } from '../../codec/mqtt/packets.js';
import { openSimConnection, type ClientHandler, type SimConnection } from './client.js';
import { credentialsOf, deviceId, type SimOptions } from './options.js';
import { classOf, type DeviceClass } from './profile.js';
import { hashSeed, mulberry32 } from './random.js';
import { EventQueue } from './schedule.js';
import { ErrorLog, HISTOGRAMS, diffCounters, newHistograms, toSparse, zeroCounters, type Counters, type HistogramName, type SecondSample } from './stats.js';
import { ValueWalk, type MetricValue } from './walk.js';

export interface FleetConfig {
  opts: SimOptions;
  /** First global device index of this fleet, and how many devices it runs. */
  offset: number;
  count: number;
  /** Wall-clock time (Date.now()) at which second 0 of the run starts. */
  startAt: number;
}

export interface FleetHooks {
  sample(s: SecondSample): void;
}

const EventKind = {
  CONNECT: 0,
  HEARTBEAT: 1,
  TELEMETRY: 2,
  BURST: 3,
  TWIN: 4,
} as const;
type Kind = (typeof EventKind)[keyof typeof EventKind];

interface Ev {
  at: number;
  dev: Device;
  kind: Kind;
  /** The connection generation the event belongs to; stale events are dropped. */
  gen: number;
  /** Burst messages still to send. */
  left: number;
}

type State = 'waiting' | 'connecting' | 'connected' | 'away';

class Device {
  state: State = 'waiting';
  conn: SimConnection | null = null;
  gen = 0;
  seq = 0;
  connectedAt = 0;
  /** A telemetry payload held back to be sent after the next one (chaos: out of order). */
  held: Buffer | null = null;
  /** In the fleet's waitlist for a handshake slot. */
  queued = false;
  readonly telemetry: [string, ValueWalk][];
  readonly reported: [string, ValueWalk][];
  readonly commandTopic: string;
  /** The class's topics with {id} filled in ('' where the class has no such section). */
  readonly heartbeatTopic: string;
  readonly telemetryTopic: string;
  readonly twinTopic: string;

  constructor(
    readonly index: number,
    readonly id: string,
    readonly cls: DeviceClass,
    /** Clock skew of this device's timestamps (chaos), ms. */
    readonly skewMs: number,
    seed: number,
  ) {
    const walks = (m: Record<string, import('./walk.js').MetricSpec> | undefined, part: string): [string, ValueWalk][] =>
      Object.entries(m ?? {}).map(([name, spec]) => [name, new ValueWalk(spec, mulberry32(hashSeed(seed, index, part, name)))]);
    this.telemetry = walks(cls.telemetry?.metrics, 't');
    this.reported = walks(cls.twin?.reported, 'r');
    this.commandTopic = `devices/${id}/commands/`;
    const topic = (template: string | undefined): string => (template === undefined ? '' : template.replace(/\{id\}/g, id));
    this.heartbeatTopic = topic(cls.heartbeat?.topic);
    this.telemetryTopic = topic(cls.telemetry?.topic);
    this.twinTopic = topic(cls.twin?.topic);
  }
}

function values(walks: [string, ValueWalk][], ts: number, into: Record<string, MetricValue>): Record<string, MetricValue> {
  for (const [name, w] of walks) into[name] = w.next(ts);
  return into;
}

/** Scheduler granularity: how often due events are popped. */
const TICK_MS = 10;
/** Events handled per tick at most, so a storm of due events does not block the loop for long. */
const MAX_EVENTS_PER_TICK = 20_000;

export class Fleet implements ClientHandler {
  readonly counters: Counters = zeroCounters();
  readonly errors = new ErrorLog();
  private readonly devices: Device[] = [];
  private readonly queue = new EventQueue<Ev>();
  /** Devices waiting for a handshake slot, first come first served from `waitHead`. */
  private waitlist: Device[] = [];
  private waitHead = 0;
  private readonly hist: Record<HistogramName, Histogram> = newHistograms();
  private lastCounters: Counters = zeroCounters();
  private readonly rand: () => number;
  private readonly opts: SimOptions;
  private readonly startPerf: number;
  private readonly endPerf: number;
  private readonly maxConnecting: number;
  private readonly addressBase: string;
  private connecting = 0;
  connected = 0;
  private pendingReplies = 0;
  private sending = true;
  private stopped = false;
  private churnDebt = 0;
  private chaosDebt = 0;
  private tickTimer: NodeJS.Timeout | null = null;
  private churnTimer: NodeJS.Timeout | null = null;
  private secondTimer: NodeJS.Timeout | null = null;
  private nextSecond = 0;
  private readonly closing: Promise<void>[] = [];

  constructor(
    private readonly cfg: FleetConfig,
    private readonly hooks: FleetHooks,
  ) {
    const o = (this.opts = cfg.opts);
    this.rand = mulberry32(hashSeed(o.seed, 'fleet', cfg.offset));
    this.startPerf = performance.now() + (cfg.startAt - Date.now());
    this.endPerf = this.startPerf + o.duration * 1000;
    this.maxConnecting = Math.max(1, Math.ceil((o.concurrency * cfg.count) / o.devices));
    // 127.a, one per run, so a new run does not meet the last one's ports in TIME_WAIT.
    this.addressBase = `127.${1 + (hashSeed(o.runId) % 254)}`;
    const skew = o.chaos ? o.profile.chaos.skewMs : 0;
    for (let k = 0; k < cfg.count; k++) {
      const i = cfg.offset + k;
      const skewMs = skew > 0 ? Math.round((this.rand() * 2 - 1) * skew) : 0;
      this.devices.push(new Device(i, deviceId(o, i), classOf(o.profile, i), skewMs, o.seed));
    }
  }

  /** Runs the fleet to its end; resolves once every connection is closed. */
  async run(): Promise<void> {
    const o = this.opts;
    for (const d of this.devices) {
      // Global index over the whole fleet, so processes interleave their connects in the ramp.
      const at = this.startPerf + (o.ramp * 1000 * d.index) / o.devices;
      this.queue.push({ at, dev: d, kind: EventKind.CONNECT, gen: 0, left: 0 });
    }
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.churnTimer = setInterval(() => this.churnTick(), 100);
    this.scheduleSecond();
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, this.endPerf - performance.now())));
    await this.finish();
  }

  // ------------------------------------------------------------------------------------------
  // Time.

  private scheduleSecond(): void {
    const due = this.startPerf + (this.nextSecond + 1) * 1000;
    this.secondTimer = setTimeout(() => {
      this.emitSecond();
      if (!this.stopped) this.scheduleSecond();
    }, Math.max(0, due - performance.now()));
  }

  private emitSecond(): void {
    const sec = this.nextSecond++;
    const c = { ...this.counters };
    const sample: SecondSample = {
      sec,
      counters: diffCounters(c, this.lastCounters),
      connected: this.connected,
      histograms: {} as SecondSample['histograms'],
    };
    for (const name of HISTOGRAMS) {
      sample.histograms[name] = toSparse(this.hist[name]);
      this.hist[name] = new Histogram();
    }
    this.lastCounters = c;
    this.hooks.sample(sample);
  }

  private tick(): void {
    const now = performance.now();
    for (let n = 0; n < MAX_EVENTS_PER_TICK; n++) {
      const e = this.queue.popDue(now);
      if (e === undefined) break;
      this.handle(e, now);
    }
    // Keep-alive: a control packet within each Keep Alive period [MQTT-3.1.2-23]; PINGREQ when
    // nothing else went out for half of it. Checked on a coarse clock: every 100th tick.
    if ((this.tickCount = (this.tickCount + 1) % 100) === 0) {
      for (const d of this.devices) {
        const c = d.conn;
        if (c !== null && d.state === 'connected' && c.keepAlive > 0 && now - c.lastWriteMs > c.keepAlive * 500) c.ping();
      }
    }
  }
  private tickCount = 0;

  private handle(e: Ev, now: number): void {
    const d = e.dev;
    if (e.kind === EventKind.CONNECT) {
      if (this.sending && d.state !== 'connected' && d.state !== 'connecting') this.startConnect(d);
      return;
    }
    if (e.gen !== d.gen || d.state !== 'connected' || !this.sending) return;
    const cls = d.cls;
    switch (e.kind) {
      case EventKind.HEARTBEAT: {
        const hb = cls.heartbeat!;
        const ts = Date.now() + d.skewMs;
        this.send(d, d.heartbeatTopic, { ts, seq: ++d.seq, uptime: Math.round((now - d.connectedAt) / 1000) }, hb.qos, 'sentHeartbeat');
        this.again(e, now, hb.every, hb.jitter);
        return;
      }
      case EventKind.TELEMETRY: {
        const t = cls.telemetry!;
        this.sendTelemetry(d, t.qos, 'sentTelemetry', true);
        this.again(e, now, t.every, t.jitter);
        return;
      }
      case EventKind.BURST: {
        const b = cls.bursts!;
        if (e.left === 0) {
          // A new burst: its first message now, the rest `spacing` apart; the next burst later.
          this.queue.push({ ...e, at: now + this.jittered(b.every, b.jitter), left: 0 });
          e.left = b.count;
        }
        while (e.left > 0) {
          this.sendTelemetry(d, b.qos, 'sentBurst', false);
          e.left--;
          if (b.spacing > 0) break;
        }
        if (e.left > 0) this.queue.push({ ...e, at: now + b.spacing });
        return;
      }
      case EventKind.TWIN: {
        const tw = cls.twin!;
        const reported = values(d.reported, Date.now() + d.skewMs, {});
        this.send(d, d.twinTopic, { state: { reported }, clientToken: `${d.id}-${++d.seq}` }, tw.qos, 'sentTwin');
        this.again(e, now, tw.every, tw.jitter);
        return;
      }
      default:
    }
  }

  private jittered(every: number, jitter: number): number {
    return Math.max(1, every * (1 + jitter * (2 * this.rand() - 1)));
  }

  private again(e: Ev, now: number, every: number, jitter: number): void {
    e.at = now + this.jittered(every, jitter);
    this.queue.push(e);
  }

  private send(d: Device, topic: string, body: unknown, qos: QoS, kind: 'sentHeartbeat' | 'sentTwin' | 'sentTelemetry' | 'sentBurst'): void {
    this.sendBuffer(d, topic, Buffer.from(JSON.stringify(body)), qos, kind);
  }

  private sendBuffer(d: Device, topic: string, payload: Buffer, qos: QoS, kind: 'sentHeartbeat' | 'sentTwin' | 'sentTelemetry' | 'sentBurst' | 'sentReply', props?: Parameters<SimConnection['publish']>[3]): boolean {
    const c = d.conn;
    const bytes = c === null ? 0 : c.publish(topic, payload, qos, props);
    if (bytes === 0) {
      this.counters.skipped++;
      return false;
    }
    this.counters.sent++;
    if (qos > 0) this.counters.sentNeedsAck++;
    this.counters[kind]++;
    this.counters.bytesSent += bytes;
    if (this.opts.chaos && kind !== 'sentReply' && this.rand() < this.opts.profile.chaos.duplicate) {
      // The same message again, as a device that lost the acknowledgement and resends it as new.
      const again = c!.publish(topic, payload, qos, props);
      if (again > 0) {
        this.counters.sent++;
        if (qos > 0) this.counters.sentNeedsAck++;
        this.counters.duplicates++;
        this.counters.bytesSent += again;
      }
    }
    return true;
  }

  private sendTelemetry(d: Device, qos: QoS, kind: 'sentTelemetry' | 'sentBurst', mayReorder: boolean): void {
    const ts = Date.now() + d.skewMs;
    const payload = Buffer.from(JSON.stringify(values(d.telemetry, ts, { ts })));
    const topic = d.telemetryTopic;
    if (mayReorder && this.opts.chaos && d.held === null && this.rand() < this.opts.profile.chaos.reorder) {
      // Out of order: this message goes after the next one, with its older timestamp.
      d.held = payload;
      return;
    }
    this.sendBuffer(d, topic, payload, qos, kind);
    if (d.held !== null && mayReorder) {
      const held = d.held;
      d.held = null;
      if (this.sendBuffer(d, topic, held, qos, kind)) this.counters.reordered++;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Connections.

  private startConnect(d: Device): void {
    if (this.connecting >= this.maxConnecting) {
      if (!d.queued) {
        d.queued = true;
        this.waitlist.push(d);
      }
      d.state = 'waiting';
      return;
    }
    const o = this.opts;
    d.state = 'connecting';
    this.connecting++;
    this.counters.connectAttempts++;
    const t0 = performance.now();
    const creds = credentialsOf(o.credentials, d.id, d.index);
    openSimConnection(
      {
        host: o.host,
        port: o.port,
        localAddress: o.sourceAddresses ? sourceAddress(o.host, this.addressBase, d.index) : undefined,
        version: o.protocol,
        clientId: d.id,
        ...creds,
        keepAlive: o.profile.keepAlive,
        timeoutMs: 15_000,
      },
      this,
      d,
    )
      .then(async (conn) => {
        this.hist.connect.record((performance.now() - t0) * 1000);
        d.conn = conn;
        if (d.cls.commands !== undefined) {
          // No Local keeps the device's own replies on devices/{id}/commands/{cmd}/reply from
          // coming back to it (MQTT 5.0 §3.8.3.1); 3.1.1 devices skip them by topic instead.
          const codes = await conn.subscribe([`${d.commandTopic}#`], d.cls.commands.qos === 0 ? 0 : 1, true);
          if ((codes[0] ?? 0x80) >= 0x80) {
            this.counters.subscribeFailures++;
            this.errors.add('subscribe', `SUBACK refused devices/{id}/commands/# with 0x${(codes[0] ?? 0x80).toString(16)}`);
          }
        }
        this.connectDone(d, conn);
      })
      .catch((err: Error) => {
        this.connecting--;
        d.state = 'away';
        d.conn = null;
        this.counters.connectFailures++;
        this.errors.add('connect', err.message);
        this.retryLater(d, 1000 + this.rand() * 2000);
        this.nextWaiting();
      });
  }

  private connectDone(d: Device, conn: SimConnection): void {
    this.connecting--;
    this.nextWaiting();
    if (conn.closed) return; // closed during the subscribe: onClose handled it
    d.state = 'connected';
    d.gen++;
    d.connectedAt = performance.now();
    this.connected++;
    this.counters.connects++;
    if (!this.sending) {
      void this.closeDevice(d);
      return;
    }
    const now = performance.now();
    const cls = d.cls;
    // First message of each behaviour at a random point of its period, as a real fleet's phases are.
    const first = (every: number): number => now + this.rand() * every;
    if (cls.heartbeat) this.queue.push({ at: now, dev: d, kind: EventKind.HEARTBEAT, gen: d.gen, left: 0 });
    if (cls.telemetry) this.queue.push({ at: first(cls.telemetry.every), dev: d, kind: EventKind.TELEMETRY, gen: d.gen, left: 0 });
    if (cls.bursts) this.queue.push({ at: first(cls.bursts.every), dev: d, kind: EventKind.BURST, gen: d.gen, left: 0 });
    if (cls.twin) this.queue.push({ at: first(Math.min(cls.twin.every, 2000)), dev: d, kind: EventKind.TWIN, gen: d.gen, left: 0 });
  }

  private nextWaiting(): void {
    while (this.connecting < this.maxConnecting && this.waitHead < this.waitlist.length) {
      const d = this.waitlist[this.waitHead++]!;
      if (this.waitHead > 1024 && this.waitHead * 2 > this.waitlist.length) {
        this.waitlist = this.waitlist.slice(this.waitHead);
        this.waitHead = 0;
      }
      d.queued = false;
      if (d.state === 'waiting' || d.state === 'away') this.startConnect(d);
    }
  }

  private retryLater(d: Device, ms: number): void {
    if (!this.sending) return;
    this.queue.push({ at: performance.now() + ms, dev: d, kind: EventKind.CONNECT, gen: d.gen, left: 0 });
  }

  onClose(conn: SimConnection, err: Error | null): void {
    const d = conn.tag as Device;
    if (d.conn !== conn) return; // a handshake that failed: counted where it was awaited
    d.conn = null;
    if (d.state === 'connected') this.connected--;
    const wasConnected = d.state === 'connected';
    d.state = 'away';
    d.gen++;
    d.held = null;
    if (err !== null && wasConnected) {
      this.counters.disconnectsBroker++;
      this.errors.add('disconnect', err.message);
      this.retryLater(d, 1000 + this.rand() * 1000);
    }
  }

  private closeDevice(d: Device): Promise<void> {
    const c = d.conn;
    if (c === null) return Promise.resolve();
    return c.close();
  }

  /** Churn (clean disconnects, back after the profile's downtime) and chaos drops, every 100 ms. */
  private churnTick(): void {
    if (!this.sending || performance.now() < this.startPerf) return;
    const o = this.opts;
    const n = this.cfg.count;
    const perSecond = 'perSecond' in o.churn ? (o.churn.perSecond * n) / o.devices : o.churn.fractionPerSecond * n;
    this.churnDebt += perSecond / 10;
    for (; this.churnDebt >= 1; this.churnDebt--) {
      const d = this.pickConnected();
      if (d === undefined) break;
      this.counters.disconnectsChurn++;
      void this.closeDevice(d);
      this.retryLater(d, o.profile.churnDowntime * 1000);
    }
    if (o.chaos) {
      this.chaosDebt += (this.connected * o.profile.chaos.disconnectsPerMinute) / 600;
      for (; this.chaosDebt >= 1; this.chaosDebt--) {
        const d = this.pickConnected();
        if (d === undefined) break;
        this.counters.disconnectsChaos++;
        d.conn!.abort();
        this.retryLater(d, 500 + this.rand() * 2500);
      }
    }
  }

  private pickConnected(): Device | undefined {
    if (this.connected === 0) return undefined;
    for (let tries = 0; tries < 20; tries++) {
      const d = this.devices[Math.floor(this.rand() * this.devices.length)]!;
      if (d.state === 'connected') return d;
    }
    return this.devices.find((d) => d.state === 'connected');
  }

  // ------------------------------------------------------------------------------------------
  // Messages from the broker.

  onAck(_conn: SimConnection, reasonCode: number, latencyMs: number): void {
    if (reasonCode >= 0x80) {
      this.counters.rejected++;
      this.errors.add('publish', `refused with reason 0x${reasonCode.toString(16)}`);
    } else {
      this.counters.acked++;
    }
    this.hist.pubAck.record(latencyMs * 1000);
  }

  onMessage(conn: SimConnection, p: PublishPacket): void {
    const d = conn.tag as Device;
    const answer = d.cls.commands;
    if (answer === undefined || !p.topic.startsWith(d.commandTopic) || p.topic.endsWith('/reply')) return;
    const cmd = p.topic.slice(d.commandTopic.length);
    this.counters.commandsReceived++;
    let requestId: unknown;
    try {
      const body = JSON.parse(p.payload.toString('utf8')) as { id?: unknown };
      requestId = body?.id;
    } catch {
      // A command need not be JSON; the reply then carries no id.
    }
    const props = p.properties;
    const responseTopic = conn.version === 5 ? props?.responseTopic : undefined;
    const correlationData = props?.correlationData === undefined ? undefined : Buffer.from(props.correlationData);
    const reply = (): void => {
      this.pendingReplies--;
      if (d.conn !== conn || conn.closed) return;
      const ok = !(answer.failRate > 0 && this.rand() < answer.failRate);
      const body = { ...(requestId !== undefined ? { id: requestId } : {}), cmd, status: ok ? 'ok' : 'failed', ts: Date.now() + d.skewMs };
      // MQTT 5 request/response (§4.10): reply on the Response Topic with the Correlation Data;
      // otherwise on the hub's reply convention devices/{id}/commands/{cmd}/reply.
      const topic = responseTopic ?? `${p.topic}/reply`;
      this.sendBuffer(d, topic, Buffer.from(JSON.stringify(body)), answer.qos, 'sentReply', correlationData !== undefined ? { correlationData } : undefined);
    };
    this.pendingReplies++;
    if (answer.delay > 0) setTimeout(reply, answer.delay);
    else reply();
  }

  // ------------------------------------------------------------------------------------------
  // The end.

  private inflight(): number {
    let n = this.pendingReplies;
    for (const d of this.devices) if (d.conn !== null) n += d.conn.inflight;
    return n;
  }

  private async finish(): Promise<void> {
    this.sending = false;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.churnTimer) clearInterval(this.churnTimer);
    this.queue.clear();
    this.waitlist = [];
    this.waitHead = 0;
    // Drain: acknowledgements of what was sent, and replies to commands already received.
    const drainEnd = performance.now() + this.opts.drain * 1000;
    const minEnd = performance.now() + Math.min(300, this.opts.drain * 1000);
    while (performance.now() < drainEnd && (this.inflight() > 0 || this.connecting > 0 || performance.now() < minEnd)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const d of this.devices) if (d.conn !== null) this.closing.push(this.closeDevice(d));
    await Promise.all(this.closing);
    this.stopped = true;
    if (this.secondTimer) clearTimeout(this.secondTimer);
    this.emitSecond();
  }
}
