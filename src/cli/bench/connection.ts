// One bench client connection: a socket, a frame scanner, the CONNECT/SUBSCRIBE handshake, and a
// per-chunk batch of acknowledgements. Message packets go to the role's PacketHandler; the
// connection itself keeps no per-message state.
import { connect as netConnect, type Socket } from 'node:net';
import { monoNowMs } from './clock.js';
import {
  DISCONNECT,
  FrameScanner,
  PacketType,
  encodeConnect,
  encodeSubscribe,
  parseConnack,
  parseSuback,
  writeAck,
  type ConnectOptions,
  type FrameSink,
  type ProtocolVersion,
  type QoS,
} from './wire.js';

export interface PacketHandler {
  /** PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP. `conn.nowMs` is when the chunk arrived. */
  onPacket(conn: BenchConnection, type: number, flags: number, buf: Buffer, start: number, end: number): void;
  /** The connection closed; `err` is null when the bench closed it. */
  onClose(conn: BenchConnection, err: Error | null): void;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

/** Bytes of acknowledgements gathered before a write; under 4 KB so Buffer's pool serves it. */
const ACK_BATCH = 4000;
const HANDSHAKE_TIMEOUT_MS = 20000;

export class BenchConnection implements FrameSink {
  /** Arrival time (monoNowMs) of the chunk being scanned. */
  nowMs = 0;
  /** The server's Receive Maximum (MQTT 5.0 §3.2.2.3.3); 65535 when not limited. */
  receiveMaximum = 65535;
  private readonly scanner = new FrameScanner(this);
  private acks: Buffer | null = null;
  private ackLen = 0;
  private connack: Waiter<void> | null = null;
  private suback: Waiter<number[]> | null = null;
  private closing = false;
  private error: Error | null = null;

  /** Set by openConnection when reads go to one reused buffer (`onread`). */
  reusedBuffer = false;
  /** Reading pauses this long after each read, so one read takes many frames (see ReadMode). */
  readIntervalMs = 0;
  private readonly resumeRead = (): void => {
    if (!this.socket.destroyed) this.socket.resume();
  };

  constructor(
    readonly socket: Socket,
    readonly version: ProtocolVersion,
    /** The role's own index for this connection (publisher or subscriber number). */
    readonly index: number,
    private readonly handler: PacketHandler,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.error ??= err;
    });
    socket.on('close', () => this.onSocketClose());
  }

  private onData(chunk: Buffer): void {
    this.nowMs = monoNowMs();
    try {
      this.scanner.push(chunk, this.reusedBuffer);
    } catch (err) {
      this.error = err as Error;
      this.socket.destroy();
      return;
    }
    this.flushAcks();
  }

  /** `onread` callback: the bytes are in the connection's reused read buffer. */
  onRead(nread: number, buf: Buffer): void {
    this.onData(buf.subarray(0, nread));
    if (this.readIntervalMs > 0 && !this.socket.destroyed) {
      // With `onread`, pause() stops reading at the socket (uv_read_stop): the kernel gathers
      // what arrives meanwhile and the broker's writes wake nobody until the timer fires.
      this.socket.pause();
      setTimeout(this.resumeRead, this.readIntervalMs);
    }
  }

  onFrame(type: number, flags: number, buf: Buffer, start: number, end: number): void {
    switch (type) {
      case PacketType.CONNACK: {
        const c = parseConnack(this.version, buf, start, end);
        const w = this.connack;
        this.connack = null;
        if (c.code !== 0) {
          w?.reject(new Error(`CONNACK refused the connection with code 0x${c.code.toString(16)}`));
          this.socket.destroy();
        } else {
          this.receiveMaximum = c.receiveMaximum;
          w?.resolve();
        }
        return;
      }
      case PacketType.SUBACK: {
        const w = this.suback;
        this.suback = null;
        w?.resolve(parseSuback(this.version, buf, start, end));
        return;
      }
      case PacketType.PINGRESP:
        return;
      case PacketType.DISCONNECT: {
        // A 5.0 server may say why it closes (MQTT 5.0 §3.14.2.1).
        const code = end > start ? buf[start] : 0;
        this.error ??= new Error(`broker sent DISCONNECT with reason 0x${code.toString(16)}`);
        return;
      }
      default:
        this.handler.onPacket(this, type, flags, buf, start, end);
    }
  }

  /** Queues a 4-byte PUBACK/PUBREC/PUBREL/PUBCOMP; written once the current chunk is scanned. */
  queueAck(type: number, packetId: number): void {
    if (this.acks !== null && this.ackLen + 4 > this.acks.length) this.flushAcks();
    if (this.acks === null) this.acks = Buffer.allocUnsafe(ACK_BATCH);
    this.ackLen = writeAck(this.acks, this.ackLen, type, packetId);
  }

  private flushAcks(): void {
    if (this.ackLen === 0 || this.acks === null) return;
    // A new buffer next time: the written one may still be queued in the socket.
    this.socket.write(this.acks.subarray(0, this.ackLen));
    this.acks = null;
    this.ackLen = 0;
  }

  subscribe(filter: string, qos: QoS): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.suback = { resolve, reject };
      this.socket.write(encodeSubscribe(this.version, 1, filter, qos));
    });
  }

  write(buf: Buffer): void {
    this.socket.write(buf);
  }

  /** Sends DISCONNECT and closes; resolves once the socket closed. */
  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end(DISCONNECT);
      setTimeout(() => this.socket.destroy(), 2000).unref();
    });
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  private onSocketClose(): void {
    const err = this.error ?? new Error('connection closed by the broker');
    this.connack?.reject(err);
    this.suback?.reject(err);
    this.connack = this.suback = null;
    this.handler.onClose(this, this.closing ? null : err);
  }

  /** Awaits CONNACK for the CONNECT already written. */
  waitConnack(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connack = { resolve, reject };
    });
  }
}

/**
 * How a connection reads. `stream`: Node's default, a new Buffer per read (cheap in memory, for
 * thousands of idle connections). `buffer`: every read lands in one reused buffer (`onread`);
 * with `intervalMs` > 0, reading also pauses that long after each read, so a fast broker's many
 * small writes arrive as a few large reads instead of one wake-up of the bench per message.
 */
export type ReadMode = { kind: 'stream' } | { kind: 'buffer'; size: number; intervalMs: number };

export interface OpenOptions extends ConnectOptions {
  host: string;
  port: number;
  localAddress?: string;
  index: number;
  handler: PacketHandler;
  read?: ReadMode;
}

/** Opens a TCP connection, sends CONNECT and resolves when CONNACK accepted it. */
export async function openConnection(o: OpenOptions): Promise<BenchConnection> {
  const read = o.read ?? { kind: 'stream' };
  let target: BenchConnection | null = null;
  const socket = netConnect({
    host: o.host,
    port: o.port,
    localAddress: o.localAddress,
    noDelay: true,
    onread:
      read.kind === 'buffer'
        ? {
            buffer: Buffer.allocUnsafe(read.size),
            callback: (nread: number, buf: Uint8Array): boolean => {
              target?.onRead(nread, buf as Buffer);
              return true;
            },
          }
        : undefined,
  });
  const conn = new BenchConnection(socket, o.version, o.index, o.handler);
  target = conn;
  if (read.kind === 'buffer') {
    conn.reusedBuffer = true;
    conn.readIntervalMs = read.intervalMs;
  }
  const accepted = conn.waitConnack();
  socket.once('connect', () => socket.write(encodeConnect(o)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no CONNACK from ${o.host}:${o.port} within ${HANDSHAKE_TIMEOUT_MS} ms`));
    }, HANDSHAKE_TIMEOUT_MS);
  });
  try {
    await Promise.race([accepted, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return conn;
}
