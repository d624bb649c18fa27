// Idle connections for the `conns` scenario: each connects, subscribes to one topic of its own and
// then stays silent but for keep-alive. About a hundred handshakes run at once over all processes,
// so a broker's listen backlog (Mosquitto listens with 100) does not overflow: a dropped SYN costs
// a one-second retransmit and makes the burst slower, not faster.
import { openConnection, type BenchConnection, type PacketHandler } from './connection.js';
import { monoNowMs } from './clock.js';
import { clientId, type FromChild, type InitMessage } from './ipc.js';

const CONCURRENCY_TOTAL = 96;
/**
 * Connections per loopback source address. Binding to an address with port 0 makes the kernel
 * search for a free port among those bound on it, which grows costly with thousands per address;
 * a fresh address per thousand keeps it cheap and far from the ~28,000 ephemeral ports.
 */
export const CONNS_PER_ADDRESS = 1000;

/** Source address for connection `global` when the target is on loopback, else undefined. */
export function sourceAddress(host: string, base: string, global: number): string | undefined {
  if (base === '' || !/^127\./.test(host)) return undefined;
  const k = Math.floor(global / CONNS_PER_ADDRESS);
  return `${base}.${Math.floor(k / 250) % 256}.${1 + (k % 250)}`;
}

export class IdleConnections implements PacketHandler {
  private readonly conns: BenchConnection[] = [];
  private closing = false;
  connected = 0;
  failed = 0;
  private firstError = '';

  constructor(
    private readonly init: InitMessage,
    private readonly send: (m: FromChild) => void,
    /** `127.a`, chosen per run so a new run does not meet the TIME_WAIT ports of the last. */
    private readonly addressBase: string,
  ) {}

  async open(): Promise<void> {
    const o = this.init.opts;
    const startMs = monoNowMs();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.init.count && !this.closing) {
        const i = next++;
        const global = this.init.offset + i;
        try {
          const conn = await openConnection({
            host: o.host,
            port: o.port,
            localAddress: sourceAddress(o.host, this.addressBase, global),
            version: o.version,
            clientId: clientId(this.init.runId, 'c', global),
            clean: true,
            keepAlive: o.keepAlive,
            sessionExpiry: 0,
            index: i,
            handler: this,
          });
          this.conns.push(conn);
          const codes = await conn.subscribe(`tb/${this.init.runId}/idle/${global}`, o.qos);
          if (codes[0] >= 0x80) throw new Error(`SUBSCRIBE refused with 0x${codes[0].toString(16)}`);
          this.connected++;
        } catch (err) {
          this.failed++;
          if (this.firstError === '') this.firstError = (err as Error).message;
        }
      }
    };
    const procs = Math.ceil(o.conns / o.connsPerProc);
    const concurrency = Math.max(8, Math.floor(CONCURRENCY_TOTAL / procs));
    await Promise.all(Array.from({ length: Math.min(concurrency, this.init.count) }, worker));
    this.send({
      t: 'connsDone',
      connected: this.connected,
      failed: this.failed,
      startMs,
      endMs: monoNowMs(),
      firstError: this.firstError,
    });
  }

  get openCount(): number {
    let n = 0;
    for (const c of this.conns) if (!c.closed) n++;
    return n;
  }

  onPacket(): void {
    // Idle: nothing is published to these topics.
  }

  onClose(): void {
    // Counted when asked (connsStatus), so a broker dropping idle clients shows in the result.
  }

  connections(): BenchConnection[] {
    return this.conns;
  }

  async close(): Promise<void> {
    this.closing = true;
    // Closing thousands of sockets politely is slow and measures nothing: the process exits next.
    for (const c of this.conns) c.socket.destroy();
  }
}
