// Small helpers for conformance tests that drive the broker with the `mqtt` npm client:
// connect returning a promise (with the CONNACK), collect received messages, bounded waits.
import { randomBytes } from 'node:crypto';
import { connect as mqttConnect } from 'mqtt';
import { RawClient } from './raw-client.js';
import type { IClientOptions, IConnackPacket, IDisconnectPacket, IPublishPacket, MqttClient } from 'mqtt';

/** A short unique alphanumeric id: a valid Client Identifier for every server ([MQTT-3.1.3-5]: ≤ 23 chars). */
export function uid(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36).slice(-5)}${randomBytes(5).toString('hex')}`.slice(0, 23);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` every 10 ms until it returns a truthy value; fails after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 3000,
  what = 'condition',
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export interface Hubish {
  mqttUrl: string;
}

const live = new Set<MqttClient>();

/**
 * Force-closes every client this module created and every raw client still open. Call it in a
 * test file's `after` hook: a failed test leaves connections behind that would keep the process
 * (and the broker's sessions) alive.
 */
export function cleanupClients(): void {
  for (const c of live) c.end(true);
  live.clear();
  RawClient.destroyAll();
}

export interface Connected {
  client: MqttClient;
  connack: IConnackPacket;
  /** Every message received since the connection opened (queued messages can arrive right after CONNACK). */
  log: MessageLog;
}

/**
 * Connects with the `mqtt` client and resolves once the CONNACK arrives. Automatic reconnection is
 * off (a test must see every close). Rejects if the broker refuses or closes before CONNACK.
 */
export function connect(hub: Hubish, opts: IClientOptions = {}): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = mqttConnect(hub.mqttUrl, {
      reconnectPeriod: 0,
      connectTimeout: 4000,
      clientId: uid('c'),
      ...opts,
    });
    live.add(client);
    client.once('end', () => live.delete(client));
    const log = new MessageLog(client);
    const cleanup = (): void => {
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
    };
    const onConnect = (connack: IConnackPacket): void => {
      cleanup();
      resolve({ client, connack, log });
    };
    const onError = (err: Error): void => {
      cleanup();
      client.end(true);
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('connection closed before CONNACK'));
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/** Connects and returns only the client. */
export async function connectClient(hub: Hubish, opts: IClientOptions = {}): Promise<MqttClient> {
  return (await connect(hub, opts)).client;
}

/** Closes gracefully (DISCONNECT) every client still connected; never throws. */
export async function closeAll(...clients: Array<MqttClient | undefined>): Promise<void> {
  await Promise.all(
    clients.map(async (c) => {
      if (!c) return;
      try {
        if (c.connected) await withTimeout(c.endAsync(), 2000, 'end');
        else c.end(true);
      } catch {
        c.end(true);
      }
    }),
  );
}

/** Closes the socket without DISCONNECT: the broker sees a network failure (the will is due). */
export function kill(client: MqttClient): void {
  client.stream.destroy();
  client.end(true);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

export interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
  /** performance.now() at arrival. */
  at: number;
}

/** Records the messages a client receives (optionally only those whose topic passes `filter`). */
export class MessageLog {
  readonly messages: Received[] = [];

  constructor(client: MqttClient, filter?: (topic: string) => boolean) {
    client.on('message', (topic, payload, packet) => {
      if (!filter || filter(topic)) this.messages.push({ topic, payload, packet, at: performance.now() });
    });
  }

  get length(): number {
    return this.messages.length;
  }

  payloads(): string[] {
    return this.messages.map((m) => m.payload.toString());
  }

  /** Waits until at least `n` messages were recorded; returns them. */
  async waitFor(n: number, timeoutMs = 3000): Promise<Received[]> {
    await waitFor(() => this.messages.length >= n, timeoutMs, `${n} message(s) (have ${this.messages.length})`);
    return this.messages;
  }

  /** Waits `ms` and fails if more than `max` messages (default 0) were recorded by then. */
  async expectAtMost(max: number, ms: number): Promise<void> {
    await sleep(ms);
    if (this.messages.length > max) {
      throw new Error(
        `expected at most ${max} message(s), got ${this.messages.length}: ${this.messages.map((m) => `${m.topic}=${m.payload.toString()}`).join(', ')}`,
      );
    }
  }

  clear(): void {
    this.messages.length = 0;
  }
}

export function collect(client: MqttClient, filter?: (topic: string) => boolean): MessageLog {
  return new MessageLog(client, filter);
}

/** Resolves with the DISCONNECT packet the broker sends (5.0), or undefined if it just closes. */
export function nextDisconnect(client: MqttClient, timeoutMs = 3000): Promise<IDisconnectPacket | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for the broker to disconnect the client`));
    }, timeoutMs);
    const onDisconnect = (p: IDisconnectPacket): void => {
      cleanup();
      resolve(p);
    };
    const onClose = (): void => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      client.removeListener('disconnect', onDisconnect);
      client.removeListener('close', onClose);
    };
    client.on('disconnect', onDisconnect);
    client.on('close', onClose);
  });
}

/** Subscribes and returns the granted QoS / reason codes, in order. */
export async function subscribe(
  client: MqttClient,
  topic: string | string[],
  opts: Parameters<MqttClient['subscribeAsync']>[1] = { qos: 0 },
): Promise<number[]> {
  const granted = await withTimeout(client.subscribeAsync(topic, opts), 3000, 'SUBACK');
  return granted.map((g) => g.qos);
}
