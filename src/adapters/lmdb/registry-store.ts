// The embedded RegistryStore on LMDB (lmdb-js), in the `registry` environment of the data folder
// (env.ts). Sub-databases, keys binary, values JSON (UTF-8):
//
//   devices          UTF-8 device id                     → DeviceRecord
//   presence         UTF-8 device id                     → PresenceRecord
//   credentials      UTF-8 credential id                 → CredentialRecord
//   cred-by-device   UTF-8 device id, 0x00, credential id → empty (index of a device's credentials)
//   cred-lookup      0x00 + UTF-8 lookup key (≤ 400 bytes) | 0x01 + SHA-256 of it → UTF-8 credential id
//   api-keys         UTF-8 key id                        → ApiKeyRecord
//   acl-policies     UTF-8 policy id                     → AclPolicyRecord
//
// Ids are at most 512 UTF-8 bytes (the port says so; an LMDB key holds at most 1,978 bytes), so
// they are keys as they are and devices scan in UTF-8 byte order. Lookup keys may be longer (an
// X.509 subject): a long one is keyed by its digest, and a lookup compares the credential's own
// lookupKey, so even a digest collision could not find the wrong credential. An id may contain
// 0x00, which makes the cred-by-device range of device "a" include the entries of device "a\0b";
// those are told apart by the credential's deviceId.
//
// Writes that check before they write (create, update, delete, add a credential…) each run in one
// `transactionSync`: its reads see the store as it is and its writes apply whole or not at all
// (an exception aborts it). They run on the event loop; they are operator and provisioning
// actions, not the message path, and createDevices puts a whole batch in one transaction.
// (lmdb-js's asynchronous `transaction(callback)` never ran its callback on this Node build.)
//
// Presence is written on every connect and disconnect, so it takes lmdb-js's writer thread
// instead: an asynchronous put made conditional on the device key existing (IF_EXISTS, checked
// atomically when the writer thread applies it). A deleteDevice that commits before it makes it a
// no-op, one that commits after it removes it, so presence of a deleted device is never left.
import { createHash } from 'node:crypto';
import { IF_EXISTS, type Database } from 'lmdb';
import { Errors, TwinhubError } from '../../common/errors.js';
import type {
  AclPolicyRecord,
  ApiKeyRecord,
  CredentialRecord,
  DeviceRecord,
  DeviceScan,
  PresenceRecord,
  RegistryConflict,
  RegistryStore,
  WriteResult,
} from '../../ports/registry-store.js';
import { asBuffer } from './binary.js';
import { commitError, commitFailure } from './commit-error.js';
import { openDataEnv, type DataEnv } from './env.js';

type Db = Database<Buffer, Buffer>;

/** Longest id (UTF-8 bytes) a store takes: see the port. */
export const MAX_ID_BYTES = 512;
/** Lookup keys up to this many UTF-8 bytes are keyed as they are; longer ones by digest. */
const SHORT_LOOKUP_MAX = 400;
const LMDB_MAX_KEY = 1978;

const OK: WriteResult = Object.freeze({ ok: true });
const EMPTY = Buffer.alloc(0);
const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => undefined;
/** Message prefix of a failed write's error. */
const WRITE_FAILED = 'registry write failed, nothing of it written';

export interface LmdbRegistryStoreOptions {
  /** Flush every commit to the disk (survives power loss) instead of to the OS (survives a kill). */
  fsync: boolean;
}

/** Open (creating when missing) the registry store of the data folder `dataDir`. */
export async function openLmdbRegistryStore(dataDir: string, opts: LmdbRegistryStoreOptions): Promise<RegistryStore> {
  return new LmdbRegistryStore(await openDataEnv(dataDir, 'registry', { fsync: opts.fsync }));
}

export class LmdbRegistryStore implements RegistryStore {
  private readonly devices: Db;
  private readonly presence: Db;
  private readonly credentials: Db;
  private readonly credByDevice: Db;
  private readonly credLookup: Db;
  private readonly apiKeys: Db;
  private readonly policies: Db;
  private closed = false;

  constructor(private readonly env: DataEnv) {
    this.devices = env.openDb('devices');
    this.presence = env.openDb('presence');
    this.credentials = env.openDb('credentials');
    this.credByDevice = env.openDb('cred-by-device');
    this.credLookup = env.openDb('cred-lookup');
    this.apiKeys = env.openDb('api-keys');
    this.policies = env.openDb('acl-policies');
  }

  /** The environment's directory. */
  get path(): string {
    return this.env.path;
  }

  // --- devices

  getDevice(id: string): Promise<DeviceRecord | undefined> {
    return this.read('device', () => getRecord<DeviceRecord>(this.devices, id));
  }

  createDevice(device: DeviceRecord): Promise<WriteResult> {
    return this.write(() => this.insertDevice(device));
  }

  createDevices(devices: readonly DeviceRecord[]): Promise<WriteResult[]> {
    // One transaction: its reads see its own earlier puts, so a duplicate within the batch is
    // found like a stored one.
    return this.write(() => devices.map((d) => this.insertDevice(d)));
  }

  private insertDevice(device: DeviceRecord): WriteResult {
    const key = idKeyFor('device', device.id);
    if (this.devices.doesExist(key)) return conflict('exists');
    void this.devices.put(key, encode(device));
    return OK;
  }

  updateDevice(device: DeviceRecord): Promise<WriteResult> {
    return this.write(() => {
      const key = idKeyFor('device', device.id);
      if (!this.devices.doesExist(key)) return conflict('missing');
      void this.devices.put(key, encode(device));
      return OK;
    });
  }

  deleteDevice(id: string): Promise<{ device: DeviceRecord | undefined; credentials: CredentialRecord[] }> {
    return this.write(() => {
      const key = idKey(id);
      const device = key === undefined ? undefined : getRecord<DeviceRecord>(this.devices, id);
      if (key === undefined || device === undefined) return { device: undefined, credentials: [] };
      const removed = this.credentialsOfDevice(key, id);
      for (const cred of removed) this.forgetCredential(cred);
      void this.presence.remove(key);
      void this.devices.remove(key);
      return { device, credentials: removed.sort(byAge) };
    });
  }

  scanDevices(scan: DeviceScan): Promise<DeviceRecord[]> {
    return this.read('devices', () => {
      const out: DeviceRecord[] = [];
      if (!(scan.limit > 0)) return out;
      let start: Buffer | undefined;
      let after: Buffer | undefined;
      if (scan.after !== undefined) {
        after = Buffer.from(scan.after, 'utf8');
        // The least key above `after` is `after` followed by a 0 byte; a cursor too long to be a
        // key starts at its prefix and skips what does not sort after it.
        start = after.length < LMDB_MAX_KEY ? Buffer.concat([after, ZERO]) : after.subarray(0, LMDB_MAX_KEY);
      }
      for (const { key, value } of this.devices.getRange(start === undefined ? {} : { start })) {
        if (after !== undefined && Buffer.compare(asBuffer(key), after) <= 0) continue;
        out.push(decode<DeviceRecord>(value));
        if (out.length >= scan.limit) break;
      }
      return out;
    });
  }

  countDevices(): Promise<number> {
    return this.read('device count', () => (this.devices.getStats() as { entryCount: number }).entryCount);
  }

  // --- presence

  getPresence(deviceId: string): Promise<PresenceRecord | undefined> {
    return this.read('presence', () => getRecord<PresenceRecord>(this.presence, deviceId));
  }

  putPresence(deviceId: string, presence: PresenceRecord): Promise<void> {
    if (this.closed) return closedForWrites();
    const key = idKey(deviceId);
    // Not a device now: nothing to queue (the condition below would refuse it anyway).
    if (key === undefined || !this.devices.doesExist(key)) return RESOLVED;
    let written: Promise<boolean>;
    try {
      const value = encode(presence);
      written = this.devices.ifVersion(key, IF_EXISTS, () => {
        void this.presence.put(key, value);
      });
    } catch (err) {
      return Promise.reject(writeFailed(err));
    }
    return written.then(noop, rejectWithReason);
  }

  // --- credentials

  addCredential(credential: CredentialRecord): Promise<WriteResult> {
    return this.write(() => {
      const deviceKey = idKeyFor('device', credential.deviceId);
      const credKey = idKeyFor('credential', credential.id);
      if (!this.devices.doesExist(deviceKey)) return conflict('missing-device');
      if (this.credentials.doesExist(credKey)) return conflict('exists');
      const lookup = credential.lookupKey === undefined ? undefined : lookupKeyOf(credential.lookupKey);
      if (lookup !== undefined && this.credLookup.doesExist(lookup)) return conflict('lookup-taken');
      void this.credentials.put(credKey, encode(credential));
      void this.credByDevice.put(Buffer.concat([deviceKey, ZERO, credKey]), EMPTY);
      if (lookup !== undefined) void this.credLookup.put(lookup, credKey);
      return OK;
    });
  }

  getCredential(id: string): Promise<CredentialRecord | undefined> {
    return this.read('credential', () => getRecord<CredentialRecord>(this.credentials, id));
  }

  listCredentials(deviceId: string): Promise<CredentialRecord[]> {
    return this.read('credentials', () => {
      const key = idKey(deviceId);
      return key === undefined ? [] : this.credentialsOfDevice(key, deviceId).sort(byAge);
    });
  }

  findCredentialByLookup(lookupKey: string): Promise<CredentialRecord | undefined> {
    return this.read('credential', () => {
      const credKey = this.credLookup.get(lookupKeyOf(lookupKey));
      if (credKey === undefined) return undefined;
      const raw = this.credentials.get(asBuffer(credKey));
      const cred = raw === undefined ? undefined : decode<CredentialRecord>(raw);
      return cred?.lookupKey === lookupKey ? cred : undefined;
    });
  }

  removeCredential(id: string): Promise<CredentialRecord | undefined> {
    return this.write(() => {
      const cred = getRecord<CredentialRecord>(this.credentials, id);
      if (cred !== undefined) this.forgetCredential(cred);
      return cred;
    });
  }

  /** The credentials of the device `deviceId` (key `deviceKey`), in credential id order. */
  private credentialsOfDevice(deviceKey: Buffer, deviceId: string): CredentialRecord[] {
    const out: CredentialRecord[] = [];
    const start = Buffer.concat([deviceKey, ZERO]);
    const end = Buffer.concat([deviceKey, ONE]);
    for (const key of this.credByDevice.getKeys({ start, end })) {
      const raw = this.credentials.get(asBuffer(key).subarray(start.length));
      if (raw === undefined) continue;
      const cred = decode<CredentialRecord>(raw);
      // Another device's entry when that device's id is this one, 0x00, more (see the header).
      if (cred.deviceId === deviceId) out.push(cred);
    }
    return out;
  }

  /** Remove a credential, its index entry and its lookup key (inside a write transaction). */
  private forgetCredential(cred: CredentialRecord): void {
    const credKey = idKeyFor('credential', cred.id);
    void this.credentials.remove(credKey);
    void this.credByDevice.remove(Buffer.concat([idKeyFor('device', cred.deviceId), ZERO, credKey]));
    if (cred.lookupKey !== undefined) {
      const lookup = lookupKeyOf(cred.lookupKey);
      const owner = this.credLookup.get(lookup);
      if (owner !== undefined && asBuffer(owner).equals(credKey)) void this.credLookup.remove(lookup);
    }
  }

  // --- operator API keys

  addApiKey(key: ApiKeyRecord): Promise<WriteResult> {
    return this.write(() => {
      const k = idKeyFor('API key', key.id);
      if (this.apiKeys.doesExist(k)) return conflict('exists');
      void this.apiKeys.put(k, encode(key));
      return OK;
    });
  }

  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.read('API key', () => getRecord<ApiKeyRecord>(this.apiKeys, id));
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.read('API keys', () => allRecords<ApiKeyRecord>(this.apiKeys));
  }

  removeApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.write(() => removeRecord<ApiKeyRecord>(this.apiKeys, id));
  }

  // --- ACL policies

  listAclPolicies(): Promise<AclPolicyRecord[]> {
    return this.read('ACL policies', () => allRecords<AclPolicyRecord>(this.policies));
  }

  getAclPolicy(id: string): Promise<AclPolicyRecord | undefined> {
    return this.read('ACL policy', () => getRecord<AclPolicyRecord>(this.policies, id));
  }

  putAclPolicy(policy: AclPolicyRecord): Promise<void> {
    return this.write(() => {
      void this.policies.put(idKeyFor('ACL policy', policy.id), encode(policy));
    });
  }

  removeAclPolicy(id: string): Promise<AclPolicyRecord | undefined> {
    return this.write(() => removeRecord<AclPolicyRecord>(this.policies, id));
  }

  /** Waits for pending writes (presence), then closes the environment. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
  }

  /**
   * Run `fn` in one synchronous write transaction: it applies whole, or (when `fn` or the commit
   * throws) not at all.
   */
  private write<T>(fn: () => T): Promise<T> {
    if (this.closed) return closedForWrites();
    try {
      return Promise.resolve(this.devices.transactionSync(fn));
    } catch (err) {
      return Promise.reject(writeFailed(err));
    }
  }

  private read<T>(what: string, fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_OPEN_FAILED, 'the registry store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(
        new TwinhubError(Errors.STORE_OPEN_FAILED, `cannot read the ${what} of ${this.env.path}: ${(err as Error).message}`, undefined, {
          cause: err,
        }),
      );
    }
  }
}

const ZERO = Buffer.from([0]);
const ONE = Buffer.from([1]);

/** The key of an id, or undefined for an id no record can have (empty, or too long). */
function idKey(id: string): Buffer | undefined {
  if (id.length === 0 || id.length > MAX_ID_BYTES) {
    // UTF-16 length: a string longer than MAX_ID_BYTES units has more UTF-8 bytes than that.
    return undefined;
  }
  const key = Buffer.from(id, 'utf8');
  return key.length > MAX_ID_BYTES ? undefined : key;
}

/** The key of an id being written; throws (aborting the transaction) when it cannot be one. */
function idKeyFor(what: string, id: string): Buffer {
  const key = idKey(id);
  if (key === undefined) {
    throw new TwinhubError(Errors.STORE_WRITE_FAILED, `cannot store a ${what} id that is empty or longer than ${MAX_ID_BYTES} UTF-8 bytes`, {
      bytes: Buffer.byteLength(id, 'utf8'),
    });
  }
  return key;
}

function lookupKeyOf(lookupKey: string): Buffer {
  const utf8 = Buffer.from(lookupKey, 'utf8');
  if (utf8.length <= SHORT_LOOKUP_MAX) return Buffer.concat([ZERO, utf8]);
  return Buffer.concat([ONE, createHash('sha256').update(utf8).digest()]);
}

function encode(record: object): Buffer {
  return Buffer.from(JSON.stringify(record), 'utf8');
}

function decode<T>(value: Uint8Array): T {
  return JSON.parse(asBuffer(value).toString('utf8')) as T;
}

function getRecord<T>(db: Db, id: string): T | undefined {
  const key = idKey(id);
  const raw = key === undefined ? undefined : db.get(key);
  return raw === undefined ? undefined : decode<T>(raw);
}

function allRecords<T>(db: Db): T[] {
  const out: T[] = [];
  for (const { value } of db.getRange({})) out.push(decode<T>(value));
  return out;
}

/** Remove the record `id` of `db` (inside a write transaction); the removed record. */
function removeRecord<T>(db: Db, id: string): T | undefined {
  const record = getRecord<T>(db, id);
  if (record !== undefined) void db.remove(idKey(id)!);
  return record;
}

function conflict(reason: RegistryConflict): WriteResult {
  return { ok: false, conflict: reason };
}

/** Oldest first: by createdAt, then by id (UTF-8 byte order). */
function byAge(a: CredentialRecord, b: CredentialRecord): number {
  return a.createdAt - b.createdAt || Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));
}

function closedForWrites(): Promise<never> {
  return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'the registry store is closed'));
}

function writeFailed(err: unknown): TwinhubError {
  return err instanceof TwinhubError ? err : commitError(WRITE_FAILED, err);
}

/** The rejection of a failed asynchronous commit, naming LMDB's reason when it comes in time. */
function rejectWithReason(err: unknown): Promise<never> {
  return commitFailure(WRITE_FAILED, err).then(rethrow);
}

function rethrow(err: TwinhubError): never {
  throw err;
}
