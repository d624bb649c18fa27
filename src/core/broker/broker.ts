// The MQTT broker core: sessions, routing, retained messages, wills, persistence batching.
// (Being implemented; this file fixes its public API for the composition root.)
import type { Logger } from 'pino';
import type { TwinhubConfig } from '../../config/types.js';
import type { BrokerStore } from '../../ports/broker-store.js';
import type { AcceptedConnection, ConnectionAcceptor } from '../../transport/types.js';
import type { Hooks } from '../hooks.js';

export interface BrokerDeps {
  config: TwinhubConfig;
  /** Persistence; the memory adapter when persistence is disabled. */
  store: BrokerStore;
  hooks: Hooks;
  log: Logger;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
}

export interface BrokerHealth {
  /** False after a store commit failed, until one succeeds again. */
  storeWritable: boolean;
  lastStoreError: string | undefined;
}

export interface BrokerStats {
  clientsConnected: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: Record<string, number>;
}

export class Broker implements ConnectionAcceptor {
  constructor(readonly deps: BrokerDeps) {}
  /** Load persisted sessions and retained messages; start timers. */
  async start(): Promise<void> {}
  /** Called by transports for each accepted connection. */
  accept(_conn: AcceptedConnection): void {}
  /**
   * Graceful stop: refuse new connections, disconnect clients (5.0: DISCONNECT 0x8B Server
   * shutting down), publish wills as the spec says, flush the store.
   */
  async shutdown(): Promise<void> {}
  health(): BrokerHealth {
    return { storeWritable: true, lastStoreError: undefined };
  }
  stats(): BrokerStats {
    throw new Error('not implemented');
  }
}
