// The in-memory TwinStore (tests, and persistence off). Writes apply when called (in call order)
// and resolve on a later microtask, like a store whose commits are durable at once. Revisions
// come from one counter for the whole store, as a JetStream KV bucket's do.
import { Errors, TwinhubError } from '../../common/errors.js';
import {
  DEFAULT_TWIN_HISTORY_SIZE,
  type StoredTwin,
  type TwinDelete,
  type TwinHistoryEntry,
  type TwinPut,
  type TwinStore,
  type TwinStoreOptions,
  type TwinWriteResult,
} from '../../ports/twin-store.js';

interface Slot {
  record: StoredTwin | undefined;
  /** Oldest first. */
  history: TwinHistoryEntry[];
}

export class MemoryTwinStore implements TwinStore {
  private readonly devices = new Map<string, Map<string, Slot>>();
  private readonly historySize: number;
  private revision = 0;
  private failures = 0;
  private failure: unknown;
  private closed = false;

  constructor(opts: Partial<TwinStoreOptions> = {}) {
    this.historySize = opts.historySize ?? DEFAULT_TWIN_HISTORY_SIZE;
  }

  /** Test hook: the next `n` writes fail with STORE_WRITE_FAILED (cause `cause`), applying nothing. */
  failNextWrites(n: number, cause: unknown = new Error('injected failure')): void {
    this.failures = n;
    this.failure = cause;
  }

  async get(deviceId: string, shadowName: string): Promise<StoredTwin | undefined> {
    return this.devices.get(deviceId)?.get(shadowName)?.record;
  }

  put(deviceId: string, shadowName: string, write: TwinPut): Promise<TwinWriteResult> {
    return this.write(deviceId, shadowName, write.expectedRevision, write.history, (revision) => ({ revision, doc: write.doc }));
  }

  delete(deviceId: string, shadowName: string, write: TwinDelete): Promise<TwinWriteResult> {
    return this.write(deviceId, shadowName, write.expectedRevision, write.history, (revision) => ({ revision, tombstone: write.tombstone }));
  }

  private write(
    deviceId: string,
    shadowName: string,
    expected: number,
    entry: TwinHistoryEntry,
    record: (revision: number) => StoredTwin,
  ): Promise<TwinWriteResult> {
    if (this.closed) return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'the twin store is closed'));
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new TwinhubError(Errors.STORE_WRITE_FAILED, 'twin store write failed (injected)', undefined, { cause: this.failure }));
    }
    const slot = this.slot(deviceId, shadowName);
    const current = slot.record?.revision ?? 0;
    if (current !== expected) return Promise.resolve({ ok: false, revision: current });
    slot.record = record(++this.revision);
    if (this.historySize > 0) {
      slot.history.push(entry);
      if (slot.history.length > this.historySize) slot.history.splice(0, slot.history.length - this.historySize);
    }
    return Promise.resolve({ ok: true, revision: this.revision });
  }

  private slot(deviceId: string, shadowName: string): Slot {
    let twins = this.devices.get(deviceId);
    if (twins === undefined) this.devices.set(deviceId, (twins = new Map()));
    let slot = twins.get(shadowName);
    if (slot === undefined) twins.set(shadowName, (slot = { record: undefined, history: [] }));
    return slot;
  }

  async list(deviceId: string): Promise<string[]> {
    const twins = this.devices.get(deviceId);
    if (twins === undefined) return [];
    const names: string[] = [];
    for (const [name, slot] of twins) if (slot.record?.doc !== undefined) names.push(name);
    return names.sort(byCodeUnit);
  }

  async history(deviceId: string, shadowName: string, limit?: number): Promise<TwinHistoryEntry[]> {
    const h = this.devices.get(deviceId)?.get(shadowName)?.history ?? [];
    const n = limit === undefined ? h.length : Math.min(Math.max(0, limit), h.length);
    const out: TwinHistoryEntry[] = [];
    for (let i = h.length - 1; i >= h.length - n; i--) out.push(h[i]!);
    return out;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    if (this.closed) throw new TwinhubError(Errors.STORE_WRITE_FAILED, 'the twin store is closed');
    this.devices.delete(deviceId);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

// Names compare by UTF-16 code units here; the LMDB adapter orders by UTF-8 bytes, which agrees
// for the shadow name charset [a-zA-Z0-9:_-].
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
