// A bare MQTT socket client for conformance tests: it sends packets built by `mqtt-packet`'s
// generator (the reference encoder) or arbitrary bytes, and parses what the broker sends with
// `mqtt-packet`'s parser. It never acknowledges, retries or pings by itself, so a test controls
// every byte on the wire — which the `mqtt` client will not let us do for malformed or edge input.
import net from 'node:net';
import { generate, parser as createParser } from 'mqtt-packet';
import type { IConnackPacket, IConnectPacket, Packet, PacketCmd } from 'mqtt-packet';

export type PacketOf<C extends PacketCmd> = Extract<Packet, { cmd: C }>;
export type ProtocolVersion = 3 | 4 | 5;

export interface RawClientOptions {
  /** Protocol version used to encode packets and to parse replies (default 4 = MQTT 3.1.1). */
  protocolVersion?: ProtocolVersion;
  /** Timeout of the TCP connect (default 3000 ms). */
  connectTimeoutMs?: number;
}

export interface Endpoint {
  host: string;
  mqttPort: number;
}

const DEFAULT_WAIT_MS = 2000;

export class RawClient {
  /** Every client not yet closed, so a test file can destroy leftovers in its `after` hook. */
  private static readonly open_ = new Set<RawClient>();
  readonly protocolVersion: ProtocolVersion;
  /** Packets received and not yet taken by expectPacket/nextPacket, in arrival order. */
  readonly queue: Packet[] = [];
  /** Every packet received, in arrival order (never drained). */
  readonly received: Packet[] = [];
  /** Raw bytes received, concatenated lazily by rawBytes(). */
  private readonly chunks: Buffer[] = [];
  closed = false;
  /** performance.now() at the close of the socket. */
  closedAt: number | undefined;
  /** The first error of mqtt-packet's parser on the broker's bytes, if any. */
  parseError: Error | undefined;
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly socket: net.Socket,
    protocolVersion: ProtocolVersion,
  ) {
    this.protocolVersion = protocolVersion;
    RawClient.open_.add(this);
    const parser = createParser({ protocolVersion });
    parser.on('packet', (p: Packet) => {
      this.queue.push(p);
      this.received.push(p);
      this.notify();
    });
    parser.on('error', (err: Error) => {
      this.parseError ??= err;
      this.notify();
    });
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      parser.parse(chunk);
    });
    socket.on('error', () => {
      // A reset by the broker is a close as far as tests are concerned; 'close' follows.
    });
    socket.on('close', () => {
      this.closed = true;
      this.closedAt = performance.now();
      RawClient.open_.delete(this);
      this.notify();
    });
  }

  /** Destroys every raw client still open (for `after` hooks; failed tests leave sockets behind). */
  static destroyAll(): void {
    for (const c of RawClient.open_) c.destroy();
  }

  /** Opens a TCP connection; sends nothing. */
  static open(endpoint: Endpoint, opts: RawClientOptions = {}): Promise<RawClient> {
    const version = opts.protocolVersion ?? 4;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: endpoint.host, port: endpoint.mqttPort });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`raw client: TCP connect to ${endpoint.host}:${endpoint.mqttPort} timed out`));
      }, opts.connectTimeoutMs ?? 3000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawClient(socket, version));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /**
   * Opens a connection, sends CONNECT (defaults: clean, keep alive 30 s, the given version) and
   * waits for CONNACK. Does not check the CONNACK's return code: the caller does.
   */
  static async connect(
    endpoint: Endpoint,
    connect: Partial<Omit<IConnectPacket, 'cmd'>> & { clientId: string },
    opts: RawClientOptions = {},
  ): Promise<{ client: RawClient; connack: IConnackPacket }> {
    const protocolVersion = opts.protocolVersion ?? (connect.protocolVersion as ProtocolVersion | undefined) ?? 4;
    const client = await RawClient.open(endpoint, { ...opts, protocolVersion });
    client.send({
      cmd: 'connect',
      protocolId: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion,
      clean: true,
      keepalive: 30,
      ...connect,
    } as IConnectPacket);
    const connack = await client.expectPacket('connack');
    return { client, connack };
  }

  /** Encodes the packet with mqtt-packet for this client's protocol version and writes it. */
  send(packet: Packet): void {
    this.sendBytes(generate(packet, { protocolVersion: this.protocolVersion }));
  }

  sendBytes(bytes: Buffer | Uint8Array | readonly number[]): void {
    if (this.socket.destroyed) return;
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes as Uint8Array));
  }

  /** All bytes received so far. */
  rawBytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Takes the next received packet, whatever its type. */
  async nextPacket(timeoutMs = DEFAULT_WAIT_MS): Promise<Packet> {
    return this.waitUntil(() => this.queue.shift(), timeoutMs, 'any packet');
  }

  /**
   * Takes the first queued packet of this type (packets of other types stay queued, in order).
   * Fails if none arrives within the timeout or the connection closes first.
   */
  async expectPacket<C extends PacketCmd>(cmd: C, timeoutMs = DEFAULT_WAIT_MS): Promise<PacketOf<C>> {
    return this.waitUntil(
      () => {
        const i = this.queue.findIndex((p) => p.cmd === cmd);
        return i < 0 ? undefined : (this.queue.splice(i, 1)[0] as PacketOf<C>);
      },
      timeoutMs,
      `a ${cmd.toUpperCase()} packet`,
    );
  }

  /** Resolves when the broker closes the connection; fails if it is still open after the timeout. */
  async expectClose(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await this.waitUntil(() => (this.closed ? true : undefined), timeoutMs, 'the connection to close', true);
  }

  /**
   * Fails if a packet (of the given type, or of any type) is queued during the next `ms`
   * milliseconds, or was already queued and not taken. The connection may close meanwhile.
   */
  async expectNothing(ms: number, cmd?: PacketCmd): Promise<void> {
    const match = (): Packet | undefined => this.queue.find((p) => cmd === undefined || p.cmd === cmd);
    const early = match();
    if (early) throw new Error(`expected no ${cmd ?? 'packet'}, but ${describe(early)} was already queued`);
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const p = match();
        if (p) {
          cleanup();
          reject(new Error(`expected no ${cmd ?? 'packet'} for ${ms} ms, got ${describe(p)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve();
      }, ms);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  /** Closes the socket abruptly (no DISCONNECT): the broker sees a network failure. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Half-closes the socket after pending writes (no DISCONNECT is sent unless the test sent one). */
  async end(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (this.closed) return;
    this.socket.end();
    try {
      await this.expectClose(timeoutMs);
    } catch {
      this.socket.destroy();
    }
  }

  /** Sends DISCONNECT (reason 0 unless given) and closes. */
  async disconnect(reasonCode?: number, properties?: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    const packet: Packet =
      this.protocolVersion === 5
        ? ({ cmd: 'disconnect', reasonCode: reasonCode ?? 0, properties } as Packet)
        : { cmd: 'disconnect' };
    this.send(packet);
    await this.end();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private waitUntil<T>(take: () => T | undefined, timeoutMs: number, what: string, allowClosed = false): Promise<T> {
    const first = take();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = take();
        if (v !== undefined) {
          cleanup();
          resolve(v);
        } else if (this.parseError) {
          cleanup();
          reject(new Error(`waiting for ${what}: the broker sent bytes mqtt-packet cannot parse: ${this.parseError.message}`));
        } else if (this.closed && !allowClosed) {
          cleanup();
          reject(new Error(`waiting for ${what}: the connection closed (queued: ${this.queue.map(describe).join(', ') || 'nothing'})`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (queued: ${this.queue.map(describe).join(', ') || 'nothing'})`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }
}

/** A short human-readable description of a packet, for assertion messages. */
export function describe(p: Packet): string {
  const extra: string[] = [];
  if ('messageId' in p && p.messageId !== undefined) extra.push(`id=${p.messageId}`);
  if ('reasonCode' in p && p.reasonCode !== undefined) extra.push(`rc=0x${p.reasonCode.toString(16)}`);
  if (p.cmd === 'connack' && p.returnCode !== undefined) extra.push(`rc=${p.returnCode}`);
  if (p.cmd === 'publish') extra.push(`topic=${p.topic} qos=${p.qos}${p.dup ? ' dup' : ''}${p.retain ? ' retain' : ''}`);
  return `${p.cmd.toUpperCase()}${extra.length ? `(${extra.join(' ')})` : ''}`;
}
