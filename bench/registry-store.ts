// Registry store bench: the LMDB registry adapter (src/adapters/lmdb/registry-store.ts) in a temp
// folder. Provisions BENCH_DEVICES devices with one password credential each, in batches of
// BENCH_BATCH (createDevices for the batch, then addCredential per device, as a bulk import
// does), then times what authentication does:
//   get      getDevice + listCredentials of a random device (the password path: found by device)
//   lookup   findCredentialByLookup of a random token (the token / certificate path)
// Tokens are lookup-keyed, passwords are not, so for the lookup figure every device then gets a
// token credential as well (untimed). Prints one JSON line.
//   BENCH_DEVICES  devices (default 100,000)
//   BENCH_BATCH    devices per createDevices call (default 5,000)
//   BENCH_READS    reads timed for get and lookup each (default 100,000)
//   BENCH_FSYNC    1 = flush every commit to the disk (default 0: to the OS)
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbRegistryStore } from '../src/adapters/lmdb/registry-store.js';
import type { DeviceRecord, RegistryStore } from '../src/ports/registry-store.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5_000);
const READS = Number(process.env.BENCH_READS ?? 100_000);
const FSYNC = process.env.BENCH_FSYNC === '1';

const T0 = Date.now();
// A PHC string of the length core writes (scrypt, 16-byte salt, 32-byte hash).
const PHC = '$scrypt$ln=14,r=8,p=1$' + Buffer.alloc(16, 7).toString('base64') + '$' + Buffer.alloc(32, 9).toString('base64');

const idOf = (i: number): string => `sensor-${String(i).padStart(7, '0')}`;
const tokenDigest = (i: number): string => createHash('sha256').update(`token-${i}`).digest('hex');

function deviceOf(i: number): DeviceRecord {
  return {
    id: idOf(i),
    name: `Sensor ${i}`,
    type: 'thermo-v2',
    group: `site-${i % 50}`,
    tags: { floor: String(i % 12), line: 'a' },
    enabled: true,
    createdAt: T0,
    updatedAt: T0,
  };
}

/** A cheap deterministic sequence of indexes (xorshift), so both read phases see the same mix. */
function* randomIndexes(n: number, bound: number): Generator<number> {
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    yield (x >>> 0) % bound;
  }
}

const perSec = (n: number, ms: number): number => Math.round((n * 1000) / ms);

async function provision(store: RegistryStore): Promise<Record<string, number>> {
  let bulkMs = 0;
  let credMs = 0;
  const t0 = performance.now();
  for (let from = 0; from < DEVICES; from += BATCH) {
    const n = Math.min(BATCH, DEVICES - from);
    const batch = Array.from({ length: n }, (_, k) => deviceOf(from + k));
    const b0 = performance.now();
    const results = await store.createDevices(batch);
    bulkMs += performance.now() - b0;
    if (!results.every((r) => r.ok)) throw new Error('createDevices refused a device');
    const c0 = performance.now();
    for (let k = 0; k < n; k++) {
      const i = from + k;
      const r = await store.addCredential({ id: `pw-${i}`, deviceId: idOf(i), type: 'password', createdAt: T0, hash: PHC });
      if (!r.ok) throw new Error(`addCredential: ${r.conflict}`);
    }
    credMs += performance.now() - c0;
  }
  const totalMs = performance.now() - t0;
  return {
    createPerSec: perSec(DEVICES, totalMs),
    createDevicesPerSec: perSec(DEVICES, bulkMs),
    addCredentialPerSec: perSec(DEVICES, credMs),
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'twinhub-bench-registry-'));
  try {
    const store = await openLmdbRegistryStore(dir, { fsync: FSYNC });
    const created = await provision(store);
    if ((await store.countDevices()) !== DEVICES) throw new Error('device count differs');

    let t0 = performance.now();
    for (const i of randomIndexes(READS, DEVICES)) {
      const d = await store.getDevice(idOf(i));
      const creds = await store.listCredentials(idOf(i));
      if (d === undefined || creds.length !== 1) throw new Error(`device ${i} incomplete`);
    }
    const getPerSec = perSec(READS, performance.now() - t0);

    for (let i = 0; i < DEVICES; i++) {
      const digest = tokenDigest(i);
      await store.addCredential({ id: `tk-${i}`, deviceId: idOf(i), type: 'token', createdAt: T0 + 1, lookupKey: `token:${digest}`, hash: digest });
    }
    const keys = Array.from({ length: DEVICES }, (_, i) => `token:${tokenDigest(i)}`);
    t0 = performance.now();
    for (const i of randomIndexes(READS, DEVICES)) {
      const c = await store.findCredentialByLookup(keys[i]!);
      if (c?.deviceId !== idOf(i)) throw new Error(`token ${i} not found`);
    }
    const lookupPerSec = perSec(READS, performance.now() - t0);
    await store.close();

    console.log(
      JSON.stringify({
        bench: 'registry-store',
        devices: DEVICES,
        batch: BATCH,
        fsync: FSYNC,
        createPerSec: created.createPerSec,
        getPerSec,
        lookupPerSec,
        createDevicesPerSec: created.createDevicesPerSec,
        addCredentialPerSec: created.addCredentialPerSec,
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
