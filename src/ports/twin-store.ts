// The persistence port of device twins (shadows). Adapters: adapters/memory (tests),
// adapters/lmdb (the embedded default, `<data>/twins`); a cluster adapter on NATS JetStream KV
// comes later. Every adapter passes test/contracts/twin-store.contract.ts.
//
// A twin is addressed by (deviceId, shadowName); the classic (unnamed) shadow has the name ''.
// Each key holds a live twin (a ShadowDocument), or a tombstone once deleted (so that a shadow
// recreated within the window continues its version, docs/TWINS.md), or nothing.
//
// Writes are compare-and-set on the key's `revision`: an opaque number that changes on every
// write of the key and is 0 while the key holds nothing. Two writers that read the same revision
// cannot both win: the second gets `{ok: false}` with the current revision, re-reads and retries
// (or gives up). A JetStream KV adapter maps it to the KV revision of the key; the twin's own
// `version` is a field of the document, not the revision.
//
// Each write also appends one history entry for the twin in the same atomic write; the store
// keeps the last `historySize` entries of each twin (an adapter option).
import type { LostChange, ShadowDocument, ShadowTombstone } from '../core/twin/index.js';
import type { JsonObject } from '../core/twin/json-value.js';

/** The classic (unnamed) shadow's name in the store. */
export const CLASSIC_SHADOW = '';

/** What a key holds: exactly one of `doc` and `tombstone`. */
export interface StoredTwin {
  /** Compare-and-set token of the key (never 0 for a stored record). */
  readonly revision: number;
  /** The live twin. */
  readonly doc?: ShadowDocument;
  /** The deleted twin's version and vector. */
  readonly tombstone?: ShadowTombstone;
}

/** One change of a twin, as its history shows it. */
export interface TwinHistoryEntry {
  readonly op: 'update' | 'delete';
  /** The twin's version after the change; for a delete, the version deleted. */
  readonly version: number;
  /** Epoch ms when the change was accepted. */
  readonly at: number;
  /** Who made it: 'device:<id>', 'mqtt:<clientId>', 'api:<key>', 'rule:<id>'… ('' when unknown). */
  readonly writer: string;
  /** The state the update sent (`{desired?, reported?}`, nulls included); absent for a delete. */
  readonly state?: JsonObject;
  /** Values that lost to concurrent changes (multi-writer merge, docs/TWINS.md). */
  readonly lost?: readonly LostChange[];
}

export interface TwinPut {
  /** The revision the writer read (0: the key held nothing). */
  readonly expectedRevision: number;
  readonly doc: ShadowDocument;
  readonly history: TwinHistoryEntry;
}

export interface TwinDelete {
  readonly expectedRevision: number;
  readonly tombstone: ShadowTombstone;
  readonly history: TwinHistoryEntry;
}

/** ok: written, `revision` is the key's new revision. Not ok: the key's revision was another one. */
export type TwinWriteResult = { readonly ok: true; readonly revision: number } | { readonly ok: false; readonly revision: number };

export interface TwinStore {
  /** The key's record, or undefined when it holds nothing. */
  get(deviceId: string, shadowName: string): Promise<StoredTwin | undefined>;
  /**
   * Store `doc` as the live twin if the key's revision is `expectedRevision`, and append the
   * history entry, atomically. Resolves once durable. Rejects with TwinhubError
   * STORE_WRITE_FAILED when the write failed (then nothing of it applied).
   */
  put(deviceId: string, shadowName: string, write: TwinPut): Promise<TwinWriteResult>;
  /** Replace the live twin by a tombstone (compare-and-set as put) and append the history entry. */
  delete(deviceId: string, shadowName: string, write: TwinDelete): Promise<TwinWriteResult>;
  /** Names of the device's live twins ('' for the classic one), in ascending order. */
  list(deviceId: string): Promise<string[]>;
  /** The twin's last `limit` history entries (default: all kept), newest first. */
  history(deviceId: string, shadowName: string, limit?: number): Promise<TwinHistoryEntry[]>;
  /** Remove every twin, tombstone and history entry of the device (the device was deleted). */
  deleteDevice(deviceId: string): Promise<void>;
  /** Waits for pending writes, then closes. */
  close(): Promise<void>;
}

export interface TwinStoreOptions {
  /** History entries kept per twin (oldest dropped first); 0 keeps none. */
  readonly historySize: number;
}

export const DEFAULT_TWIN_HISTORY_SIZE = 100;
