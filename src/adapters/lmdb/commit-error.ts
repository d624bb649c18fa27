// The error a failed lmdb-js write is reported with (STORE_WRITE_FAILED), shared by the LMDB
// stores. Each store passes its own message prefix; the message ends with the reason.
import { Errors, TwinhubError } from '../../common/errors.js';

/**
 * STORE_WRITE_FAILED with the message `<prefix>: <why>`, `why` being the message of LMDB's
 * `reason` when there is one, else of `err`.
 */
export function commitError(prefix: string, err: unknown, reason?: unknown): TwinhubError {
  const why = reason instanceof Error ? reason.message : err instanceof Error ? err.message : String(err);
  return new TwinhubError(Errors.STORE_WRITE_FAILED, `${prefix}: ${why}`, undefined, { cause: reason ?? err });
}

/**
 * A failed asynchronous commit rejects with a generic "Commit failed" whose `commitError` promise
 * rejects with LMDB's reason (disk full, file too large…). Resolves to the error to report,
 * naming that reason when lmdb-js gives it in time (before the next setImmediate). It handles that
 * promise at once: left unhandled, its rejection would end the process.
 */
export function commitFailure(prefix: string, err: unknown): Promise<TwinhubError> {
  const detail = (err as { commitError?: Promise<unknown> } | undefined)?.commitError;
  return new Promise<TwinhubError>((resolve) => {
    const fallback = setImmediate(() => resolve(commitError(prefix, err)));
    detail?.then(
      () => undefined,
      (reason: unknown) => {
        clearImmediate(fallback);
        resolve(commitError(prefix, err, reason));
      },
    );
  });
}
