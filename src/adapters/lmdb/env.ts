// Opens an LMDB environment of the data folder. Layout of the data folder (config `data`):
//
//   <data>/broker/        the broker's environment (data.mdb, lock.mdb); sub-databases:
//                         meta, sessions, outbound, inbound-qos2, retained (adapters/lmdb/keys.ts)
//   <data>/<name>/        further environments (twins, telemetry, registry) opened the same way
//
// Each environment has one writer and its own sync policy, so a part of the hub whose writes must
// not queue behind another's (telemetry behind the broker's per-tick commits) gets its own
// environment; writes that must be atomic together use sub-databases of one environment.
//
// Every environment has a `meta` sub-database whose key "format" holds the data format version
// (u32 big-endian) it was written with. Each environment has its own format (FORMAT_VERSIONS):
// a folder written by a newer Twinhub is refused rather than misread; an older one is migrated
// step by step when it is opened (MIGRATIONS).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { Errors, TwinhubError } from '../../common/errors.js';
import { TWIN_MIGRATIONS } from './twin-migrations.js';

/** The data format of an environment that FORMAT_VERSIONS does not name (broker, telemetry, registry…). */
export const DATA_FORMAT_VERSION = 1;

/**
 * The data format this build writes and the newest it reads, by environment name; the ones not
 * named are at DATA_FORMAT_VERSION. twins 2: compact metadata (twin-migrations.ts).
 */
export const FORMAT_VERSIONS: Readonly<Record<string, number>> = { twins: 2 };

/** The data format this build writes and reads for the environment `name`. */
export function formatVersionOf(name: string): number {
  return Object.hasOwn(FORMAT_VERSIONS, name) ? FORMAT_VERSIONS[name]! : DATA_FORMAT_VERSION;
}

const FORMAT_KEY = Buffer.from('format');

export interface DataEnvOptions {
  /**
   * true: each commit is flushed to the disk (fsync) before it resolves, so it survives power
   * loss. false: a commit resolves once its pages are written to the OS, which survives the
   * process being killed but may lose the last commits on power loss (LMDB MDB_NOSYNC keeps the
   * file consistent either way).
   */
  fsync: boolean;
  /** Data format this code writes and the newest it reads; formatVersionOf(name) unless a test says otherwise. */
  supportedFormat?: number;
  /** Migrations of this environment's older formats; MIGRATIONS[name] unless a test says otherwise. */
  migrations?: readonly Migration[];
}

/**
 * One step of a data format migration: rewrites an environment written with format `from` into
 * format `from + 1`, inside one write transaction (all of it or none of it is applied).
 */
export interface Migration {
  readonly from: number;
  /** What the step changes, for the log and the error if it fails. */
  readonly describe: string;
  migrate(env: { openDb(name: string): Database<Buffer, Buffer> }): void;
}

/**
 * Migrations by environment name, in order. Format 1 is the first format every environment was
 * written with; a release that changes an environment's stored format adds its step here and
 * raises the environment's FORMAT_VERSIONS entry, and older folders are upgraded when a hub opens them.
 */
export const MIGRATIONS: Readonly<Record<string, readonly Migration[]>> = { twins: TWIN_MIGRATIONS };

export interface DataEnv {
  /** The environment's directory. */
  readonly path: string;
  /** The data format version recorded in the environment. */
  readonly formatVersion: number;
  /** A named sub-database with binary keys and values (created when missing). */
  openDb(name: string): Database<Buffer, Buffer>;
  /** Waits for pending commits, then closes the environment. */
  close(): Promise<void>;
}

/**
 * Environments opened with LMDB's MDB_WRITEMAP: a commit modifies its pages in the memory map
 * instead of copying each dirty page into a buffer and writing that to the file, which halved
 * the LMDB writer thread's CPU per twin update (`npm run bench:twins`: about 11 → 5.6 µs). The
 * durability of both sync modes is unchanged (a commit is in the OS page cache when it resolves,
 * and flushed with msync in the fsync mode); what it gives up is LMDB's protection of the file
 * from stray writes of this process into the map (native code bugs). Only `twins` so far, the
 * environment with the largest write rate per operation; every opener of an environment (the
 * hub, `twinhub backup`) uses the same flag, as LMDB asks.
 */
const WRITEMAP_ENVIRONMENTS: ReadonlySet<string> = new Set(['twins']);

/** Whether the environment `name` is opened with MDB_WRITEMAP (WRITEMAP_ENVIRONMENTS). */
export function usesWritemap(name: string): boolean {
  return WRITEMAP_ENVIRONMENTS.has(name);
}

/** Open (creating when missing) the environment `name` of the data folder `dataDir`. */
export async function openDataEnv(dataDir: string, name: string, opts: DataEnvOptions): Promise<DataEnv> {
  const path = join(dataDir, name);
  const supported = opts.supportedFormat ?? formatVersionOf(name);
  let root: RootDatabase<Buffer, Buffer>;
  try {
    await mkdir(path, { recursive: true });
    root = open<Buffer, Buffer>(path, {
      maxDbs: 32,
      keyEncoding: 'binary',
      encoding: 'binary',
      noSync: !opts.fsync,
      // Off in both modes: with lmdb-js's overlapping sync a commit resolves before it is flushed;
      // without it, a commit of the fsync mode resolves only once flushed.
      overlappingSync: false,
      // Writes are grouped by explicit `batch` calls, not by event-loop turn: the implicit turn
      // batch holds a promise of its own that nobody handles, so a failed transaction (disk full)
      // would surface as an unhandled rejection and end the process.
      eventTurnBatching: false,
      useWritemap: usesWritemap(name),
    });
  } catch (err) {
    throw new TwinhubError(Errors.STORE_OPEN_FAILED, `cannot open LMDB environment ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
  const dbOptions = { keyEncoding: 'binary', encoding: 'binary' } as const;
  let formatVersion: number;
  try {
    const meta = root.openDB<Buffer, Buffer>('meta', dbOptions);
    const stored = meta.get(FORMAT_KEY);
    if (stored === undefined) {
      // A new environment is written in the format this code writes.
      formatVersion = supported;
      const v = Buffer.allocUnsafe(4);
      v.writeUInt32BE(formatVersion, 0);
      meta.putSync(FORMAT_KEY, v);
    } else {
      formatVersion = Buffer.from(stored).readUInt32BE(0);
    }
  } catch (err) {
    await root.close().catch(() => undefined);
    throw new TwinhubError(Errors.STORE_OPEN_FAILED, `cannot read the data format of ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
  if (formatVersion < supported) {
    try {
      formatVersion = migrate(root, dbOptions, path, formatVersion, supported, opts.migrations ?? (Object.hasOwn(MIGRATIONS, name) ? MIGRATIONS[name]! : []));
    } catch (err) {
      await root.close().catch(() => undefined);
      throw err;
    }
  }
  if (formatVersion > supported) {
    await root.close();
    throw new TwinhubError(
      Errors.DATA_FORMAT_UNSUPPORTED,
      `data folder ${dataDir} (${name}) holds data format ${formatVersion}; this Twinhub reads format ${supported} and older: upgrade Twinhub or choose another data folder`,
      { path, formatVersion, supportedFormat: supported },
    );
  }
  return {
    path,
    formatVersion,
    openDb: (db: string) => root.openDB<Buffer, Buffer>(db, dbOptions),
    close: () => root.close(),
  };
}

/**
 * Run the migrations from `from` up to `to`, each in one transaction that also records the new
 * format, so an interrupted migration leaves the environment at the last completed step.
 */
function migrate(
  root: RootDatabase<Buffer, Buffer>,
  dbOptions: { keyEncoding: 'binary'; encoding: 'binary' },
  path: string,
  from: number,
  to: number,
  steps: readonly Migration[],
): number {
  let format = from;
  while (format < to) {
    const step = steps.find((m) => m.from === format);
    if (step === undefined) {
      throw new TwinhubError(
        Errors.DATA_FORMAT_UNSUPPORTED,
        `${path} holds data format ${format} and this Twinhub has no migration from it to format ${to}; use the Twinhub release that wrote it to export the data`,
        { path, formatVersion: format, supportedFormat: to },
      );
    }
    const next = format + 1;
    try {
      root.transactionSync(() => {
        step.migrate({ openDb: (db) => root.openDB<Buffer, Buffer>(db, dbOptions) });
        const v = Buffer.allocUnsafe(4);
        v.writeUInt32BE(next, 0);
        root.openDB<Buffer, Buffer>('meta', dbOptions).putSync(FORMAT_KEY, v);
      });
    } catch (err) {
      throw new TwinhubError(Errors.STORE_OPEN_FAILED, `migrating ${path} from data format ${format} to ${next} (${step.describe}) failed: ${(err as Error).message}; the folder is still at format ${format}`, { path }, { cause: err });
    }
    format = next;
  }
  return format;
}
