// SUBSCRIBE (MQTT 5.0 §3.8, 3.1.1 §3.8) → SUBACK (§3.9), then retained messages per Retain
// Handling (§3.3.1.3).
import type { SubscribePacket } from '../../codec/mqtt/packets.js';
import { ReasonCode, SUBACK_FAILURE_311 } from '../../codec/mqtt/packets.js';
import { encode } from '../../codec/mqtt/encoder.js';
import { exceedsMaxLevels } from '../../core/router/topic.js';
import { parseShared } from '../../core/router/topic.js';
import type { StoredSubscription } from '../../ports/broker-store.js';
import type { MqttConnection } from './connection.js';

export function handleSubscribe(c: MqttConnection, p: SubscribePacket): void {
  const broker = c.broker;
  const session = c.session!;
  const v5 = c.version === 5;
  const subId = p.properties?.subscriptionIdentifiers?.[0];
  if (subId === 0) {
    // A Subscription Identifier of 0 is a Protocol Error (MQTT 5.0 §3.8.2.1.2).
    c.disconnect(ReasonCode.ProtocolError, 'protocol-error');
    return;
  }
  const authorize = broker.hooks.get('client.authorize.subscribe');
  const codes: number[] = [];
  const granted: Array<{ sub: StoredSubscription; existed: boolean }> = [];

  for (const s of p.subscriptions) {
    const invalid = broker.validateFilter(s.filter);
    if (invalid !== null) {
      if (exceedsMaxLevels(invalid)) broker.limitsHit.maxTopicLevels++;
      // 5.0: 0x8F Topic Filter invalid; 3.1.1: 0x80 Failure [MQTT-3.8.4-? / 3.9.3].
      codes.push(v5 ? ReasonCode.TopicFilterInvalid : SUBACK_FAILURE_311);
      continue;
    }
    const shared = parseShared(s.filter) !== null;
    if (shared && v5 && s.noLocal) {
      // No Local on a shared subscription is a Protocol Error [MQTT-3.8.3-4].
      c.disconnect(ReasonCode.ProtocolError, 'protocol-error');
      return;
    }
    if (!authorize(c.client, s.filter)) {
      codes.push(v5 ? ReasonCode.NotAuthorized : SUBACK_FAILURE_311);
      continue;
    }
    const sub: StoredSubscription = {
      filter: s.filter,
      qos: s.qos,
      // 3.1.1 has no subscription options: defaults that behave as 3.1.1 requires.
      noLocal: v5 && s.noLocal,
      retainAsPublished: v5 && s.retainAsPublished,
      retainHandling: v5 ? s.retainHandling : 0,
    };
    if (subId !== undefined) sub.subscriptionId = subId;
    // A new subscription with the same filter replaces the old one [MQTT-3.8.4-3].
    const existed = broker.sessions.subscribe(session, sub);
    codes.push(s.qos); // Granted QoS = requested: QoS 2 is supported [MQTT-3.9.3-?]
    if (!shared) granted.push({ sub, existed });
    const ls = broker.hooks.listenersOf('session.subscribed');
    for (let i = 0; i < ls.length; i++) ls[i]!(c.client, s.filter, s.qos);
  }
  broker.sessions.save(session);
  // SUBACK with one code per filter, in order [MQTT-3.8.4-6], [MQTT-3.9.3-1].
  c.send(encode({ type: 9, packetId: p.packetId, reasonCodes: codes }, c.version));
  for (const { sub, existed } of granted) {
    // Retain Handling 0: send; 1: only if the subscription is new; 2: never (§3.8.3.1).
    // Retained messages are not sent for shared subscriptions (§4.8.2).
    if (sub.retainHandling === 0 || (sub.retainHandling === 1 && !existed)) broker.deliverRetained(session, sub);
  }
}
