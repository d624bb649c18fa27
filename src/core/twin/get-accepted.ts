// GET: /get/accepted carries the whole shadow with the delta between desired and reported
// ("Interacting with shadows > Retrieving a shadow document": "a complete shadow document,
// including any delta between the desired and reported states"; "Device Shadow service
// documents > Response state documents").
import { computeDelta } from './delta.js';
import type { JsonObject } from './json-value.js';
import { renderMetadata, type AwsMetaObject } from './metadata.js';
import { noShadow, type ShadowRejection } from './shadow-error.js';
import type { ShadowDocument } from './shadow-document.js';

export interface GetAcceptedDocument {
  state: { desired?: JsonObject; reported?: JsonObject; delta?: JsonObject };
  metadata: { desired?: AwsMetaObject; reported?: AwsMetaObject };
  version: number;
  /** When the response was generated. */
  timestamp: number;
  clientToken?: string;
}

export interface GetContext {
  readonly now: number;
  readonly shadowName: string;
  readonly clientToken?: string;
}

export interface GetAccepted {
  readonly ok: true;
  readonly accepted: GetAcceptedDocument;
}

export function buildGetAccepted(doc: ShadowDocument | undefined, ctx: GetContext): GetAccepted | ShadowRejection {
  if (doc === undefined) return noShadow(ctx.shadowName, ctx.clientToken);
  const { desired, reported } = doc.state;
  const state: GetAcceptedDocument['state'] = {};
  const metadata: GetAcceptedDocument['metadata'] = {};
  if (desired !== undefined) {
    state.desired = desired;
    metadata.desired = renderMetadata(desired, doc.metadata.desired);
  }
  if (reported !== undefined) {
    state.reported = reported;
    metadata.reported = renderMetadata(reported, doc.metadata.reported);
  }
  const delta = computeDelta(desired, reported);
  if (delta !== undefined) state.delta = delta;
  const out: GetAcceptedDocument = { state, metadata, version: doc.version, timestamp: ctx.now };
  if (ctx.clientToken !== undefined) out.clientToken = ctx.clientToken;
  return { ok: true, accepted: out };
}
