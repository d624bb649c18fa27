// Outgoing PUBLISH for one subscriber (MQTT 5.0 §3.3). Per-subscriber parts are the packet id,
// QoS, RETAIN, DUP, Subscription Identifiers, the Topic Alias and the remaining Message Expiry;
// everything else is shared. Where the received frame already is what this subscriber needs
// (same protocol, QoS 0, same RETAIN, nothing per-subscriber) its bytes are forwarded unchanged;
// otherwise the last encoding is reused across subscribers that need the same variant.
import type { Properties, QoS } from '../../codec/mqtt/packets.js';
import { encodePublish } from '../../codec/mqtt/encoder.js';
import type { Message } from '../../core/message.js';
import type { MqttConnection } from './connection.js';

// One-slot cache of the last QoS 0 encoding: fan-out sends one message to many subscribers in a
// row, so this shares the buffer without a per-message map.
let lastMsg: Message | undefined;
let lastV5 = false;
let lastRetain = false;
let lastBuf: Buffer | undefined;

export function encodeOutgoingPublish(
  c: MqttConnection,
  msg: Message,
  qos: QoS,
  retain: boolean,
  dup: boolean,
  packetId: number,
  ids: number[] | undefined,
): Buffer | null {
  const v5 = c.version === 5;
  const plain = qos === 0 && ids === undefined && (!v5 || c.outAliasMax === 0) && msg.expiresAt === 0;
  if (plain) {
    const frame = msg.frame;
    if (frame !== undefined && retain === msg.retain && v5 === (msg.origin.version === 5)) {
      return frame.length > c.maxOutPacket ? null : frame;
    }
    if (msg === lastMsg && v5 === lastV5 && retain === lastRetain && lastBuf !== undefined) {
      return lastBuf.length > c.maxOutPacket ? null : lastBuf;
    }
  }

  let topic = msg.topic;
  let props: Properties | undefined;
  let newAlias = 0;
  if (v5) {
    const mp = msg.properties;
    if (mp !== undefined || ids !== undefined || msg.expiresAt !== 0 || c.outAliasMax > 0) {
      props = mp === undefined ? {} : { ...mp };
      if (msg.expiresAt !== 0) {
        // Forward the whole seconds left, not the original interval [MQTT-3.3.2-6].
        props.messageExpiryInterval = Math.max(1, Math.floor((msg.expiresAt - c.broker.now()) / 1000));
      }
      if (ids !== undefined) props.subscriptionIdentifiers = ids; // [MQTT-3.3.4-3]
      if (c.outAliasMax > 0) {
        const aliases = (c.outAliases ??= new Map());
        const alias = aliases.get(topic);
        if (alias !== undefined) {
          // The client knows this alias: send it with an empty topic (§3.3.2.3.4).
          props.topicAlias = alias;
          topic = '';
        } else if (aliases.size < c.outAliasMax) {
          newAlias = aliases.size + 1;
          props.topicAlias = newAlias;
        }
      }
    }
  }
  const buf = encodePublish(topic, msg.payload, qos, retain, dup, packetId, props, c.version);
  if (buf.length > c.maxOutPacket) return null; // not sent [MQTT-3.1.2-25]; no alias taught
  if (newAlias !== 0) c.outAliases!.set(msg.topic, newAlias);
  if (plain) {
    lastMsg = msg;
    lastV5 = v5;
    lastRetain = retain;
    lastBuf = buf;
  }
  return buf;
}
