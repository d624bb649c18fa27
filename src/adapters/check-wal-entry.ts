// Checks shared by the series-store adapters (src/ports/series-store.ts): a malformed WAL entry
// is refused before anything of it is written.
import { Errors, TwinhubError } from '../common/errors.js';
import type { WalEntry } from '../ports/series-store.js';

export function checkWalEntry(e: WalEntry): void {
  if (!Number.isSafeInteger(e.seq) || e.seq <= 0) throw new TwinhubError(Errors.STORE_WRITE_FAILED, `WAL seq ${e.seq} is not a positive integer`);
  if (e.series.length !== e.timestamps.length || e.values.length !== e.timestamps.length) {
    throw new TwinhubError(Errors.STORE_WRITE_FAILED, 'WAL entry columns differ in length');
  }
}
