// PUBLISH from a client (MQTT 5.0 §3.3, 3.1.1 §3.3): topic alias, validation, authorisation,
// QoS 2 duplicate suppression, routing, and the acknowledgement released after the turn's commit.
import type { PublishPacket } from '../../codec/mqtt/packets.js';
import { ReasonCode } from '../../codec/mqtt/packets.js';
import { encodeAck } from '../../codec/mqtt/encoder.js';
import type { PublishQuotaLike } from '../../core/hooks.js';
import type { Message, MessageOrigin } from '../../core/message.js';
import { messageProperties } from '../../core/message.js';
import { exceedsMaxLevels } from '../../core/router/topic.js';
import type { MqttConnection } from './connection.js';

export function handlePublish(c: MqttConnection, p: PublishPacket): void {
  const broker = c.broker;
  const session = c.session!;
  const v5 = c.version === 5;
  const props = p.properties;
  let topic = p.topic;
  let reusable = p.qos === 0;
  if (p.dup && p.qos === 0) {
    // The DUP flag MUST be 0 for QoS 0 messages [MQTT-3.3.1-2]: a malformed packet.
    c.disconnect(ReasonCode.MalformedPacket, 'protocol-error');
    return;
  }

  if (v5 && props !== undefined) {
    const alias = props.topicAlias;
    if (alias !== undefined) {
      // Alias 0 or above our Topic Alias Maximum: DISCONNECT 0x94 [MQTT-3.3.2-8], [MQTT-3.3.2-9].
      if (alias === 0 || alias > broker.config.limits.topicAliasMaximum) {
        if (alias !== 0) broker.limitsHit.topicAliasMaximum++;
        c.disconnect(ReasonCode.TopicAliasInvalid, 'protocol-error');
        return;
      }
      const map = (c.inAliases ??= new Map());
      if (topic.length > 0) map.set(alias, topic);
      else {
        const known = map.get(alias);
        if (known === undefined) {
          // An alias never set on this connection is a Protocol Error (§3.3.2.3.4).
          c.disconnect(ReasonCode.ProtocolError, 'protocol-error');
          return;
        }
        topic = known;
      }
      reusable = false; // the frame carries the client's alias, which means nothing to others
    }
    if (props.subscriptionIdentifiers !== undefined) {
      // A PUBLISH from a client must not carry a Subscription Identifier [MQTT-3.3.4-6].
      c.disconnect(ReasonCode.ProtocolError, 'protocol-error');
      return;
    }
    if (props.messageExpiryInterval !== undefined) reusable = false; // forwarded as time left
    if (props.responseTopic !== undefined && broker.validateTopic(props.responseTopic) !== null) {
      // The Response Topic is a topic name: no wildcards [MQTT-3.3.2-14].
      c.disconnect(ReasonCode.ProtocolError, 'protocol-error');
      return;
    }
  }

  if (topic.length === 0 && v5) {
    // A zero-length Topic Name without a Topic Alias is a Protocol Error (MQTT 5.0 §3.3.2.1).
    c.disconnect(ReasonCode.ProtocolError, 'protocol-error');
    return;
  }
  const invalid = topic.length === 0 ? 'empty topic name' : broker.validateTopic(topic);
  if (invalid !== null) {
    if (exceedsMaxLevels(invalid)) broker.limitsHit.maxTopicLevels++;
    // [MQTT-3.3.2-2] no wildcards, [MQTT-4.7.3-1] not empty: 5.0 DISCONNECT 0x90, 3.1.1 close.
    c.disconnect(ReasonCode.TopicNameInvalid, 'protocol-error');
    return;
  }

  const qos = p.qos;
  const packetId = p.packetId ?? 0;
  if (qos > 0) {
    if (v5 && c.inboundUnacked >= broker.config.limits.receiveMaximum) {
      broker.limitsHit.receiveMaximum++;
      // More unacknowledged QoS 1/2 PUBLISHes than our Receive Maximum [MQTT-3.3.4-7]: 0x93.
      c.disconnect(ReasonCode.ReceiveMaximumExceeded, 'protocol-error');
      return;
    }
    if (qos === 2 && session.inboundQos2 !== null && session.inboundQos2.has(packetId)) {
      // A resent QoS 2 PUBLISH before PUBREL is acknowledged again, not delivered again
      // [MQTT-4.3.3-9] (3.1.1 [MQTT-4.3.3-2] method B).
      c.inboundUnacked++;
      c.sendAck(encodeAck(5, packetId, 0, c.version), false);
      return;
    }
  }

  if (!broker.hooks.get('client.authorize.publish')(c.client, topic)) {
    broker.log.debug({ clientId: c.client.clientId, topic }, 'publish not authorized');
    // 5.0: PUBACK/PUBREC 0x87 Not authorized. 3.1.1 cannot say so: acknowledge positively
    // without delivering [MQTT-3.3.5-2].
    if (qos > 0) {
      c.inboundUnacked++;
      const ack = encodeAck(qos === 1 ? 4 : 5, packetId, v5 ? ReasonCode.NotAuthorized : 0, c.version);
      if (qos === 2 && !v5) (session.inboundQos2 ??= new Set()).add(packetId);
      c.sendAck(ack, false);
    }
    return;
  }

  const quota = c.client.auth?.quota;
  if (quota !== undefined && !withinQuota(c, quota, p.payload.length, qos, packetId)) return;

  // Exact time only for messages that expire; the coarse clock is enough otherwise.
  const now = props?.messageExpiryInterval !== undefined ? broker.now() : broker.clock;
  const msg: Message = {
    topic,
    payload: p.payload,
    qos,
    retain: p.retain,
    origin: originOf(c),
    properties: props === undefined ? undefined : messageProperties(props),
    receivedAt: now,
    expiresAt: props?.messageExpiryInterval !== undefined ? now + props.messageExpiryInterval * 1000 : 0,
    priority: 0,
    hops: 0,
    frame: reusable ? p.frame : undefined,
  };
  broker.messagesIn++;
  const committer = broker.committer;
  // Between messages, never between the holds of one (Committer.cutIfFull).
  committer.cutIfFull();
  const before = committer.pendingOps;
  broker.publish(msg);
  if (qos === 0) return;

  c.inboundUnacked++;
  if (qos === 2) {
    (session.inboundQos2 ??= new Set()).add(packetId);
    if (session.persistent) committer.add({ op: 'putInboundQos2', clientId: session.clientId, packetId });
  }
  // Durable before acknowledged: if routing wrote to the store (persistent subscribers, retained),
  // the ack waits for this turn's commit (DESIGN.md "Writes and acks").
  c.sendAck(encodeAck(qos === 1 ? 4 : 5, packetId, 0, c.version), committer.pendingOps > before);
}

/**
 * Per-device publish limits (registry `limits`; docs/REGISTRY.md). Over the rate a 5.0 QoS 1/2
 * PUBLISH is answered PUBACK/PUBREC 0x97 Quota exceeded and not delivered (§3.4.2.1, §3.5.2.1);
 * QoS 0, and 3.1.1 which has no way to say "quota", is delivered and reading pauses until the
 * bucket refills, so TCP flow control slows the sender. A client that keeps exceeding is
 * disconnected: 5.0 DISCONNECT 0x96 Message rate too high (§3.14.2.1), 3.1.1 closed.
 * Returns whether the message goes on.
 */
function withinQuota(c: MqttConnection, quota: PublishQuotaLike, bytes: number, qos: number, packetId: number): boolean {
  const broker = c.broker;
  const now = broker.now();
  const verdict = quota.check(bytes, now);
  if (verdict === 'ok') return true;
  broker.limitsHit.deviceRate++;
  if (verdict === 'disconnect') {
    broker.limitsHit.deviceRateDisconnect++;
    c.disconnect(ReasonCode.MessageRateTooHigh, 'rate-limited');
    return false;
  }
  if (qos > 0 && c.version === 5) {
    // A PUBREC with a failure reason ends the QoS 2 exchange (§4.3.3): no PUBREL follows, so the
    // packet id is not remembered and the Receive Maximum slot is freed with the ack.
    c.inboundUnacked++;
    c.sendAck(encodeAck(qos === 1 ? 4 : 5, packetId, ReasonCode.QuotaExceeded, 5), false);
    return false;
  }
  c.pauseReading(quota.pauseMs(bytes, now));
  return true;
}

/**
 * The origin of the connection's messages: one object while the client's identity stays the same
 * (a message's origin is never modified), not a new one per PUBLISH; made again after a change
 * (re-authentication).
 */
function originOf(c: MqttConnection): MessageOrigin {
  const o = c.origin;
  const client = c.client;
  if (o !== undefined && o.clientId === client.clientId && o.deviceId === client.deviceId && o.version === c.version) return o;
  return (c.origin = { protocol: 'mqtt', clientId: client.clientId, deviceId: client.deviceId, version: c.version });
}
