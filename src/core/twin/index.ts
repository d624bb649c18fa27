// Public API of the twin (shadow) document model. Pure: no I/O, the clock passed in.
export { applyUpdate, buildDeltaDocument, snapshot } from './shadow-document.js';
export type {
  DeltaDocument,
  ShadowDocument,
  ShadowSnapshot,
  UpdateAccepted,
  UpdateAcceptedDocument,
  UpdateContext,
  UpdateDocumentsDocument,
} from './shadow-document.js';
export type { LostChange, ShadowMetadata, ShadowState } from './merge-state.js';
export { buildGetAccepted } from './get-accepted.js';
export type { GetAccepted, GetAcceptedDocument, GetContext } from './get-accepted.js';
export { deleteShadow, liveTombstone } from './delete-shadow.js';
export type { DeleteAccepted, DeleteAcceptedDocument, DeleteContext, ShadowTombstone } from './delete-shadow.js';
export { computeDelta, deltaMetadata } from './delta.js';
export { metadataJson, renderMetadata } from './metadata.js';
export type { AwsMetaObject, MetaNode } from './metadata.js';
export { AWS_SHADOW_LIMITS, validateShadowName, validateThingName } from './limits.js';
export type { ShadowLimits } from './limits.js';
export { errorDocument, noShadow, reject, ShadowMessages } from './shadow-error.js';
export type { ErrorDocument, ShadowRejection } from './shadow-error.js';
export { requestClientToken } from './update-request.js';
export type { VersionVector } from './version-vector.js';
export type { JsonObject, JsonValue } from './json-value.js';
