// The state of one MQTT session (MQTT 5.0 §4.1): subscriptions, in-flight and queued outbound
// messages, inbound QoS 2 packet ids, the will waiting for its delay. It outlives connections
// when persistent. Kept small: an idle session with one subscription must cost a few hundred
// bytes (DESIGN.md: ≤ 2.5 KB per idle client including the socket).
import type { ProtocolVersion, QoS } from '../../codec/mqtt/packets.js';
import type { StoredSubscription, StoredWill } from '../../ports/broker-store.js';
import type { ClientInfo, DisconnectReason } from '../hooks.js';
import type { Message } from '../message.js';
import { OutboundQueue } from './outbound-queue.js';

/** An outbound delivery of one message to this session. */
export interface Delivery {
  /** Per-session order; the store key of persisted deliveries. */
  seq: number;
  message: Message;
  /** min(message QoS, subscription QoS) */
  qos: QoS;
  /** Retain flag as sent (retain-as-published, or true for retained-on-subscribe). */
  retain: boolean;
  subscriptionIds: number[] | undefined;
  packetId: number; // 0 until sent
  state: 'queued' | 'await-puback' | 'await-pubrec' | 'await-pubcomp';
  /** Whether this delivery is in the store (persistent session, QoS > 0). */
  persisted: boolean;
}

/** What the core needs from a connected client; implemented by protocol channels. */
export interface SessionLink {
  readonly client: ClientInfo;
  /** Outbound QoS 1/2 messages the client accepts unacknowledged (its Receive Maximum, capped). */
  readonly inflightLimit: number;
  /** The socket is backed up past config.limits.maxOutboundBuffer: queue instead of sending. */
  readonly congested: boolean;
  /** Send a QoS 0 message now; false when congested (the core queues it). */
  sendQos0(message: Message, retain: boolean, subscriptionIds: number[] | undefined): boolean;
  /**
   * Send a QoS 1/2 delivery with its packet id (dup on resend). False when the packet exceeds the
   * client's Maximum Packet Size and was discarded [MQTT-3.1.2-25].
   */
  sendPublish(d: Delivery, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
  /** Close the link, sending a DISCONNECT with this reason code where the protocol has one. */
  disconnect(reasonCode: number, reason: DisconnectReason): void;
}

export class Session {
  readonly clientId: string;
  version: ProtocolVersion;
  /** Seconds after disconnect; 0 = ends with the connection; 0xFFFFFFFF = never. */
  expiryInterval: number;
  disconnectedAt = 0;
  deviceId: string | undefined;
  link: SessionLink | null = null;
  /** Filter (as subscribed, including $share/ prefix) → subscription. Created on first subscribe. */
  subscriptions: Map<string, StoredSubscription> | null = null;
  /** Packet id → outbound delivery awaiting PUBACK/PUBREC/PUBCOMP. */
  inflight: Map<number, Delivery> | null = null;
  queue: OutboundQueue<Delivery> | null = null;
  /** Inbound QoS 2 packet ids received, PUBREC sent, PUBREL awaited (MQTT 5.0 §4.3.3). */
  inboundQos2: Set<number> | null = null;
  pendingWill: StoredWill | undefined;
  willTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  nextSeq = 1;
  /** Something of this session is in the store (so ending it must delete it there). */
  stored = false;
  private nextPacketId = 1;

  constructor(clientId: string, version: ProtocolVersion, expiryInterval: number) {
    this.clientId = clientId;
    this.version = version;
    this.expiryInterval = expiryInterval;
  }

  get persistent(): boolean {
    return this.expiryInterval > 0;
  }

  get inflightCount(): number {
    return this.inflight === null ? 0 : this.inflight.size;
  }

  get queuedCount(): number {
    return this.queue === null ? 0 : this.queue.length;
  }

  /** A packet identifier not in use by an in-flight delivery [MQTT-2.2.1-3]. */
  allocatePacketId(): number {
    const inflight = this.inflight;
    for (let i = 0; i < 65535; i++) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (inflight === null || !inflight.has(id)) return id;
    }
    throw new Error('no free packet identifier');
  }

  ensureInflight(): Map<number, Delivery> {
    return (this.inflight ??= new Map());
  }

  ensureQueue(): OutboundQueue<Delivery> {
    return (this.queue ??= new OutboundQueue<Delivery>());
  }
}
