// The device registry service: devices, credentials, operator API keys and ACL policies over the
// registry-store port, and the broker's auth hook points filled from them. Everything the API
// and the CLI do to the fleet goes through here, so the rules (validation, hashing, who gets
// disconnected when a credential is revoked) hold whichever way a change arrives.
import type { Logger } from 'pino';
import { ReasonCode } from '../../codec/mqtt/packets.js';
import { Errors, TwinhubError } from '../../common/errors.js';
import type { TwinhubConfig } from '../../config/types.js';
import type { AclPolicyRecord, ApiKeyRecord, ApiRole, CredentialRecord, DeviceRecord, PresenceRecord, RegistryStore } from '../../ports/registry-store.js';
import type { Broker, Channel } from '../broker/broker.js';
import { aclChecker } from '../broker/static-auth.js';
import type { AuthenticateRequest, ClientInfo, HookPoints, SessionAuth } from '../hooks.js';
import { compileDeviceAcl, type AclSubject, type DeviceAcl } from './acl.js';
import { importDevices, type BulkFormat, type ImportReport } from './bulk.js';
import { allDevices, matcher } from './device-list.js';
import { DeviceAuthenticator, type FleetJwtKey } from './authenticate.js';
import { prepareCredential, publicCredential, type NewCredential } from './credential-input.js';
import { constantTimeEqualHex, generateApiKey, parseApiKeyId, sha256Hex } from './credentials/index.js';
import { assertDeviceId, newDevice, parseAclRule, patchDevice } from './device-model.js';
import { PublishQuota } from './rate-limit.js';

/** Per-connection authorizer state of a device (SessionAuth.authz). */
interface DeviceAuthz {
  device: DeviceRecord;
  subject: AclSubject;
  acl: DeviceAcl;
  /** Registry ACL epoch the acl was compiled at; a policy change recompiles lazily. */
  epoch: number;
}

export interface DeviceView extends DeviceRecord {
  connected: boolean;
  presence?: PresenceRecord;
}

export interface RegistryCounters {
  aclDeniedPublish: number;
  aclDeniedSubscribe: number;
  credentialsRevoked: number;
  devicesDeleted: number;
}

export type DeviceDeletedListener = (deviceId: string, keepData: boolean) => Promise<void> | void;

export interface RegistryDeps {
  store: RegistryStore;
  config: Pick<TwinhubConfig, 'registry' | 'acl'>;
  log: Logger;
  now?: () => number;
  fleetKey?: FleetJwtKey;
}

const ENV_KEY_ID = 'env-admin';
const POLICY_ID = /^[a-zA-Z0-9:_.-]{1,64}$/;

/** 'mqtt/5.0', 'mqtt/3.1.1' */
function protocolOf(c: ClientInfo): string {
  return `${c.protocol}/${c.version === 5 ? '5.0' : '3.1.1'}`;
}

export class Registry {
  readonly store: RegistryStore;
  readonly counters: RegistryCounters = { aclDeniedPublish: 0, aclDeniedSubscribe: 0, credentialsRevoked: 0, devicesDeleted: 0 };
  readonly authenticator: DeviceAuthenticator;
  private readonly config: RegistryDeps['config'];
  private readonly log: Logger;
  private readonly now: () => number;
  private broker: Broker | undefined;
  private policies: AclPolicyRecord[] = [];
  private aclEpoch = 0;
  /** Connected devices: how many live connections each has, and its type (for telemetry). */
  private readonly online = new Map<string, { connections: number; type: string | undefined }>();
  private readonly deletedListeners: DeviceDeletedListener[] = [];
  private staticPublish: (c: ClientInfo, t: string) => boolean;
  private staticSubscribe: (c: ClientInfo, f: string) => boolean;

  private constructor(deps: RegistryDeps) {
    this.store = deps.store;
    this.config = deps.config;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    this.staticPublish = aclChecker(deps.config.acl, 'publish');
    this.staticSubscribe = aclChecker(deps.config.acl, 'subscribe');
    this.authenticator = new DeviceAuthenticator({
      store: deps.store,
      config: deps.config,
      log: deps.log,
      now: this.now,
      fleetKey: deps.fleetKey,
      grant: (device, req, cred, expiresAt) => this.grant(device, req, cred, expiresAt),
    });
  }

  static async open(deps: RegistryDeps): Promise<Registry> {
    const r = new Registry(deps);
    r.policies = await deps.store.listAclPolicies();
    return r;
  }

  // ------------------------------------------------------------------ broker wiring

  /** The auth hook points answered by the registry (static config for non-device clients). */
  hookPoints(): HookPoints {
    return {
      'client.authenticate': (req) => this.authenticator.authenticate(req),
      'client.authorize.publish': (client, topic) => {
        const z = client.auth?.authz as DeviceAuthz | undefined;
        if (z === undefined) return this.staticPublish(client, topic);
        const ok = this.aclOf(z).canPublish(topic);
        if (!ok) this.counters.aclDeniedPublish++;
        return ok;
      },
      'client.authorize.subscribe': (client, filter) => {
        const z = client.auth?.authz as DeviceAuthz | undefined;
        if (z === undefined) return this.staticSubscribe(client, filter);
        const ok = this.aclOf(z).canSubscribe(filter);
        if (!ok) this.counters.aclDeniedSubscribe++;
        return ok;
      },
    };
  }

  /** Fill the broker's hook points and keep device presence from its connection events. */
  attach(broker: Broker): void {
    this.broker = broker;
    const points = this.hookPoints();
    broker.hooks.set('client.authenticate', points['client.authenticate']);
    broker.hooks.set('client.authorize.publish', points['client.authorize.publish']);
    broker.hooks.set('client.authorize.subscribe', points['client.authorize.subscribe']);
    broker.hooks.on('client.connected', (client) => {
      const id = client.deviceId;
      if (id === undefined) return;
      const type = (client.auth?.authz as DeviceAuthz | undefined)?.device.type;
      const o = this.online.get(id);
      if (o === undefined) this.online.set(id, { connections: 1, type });
      else {
        o.connections++;
        o.type = type;
      }
      this.writePresence(id, this.presenceOf(client, true));
    });
    broker.hooks.on('client.disconnected', (client) => {
      const id = client.deviceId;
      if (id === undefined) return;
      const o = this.online.get(id);
      if (o !== undefined && --o.connections > 0) return;
      this.online.delete(id);
      this.writePresence(id, this.presenceOf(client, false));
    });
  }

  /**
   * The config object changed in place (live reload): static ACL rules are recompiled, and every
   * live session recompiles its device ACL (own-topics defaults) at its next check. Rate limits
   * apply to connections made from now on.
   */
  configChanged(): void {
    this.staticPublish = aclChecker(this.config.acl, 'publish');
    this.staticSubscribe = aclChecker(this.config.acl, 'subscribe');
    this.aclEpoch++;
  }

  /** Called when a device is deleted (twins and telemetry remove theirs unless keepData). */
  onDeviceDeleted(listener: DeviceDeletedListener): void {
    this.deletedListeners.push(listener);
  }

  private presenceOf(client: ClientInfo, connected: boolean): PresenceRecord {
    return { connected, lastSeen: this.now(), protocol: protocolOf(client), clientId: client.clientId, remoteAddress: client.remoteAddress };
  }

  private writePresence(id: string, p: PresenceRecord): void {
    this.store.putPresence(id, p).catch((err: unknown) => this.log.warn({ err, deviceId: id }, 'presence not stored'));
  }

  private grant(device: DeviceRecord, req: AuthenticateRequest, cred: CredentialRecord | undefined, expiresAt: number): SessionAuth {
    const subject: AclSubject = {
      deviceId: device.id,
      clientId: req.client.clientId,
      username: req.username,
      type: device.type,
      group: device.group,
      tags: device.tags,
    };
    const authz: DeviceAuthz = { device, subject, acl: this.compile(device, subject), epoch: this.aclEpoch };
    return { credentialId: cred?.id, expiresAt, quota: this.quotaFor(device), authz };
  }

  private quotaFor(device: DeviceRecord): PublishQuota | undefined {
    const l = this.config.registry.limits;
    const messagesPerSecond = device.limits?.messagesPerSecond ?? l.messagesPerSecond;
    const bytesPerSecond = device.limits?.bytesPerSecond ?? l.bytesPerSecond;
    if (messagesPerSecond === 0 && bytesPerSecond === 0) return undefined;
    return new PublishQuota({ messagesPerSecond, bytesPerSecond, burstSeconds: l.burstSeconds, maxViolations: l.maxViolations }, this.now());
  }

  get ownTopics(): string[] {
    return [...this.config.registry.ownTopics];
  }

  private defaultRules() {
    return this.config.registry.ownTopics.map((filter) => ({ filter, action: 'all' as const, allow: true }));
  }

  private compile(device: DeviceRecord, subject: AclSubject): DeviceAcl {
    return compileDeviceAcl(subject, { device: device.acl ?? [], policies: this.policies, defaults: this.defaultRules() });
  }

  private aclOf(z: DeviceAuthz): DeviceAcl {
    if (z.epoch !== this.aclEpoch) {
      z.acl = this.compile(z.device, z.subject);
      z.epoch = this.aclEpoch;
    }
    return z.acl;
  }

  private connectionsOf(deviceId: string): Channel[] {
    return this.broker === undefined ? [] : this.broker.clientsWhere((c) => c.deviceId === deviceId);
  }

  /** Disconnect a device's connections; 5.0 clients get DISCONNECT `reasonCode` first. */
  private disconnectDevice(deviceId: string, reasonCode: number, pred: (c: ClientInfo) => boolean = () => true): number {
    if (this.broker === undefined) return 0;
    return this.broker.disconnectWhere((c) => c.deviceId === deviceId && pred(c), reasonCode, 'kicked');
  }

  // ------------------------------------------------------------------ devices

  async createDevice(input: unknown): Promise<DeviceRecord> {
    const device = newDevice(input, this.now());
    const r = await this.store.createDevice(device);
    if (!r.ok) throw new TwinhubError(Errors.DEVICE_EXISTS, `device ${device.id} already exists`, { id: device.id });
    return device;
  }

  async requireDevice(id: string): Promise<DeviceRecord> {
    assertDeviceId(id);
    const d = await this.store.getDevice(id);
    if (d === undefined) throw new TwinhubError(Errors.DEVICE_NOT_FOUND, `no device ${id}`, { id });
    return d;
  }

  isConnected(id: string): boolean {
    return this.online.has(id);
  }

  /**
   * The type of a connected device, synchronously (telemetry schemas and retention by type look
   * it up per message); undefined for devices that are not connected or have no type.
   */
  typeOf(id: string): string | undefined {
    return this.online.get(id)?.type;
  }

  /** Ids of every device matching a filter (queries by type, group or tags). */
  async deviceIds(filter: { type?: string; group?: string; tags?: Record<string, string> }): Promise<string[]> {
    const ids: string[] = [];
    const keep = matcher({ type: filter.type, group: filter.group, tags: filter.tags });
    for await (const d of allDevices(this.store)) if (keep(d)) ids.push(d.id);
    return ids;
  }

  async view(device: DeviceRecord): Promise<DeviceView> {
    const presence = await this.store.getPresence(device.id);
    const v: DeviceView = { ...device, connected: this.online.has(device.id) };
    if (presence !== undefined) v.presence = { ...presence, connected: v.connected };
    return v;
  }

  async getDevice(id: string): Promise<DeviceView> {
    return this.view(await this.requireDevice(id));
  }

  async updateDevice(id: string, patch: unknown): Promise<DeviceRecord> {
    const current = await this.requireDevice(id);
    const next = patchDevice(current, patch, this.now());
    const r = await this.store.updateDevice(next);
    if (!r.ok) throw new TwinhubError(Errors.DEVICE_NOT_FOUND, `no device ${id}`, { id });
    if (!next.enabled) {
      this.disconnectDevice(id, ReasonCode.NotAuthorized);
    } else {
      // Live sessions see the new type/group/tags/ACL/limits at their next check.
      const o = this.online.get(id);
      for (const ch of this.connectionsOf(id)) {
        const auth = ch.connectedClient?.auth;
        const z = auth?.authz as DeviceAuthz | undefined;
        if (auth === undefined || z === undefined) continue;
        z.device = next;
        if (o !== undefined) o.type = next.type;
        z.subject = { ...z.subject, type: next.type, group: next.group, tags: next.tags };
        z.epoch = -1;
        auth.quota = this.quotaFor(next);
      }
    }
    return next;
  }

  /** Delete a device: disconnect it, remove its credentials, and (unless keepData) its twins and telemetry. */
  async deleteDevice(id: string, opts: { keepData: boolean }): Promise<void> {
    assertDeviceId(id);
    const { device, credentials } = await this.store.deleteDevice(id);
    if (device === undefined) throw new TwinhubError(Errors.DEVICE_NOT_FOUND, `no device ${id}`, { id });
    for (const c of credentials) this.authenticator.evict(c.id);
    this.disconnectDevice(id, ReasonCode.NotAuthorized);
    this.counters.devicesDeleted++;
    for (const l of this.deletedListeners) {
      try {
        await l(id, opts.keepData);
      } catch (err) {
        this.log.error({ err, deviceId: id }, 'removing the data of a deleted device failed');
      }
    }
  }

  /** Connected sessions of a device (the sessions API). */
  sessionsOf(deviceId: string): { clientId: string; protocol: string; listener: string; remoteAddress: string; connectedAt: string; credentialId?: string; expiresAt?: string }[] {
    return this.connectionsOf(deviceId).map((ch) => {
      const c = ch.connectedClient!;
      const s: ReturnType<Registry['sessionsOf']>[number] = {
        clientId: c.clientId,
        protocol: protocolOf(c),
        listener: c.listener,
        remoteAddress: c.remoteAddress,
        connectedAt: new Date(ch.openedAt).toISOString(),
      };
      if (c.auth?.credentialId !== undefined) s.credentialId = c.auth.credentialId;
      if (c.auth !== undefined && c.auth.expiresAt !== 0) s.expiresAt = new Date(c.auth.expiresAt).toISOString();
      return s;
    });
  }

  /** Kick a device's sessions (all, or the one with `clientId`); 5.0 gets DISCONNECT 0x98 Administrative action. */
  async kick(deviceId: string, clientId?: string): Promise<number> {
    await this.requireDevice(deviceId);
    const n = this.disconnectDevice(deviceId, ReasonCode.AdministrativeAction, (c) => clientId === undefined || c.clientId === clientId);
    if (n === 0 && clientId !== undefined) throw new TwinhubError(Errors.SESSION_NOT_FOUND, `device ${deviceId} has no session with client id ${clientId}`);
    return n;
  }

  /** Bulk import (core/registry/bulk.ts): every valid line stored, every refused one reported. */
  importDevices(text: string, format: BulkFormat): Promise<ImportReport> {
    return importDevices(this.store, text, format, this.now(), this.config.registry.password);
  }

  // ------------------------------------------------------------------ credentials

  async addCredential(deviceId: string, input: unknown): Promise<NewCredential> {
    await this.requireDevice(deviceId);
    const prepared = await prepareCredential(deviceId, input, this.now(), this.config.registry.password);
    const r = await this.store.addCredential(prepared.record);
    if (!r.ok) {
      if (r.conflict === 'missing-device') throw new TwinhubError(Errors.DEVICE_NOT_FOUND, `no device ${deviceId}`, { id: deviceId });
      throw new TwinhubError(Errors.CREDENTIAL_TAKEN, `this ${prepared.record.type} credential is already registered (to this or another device)`);
    }
    return prepared;
  }

  async listCredentials(deviceId: string): Promise<Record<string, unknown>[]> {
    await this.requireDevice(deviceId);
    return (await this.store.listCredentials(deviceId)).map(publicCredential);
  }

  /** Revoke a credential; sessions that authenticated with it are disconnected (5.0: 0x87). */
  async revokeCredential(deviceId: string, credentialId: string): Promise<number> {
    await this.requireDevice(deviceId);
    const cred = await this.store.getCredential(credentialId);
    if (cred === undefined || cred.deviceId !== deviceId) {
      throw new TwinhubError(Errors.CREDENTIAL_NOT_FOUND, `device ${deviceId} has no credential ${credentialId}`);
    }
    await this.store.removeCredential(credentialId);
    this.authenticator.evict(credentialId);
    this.counters.credentialsRevoked++;
    return this.disconnectDevice(deviceId, ReasonCode.NotAuthorized, (c) => c.auth?.credentialId === credentialId);
  }

  // ------------------------------------------------------------------ ACL policies

  listPolicies(): AclPolicyRecord[] {
    return this.policies.map((p) => structuredClone(p));
  }

  async putPolicy(id: string, input: unknown): Promise<AclPolicyRecord> {
    if (!POLICY_ID.test(id)) throw new TwinhubError(Errors.ACL_RULE_INVALID, 'id: must be 1–64 characters of a-z, A-Z, 0-9, ":", "_", "." and "-"', { field: 'id' });
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new TwinhubError(Errors.ACL_RULE_INVALID, 'a policy must be a JSON object');
    const o = input as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['id', 'description', 'type', 'group', 'rules'].includes(k)) throw new TwinhubError(Errors.ACL_RULE_INVALID, `${k}: unknown field`, { field: k });
    }
    if (!Array.isArray(o.rules) || o.rules.length > 1000) throw new TwinhubError(Errors.ACL_RULE_INVALID, 'rules: must be a list of at most 1000 {filter, action, allow}', { field: 'rules' });
    const now = this.now();
    const existing = this.policies.find((p) => p.id === id);
    const policy: AclPolicyRecord = { id, rules: o.rules.map((r: unknown, i) => parseAclRule(r, `rules[${i}]`)), createdAt: existing?.createdAt ?? now, updatedAt: now };
    for (const k of ['description', 'type', 'group'] as const) {
      const v = o[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw new TwinhubError(Errors.ACL_RULE_INVALID, `${k}: must be a non-empty string`, { field: k });
      policy[k] = v;
    }
    await this.store.putAclPolicy(policy);
    this.policies = await this.store.listAclPolicies();
    this.aclEpoch++;
    return policy;
  }

  async removePolicy(id: string): Promise<void> {
    const removed = await this.store.removeAclPolicy(id);
    if (removed === undefined) throw new TwinhubError(Errors.ACL_POLICY_NOT_FOUND, `no ACL policy ${id}`);
    this.policies = await this.store.listAclPolicies();
    this.aclEpoch++;
  }

  /** What the ACL answers for a device (the API's check endpoint; the same code as live sessions). */
  async checkAcl(deviceId: string, action: 'publish' | 'subscribe', topic: string): Promise<boolean> {
    const device = await this.requireDevice(deviceId);
    const subject: AclSubject = { deviceId, clientId: deviceId, username: deviceId, type: device.type, group: device.group, tags: device.tags };
    const acl = this.compile(device, subject);
    return action === 'publish' ? acl.canPublish(topic) : acl.canSubscribe(topic);
  }

  // ------------------------------------------------------------------ operator API keys

  async createApiKey(name: string, role: ApiRole, expiresAt?: number): Promise<{ record: ApiKeyRecord; key: string }> {
    const { id, text } = generateApiKey();
    const record: ApiKeyRecord = { id, name, role, hash: sha256Hex(text), createdAt: this.now() };
    if (expiresAt !== undefined) record.expiresAt = expiresAt;
    const r = await this.store.addApiKey(record);
    if (!r.ok) throw new TwinhubError(Errors.INTERNAL, 'API key id collision; try again');
    return { record, key: text };
  }

  /** The key record a bearer text proves, or undefined. */
  async verifyApiKey(text: string): Promise<ApiKeyRecord | undefined> {
    const id = parseApiKeyId(text) ?? ENV_KEY_ID;
    const rec = await this.store.getApiKey(id);
    if (rec === undefined) return undefined;
    if (rec.expiresAt !== undefined && rec.expiresAt <= this.now()) return undefined;
    return constantTimeEqualHex(rec.hash, sha256Hex(text)) ? rec : undefined;
  }

  async removeApiKey(id: string): Promise<void> {
    if ((await this.store.removeApiKey(id)) === undefined) throw new TwinhubError(Errors.API_KEY_NOT_FOUND, `no API key ${id}`);
  }

  /**
   * The admin key of a fresh data folder. With `envKey` (TWINHUB_ADMIN_KEY) that key is stored
   * (replacing an earlier env key) and nothing is printed; otherwise, when no key exists yet, one
   * is generated and returned once for the caller to print.
   */
  async bootstrapAdminKey(envKey: string | undefined): Promise<string | undefined> {
    if (envKey !== undefined && envKey.length > 0) {
      if (envKey.length < 16) throw new TwinhubError(Errors.CONFIG_INVALID, 'TWINHUB_ADMIN_KEY must be at least 16 characters');
      const id = parseApiKeyId(envKey) ?? ENV_KEY_ID;
      await this.store.removeApiKey(id);
      await this.store.addApiKey({ id, name: 'TWINHUB_ADMIN_KEY', role: 'admin', hash: sha256Hex(envKey), createdAt: this.now() });
      return undefined;
    }
    if ((await this.store.listApiKeys()).length > 0) return undefined;
    const { key } = await this.createApiKey('bootstrap admin', 'admin');
    return key;
  }

  stats(): Record<string, number> {
    const a = this.authenticator.counters;
    return {
      devicesOnline: this.online.size,
      authOk: a.ok,
      authAnonymous: a.anonymous,
      authBadCredentials: a.badCredentials,
      authNotAuthorized: a.notAuthorized,
      authBadClientId: a.badClientId,
      aclDeniedPublish: this.counters.aclDeniedPublish,
      aclDeniedSubscribe: this.counters.aclDeniedSubscribe,
      credentialsRevoked: this.counters.credentialsRevoked,
      devicesDeleted: this.counters.devicesDeleted,
    };
  }
}
