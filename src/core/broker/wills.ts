// Will messages (MQTT 5.0 §3.1.2.5, §3.1.3.2): the message built from a stored will, and the
// client it is published as (for the publish authorisation hook).
import type { ProtocolVersion } from '../../codec/mqtt/packets.js';
import type { StoredWill } from '../../ports/broker-store.js';
import type { ClientInfo } from '../hooks.js';
import type { Message } from '../message.js';
import { messageProperties } from '../message.js';

/**
 * The client a will is published as once its connection is gone (after a restart, say): what
 * the session remembers of it.
 */
export function offlineClient(clientId: string, version: ProtocolVersion, deviceId: string | undefined): ClientInfo {
  return {
    clientId,
    username: undefined,
    deviceId,
    protocol: 'mqtt',
    version,
    listener: '',
    loopback: false,
    remoteAddress: '',
    certificate: undefined,
    auth: undefined,
  };
}

/** The will as a message from its client; its Message Expiry counts from now (§3.1.3.2.4). */
export function willMessage(client: ClientInfo, will: StoredWill, now: number): Message {
  const p = will.properties;
  return {
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    origin: { protocol: 'mqtt', clientId: client.clientId, deviceId: client.deviceId, version: client.version },
    properties: p === undefined ? undefined : messageProperties(p),
    receivedAt: now,
    expiresAt: p?.messageExpiryInterval !== undefined ? now + p.messageExpiryInterval * 1000 : 0,
    priority: 0,
    hops: 0,
    frame: undefined,
  };
}
