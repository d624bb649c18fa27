// Validation of an /update request state document ("Device Shadow service documents > Request
// state document": state {desired, reported}, clientToken, version) with the 400 messages of
// "Device Shadow error messages". Fields outside state, clientToken and version are ignored
// ("Diagnosing problems with shadows": JSON content outside desired/reported is ignored).
import { isJsonObject, own, type JsonObject, type JsonValue } from './json-value.js';
import { clientTokenValid, depthExceeds, type ShadowLimits } from './limits.js';
import type { StatePatch } from './merge-state.js';
import { invalidNodeMessage, reject, ShadowMessages, tooDeepMessage, type ShadowRejection } from './shadow-error.js';

export interface UpdateRequest {
  readonly ok: true;
  /** What to merge: the sections sent (null removes a section). */
  readonly patch: StatePatch;
  /** The state as sent, echoed in /update/accepted. */
  readonly sent: JsonObject;
  readonly version?: number;
  readonly clientToken?: string;
}

// Payloads must be UTF-8 (415 "Unsupported documented encoding; supported encoding is UTF-8").
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and validates an update request. `request` is the payload (bytes or string) or an
 * already parsed value.
 */
export function parseUpdateRequest(request: unknown, limits: ShadowLimits): UpdateRequest | ShadowRejection {
  const doc = parsePayload(request);
  if (doc === PARSE_FAILED) return reject(400, ShadowMessages.INVALID_JSON);
  if (doc === BAD_ENCODING) return reject(415, 'Unsupported documented encoding; supported encoding is UTF-8');
  if (!isJsonObject(doc)) return reject(400, ShadowMessages.INVALID_JSON);

  // A valid token is echoed in every later rejection ("Error response document").
  const tokenValue = own(doc, 'clientToken');
  const tokenOk = tokenValue === undefined || clientTokenValid(tokenValue, limits);
  const clientToken = tokenOk && typeof tokenValue === 'string' ? tokenValue : undefined;

  const state = own(doc, 'state');
  if (state === undefined) return reject(400, ShadowMessages.MISSING_STATE, clientToken);
  let patch: { desired?: JsonObject | null; reported?: JsonObject | null };
  let sent: JsonObject;
  if (state === null) {
    // "state": null clears both sections ("Interacting with shadows > Deleting a shadow": setting
    // the state to null does not delete the shadow; the version still increments).
    patch = { desired: null, reported: null };
    sent = { desired: null, reported: null };
  } else {
    if (!isJsonObject(state)) return reject(400, ShadowMessages.STATE_NOT_OBJECT, clientToken);
    patch = {};
    for (const k in state) {
      if (!Object.prototype.hasOwnProperty.call(state, k)) continue;
      if (k !== 'desired' && k !== 'reported') return reject(400, invalidNodeMessage(k), clientToken);
    }
    const desired = own(state, 'desired');
    if (desired !== undefined) {
      if (desired !== null && !isJsonObject(desired)) return reject(400, ShadowMessages.DESIRED_NOT_OBJECT, clientToken);
      patch.desired = desired;
    }
    const reported = own(state, 'reported');
    if (reported !== undefined) {
      if (reported !== null && !isJsonObject(reported)) return reject(400, ShadowMessages.REPORTED_NOT_OBJECT, clientToken);
      patch.reported = reported;
    }
    sent = state;
  }

  const version = own(doc, 'version');
  if (version !== undefined && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)) {
    return reject(400, ShadowMessages.INVALID_VERSION, clientToken);
  }
  if (!tokenOk) return reject(400, ShadowMessages.INVALID_CLIENT_TOKEN);

  for (const section of [patch.desired, patch.reported]) {
    if (section === undefined || section === null) continue;
    if (depthExceeds(section, limits.maxDepth)) return reject(400, tooDeepMessage(limits.maxDepth), clientToken);
    // "Arrays can't have null values ... will be rejected" (Array values in shadow documents).
    if (nullInArray(section, false)) return reject(400, `${ShadowMessages.INVALID_JSON}: arrays can't have null values`, clientToken);
  }

  const out: { ok: true; patch: StatePatch; sent: JsonObject; version?: number; clientToken?: string } = { ok: true, patch, sent };
  if (version !== undefined) out.version = version as number;
  if (clientToken !== undefined) out.clientToken = clientToken;
  return out;
}

/**
 * The clientToken of a /get or /delete payload, to echo in the response; undefined when the
 * payload is empty, not JSON, or has no valid token ("The content of the message is ignored").
 */
export function requestClientToken(payload: unknown, limits: ShadowLimits): string | undefined {
  const doc = parsePayload(payload);
  if (!isJsonObject(doc)) return undefined;
  const t = own(doc, 'clientToken');
  return clientTokenValid(t, limits) ? t : undefined;
}

const PARSE_FAILED = Symbol('parse failed');
const BAD_ENCODING = Symbol('bad encoding');

function parsePayload(request: unknown): unknown {
  let text: string;
  if (typeof request === 'string') {
    text = request;
  } else if (request instanceof Uint8Array) {
    try {
      text = utf8.decode(request);
    } catch {
      return BAD_ENCODING;
    }
  } else {
    return request;
  }
  try {
    return JSON.parse(text);
  } catch {
    return PARSE_FAILED;
  }
}

function nullInArray(v: JsonValue, inArray: boolean): boolean {
  if (v === null) return inArray;
  if (typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (const x of v) if (nullInArray(x, true)) return true;
    return false;
  }
  for (const k in v) {
    if (Object.prototype.hasOwnProperty.call(v, k) && nullInArray(v[k] as JsonValue, inArray)) return true;
  }
  return false;
}
