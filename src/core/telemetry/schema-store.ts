// The payload schemas of device types, kept across restarts: a SchemaRegistry (ingest/schemas.ts)
// whose every accepted registration is written to a JSON file in the data folder before it is
// acknowledged, or kept in memory when persistence is off.
//
// A registration is tried on a copy of the registry first and only applied to the live one (the
// one the ingestor validates payloads with) once the file holding it is written: a failed write
// leaves both the file and the live registry as they were. Registrations run one at a time.
//
// The file is replaced atomically: written to a temporary file in the same folder, flushed
// (fsync), then renamed over the old one (rename(2) is atomic within a file system), so a crash
// leaves the old file or the new one, never half of one.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Errors, TwinhubError } from '../../common/errors.js';
import { SchemaRegistry, type RegisterResult, type SchemaRegistryJSON } from './ingest/schemas.js';

/** Where the registry is kept: read at open, written after each change. */
export interface SchemaPersistence {
  /** The stored registry, or undefined when nothing was stored yet. */
  load(): Promise<unknown>;
  save(data: SchemaRegistryJSON): Promise<void>;
}

/** `<data>/telemetry/schemas.json`: beside the telemetry LMDB environment. */
export function schemaFile(dataDir: string): string {
  return join(dataDir, 'telemetry', 'schemas.json');
}

/** A JSON file replaced by write-temp, fsync, rename. */
export function jsonFilePersistence(file: string): SchemaPersistence {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new TwinhubError(Errors.STORE_OPEN_FAILED, `cannot read the telemetry schemas ${file}: ${(err as Error).message}`, { path: file }, { cause: err });
      }
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new TwinhubError(Errors.DATA_FORMAT_UNSUPPORTED, `the telemetry schemas file ${file} is not JSON: ${(err as Error).message}`, { path: file });
      }
    },
    async save(data) {
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        await mkdir(dirname(file), { recursive: true });
        const fh = await open(tmp, 'w');
        try {
          await fh.writeFile(`${JSON.stringify(data, null, 1)}\n`, 'utf8');
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, file);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw new TwinhubError(Errors.STORE_WRITE_FAILED, `cannot write the telemetry schemas ${file}: ${(err as Error).message}`, { path: file }, { cause: err });
      }
    },
  };
}

/** Nothing kept: `persistence: false`. */
export function memoryPersistence(): SchemaPersistence {
  return { load: async () => undefined, save: async () => undefined };
}

export class SchemaStore {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** The live registry: give it to createIngestor(mappings, { schemas }). */
    readonly registry: SchemaRegistry,
    private readonly persistence: SchemaPersistence,
  ) {}

  /**
   * Reads the stored registry. A file that is not a registry throws (TH_DATA_FORMAT_UNSUPPORTED)
   * rather than starting with no schemas: payloads would go unchecked and the next registration
   * would overwrite what was there.
   */
  static async open(persistence: SchemaPersistence): Promise<SchemaStore> {
    const data = await persistence.load();
    return new SchemaStore(data === undefined ? new SchemaRegistry() : SchemaRegistry.fromJSON(data), persistence);
  }

  /**
   * Registers a schema version (SchemaRegistry.register rules); when accepted, stored before
   * this resolves. Rejects with TH_STORE_WRITE_FAILED when it could not be stored (not registered).
   */
  register(deviceType: string, version: string, schema: object): Promise<RegisterResult> {
    const run = async (): Promise<RegisterResult> => {
      const trial = SchemaRegistry.fromJSON(this.registry.toJSON());
      const r = trial.register(deviceType, version, schema);
      if (!r.ok) return r;
      await this.persistence.save(trial.toJSON());
      // Same inputs, same registry state: the live registration gives the same answer.
      return this.registry.register(deviceType, version, schema);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}
