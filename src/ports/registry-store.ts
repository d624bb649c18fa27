// The registry-store port: devices, their credentials and presence, operator API keys and ACL
// policies. Core (core/registry) owns the rules (validation, hashing, ACL evaluation); a store
// only keeps records and answers lookups. Adapters: adapters/memory (tests, persistence off) and
// adapters/lmdb (the `registry` environment of the data folder). Every adapter passes
// test/contracts/registry-store.contract.ts.
//
// Records are plain JSON-safe objects (strings, numbers, booleans, arrays, objects; optional
// fields absent rather than undefined) so an adapter may serialise them as JSON. Times are epoch
// milliseconds. A store never interprets hashes or keys.
//
// Ids (of devices, credentials, API keys and ACL policies) are non-empty and at most 512 UTF-8
// bytes: core validates them before they reach a store, because an LMDB key holds at most 1,978
// bytes (the lmdb adapter refuses another id with TH_STORE_WRITE_FAILED; a read of one finds
// nothing).
// Lookup keys may be of any length. A write that fails (disk full, store closed) rejects with
// TwinhubError STORE_WRITE_FAILED and applies nothing; a read that fails rejects with
// STORE_OPEN_FAILED.

export type CredentialType = 'password' | 'token' | 'x509' | 'jwt-key';
export type ApiRole = 'read-only' | 'operator' | 'admin';
export type AclAction = 'publish' | 'subscribe' | 'all';

/** One ACL rule; `filter` is a topic filter that may hold placeholders such as `{deviceId}`. */
export interface AclRuleSpec {
  filter: string;
  action: AclAction;
  allow: boolean;
}

export interface DeviceLimits {
  /** Messages per second a device may publish (token bucket refill rate); absent: config default. */
  messagesPerSecond?: number;
  /** Payload bytes per second a device may publish; absent: config default. */
  bytesPerSecond?: number;
}

export interface DeviceRecord {
  id: string;
  name?: string;
  type?: string;
  group?: string;
  tags: Record<string, string>;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** Per-device rules, evaluated before the group/type/fleet policies. */
  acl?: AclRuleSpec[];
  limits?: DeviceLimits;
}

/** Connection state kept up to date by the broker; stored apart from the device record. */
export interface PresenceRecord {
  connected: boolean;
  /** When the device was last connected (connect or disconnect time). */
  lastSeen: number;
  protocol?: string;
  clientId?: string;
  remoteAddress?: string;
}

export interface CredentialRecord {
  /** Unique across the hub; chosen by core (random). */
  id: string;
  deviceId: string;
  type: CredentialType;
  createdAt: number;
  /** The credential stops working at this time (epoch ms). */
  expiresAt?: number;
  /** Free text label ("factory token", "rotation 2026-11"). */
  label?: string;
  /**
   * A key unique across all credentials that finds this credential without knowing the device:
   * `token:<sha256 hex>`, `x509-fp:<sha256 hex>`, `x509-subject:<subject>`. Absent for password
   * and jwt-key credentials (found through their device).
   */
  lookupKey?: string;
  /** password: the PHC string `$scrypt$ln=…,r=…,p=…$<salt b64>$<hash b64>`; token: sha256 hex. */
  hash?: string;
  /** x509: the certificate's SHA-256 fingerprint, lowercase hex without separators. */
  fingerprint?: string;
  /** x509: the certificate subject as Node prints it (`CN=dev-1\nO=Acme`), when matched by subject. */
  subject?: string;
  /** jwt-key: the algorithm the device's JWTs must use. */
  alg?: 'HS256' | 'RS256' | 'ES256';
  /** jwt-key: the HS256 secret (base64) or the public key (PEM). */
  key?: string;
}

export interface ApiKeyRecord {
  /** Public part of the key (`thk_<id>_<secret>`), unique; `env-admin` for TWINHUB_ADMIN_KEY. */
  id: string;
  name: string;
  role: ApiRole;
  /** SHA-256 hex of the whole key text. */
  hash: string;
  createdAt: number;
  expiresAt?: number;
}

/**
 * A named set of rules applied to the devices it selects: devices of `type`, devices in `group`,
 * or (neither given) every registered device.
 */
export interface AclPolicyRecord {
  id: string;
  description?: string;
  type?: string;
  group?: string;
  rules: AclRuleSpec[];
  createdAt: number;
  updatedAt: number;
}

export interface DeviceScan {
  /** Return devices whose id sorts after this one (exclusive cursor). */
  after?: string;
  /** At most this many; the store may return fewer only at the end. */
  limit: number;
}

/** Conflict reasons a write may report instead of applying. */
export type RegistryConflict = 'exists' | 'missing-device' | 'lookup-taken' | 'missing';

export type WriteResult = { ok: true } | { ok: false; conflict: RegistryConflict };

export interface RegistryStore {
  // --- devices
  getDevice(id: string): Promise<DeviceRecord | undefined>;
  /** Insert when no device has this id; `exists` otherwise. */
  createDevice(device: DeviceRecord): Promise<WriteResult>;
  /**
   * Insert many in one transaction where possible; one result per input, in order. A duplicate
   * id (stored, or earlier in the same call) is `exists` and does not stop the others.
   */
  createDevices(devices: readonly DeviceRecord[]): Promise<WriteResult[]>;
  /** Replace an existing device record; `missing` when there is none. */
  updateDevice(device: DeviceRecord): Promise<WriteResult>;
  /**
   * Delete the device, its credentials (and their lookup keys) and its presence in one
   * transaction. Returns what was removed; undefined device when there was none.
   */
  deleteDevice(id: string): Promise<{ device: DeviceRecord | undefined; credentials: CredentialRecord[] }>;
  /** Devices in id order (UTF-8 byte order of the id). */
  scanDevices(scan: DeviceScan): Promise<DeviceRecord[]>;
  countDevices(): Promise<number>;

  // --- presence
  getPresence(deviceId: string): Promise<PresenceRecord | undefined>;
  /**
   * Written often (every connect/disconnect): may be batched; ignored when the device is gone.
   * Resolves once written (or ignored), so a getPresence after it sees the record.
   */
  putPresence(deviceId: string, presence: PresenceRecord): Promise<void>;

  // --- credentials
  /**
   * `missing-device` when the device does not exist; `exists` when a credential has this id;
   * `lookup-taken` when the lookup key is used. Checked in that order; a conflict writes nothing.
   */
  addCredential(credential: CredentialRecord): Promise<WriteResult>;
  getCredential(id: string): Promise<CredentialRecord | undefined>;
  /** A device's credentials, oldest first (by createdAt, then by id). */
  listCredentials(deviceId: string): Promise<CredentialRecord[]>;
  findCredentialByLookup(lookupKey: string): Promise<CredentialRecord | undefined>;
  /** Remove one credential (and its lookup key); the removed record or undefined. */
  removeCredential(id: string): Promise<CredentialRecord | undefined>;

  // --- operator API keys
  addApiKey(key: ApiKeyRecord): Promise<WriteResult>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** In id order (UTF-8 byte order). */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  removeApiKey(id: string): Promise<ApiKeyRecord | undefined>;

  // --- ACL policies
  /** In id order (UTF-8 byte order). */
  listAclPolicies(): Promise<AclPolicyRecord[]>;
  getAclPolicy(id: string): Promise<AclPolicyRecord | undefined>;
  /** Insert or replace. */
  putAclPolicy(policy: AclPolicyRecord): Promise<void>;
  removeAclPolicy(id: string): Promise<AclPolicyRecord | undefined>;

  /** Wait for pending writes, then release the store. */
  close(): Promise<void>;
}
