// One simulated device's MQTT connection, built on the project's own codec (src/codec/mqtt): the
// encoder writes CONNECT (with user name and password), SUBSCRIBE and PUBLISH with MQTT 5
// properties (Response Topic, Correlation Data), and MqttParser, set to the client's protocol
// level, decodes what the broker sends. The bench keeps a stripped wire of its own so that it
// does not load the codec it measures; the simulator needs the full packets and properties.
import { connect as netConnect, type Socket } from 'node:net';
import { encodeConnect } from '../../codec/mqtt/encode-connect.js';
import { encodeSubscribe } from '../../codec/mqtt/encode-subscribe.js';
import { DISCONNECT_FRAME, PINGREQ_FRAME, encodeAck, encodePublish } from '../../codec/mqtt/encoder.js';
import type { Packet, Properties, PublishPacket, QoS } from '../../codec/mqtt/packets.js';
import { MqttParser } from '../../codec/mqtt/parser.js';

export interface ClientHandler {
  /** A PUBLISH from the broker (already acknowledged). */
  onMessage(conn: SimConnection, p: PublishPacket): void;
  /** The end of a QoS 1/2 publish's flow: PUBACK, PUBCOMP, or a PUBREC refusing it (code >= 0x80). */
  onAck(conn: SimConnection, reasonCode: number, latencyMs: number): void;
  /** The connection closed; `err` is null when the simulator closed it on purpose. */
  onClose(conn: SimConnection, err: Error | null): void;
}

export interface ConnectParams {
  host: string;
  port: number;
  localAddress?: string;
  version: 4 | 5;
  clientId: string;
  username?: string;
  password?: string;
  keepAlive: number;
  timeoutMs: number;
}

/** Largest packet accepted from the broker; commands and replies are small. */
const MAX_PACKET = 1 << 20;
/** Bytes queued in the socket beyond which a publish is skipped instead of buffered without bound. */
const MAX_BACKLOG = 1 << 20;

function now(): number {
  return performance.now();
}

export class SimConnection {
  /** performance.now() of the last write, for keep-alive. */
  lastWriteMs = now();
  /** The server's Receive Maximum (MQTT 5.0 §3.2.2.3.3), 65535 when absent. */
  receiveMaximum = 65535;
  /** Server Keep Alive (MQTT 5.0 §3.2.2.3.14) overrides the client's value [MQTT-3.2.2-21]. */
  keepAlive: number;
  /** Set before abort()/close(): the close is the simulator's doing. */
  intentional = false;
  private readonly parser: MqttParser;
  /** QoS 1/2 publishes awaiting their acknowledgement: packet id → send time. */
  private readonly pending = new Map<number, number>();
  private nextId = 1;
  private corked = false;
  private error: Error | null = null;
  private connack: { resolve(): void; reject(e: Error): void } | null = null;
  private subacks = new Map<number, { resolve(codes: number[]): void; reject(e: Error): void }>();
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    readonly socket: Socket,
    readonly version: 4 | 5,
    readonly clientId: string,
    keepAlive: number,
    private readonly handler: ClientHandler,
    /** The owner's own reference (the device). */
    readonly tag: unknown,
  ) {
    this.keepAlive = keepAlive;
    this.parser = new MqttParser((p) => this.onPacket(p), MAX_PACKET);
    this.parser.version = version; // a client decodes in the level it connected with
    socket.on('data', (chunk: Buffer) => {
      try {
        this.parser.feed(chunk);
      } catch (err) {
        this.error ??= err as Error;
        socket.destroy();
      }
    });
    socket.on('error', (err) => {
      this.error ??= err;
    });
    socket.on('close', () => this.onSocketClose());
  }

  get inflight(): number {
    return this.pending.size;
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  private write(buf: Buffer): void {
    // One write per loop turn per connection: cork now, uncork on the next tick.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(buf);
    this.lastWriteMs = now();
  }

  /** Whether a publish can go now: open, under Receive Maximum, and the socket not backed up. */
  canPublish(qos: QoS): boolean {
    if (this.socket.destroyed || this.socket.writableLength > MAX_BACKLOG) return false;
    // The client must not send more unacknowledged QoS 1/2 PUBLISHes than the server's Receive
    // Maximum [MQTT-3.3.4-7] (MQTT 5.0 §4.9).
    return qos === 0 || this.pending.size < Math.min(this.receiveMaximum, 65535);
  }

  /** Sends a PUBLISH; returns its size in bytes, or 0 when it could not be sent (see canPublish). */
  publish(topic: string, payload: Buffer, qos: QoS, properties?: Properties): number {
    if (!this.canPublish(qos)) return 0;
    let id = 0;
    if (qos > 0) {
      // A Packet Identifier in use must not be reused until its flow ends [MQTT-2.2.1-3].
      while (this.pending.has(this.nextId)) this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
      id = this.nextId;
      this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
      this.pending.set(id, now());
    }
    const frame = encodePublish(topic, payload, qos, false, false, id, this.version === 5 ? properties : undefined, this.version);
    this.write(frame);
    return frame.length;
  }

  subscribe(filters: string[], qos: QoS, noLocal: boolean): Promise<number[]> {
    const packetId = 1;
    return new Promise((resolve, reject) => {
      this.subacks.set(packetId, { resolve, reject });
      this.write(
        encodeSubscribe(
          {
            type: 8,
            packetId,
            subscriptions: filters.map((filter) => ({ filter, qos, noLocal: noLocal && this.version === 5, retainAsPublished: false, retainHandling: 0 })),
          },
          this.version,
        ),
      );
    });
  }

  ping(): void {
    if (!this.socket.destroyed) this.write(PINGREQ_FRAME);
  }

  /** Abrupt loss: the socket goes without DISCONNECT (a device losing power or network). */
  abort(): void {
    this.intentional = true;
    this.socket.destroy();
  }

  /** Sends DISCONNECT (Normal disconnection) and closes; resolves once the socket closed. */
  close(graceMs = 2000): Promise<void> {
    this.intentional = true;
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end(DISCONNECT_FRAME);
      setTimeout(() => this.socket.destroy(), graceMs).unref();
    });
  }

  waitConnack(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connack = { resolve, reject };
    });
  }

  private onPacket(p: Packet): void {
    switch (p.type) {
      case 2: {
        const w = this.connack;
        this.connack = null;
        if (p.reasonCode !== 0) {
          w?.reject(new Error(`CONNACK refused ${this.clientId} with code 0x${p.reasonCode.toString(16)}`));
          this.intentional = true;
          this.socket.destroy();
          return;
        }
        if (p.properties?.receiveMaximum !== undefined) this.receiveMaximum = p.properties.receiveMaximum;
        if (p.properties?.serverKeepAlive !== undefined) this.keepAlive = p.properties.serverKeepAlive;
        w?.resolve();
        return;
      }
      case 3:
        // QoS 1: PUBACK; QoS 2: PUBREC, then PUBCOMP on PUBREL (MQTT 5.0 §4.3.3 receiver side).
        if (p.qos === 1) this.write(encodeAck(4, p.packetId!, 0, this.version));
        else if (p.qos === 2) this.write(encodeAck(5, p.packetId!, 0, this.version));
        this.handler.onMessage(this, p);
        return;
      case 4:
      case 7:
        this.finish(p.packetId, p.reasonCode);
        return;
      case 5:
        // A PUBREC with a reason code >= 0x80 ends the flow (MQTT 5.0 §4.3.3); else PUBREL follows.
        if (p.reasonCode >= 0x80) this.finish(p.packetId, p.reasonCode);
        else this.write(encodeAck(6, p.packetId, 0, this.version));
        return;
      case 6:
        this.write(encodeAck(7, p.packetId, 0, this.version));
        return;
      case 9: {
        const w = this.subacks.get(p.packetId);
        this.subacks.delete(p.packetId);
        w?.resolve(p.reasonCodes);
        return;
      }
      case 14:
        // A 5.0 server may say why it closes (MQTT 5.0 §3.14.2.1).
        this.error ??= new Error(`broker sent DISCONNECT with reason 0x${p.reasonCode.toString(16)}`);
        return;
      default:
      // PINGRESP, UNSUBACK, AUTH: nothing to do.
    }
  }

  private finish(packetId: number, reasonCode: number): void {
    const sent = this.pending.get(packetId);
    if (sent === undefined) return;
    this.pending.delete(packetId);
    this.handler.onAck(this, reasonCode, now() - sent);
  }

  private onSocketClose(): void {
    const err = this.error ?? new Error('connection closed by the broker');
    this.connack?.reject(err);
    for (const w of this.subacks.values()) w.reject(err);
    this.connack = null;
    this.subacks.clear();
    this.handler.onClose(this, this.intentional ? null : err);
  }
}

/** Opens a TCP connection, sends CONNECT, and resolves when CONNACK accepts it. */
export async function openSimConnection(c: ConnectParams, handler: ClientHandler, tag: unknown): Promise<SimConnection> {
  const socket = netConnect({ host: c.host, port: c.port, localAddress: c.localAddress, noDelay: true });
  const conn = new SimConnection(socket, c.version, c.clientId, c.keepAlive, handler, tag);
  const accepted = conn.waitConnack();
  socket.once('connect', () => {
    socket.write(
      encodeConnect(
        {
          type: 1,
          protocolName: 'MQTT',
          protocolVersion: c.version,
          clean: true,
          keepAlive: c.keepAlive,
          clientId: c.clientId,
          ...(c.username !== undefined ? { username: c.username } : {}),
          ...(c.password !== undefined ? { password: Buffer.from(c.password, 'utf8') } : {}),
        },
        c.version,
      ),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      conn.intentional = true;
      socket.destroy();
      reject(new Error(`no CONNACK for ${c.clientId} from ${c.host}:${c.port} within ${c.timeoutMs} ms`));
    }, c.timeoutMs);
  });
  try {
    await Promise.race([accepted, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return conn;
}
