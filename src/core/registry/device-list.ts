// Listing devices: filters (type, group, tags, connected, name prefix), sorting and paging.
// Sorted by id (the store's order) a page is read with a cursor and stops as soon as it is full,
// whatever the fleet size; any other sort reads every matching device once and sorts them, and
// the cursor is then an offset (documented in docs/API.md: stable while the fleet does not change).
import { Errors, TwinhubError } from '../../common/errors.js';
import type { DeviceRecord, RegistryStore } from '../../ports/registry-store.js';

export type DeviceSort = 'id' | '-id' | 'name' | '-name' | 'createdAt' | '-createdAt' | 'updatedAt' | '-updatedAt';
export const DEVICE_SORTS: readonly DeviceSort[] = ['id', '-id', 'name', '-name', 'createdAt', '-createdAt', 'updatedAt', '-updatedAt'];

export interface DeviceQuery {
  type?: string;
  group?: string;
  /** Every tag must match. */
  tags?: Record<string, string>;
  connected?: boolean;
  /** Devices whose id starts with this. */
  prefix?: string;
  sort?: DeviceSort;
  limit: number;
  cursor?: string;
}

export interface DevicePage {
  items: DeviceRecord[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  next?: string;
}

const SCAN_BATCH = 500;

/** The filters of a DeviceQuery. */
export type DeviceMatch = Pick<DeviceQuery, 'type' | 'group' | 'tags' | 'connected' | 'prefix'>;

/**
 * A predicate for the devices matching every filter of `q`. `isConnected` is consulted only when
 * `q.connected` is set (without it, no device counts as connected).
 */
export function matcher(q: DeviceMatch, isConnected?: (id: string) => boolean): (d: DeviceRecord) => boolean {
  const tagEntries = q.tags === undefined ? [] : Object.entries(q.tags);
  return (d) => {
    if (q.type !== undefined && d.type !== q.type) return false;
    if (q.group !== undefined && d.group !== q.group) return false;
    if (q.prefix !== undefined && !d.id.startsWith(q.prefix)) return false;
    for (const [k, v] of tagEntries) if (d.tags[k] !== v) return false;
    if (q.connected !== undefined && (isConnected?.(d.id) ?? false) !== q.connected) return false;
    return true;
  };
}

function encodeCursor(c: { after?: string; offset?: number }): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(text: string): { after?: string; offset?: number } {
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (v !== null && typeof v === 'object') {
      const o = v as { after?: unknown; offset?: unknown };
      if (typeof o.after === 'string') return { after: o.after };
      if (typeof o.offset === 'number' && Number.isInteger(o.offset) && o.offset >= 0) return { offset: o.offset };
    }
  } catch {
    // fall through
  }
  throw new TwinhubError(Errors.BAD_REQUEST, 'cursor: not a cursor returned by this API', { field: 'cursor' });
}

/** Every device in id order (after `after`, when given), read in batches (exports, full scans, pages). */
export async function* allDevices(store: RegistryStore, after?: string): AsyncGenerator<DeviceRecord> {
  for (;;) {
    const batch = await store.scanDevices(after === undefined ? { limit: SCAN_BATCH } : { after, limit: SCAN_BATCH });
    for (const d of batch) yield d;
    if (batch.length < SCAN_BATCH) return;
    after = batch[batch.length - 1]!.id;
  }
}

export async function listDevices(store: RegistryStore, q: DeviceQuery, isConnected: (id: string) => boolean): Promise<DevicePage> {
  const keep = matcher(q, isConnected);
  const sort = q.sort ?? 'id';
  const cursor = q.cursor === undefined ? {} : decodeCursor(q.cursor);
  if (sort === 'id') {
    const items: DeviceRecord[] = [];
    for await (const d of allDevices(store, cursor.after)) {
      if (!keep(d)) continue;
      items.push(d);
      if (items.length === q.limit) return { items, next: encodeCursor({ after: d.id }) };
    }
    return { items };
  }
  const all: DeviceRecord[] = [];
  for await (const d of allDevices(store)) if (keep(d)) all.push(d);
  const desc = sort.startsWith('-');
  const field = (desc ? sort.slice(1) : sort) as 'id' | 'name' | 'createdAt' | 'updatedAt';
  all.sort((a, b) => {
    const x = a[field] ?? '';
    const y = b[field] ?? '';
    const c = x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return desc ? -c : c;
  });
  const offset = cursor.offset ?? 0;
  const items = all.slice(offset, offset + q.limit);
  return offset + q.limit < all.length ? { items, next: encodeCursor({ offset: offset + q.limit }) } : { items };
}
