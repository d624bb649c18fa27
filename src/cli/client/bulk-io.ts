// Files of `device import` / `device export`: reading the import (a file or stdin), choosing its
// format, and streaming an export to stdout or to a file that only appears once complete.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { CliErrorCodes, CliExit, TwinhubCliError, usageError } from './http.js';

export type BulkFormat = 'jsonl' | 'csv';

export async function readImportInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** --format, else the extension, else the content: a first line starting with "{" is JSON lines. */
export function importFormat(file: string, flag: string | undefined, text: string): BulkFormat {
  if (flag !== undefined) {
    if (flag !== 'csv' && flag !== 'jsonl') throw usageError(`--format: expected csv or jsonl, got ${JSON.stringify(flag)}`);
    return flag;
  }
  const lower = file.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  const first = text.split('\n').find((l) => l.trim() !== '');
  return first !== undefined && first.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}

async function writeAll(stream: NodeJS.WritableStream, body: ReadableStream<Uint8Array>): Promise<number> {
  let lines = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    for (const b of chunk) if (b === 0x0a) lines++;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  return lines;
}

function interrupted(err: unknown): TwinhubCliError {
  const e = err as { message?: string; cause?: { message?: string } };
  return new TwinhubCliError(`the export was cut off: ${e.cause?.message ?? e.message ?? String(err)}`, CliErrorCodes.INTERRUPTED, CliExit.FAILURE, { cause: err });
}

/**
 * Streams the answer's body to stdout (no file, or "-") or to `file`; returns the lines written.
 * A file is written beside its final name and renamed when complete, so a cut-off export never
 * looks like a whole one.
 */
export async function writeExport(res: Response, file: string | undefined): Promise<number> {
  const body = res.body;
  if (body === null) return 0;
  if (file === undefined || file === '-') {
    // `twinhub device export | head` closes the pipe early: stop quietly, as other tools do.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(CliExit.OK);
      throw err;
    });
    try {
      return await writeAll(process.stdout, body);
    } catch (err) {
      throw interrupted(err);
    }
  }
  const partial = `${file}.partial-${process.pid}`;
  const out = createWriteStream(partial, { flags: 'wx' });
  try {
    await once(out, 'open');
  } catch (err) {
    // A missing folder, no permission: name the file the user gave, not the partial one.
    const e = err as NodeJS.ErrnoException;
    throw new TwinhubCliError(`cannot write ${file}: ${e.code ?? e.message}`, CliErrorCodes.IO, CliExit.FAILURE, { cause: err });
  }
  let writeError: Error | undefined;
  out.on('error', (err) => (writeError ??= err));
  try {
    let lines: number;
    try {
      lines = await writeAll(out, body);
    } catch (err) {
      throw writeError ?? interrupted(err);
    }
    out.end();
    await once(out, 'close');
    if (writeError !== undefined) throw writeError;
    await rename(partial, file);
    return lines;
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}
