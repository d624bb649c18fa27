// The persistence port of the broker: sessions, their subscriptions, queued and in-flight
// messages, inbound QoS 2 state and retained messages. Adapters: adapters/memory (tests and
// `persistence: false`), adapters/lmdb (the embedded default). Every adapter passes
// test/contracts/broker-store.contract.ts.
//
// Writes are plain data (`StoreOp`) collected by the core during one event-loop turn and applied
// by `commit` in ONE transaction; the returned promise resolves when the transaction is durable
// (reached the OS; fsync when configured) and rejects when it failed (then nothing of it applied).
import type { Properties, ProtocolVersion, QoS, Subscription } from '../codec/mqtt/packets.js';
import type { MessageProperties } from '../core/message.js';

export interface StoredMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: MessageProperties;
  /** Epoch ms when received by the hub. */
  receivedAt: number;
  /** Epoch ms expiry, 0 = never. */
  expiresAt: number;
  priority: number;
  /** Sender client id (for no-local after restore) */
  originClientId: string;
}

export interface StoredSubscription extends Subscription {
  /** 5.0 subscription identifier, if the SUBSCRIBE carried one. */
  subscriptionId?: number;
}

export interface StoredWill {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
  delayInterval: number; // seconds
}

export interface SessionRecord {
  clientId: string;
  protocolVersion: ProtocolVersion;
  /** Seconds after disconnect the session lives; 0xFFFFFFFF = never expires. */
  expiryInterval: number;
  /** Epoch ms of the last disconnect; 0 while connected. */
  disconnectedAt: number;
  subscriptions: StoredSubscription[];
  /** Will of a disconnected session waiting for its Will Delay Interval (5.0 §3.1.3.2.2). */
  pendingWill?: StoredWill;
  /** Registered device id, when the client authenticated as one. */
  deviceId?: string;
}

/**
 * One outbound message of a session, queued or in flight. `seq` orders the session's queue and
 * is unique per session. `packetId` is set once it has been sent (in flight), `state` says which
 * acknowledgement is awaited.
 */
export interface OutboundRecord {
  seq: number;
  message: StoredMessage;
  /** QoS granted to this subscriber (min of message and subscription QoS). */
  qos: QoS;
  subscriptionIds?: number[];
  /** RETAIN as sent to this subscriber (Retain As Published, or retained-on-subscribe); absent = false. */
  retain?: boolean;
  packetId: number; // 0 while queued
  state: 'queued' | 'await-puback' | 'await-pubrec' | 'await-pubcomp';
}

export type StoreOp =
  | { op: 'putSession'; session: SessionRecord }
  | { op: 'deleteSession'; clientId: string } // also deletes its outbound and inbound QoS 2 state
  | { op: 'putOutbound'; clientId: string; record: OutboundRecord }
  | { op: 'deleteOutbound'; clientId: string; seq: number }
  | { op: 'putInboundQos2'; clientId: string; packetId: number }
  | { op: 'deleteInboundQos2'; clientId: string; packetId: number }
  | { op: 'putRetained'; message: StoredMessage }
  | { op: 'deleteRetained'; topic: string };

export interface BrokerStore {
  /**
   * Apply all ops in one transaction, in order. Resolves when durable.
   *
   * Every op is checked first (src/adapters/check-store-op.ts); one malformed op refuses the whole
   * commit. A refused or failed commit rejects with TwinhubError STORE_WRITE_FAILED and nothing of
   * it applies. Commits settle in the order they were called, so a caller may issue the next
   * commit before the previous one settles and still release acknowledgements in order. Buffers
   * and StoredMessage objects are immutable once committed (adapters may keep references); an
   * optional field set to `undefined` loads back absent.
   */
  commit(ops: readonly StoreOp[]): Promise<void>;
  /** Every stored session (read at start-up). */
  loadSessions(): Promise<SessionRecord[]>;
  /** A session's outbound records, in `seq` order. */
  loadOutbound(clientId: string): Promise<OutboundRecord[]>;
  /** A session's inbound QoS 2 packet ids awaiting PUBREL. */
  loadInboundQos2(clientId: string): Promise<number[]>;
  /** Every retained message (read at start-up; the router keeps an index in memory). */
  loadRetained(): Promise<StoredMessage[]>;
  close(): Promise<void>;
}
