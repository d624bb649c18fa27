// The stored twin (shadow) document and applyUpdate(), the AWS IoT Device Shadow UPDATE
// operation as a pure function: no I/O, the clock passed in. Semantics and the multi-writer rule
// are in docs/TWINS.md; each rule cites its AWS IoT Developer Guide page at the code below.
import { computeDelta, deltaMetadata } from './delta.js';
import { liveTombstone, type ShadowTombstone } from './delete-shadow.js';
import type { JsonObject } from './json-value.js';
import { AWS_SHADOW_LIMITS, stateBytesExceed, type ShadowLimits } from './limits.js';
import { mergeState, type LostChange, type ShadowMetadata, type ShadowState } from './merge-state.js';
import { renderMetadata, sentMetadata, type AwsMetaObject } from './metadata.js';
import { reject, ShadowMessages, type ShadowRejection } from './shadow-error.js';
import { parseUpdateRequest } from './update-request.js';
import { entry, isConcurrent, isStale, parseVersionVector, withEntry, type VersionVector } from './version-vector.js';

export type { LostChange, ShadowMetadata, ShadowState } from './merge-state.js';

/** A stored twin. Treat as immutable: applyUpdate() shares unchanged parts between versions. */
export interface ShadowDocument {
  readonly state: ShadowState;
  /** Per-leaf metadata; AWS documents show only its timestamps (renderMetadata). */
  readonly metadata: ShadowMetadata;
  /** Increases by one on every accepted update ("Device Shadow service documents > Versioning"). */
  readonly version: number;
  /** When the last update was accepted (epoch seconds). */
  readonly timestamp?: number;
  /** Version vector: writer id → number of that writer's changes (docs/TWINS.md). */
  readonly writers: VersionVector;
}

export interface UpdateContext {
  /** Epoch seconds. */
  readonly now: number;
  /** Who makes the change (a device, the API, a rule, an edge node); '' when unknown. */
  readonly writer?: string;
  /** The writer's version vector (Twinhub multi-writer); absent: plain AWS behaviour. */
  readonly vector?: unknown;
  /** When the writer made the change (epoch seconds), for changes synced later; default `now`. */
  readonly changedAt?: number;
  readonly limits?: ShadowLimits;
  /** The deletion record of this shadow, consulted when `current` is undefined. */
  readonly tombstone?: ShadowTombstone;
  /** Build the /update/delta document (default true); pass false when nobody subscribes. */
  readonly buildDelta?: boolean;
  /** Build the /update/documents document (default true); pass false when nobody subscribes. */
  readonly buildDocuments?: boolean;
  /**
   * Build the metadata of the /update/accepted document (default true); pass false when nobody
   * reads it (then `accepted.metadata` is an empty object).
   */
  readonly buildAcceptedMetadata?: boolean;
}

/** /update/accepted: the state sent, metadata of the changed leaves, version, timestamp, clientToken. */
export interface UpdateAcceptedDocument {
  state: JsonObject;
  metadata: AwsMetaObject;
  version: number;
  timestamp: number;
  clientToken?: string;
}

/** /update/delta: the delta directly under state, its metadata directly under metadata. */
export interface DeltaDocument {
  state: JsonObject;
  metadata: AwsMetaObject;
  version: number;
  timestamp: number;
  clientToken?: string;
}

export interface ShadowSnapshot {
  state: { desired?: JsonObject; reported?: JsonObject };
  metadata: { desired?: AwsMetaObject; reported?: AwsMetaObject };
  version: number;
}

/** /update/documents: the shadow before (absent for a new shadow) and after the update. */
export interface UpdateDocumentsDocument {
  previous?: ShadowSnapshot;
  current: ShadowSnapshot;
  timestamp: number;
  clientToken?: string;
}

export interface UpdateAccepted {
  readonly ok: true;
  readonly next: ShadowDocument;
  readonly accepted: UpdateAcceptedDocument;
  /** Undefined when desired and reported do not differ, or when not asked for. */
  readonly delta?: DeltaDocument;
  readonly documents?: UpdateDocumentsDocument;
  /** Values that lost to concurrent changes (multi-writer), for the twin's history. */
  readonly lost: readonly LostChange[];
}

const NO_LOSSES: readonly LostChange[] = Object.freeze([]);
const NO_METADATA: AwsMetaObject = Object.freeze({}) as AwsMetaObject;

export function applyUpdate(
  current: ShadowDocument | undefined,
  request: unknown,
  ctx: UpdateContext,
): UpdateAccepted | ShadowRejection {
  const limits = ctx.limits ?? AWS_SHADOW_LIMITS;
  const req = parseUpdateRequest(request, limits);
  if (!req.ok) return req;
  const token = req.clientToken;

  // A shadow recreated within the window continues the deleted one's version and vector
  // ("Interacting with shadows > DELETE": "the version number of the new device shadow document
  // will follow that of the deleted one").
  const tomb = current === undefined ? liveTombstone(ctx.tombstone, ctx.now, limits) : undefined;
  const baseVersion = current?.version ?? tomb?.version ?? 0;
  const writers: VersionVector = current?.writers ?? tomb?.writers ?? {};

  // "version — If used, the Device Shadow service processes the update only if the specified
  // version matches the latest version it has" (Request state document); else 409.
  if (req.version !== undefined && req.version !== baseVersion) return reject(409, ShadowMessages.VERSION_CONFLICT, token);

  const writer = ctx.writer ?? '';
  let seq: number;
  let nextWriters: VersionVector;
  let seen: VersionVector | undefined;
  let vectorWriter = false;
  if (ctx.vector === undefined) {
    seq = entry(writers, writer) + 1;
    nextWriters = withEntry(writers, writer, seq);
  } else {
    const vector = parseVersionVector(ctx.vector);
    if (vector === null) return reject(400, 'Invalid version vector', token);
    if (isStale(writers, writer, vector)) {
      return reject(
        409,
        `Stale update: writer '${writer}' is at change ${entry(writers, writer)} and this update carries change ${entry(vector, writer)}`,
        token,
      );
    }
    vectorWriter = true;
    seq = entry(vector, writer);
    // Only the writer's own entry advances: the twin holds that change, not the changes of
    // others the writer may have heard of elsewhere (taking those entries would later reject the
    // real changes as stale).
    nextWriters = withEntry(writers, writer, seq);
    seen = isConcurrent(writers, writer, vector) ? vector : undefined;
  }

  const stamp = { writer, seq, timestamp: ctx.changedAt ?? ctx.now };
  const merged = mergeState(current?.state ?? {}, current?.metadata ?? {}, req.patch, { stamp, seen, tombstones: vectorWriter });
  const state = merged.state;

  // 8 KB of desired + reported, metadata excluded ("Diagnosing problems with shadows"); measured
  // on the merged state, as the limit is on the stored shadow, not on the request.
  if (stateBytesExceed(state.desired, state.reported, limits.maxStateBytes)) return reject(413, ShadowMessages.PAYLOAD_TOO_LARGE, token);

  const version = baseVersion + 1; // every accepted update, even one that changes nothing
  const next: ShadowDocument = { state, metadata: merged.metadata, version, timestamp: ctx.now, writers: nextWriters };

  const accepted: UpdateAcceptedDocument = {
    state: req.sent,
    metadata: ctx.buildAcceptedMetadata === false ? NO_METADATA : (sentMetadata(req.sent, stamp.timestamp) as AwsMetaObject),
    version,
    timestamp: ctx.now,
  };
  if (token !== undefined) accepted.clientToken = token;

  let delta: DeltaDocument | undefined;
  if (ctx.buildDelta !== false) delta = buildDeltaDocument(next, ctx.now, token);
  let documents: UpdateDocumentsDocument | undefined;
  if (ctx.buildDocuments !== false) {
    documents = { current: snapshot(next), timestamp: ctx.now };
    if (current !== undefined) documents.previous = snapshot(current);
    if (token !== undefined) documents.clientToken = token;
  }

  const out: { ok: true; next: ShadowDocument; accepted: UpdateAcceptedDocument; delta?: DeltaDocument; documents?: UpdateDocumentsDocument; lost: readonly LostChange[] } = {
    ok: true,
    next,
    accepted,
    lost: merged.lost.length === 0 ? NO_LOSSES : merged.lost,
  };
  if (delta !== undefined) out.delta = delta;
  if (documents !== undefined) out.documents = documents;
  return out;
}

/**
 * The /update/delta document for a shadow, or undefined when desired and reported agree
 * ("Device Shadow MQTT topics > /update/delta": published when an accepted change leaves
 * desired and reported different; it holds all differing desired fields, not only those of
 * the update).
 */
export function buildDeltaDocument(doc: ShadowDocument, now: number, clientToken?: string): DeltaDocument | undefined {
  const delta = computeDelta(doc.state.desired, doc.state.reported);
  if (delta === undefined) return undefined;
  const out: DeltaDocument = { state: delta, metadata: deltaMetadata(delta, doc.metadata.desired), version: doc.version, timestamp: now };
  if (clientToken !== undefined) out.clientToken = clientToken;
  return out;
}

/** The shadow as /update/documents shows it: state, AWS metadata, version. */
export function snapshot(doc: ShadowDocument): ShadowSnapshot {
  const state: ShadowSnapshot['state'] = {};
  const metadata: ShadowSnapshot['metadata'] = {};
  if (doc.state.desired !== undefined) {
    state.desired = doc.state.desired;
    metadata.desired = renderMetadata(doc.state.desired, doc.metadata.desired);
  }
  if (doc.state.reported !== undefined) {
    state.reported = doc.state.reported;
    metadata.reported = renderMetadata(doc.state.reported, doc.metadata.reported);
  }
  return { state, metadata, version: doc.version };
}
