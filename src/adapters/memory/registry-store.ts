// The in-memory RegistryStore: used by tests and when persistence is off, so nothing survives the
// process. It keeps the rules of the durable adapter (test/contracts/registry-store.contract.ts):
// every check of a write happens before any of its changes, so a conflict writes nothing.
//
// Records are deep-copied (structuredClone) on the way in and out: core may change the objects it
// passed or received, and must not change the stored state by doing so.
//
// Devices are listed in UTF-8 byte order of their ids, as the LMDB adapter's keys sort. JavaScript
// compares strings by UTF-16 code unit, which differs for characters above U+FFFF (a surrogate
// pair sorts before U+E000–U+FFFF in UTF-16 but after them in UTF-8), hence `compareUtf8`.
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

const OK: WriteResult = Object.freeze({ ok: true });
const RESOLVED: Promise<void> = Promise.resolve();

export class MemoryRegistryStore implements RegistryStore {
  private readonly devices = new Map<string, DeviceRecord>();
  /** Device ids in UTF-8 byte order; undefined after a device was added or removed. */
  private sortedIds: string[] | undefined = [];
  private readonly presence = new Map<string, PresenceRecord>();
  private readonly credentials = new Map<string, CredentialRecord>();
  /** Device id → ids of its credentials. */
  private readonly credentialsOf = new Map<string, Set<string>>();
  /** Lookup key → credential id. */
  private readonly lookups = new Map<string, string>();
  private readonly apiKeys = new Map<string, ApiKeyRecord>();
  private readonly policies = new Map<string, AclPolicyRecord>();
  private closed = false;

  // --- devices

  getDevice(id: string): Promise<DeviceRecord | undefined> {
    return this.read(() => copy(this.devices.get(id)));
  }

  createDevice(device: DeviceRecord): Promise<WriteResult> {
    return this.write(() => this.insertDevice(device));
  }

  createDevices(devices: readonly DeviceRecord[]): Promise<WriteResult[]> {
    return this.write(() => devices.map((d) => this.insertDevice(d)));
  }

  private insertDevice(device: DeviceRecord): WriteResult {
    if (this.devices.has(device.id)) return conflict('exists');
    this.devices.set(device.id, structuredClone(device));
    this.sortedIds = undefined;
    return OK;
  }

  updateDevice(device: DeviceRecord): Promise<WriteResult> {
    return this.write(() => {
      if (!this.devices.has(device.id)) return conflict('missing');
      this.devices.set(device.id, structuredClone(device));
      return OK;
    });
  }

  deleteDevice(id: string): Promise<{ device: DeviceRecord | undefined; credentials: CredentialRecord[] }> {
    return this.write(() => {
      const device = this.devices.get(id);
      if (device === undefined) return { device: undefined, credentials: [] };
      const removed: CredentialRecord[] = [];
      for (const credId of this.credentialsOf.get(id) ?? []) {
        const cred = this.credentials.get(credId)!;
        this.forgetCredential(cred);
        removed.push(cred);
      }
      this.credentialsOf.delete(id);
      this.presence.delete(id);
      this.devices.delete(id);
      this.sortedIds = undefined;
      return { device, credentials: removed.sort(byAge) };
    });
  }

  scanDevices(scan: DeviceScan): Promise<DeviceRecord[]> {
    return this.read(() => {
      const ids = this.idsInOrder();
      let lo = 0;
      if (scan.after !== undefined) {
        // The first id that sorts after the cursor.
        const after = scan.after;
        let hi = ids.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (compareUtf8(ids[mid]!, after) <= 0) lo = mid + 1;
          else hi = mid;
        }
      }
      const out: DeviceRecord[] = [];
      const end = Math.min(ids.length, lo + Math.max(0, scan.limit));
      for (let i = lo; i < end; i++) out.push(structuredClone(this.devices.get(ids[i]!)!));
      return out;
    });
  }

  private idsInOrder(): string[] {
    if (this.sortedIds === undefined) this.sortedIds = Array.from(this.devices.keys()).sort(compareUtf8);
    return this.sortedIds;
  }

  countDevices(): Promise<number> {
    return this.read(() => this.devices.size);
  }

  // --- presence

  getPresence(deviceId: string): Promise<PresenceRecord | undefined> {
    return this.read(() => copy(this.presence.get(deviceId)));
  }

  putPresence(deviceId: string, presence: PresenceRecord): Promise<void> {
    if (this.closed) return closedForWrites();
    if (this.devices.has(deviceId)) this.presence.set(deviceId, structuredClone(presence));
    return RESOLVED;
  }

  // --- credentials

  addCredential(credential: CredentialRecord): Promise<WriteResult> {
    return this.write(() => {
      if (!this.devices.has(credential.deviceId)) return conflict('missing-device');
      if (this.credentials.has(credential.id)) return conflict('exists');
      const { lookupKey } = credential;
      if (lookupKey !== undefined && this.lookups.has(lookupKey)) return conflict('lookup-taken');
      this.credentials.set(credential.id, structuredClone(credential));
      let ids = this.credentialsOf.get(credential.deviceId);
      if (ids === undefined) this.credentialsOf.set(credential.deviceId, (ids = new Set()));
      ids.add(credential.id);
      if (lookupKey !== undefined) this.lookups.set(lookupKey, credential.id);
      return OK;
    });
  }

  getCredential(id: string): Promise<CredentialRecord | undefined> {
    return this.read(() => copy(this.credentials.get(id)));
  }

  listCredentials(deviceId: string): Promise<CredentialRecord[]> {
    return this.read(() => {
      const out: CredentialRecord[] = [];
      for (const id of this.credentialsOf.get(deviceId) ?? []) out.push(structuredClone(this.credentials.get(id)!));
      return out.sort(byAge);
    });
  }

  findCredentialByLookup(lookupKey: string): Promise<CredentialRecord | undefined> {
    return this.read(() => {
      const id = this.lookups.get(lookupKey);
      return id === undefined ? undefined : copy(this.credentials.get(id));
    });
  }

  removeCredential(id: string): Promise<CredentialRecord | undefined> {
    return this.write(() => {
      const cred = this.credentials.get(id);
      if (cred === undefined) return undefined;
      this.forgetCredential(cred);
      const ids = this.credentialsOf.get(cred.deviceId);
      ids?.delete(id);
      if (ids?.size === 0) this.credentialsOf.delete(cred.deviceId);
      return cred;
    });
  }

  /** Remove a credential and its lookup key (not its entry in `credentialsOf`). */
  private forgetCredential(cred: CredentialRecord): void {
    this.credentials.delete(cred.id);
    if (cred.lookupKey !== undefined && this.lookups.get(cred.lookupKey) === cred.id) this.lookups.delete(cred.lookupKey);
  }

  // --- operator API keys

  addApiKey(key: ApiKeyRecord): Promise<WriteResult> {
    return this.write(() => {
      if (this.apiKeys.has(key.id)) return conflict('exists');
      this.apiKeys.set(key.id, structuredClone(key));
      return OK;
    });
  }

  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.read(() => copy(this.apiKeys.get(id)));
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.read(() => inIdOrder(this.apiKeys));
  }

  removeApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.write(() => {
      const key = this.apiKeys.get(id);
      this.apiKeys.delete(id);
      return key;
    });
  }

  // --- ACL policies

  listAclPolicies(): Promise<AclPolicyRecord[]> {
    return this.read(() => inIdOrder(this.policies));
  }

  getAclPolicy(id: string): Promise<AclPolicyRecord | undefined> {
    return this.read(() => copy(this.policies.get(id)));
  }

  putAclPolicy(policy: AclPolicyRecord): Promise<void> {
    return this.write(() => {
      this.policies.set(policy.id, structuredClone(policy));
    });
  }

  removeAclPolicy(id: string): Promise<AclPolicyRecord | undefined> {
    return this.write(() => {
      const policy = this.policies.get(id);
      this.policies.delete(id);
      return policy;
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return RESOLVED;
  }

  private read<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_OPEN_FAILED, 'the registry store is closed'));
    return Promise.resolve(fn());
  }

  /**
   * Run a write. Values it returns were removed from the store or are fresh results, so they are
   * handed out without another copy.
   */
  private write<T>(fn: () => T): Promise<T> {
    if (this.closed) return closedForWrites();
    return Promise.resolve(fn());
  }
}

function closedForWrites(): Promise<never> {
  return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'the registry store is closed'));
}

function conflict(reason: RegistryConflict): WriteResult {
  return { ok: false, conflict: reason };
}

function copy<T>(record: T | undefined): T | undefined {
  return record === undefined ? undefined : structuredClone(record);
}

function inIdOrder<T extends { id: string }>(records: Map<string, T>): T[] {
  return Array.from(records.values(), (r) => structuredClone(r)).sort((a, b) => compareUtf8(a.id, b.id));
}

/** Oldest first: by createdAt, then by id. */
function byAge(a: CredentialRecord, b: CredentialRecord): number {
  return a.createdAt - b.createdAt || compareUtf8(a.id, b.id);
}

/**
 * Compare two strings in the order of their UTF-8 bytes. At the first differing UTF-16 code
 * unit, a surrogate (half of a code point above U+FFFF) sorts after every other unit, as its
 * 4-byte UTF-8 form does; otherwise code unit order is code point order.
 */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
