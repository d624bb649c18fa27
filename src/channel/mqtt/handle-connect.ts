// CONNECT (MQTT 5.0 §3.1, 3.1.1 §3.1): validate, authenticate through the hook point, attach the
// session, answer CONNACK (§3.2).
import { randomBytes } from 'node:crypto';
import type { ConnackPacket, ConnectPacket, Properties } from '../../codec/mqtt/packets.js';
import { ConnackReturnCode311, ReasonCode } from '../../codec/mqtt/packets.js';
import { encode } from '../../codec/mqtt/encoder.js';
import type { AuthFailure, AuthResult } from '../../core/hooks.js';
import type { StoredWill } from '../../ports/broker-store.js';
import type { MqttConnection } from './connection.js';
import { ConnState } from './connection.js';

const NEVER_EXPIRES = 0xffffffff;

/** AuthFailure → [5.0 reason code, 3.1.1 return code] (§3.2.2.2 / 3.1.1 §3.2.2.3). */
const AUTH_CODES: Record<AuthFailure, [number, number]> = {
  'bad-credentials': [ReasonCode.BadUserNameOrPassword, ConnackReturnCode311.BadUserNameOrPassword],
  'not-authorized': [ReasonCode.NotAuthorized, ConnackReturnCode311.NotAuthorized],
  'bad-client-id': [ReasonCode.ClientIdentifierNotValid, ConnackReturnCode311.IdentifierRejected],
  banned: [ReasonCode.Banned, ConnackReturnCode311.NotAuthorized],
  'server-unavailable': [ReasonCode.ServerUnavailable, ConnackReturnCode311.ServerUnavailable],
};

export function handleConnect(c: MqttConnection, p: ConnectPacket): void {
  const broker = c.broker;
  const limits = broker.config.limits;
  const v5 = p.protocolVersion === 5;
  c.version = v5 ? 5 : 4;
  const props = p.properties;

  let clientId = p.clientId;
  let assigned: string | undefined;
  if (clientId.length === 0) {
    // 3.1.1: a zero-length id requires Clean Session 1, else return code 2 [MQTT-3.1.3-8];
    // otherwise the server assigns one [MQTT-3.1.3-6]; 5.0 returns it in Assigned Client
    // Identifier [MQTT-3.2.2-16].
    if (!v5 && !p.clean) return refuse(c, ReasonCode.ClientIdentifierNotValid, ConnackReturnCode311.IdentifierRejected);
    clientId = assigned = `auto-${randomBytes(9).toString('base64url')}`;
  }

  if (props?.authenticationMethod !== undefined) {
    // Enhanced authentication (§4.12) is not offered [MQTT-4.12.0-1... the server may refuse].
    return refuse(c, ReasonCode.BadAuthenticationMethod, ConnackReturnCode311.NotAuthorized);
  }
  if (!broker.canAdmit()) {
    broker.limitsHit.maxConnections++;
    return refuse(c, ReasonCode.ServerBusy, ConnackReturnCode311.ServerUnavailable);
  }
  if (broker.isStopping) return refuse(c, ReasonCode.ServerShuttingDown, ConnackReturnCode311.ServerUnavailable);

  // Keep Alive above the hub's maximum (or 0, "no keep alive", while a maximum is set): a 5.0
  // client is told the value to use in Server Keep Alive (§3.2.2.3.14) [MQTT-3.2.2-21]; 3.1.1 has
  // no way to tell the client, so it is refused, as Mosquitto does, rather than cut off later.
  let keepAlive = p.keepAlive;
  let serverKeepAlive: number | undefined;
  const maxKa = limits.maxKeepAlive;
  if (maxKa < 65535 && (keepAlive === 0 || keepAlive > maxKa)) {
    broker.limitsHit.maxKeepAlive++;
    if (!v5) return refuse(c, ReasonCode.ClientIdentifierNotValid, ConnackReturnCode311.IdentifierRejected);
    keepAlive = serverKeepAlive = maxKa;
  }

  let expiry: number;
  let serverExpiry: number | undefined;
  if (v5) {
    expiry = props?.sessionExpiryInterval ?? 0;
    if (expiry > limits.maxSessionExpiry) {
      broker.limitsHit.maxSessionExpiry++;
      expiry = serverExpiry = limits.maxSessionExpiry;
    }
  } else {
    expiry = p.clean ? 0 : NEVER_EXPIRES;
  }

  // Receive Maximum 0 and Maximum Packet Size 0 are Protocol Errors (§3.1.2.11.3, §3.1.2.11.4).
  if (props?.receiveMaximum === 0 || props?.maximumPacketSize === 0) {
    return refuse(c, ReasonCode.ProtocolError, ConnackReturnCode311.UnacceptableProtocolVersion);
  }
  c.inflightLimit = Math.min(props?.receiveMaximum ?? 65535, limits.maxInflight);
  if (props?.maximumPacketSize !== undefined) c.maxOutPacket = props.maximumPacketSize;
  if (props?.topicAliasMaximum !== undefined) c.outAliasMax = props.topicAliasMaximum;
  c.keepAliveMs = keepAlive * 1000;

  if (p.will !== undefined) {
    const w = p.will;
    const will: StoredWill = {
      topic: w.topic,
      payload: Buffer.from(w.payload),
      qos: w.qos,
      retain: w.retain,
      delayInterval: w.properties?.willDelayInterval ?? 0,
    };
    if (w.properties !== undefined) will.properties = w.properties;
    const bad = broker.validateTopic(w.topic);
    if (bad !== null) return refuse(c, ReasonCode.TopicNameInvalid, ConnackReturnCode311.IdentifierRejected);
    c.will = will;
  }

  const acc = c.accepted;
  c.client = {
    clientId,
    username: p.username,
    deviceId: undefined,
    protocol: 'mqtt',
    version: p.protocolVersion,
    listener: acc.listener.name,
    loopback: acc.listener.loopback,
    remoteAddress: acc.remoteAddress,
    certificate: acc.certificate,
    auth: undefined,
  };

  c.state = ConnState.Authenticating;
  const result = broker.hooks.get('client.authenticate')({
    client: c.client,
    username: p.username,
    password: p.password,
    anonymousAllowed: acc.listener.allowAnonymous,
  });
  const finish = (r: AuthResult): void => {
    if (c.state !== ConnState.Authenticating) return; // closed meanwhile
    if (!r.ok) {
      const [rc5, rc3] = AUTH_CODES[r.reason];
      return refuse(c, rc5, rc3, r.message);
    }
    if (r.deviceId !== undefined) c.client.deviceId = r.deviceId;
    if (r.auth !== undefined) c.client.auth = r.auth;
    accept(c, p, clientId, expiry, { assigned, serverKeepAlive, serverExpiry });
  };
  if (isPromise(result)) {
    c.stream.pause();
    result.then(finish, (err: unknown) => {
      broker.log.error({ err, clientId }, 'authentication hook failed');
      finish({ ok: false, reason: 'server-unavailable' });
    });
  } else {
    finish(result);
  }
}

function accept(
  c: MqttConnection,
  p: ConnectPacket,
  clientId: string,
  expiry: number,
  extra: { assigned: string | undefined; serverKeepAlive: number | undefined; serverExpiry: number | undefined },
): void {
  const broker = c.broker;
  const limits = broker.config.limits;
  const { session, present } = broker.sessions.open(clientId, p.protocolVersion, p.clean, expiry, c, c.client.deviceId);
  c.session = session;
  c.state = ConnState.Connected;

  const ack: ConnackPacket = { type: 2, sessionPresent: present, reasonCode: 0 };
  if (c.version === 5) {
    const props: Properties = {
      receiveMaximum: limits.receiveMaximum,
      maximumPacketSize: limits.maxPacketSize,
      topicAliasMaximum: limits.topicAliasMaximum,
    };
    if (extra.assigned !== undefined) props.assignedClientIdentifier = extra.assigned;
    if (extra.serverKeepAlive !== undefined) props.serverKeepAlive = extra.serverKeepAlive;
    if (extra.serverExpiry !== undefined) props.sessionExpiryInterval = extra.serverExpiry;
    ack.properties = props;
  }
  c.send(encode(ack, c.version));
  broker.sessions.resume(session);
  const ls = broker.hooks.listenersOf('client.connected');
  for (let i = 0; i < ls.length; i++) ls[i]!(c.client, present);
  c.drainPending();
}

/** CONNACK with a failure code, then close [MQTT-3.2.2-6 … 3.2.2-7; 5.0 MQTT-3.2.2-7]. */
function refuse(c: MqttConnection, rc5: number, rc311: number, message?: string): void {
  const v5 = c.version === 5;
  const ack: ConnackPacket = { type: 2, sessionPresent: false, reasonCode: v5 ? rc5 : rc311 };
  if (v5 && message !== undefined) ack.properties = { reasonString: message };
  c.send(encode(ack, c.version));
  c.close('protocol-error', v5 ? rc5 : rc311);
}

function isPromise<T>(x: T | Promise<T>): x is Promise<T> {
  return typeof (x as { then?: unknown }).then === 'function';
}
