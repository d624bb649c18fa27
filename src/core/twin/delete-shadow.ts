// DELETE and the bookkeeping that lets a recreated shadow continue its version. "If you create a
// device shadow document that has the same name as one that was deleted within the past 48
// hours, the version number of the new device shadow document will follow that of the deleted
// one" (AWS IoT Developer Guide, "Interacting with shadows > DELETE"); after that it starts over.
// The caller stores the tombstone beside the deleted shadow's key and passes it to applyUpdate().
import type { ShadowLimits } from './limits.js';
import { noShadow, type ShadowRejection } from './shadow-error.js';
import type { ShadowDocument } from './shadow-document.js';
import type { VersionVector } from './version-vector.js';

export interface ShadowTombstone {
  /** The deleted shadow's version. */
  readonly version: number;
  /** When it was deleted (epoch seconds). */
  readonly deletedAt: number;
  /** Its version vector, so that a stale multi-writer change stays stale after a recreation. */
  readonly writers: VersionVector;
}

/** /delete/accepted: `{"version": 4, "timestamp": 1591057529}` plus the clientToken if one was sent. */
export interface DeleteAcceptedDocument {
  version: number;
  timestamp: number;
  clientToken?: string;
}

export interface DeleteAccepted {
  readonly ok: true;
  readonly accepted: DeleteAcceptedDocument;
  readonly tombstone: ShadowTombstone;
}

export interface DeleteContext {
  readonly now: number;
  /** For the 404 message: the shadow name, or the thing name for a classic shadow. */
  readonly shadowName: string;
  readonly clientToken?: string;
}

export function deleteShadow(current: ShadowDocument | undefined, ctx: DeleteContext): DeleteAccepted | ShadowRejection {
  if (current === undefined) return noShadow(ctx.shadowName, ctx.clientToken);
  // The accepted document carries the version of the shadow that was deleted; deleting does not
  // reset it ("Deleting a shadow does not reset its version number to 0").
  const accepted: DeleteAcceptedDocument = { version: current.version, timestamp: ctx.now };
  if (ctx.clientToken !== undefined) accepted.clientToken = ctx.clientToken;
  return { ok: true, accepted, tombstone: { version: current.version, deletedAt: ctx.now, writers: current.writers } };
}

/** The tombstone while it still counts, undefined once the window has passed (the store may then drop it). */
export function liveTombstone(t: ShadowTombstone | undefined, now: number, limits: ShadowLimits): ShadowTombstone | undefined {
  if (t === undefined) return undefined;
  return now - t.deletedAt <= limits.deletedVersionWindowSeconds ? t : undefined;
}
