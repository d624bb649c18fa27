// Alerts raised by rules: one open alert per dedup key (raising it again counts and updates
// `lastAt`), cleared by the rule's clear condition or by an operator. Kept in memory and written
// to `<rules folder>/.alerts.json` (temp file + rename, coalesced per turn) so open alerts survive
// a restart. The file starts with '.', so the folder scan for `*.yaml` never reads it.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Severity } from '../rule-file.js';

export interface Alert {
  key: string;
  ruleId: string;
  severity: Severity;
  message?: string;
  /** How many times it was raised while open. */
  count: number;
  /** Epoch ms. */
  firstAt: number;
  lastAt: number;
}

export interface AlertCounters {
  raised: number;
  cleared: number;
}

export type AlertListener = (event: 'raised' | 'cleared', alert: Alert, by: string) => void;

export const ALERTS_FILE = '.alerts.json';
/** Open alerts kept at most; past it the oldest (by lastAt) is dropped and counted. */
const MAX_OPEN = 100_000;

export class AlertStore {
  private readonly open = new Map<string, Alert>();
  readonly counters: AlertCounters & { evicted: number } = { raised: 0, cleared: 0, evicted: 0 };
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners: AlertListener[] = [];

  constructor(
    private readonly folder: string,
    private readonly log: Logger,
  ) {}

  get file(): string {
    return join(this.folder, ALERTS_FILE);
  }

  /** Read the persisted open alerts (a missing or unreadable file starts empty, logged). */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err, file: this.file }, 'alerts file unreadable; starting with no open alerts');
      return;
    }
    try {
      const doc = JSON.parse(text) as { alerts?: unknown };
      if (!Array.isArray(doc.alerts)) throw new Error('no "alerts" list');
      for (const a of doc.alerts as Alert[]) {
        if (typeof a?.key === 'string' && typeof a.ruleId === 'string' && typeof a.count === 'number') this.open.set(a.key, a);
      }
    } catch (err) {
      this.log.warn({ err, file: this.file }, 'alerts file is not valid; starting with no open alerts');
    }
  }

  onChange(listener: AlertListener): void {
    this.listeners.push(listener);
  }

  raise(key: string, ruleId: string, severity: Severity, message: string | undefined, now: number): Alert {
    let a = this.open.get(key);
    if (a !== undefined) {
      a.count++;
      a.lastAt = now;
      a.severity = severity;
      if (message !== undefined) a.message = message;
    } else {
      if (this.open.size >= MAX_OPEN) this.evictOldest();
      a = { key, ruleId, severity, count: 1, firstAt: now, lastAt: now };
      if (message !== undefined) a.message = message;
      this.open.set(key, a);
    }
    this.counters.raised++;
    this.changed();
    for (const l of this.listeners) l('raised', a, ruleId);
    return a;
  }

  /** Clear an open alert; undefined when no alert is open under the key. */
  clear(key: string, by: string): Alert | undefined {
    const a = this.open.get(key);
    if (a === undefined) return undefined;
    this.open.delete(key);
    this.counters.cleared++;
    this.changed();
    for (const l of this.listeners) l('cleared', a, by);
    return a;
  }

  get(key: string): Alert | undefined {
    return this.open.get(key);
  }

  /** Open alerts, most recently raised first. */
  list(filter: { ruleId?: string; severity?: Severity } = {}): Alert[] {
    const out: Alert[] = [];
    for (const a of this.open.values()) {
      if (filter.ruleId !== undefined && a.ruleId !== filter.ruleId) continue;
      if (filter.severity !== undefined && a.severity !== filter.severity) continue;
      out.push({ ...a });
    }
    return out.sort((x, y) => y.lastAt - x.lastAt);
  }

  get size(): number {
    return this.open.size;
  }

  /** Resolves once what changed so far is on disk. */
  async flush(): Promise<void> {
    if (this.dirty) this.schedule();
    await this.writing;
  }

  private evictOldest(): void {
    let oldest: Alert | undefined;
    for (const a of this.open.values()) if (oldest === undefined || a.lastAt < oldest.lastAt) oldest = a;
    if (oldest !== undefined) {
      this.open.delete(oldest.key);
      this.counters.evicted++;
    }
  }

  private changed(): void {
    if (this.dirty) return;
    this.dirty = true;
    // One write per turn however many alerts changed in it.
    setImmediate(() => this.schedule());
  }

  private schedule(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const body = JSON.stringify({ alerts: [...this.open.values()] });
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.tmp`;
      try {
        await writeFile(tmp, body);
        await rename(tmp, this.file);
      } catch (err) {
        this.log.error({ err, file: this.file }, 'could not write the alerts file');
      }
    });
  }
}
