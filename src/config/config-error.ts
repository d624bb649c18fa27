// Configuration problems. Every problem names the key and where its value came from, so the
// user knows which line, variable or flag to fix; all problems of one load are reported at once.
import { Errors, TwinhubError } from '../common/errors.js';

export type ConfigSource =
  | { kind: 'default' }
  | { kind: 'file'; file: string }
  | { kind: 'object'; label: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; flag: string };

export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return source.file;
    case 'object':
      return source.label;
    case 'env':
      return source.name;
    case 'flag':
      return source.flag;
  }
}

export interface ConfigIssue {
  /** Key path, e.g. 'limits.maxKeepAlive' or 'acl[1].action'; for unknown env variables the name. */
  key: string;
  source: ConfigSource;
  problem: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return `invalid config: ${issue.key} (from ${describeSource(issue.source)}): ${issue.problem}`;
}

export class ConfigError extends TwinhubError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(Errors.CONFIG_INVALID, issues.map(formatIssue).join('\n'), { issues });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** The config file (or a TLS file it names) could not be read or parsed. */
export class ConfigFileError extends TwinhubError {
  constructor(message: string, cause?: unknown) {
    super(Errors.CONFIG_FILE_UNREADABLE, message, undefined, { cause });
    this.name = 'ConfigFileError';
  }
}

/** True for errors that mean "fix your configuration" (the CLI exits with code 2). */
export function isConfigError(err: unknown): boolean {
  return err instanceof TwinhubError && (err.code === Errors.CONFIG_INVALID.code || err.code === Errors.CONFIG_FILE_UNREADABLE.code);
}

/** Show a value the way the user wrote it: strings quoted, others as JSON, long ones cut. */
export function showValue(raw: unknown): string {
  let s: string;
  try {
    s = raw === undefined ? 'nothing' : JSON.stringify(raw);
  } catch {
    s = String(raw);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
