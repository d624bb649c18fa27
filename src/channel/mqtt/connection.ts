// One MQTT connection: framing (parser in, batched writes out), the connection state machine and
// the single dispatch switch over packet types; what each packet does lives in handle-*.ts.
//
// Effects go through small methods (send, disconnect) rather than returned arrays so the message
// path allocates nothing per packet; tests drive a connection over an in-memory duplex pair.
import type { Duplex } from 'node:stream';
import type { Packet, ProtocolVersion } from '../../codec/mqtt/packets.js';
import { MqttProtocolError, ReasonCode } from '../../codec/mqtt/packets.js';
import { MqttParser } from '../../codec/mqtt/parser.js';
import { encode, encodeAck, encodeDisconnect } from '../../codec/mqtt/encoder.js';
import type { Broker, Channel } from '../../core/broker/broker.js';
import type { AckWaiter } from '../../core/broker/committer.js';
import type { ClientInfo, DisconnectReason } from '../../core/hooks.js';
import type { Message, MessageOrigin } from '../../core/message.js';
import type { Delivery, Session, SessionLink } from '../../core/session/session.js';
import type { StoredWill } from '../../ports/broker-store.js';
import type { AcceptedConnection } from '../../transport/types.js';
import { handleConnect } from './handle-connect.js';
import { handlePublish } from './handle-publish.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './handle-acks.js';
import { handleSubscribe } from './handle-subscribe.js';
import { handleUnsubscribe } from './handle-unsubscribe.js';
import { handleDisconnect } from './handle-disconnect.js';
import { encodeOutgoingPublish } from './send-publish.js';
import { PINGRESP_FRAME } from '../../codec/mqtt/encoder.js';

export const ConnState = { AwaitConnect: 0, Authenticating: 1, Connected: 2, Closed: 3 } as const;
type State = (typeof ConnState)[keyof typeof ConnState];

/** Seconds a new connection may take to send CONNECT before it is closed. */
const CONNECT_TIMEOUT_MS = 10_000;

// Writes are batched: what a read produces for every connection (a subscriber's share of a
// publisher's 64 KB chunk, say) leaves in one socket write per connection at the end of that
// read; sends from timers and commit completions are flushed by setImmediate (DESIGN.md "Writes
// and acks"). Flushing per read rather than per turn lowered p99 latency at low rates and raised
// QoS 0 fan-in throughput (docs/BENCHMARKS.md).
const dirty: MqttConnection[] = [];
let flushScheduled = false;
function flushAll(): void {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
}

const kConn = Symbol('twinhub.mqttConnection');
type StreamWithConn = Duplex & { [kConn]: MqttConnection };
function onDataShared(this: StreamWithConn, chunk: Buffer): void {
  this[kConn].onData(chunk);
}
function onErrorShared(this: StreamWithConn, err: Error): void {
  this[kConn].onError(err);
}
function onCloseShared(this: StreamWithConn): void {
  this[kConn].onClose();
}
function onDrainShared(this: StreamWithConn): void {
  this[kConn].onDrain();
}

export function acceptMqtt(broker: Broker, conn: AcceptedConnection): void {
  new MqttConnection(broker, conn);
}

export class MqttConnection implements SessionLink, Channel, AckWaiter {
  readonly broker: Broker;
  readonly stream: Duplex;
  readonly parser: MqttParser;
  readonly accepted: AcceptedConnection;
  state: State = ConnState.AwaitConnect;
  version: ProtocolVersion = 4;
  client!: ClientInfo;
  /** The origin its messages carry, shared by them (handle-publish.ts originOf). */
  origin: MessageOrigin | undefined = undefined;
  session: Session | null = null;
  /** Will of this connection, dropped on a normal DISCONNECT [MQTT-3.1.2-10]. */
  will: StoredWill | undefined;
  keepAliveMs = 0;
  lastRx: number;
  readonly openedAt: number;

  // Outbound
  private out: Buffer[] | null = null;
  private outBytes = 0;
  inflightLimit = 65535;
  /** Client's Maximum Packet Size (5.0 §3.1.2.11.4); larger packets are not sent. */
  maxOutPacket = 0x7fffffff;
  /** Topic aliases the hub may use towards the client (its Topic Alias Maximum). */
  outAliasMax = 0;
  outAliases: Map<string, number> | null = null;
  inAliases: Map<number, string> | null = null;
  /** Inbound QoS 1/2 PUBLISHes not yet fully acknowledged (the hub's Receive Maximum). */
  inboundUnacked = 0;
  /** Acks held back until a commit is durable; later acks queue behind them to keep order. */
  acksPending = 0;
  /** Packets that arrived while CONNECT was being authenticated. */
  pending: Packet[] | null = null;
  private closeReason: DisconnectReason = 'socket-closed';
  private readPaused = false;
  private closeCode = 0;
  private finished = false;

  constructor(broker: Broker, accepted: AcceptedConnection) {
    this.broker = broker;
    this.accepted = accepted;
    this.stream = accepted.stream;
    this.lastRx = this.openedAt = broker.clock;
    this.parser = new MqttParser(this.onPacket, broker.config.limits.maxPacketSize);
    const s = this.stream;
    // Shared listeners find their connection through a property of the stream: four closures per
    // connection would cost about 300 bytes of every idle client (DESIGN.md memory target).
    (s as StreamWithConn)[kConn] = this;
    s.on('data', onDataShared);
    s.on('error', onErrorShared);
    s.on('close', onCloseShared);
    s.on('drain', onDrainShared);
    broker.registerChannel(this);
  }

  // ---------------------------------------------------------------- input

  onData(chunk: Buffer): void {
    this.lastRx = this.broker.clock;
    this.broker.bytesIn += chunk.length;
    try {
      this.parser.feed(chunk);
      if (dirty.length > 0) flushAll();
    } catch (err) {
      this.protocolFailure(err);
    }
  }

  private readonly onPacket = (p: Packet): void => {
    if (this.state === ConnState.Connected) this.dispatch(p);
    else if (this.state === ConnState.AwaitConnect) {
      if (p.type !== 1) {
        // The first packet from the client MUST be CONNECT [MQTT-3.1.0-1].
        this.close('protocol-error', ReasonCode.ProtocolError);
        return;
      }
      handleConnect(this, p);
    } else if (this.state === ConnState.Authenticating) {
      (this.pending ??= []).push(p);
    }
  };

  /** The single dispatch switch: what each packet type does is in its handle-*.ts file. */
  dispatch(p: Packet): void {
    switch (p.type) {
      case 3:
        handlePublish(this, p);
        return;
      case 4:
        handlePuback(this, p);
        return;
      case 5:
        handlePubrec(this, p);
        return;
      case 6:
        handlePubrel(this, p);
        return;
      case 7:
        handlePubcomp(this, p);
        return;
      case 8:
        handleSubscribe(this, p);
        return;
      case 10:
        handleUnsubscribe(this, p);
        return;
      case 12:
        this.send(PINGRESP_FRAME); // [MQTT-3.12.4-1]
        return;
      case 14:
        handleDisconnect(this, p);
        return;
      case 1:
        // A second CONNECT is a Protocol Error [MQTT-3.1.0-2].
        this.disconnect(ReasonCode.ProtocolError, 'protocol-error');
        return;
      case 15:
        // Enhanced authentication is not offered; an AUTH without it is a Protocol Error
        // [MQTT-4.12.0-1].
        this.disconnect(ReasonCode.ProtocolError, 'protocol-error');
        return;
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP are server-to-client only.
        this.disconnect(ReasonCode.ProtocolError, 'protocol-error');
    }
  }

  /** Run the packets that arrived while CONNECT was authenticated, then read on. */
  drainPending(): void {
    const list = this.pending;
    this.pending = null;
    if (list !== null) for (const p of list) if (this.state === ConnState.Connected) this.dispatch(p);
    if (this.state === ConnState.Connected) this.stream.resume();
  }

  private protocolFailure(err: unknown): void {
    if (err instanceof MqttProtocolError) {
      if (err.reasonCode === ReasonCode.PacketTooLarge) this.broker.limitsHit.maxPacketSize++;
      this.broker.log.debug({ clientId: this.client?.clientId, err: err.message }, 'protocol error, closing');
      if (this.state === ConnState.AwaitConnect) {
        if (err.reasonCode === ReasonCode.UnsupportedProtocolVersion) {
          // [MQTT-3.1.2-2]: CONNACK 0x01 (3.1.1) / 0x84 (5.0), then close.
          const level = (err as MqttProtocolError & { protocolVersion?: number }).protocolVersion;
          const v5 = level !== undefined && level >= 5;
          this.writeNow(encode({ type: 2, sessionPresent: false, reasonCode: v5 ? 0x84 : 0x01 }, v5 ? 5 : 4));
        } else if (this.parser.version === 5) {
          this.writeNow(encode({ type: 2, sessionPresent: false, reasonCode: err.reasonCode }, 5));
        }
        this.close('protocol-error', err.reasonCode);
        return;
      }
      this.disconnect(err.reasonCode, 'protocol-error');
      return;
    }
    this.broker.log.error({ err }, 'unexpected error handling MQTT input');
    this.disconnect(ReasonCode.ImplementationSpecificError, 'protocol-error');
  }

  // ---------------------------------------------------------------- output

  get congested(): boolean {
    return this.outBytes + this.stream.writableLength > this.broker.config.limits.maxOutboundBuffer;
  }

  send(buf: Buffer): void {
    if (this.state === ConnState.Closed) return;
    this.broker.bytesOut += buf.length;
    if (this.out === null) {
      this.out = [buf];
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    } else {
      this.out.push(buf);
    }
    this.outBytes += buf.length;
  }

  flush(): void {
    const out = this.out;
    if (out === null) return;
    this.out = null;
    const n = this.outBytes;
    this.outBytes = 0;
    if (this.stream.destroyed) return;
    this.stream.write(out.length === 1 ? out[0]! : Buffer.concat(out, n));
  }

  /** Write now, bypassing the batch (before closing). */
  private writeNow(buf: Buffer): void {
    this.flush();
    if (!this.stream.destroyed) this.stream.write(buf);
  }

  sendQos0(message: Message, retain: boolean, ids: number[] | undefined): boolean {
    if (this.congested) return false;
    const buf = encodeOutgoingPublish(this, message, 0, retain, false, 0, ids);
    if (buf === null) {
      this.broker.dispatcher.drop(message, this.session!, 'too-large');
      return true;
    }
    this.broker.messagesOut++;
    this.send(buf);
    return true;
  }

  sendPublish(d: Delivery, dup: boolean): boolean {
    const buf = encodeOutgoingPublish(this, d.message, d.qos, d.retain, dup, d.packetId, d.subscriptionIds);
    if (buf === null) return false;
    this.broker.messagesOut++;
    this.send(buf);
    return true;
  }

  sendPubrel(packetId: number): void {
    this.send(encodeAck(6, packetId, 0, this.version));
  }

  // ---------------------------------------------------------------- acks released by commits

  /** Send an ack now, or behind acks waiting for a commit (order [MQTT-4.6.0-2..4]). */
  sendAck(ack: Buffer, durable: boolean): void {
    if (durable || this.acksPending > 0) {
      this.acksPending++;
      this.broker.committer.afterCommit(this, ack);
    } else {
      this.ackSent(ack);
    }
  }

  ackReady(ack: Buffer): void {
    this.acksPending--;
    this.ackSent(ack);
  }

  ackFailed(ack: Buffer, _error: unknown): void {
    this.acksPending--;
    const type = ack[0]! >> 4;
    const packetId = (ack[2]! << 8) | ack[3]!;
    if (type === 5) this.session?.inboundQos2?.delete(packetId);
    if (this.version === 5) {
      // The message was not stored, so it is not acknowledged as accepted: 0x80 lets a 5.0
      // client know and retry (MQTT 5.0 §3.4.2.1).
      this.ackSent(encodeAck(type as 4 | 5 | 7, packetId, ReasonCode.UnspecifiedError, 5));
    } else {
      // 3.1.1 has no negative acknowledgement: close without acknowledging.
      if (type === 4 || type === 7) this.inboundUnacked--;
      this.close('store-failure', ReasonCode.UnspecifiedError);
    }
  }

  private ackSent(ack: Buffer): void {
    const type = ack[0]! >> 4;
    // A QoS 1 exchange ends with PUBACK, a QoS 2 one with PUBCOMP, or with a PUBREC carrying a
    // failure reason (≥ 0x80), after which no PUBREL follows (MQTT 5.0 §4.9, §4.3.3).
    if (type === 4 || type === 7 || (type === 5 && ack.length > 4 && ack[4]! >= 0x80)) this.inboundUnacked--;
    this.send(ack);
  }

  /** The authenticated client once CONNECT was accepted (Channel). */
  get connectedClient(): ClientInfo | undefined {
    return this.state === ConnState.Connected ? this.client : undefined;
  }

  /**
   * Stop reading for `ms` (a device over its publish rate: backpressure instead of refusal).
   * TCP flow control then slows the sender down; a pause already running is not extended.
   */
  pauseReading(ms: number): void {
    if (this.readPaused || this.state === ConnState.Closed) return;
    this.readPaused = true;
    this.stream.pause();
    setTimeout(() => {
      this.readPaused = false;
      if (this.state !== ConnState.Closed) this.stream.resume();
    }, Math.max(1, Math.ceil(ms))).unref();
  }

  // ---------------------------------------------------------------- flow control and timers

  onDrain(): void {
    const s = this.session;
    if (s !== null && s.queue !== null && s.queue.length > 0) this.broker.dispatcher.pump(s);
  }

  tick(now: number): void {
    if (this.state === ConnState.Connected) {
      // A credential with an end (JWT `exp`) ends the session with it: 5.0 DISCONNECT 0xA0
      // Maximum connect time (§3.14.2.1); 3.1.1 is closed.
      const auth = this.client.auth;
      if (auth !== undefined && auth.expiresAt !== 0 && now >= auth.expiresAt) {
        this.disconnect(ReasonCode.MaximumConnectTime, 'auth-expired');
        return;
      }
      // Keep alive: no packet for one and a half times the interval closes the connection
      // [MQTT-3.1.2-24] (5.0: DISCONNECT 0x8D Keep Alive timeout).
      if (this.keepAliveMs > 0 && now - this.lastRx > this.keepAliveMs * 1.5) {
        this.disconnect(ReasonCode.KeepAliveTimeout, 'keepalive');
      }
    } else if (this.state === ConnState.AwaitConnect && now - this.openedAt > CONNECT_TIMEOUT_MS) {
      this.close('keepalive', 0);
    }
  }

  shutdown(): void {
    this.disconnect(ReasonCode.ServerShuttingDown, 'shutdown');
    // Publish the will and settle the session now, so the store flush after this includes them.
    this.finish();
  }

  // ---------------------------------------------------------------- closing

  /**
   * Server-initiated disconnect: 5.0 clients get DISCONNECT with the reason code first
   * (§4.13.1); 3.1.1 clients are closed.
   */
  disconnect(reasonCode: number, reason: DisconnectReason): void {
    if (this.state === ConnState.Closed) return;
    if (this.state === ConnState.Connected && this.version === 5) {
      this.writeNow(encodeDisconnect(reasonCode, 5));
    }
    this.close(reason, reasonCode);
  }

  /** Close the network connection; the will and session are settled on 'close'. */
  close(reason: DisconnectReason, reasonCode: number): void {
    if (this.state === ConnState.Closed) return;
    this.closeReason = reason;
    this.closeCode = reasonCode;
    this.flush();
    this.state = ConnState.Closed;
    this.parser.destroy();
    this.stream.end();
    // A peer that does not read must not keep the socket: destroy soon after end.
    setTimeout(() => this.stream.destroy(), 1000).unref();
  }

  onError(err: Error): void {
    this.broker.log.debug({ clientId: this.client?.clientId, err: err.message }, 'socket error');
    if (this.state !== ConnState.Closed) this.closeReason = 'socket-error';
    this.stream.destroy();
  }

  onClose(): void {
    this.finish();
  }

  /** Settle once: unregister, hand the session back to the core with the will to publish. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const wasConnected = this.session !== null;
    this.state = ConnState.Closed;
    this.out = null;
    this.broker.unregisterChannel(this);
    if (this.session !== null) {
      const session = this.session;
      this.session = null;
      this.broker.sessions.closed(session, this, this.will);
      this.will = undefined;
    }
    if (wasConnected) {
      const ls = this.broker.hooks.listenersOf('client.disconnected');
      for (let i = 0; i < ls.length; i++) ls[i]!(this.client, this.closeReason, this.closeCode);
    }
  }

  /** A normal DISCONNECT from the client. */
  clientDisconnected(publishWill: boolean): void {
    if (!publishWill) this.will = undefined;
    this.close('client', 0);
  }
}
