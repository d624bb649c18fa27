// Rejections of shadow requests with the AWS codes and messages ("Device Shadow error messages",
// AWS IoT Developer Guide), and the error response document published on .../rejected
// ("Device Shadow service documents > Error response document": code, message, timestamp,
// clientToken — the token only when the request carried one in valid JSON).

export interface ShadowRejection {
  readonly ok: false;
  readonly code: number;
  readonly message: string;
  /** The request's clientToken, when it had a valid one, to echo in the error document. */
  readonly clientToken?: string;
}

export interface ErrorDocument {
  code: number;
  message: string;
  timestamp: number;
  clientToken?: string;
}

// The texts AWS documents, kept verbatim: clients match on them.
export const ShadowMessages = {
  INVALID_JSON: 'Invalid JSON',
  MISSING_STATE: 'Missing required node: state',
  STATE_NOT_OBJECT: 'State node must be an object',
  DESIRED_NOT_OBJECT: 'Desired node must be an object',
  REPORTED_NOT_OBJECT: 'Reported node must be an object',
  INVALID_VERSION: 'Invalid version',
  INVALID_CLIENT_TOKEN: 'Invalid clientToken',
  VERSION_CONFLICT: 'Version conflict',
  PAYLOAD_TOO_LARGE: 'The payload exceeds the maximum size allowed',
  // AWS documents only the code for 429 (more than 10 in-flight requests on one connection).
  TOO_MANY_REQUESTS: 'Too Many Requests',
} as const;

/** "JSON contains too many levels of nesting; maximum is 6" with the configured limit. */
export function tooDeepMessage(maxDepth: number): string {
  return `JSON contains too many levels of nesting; maximum is ${maxDepth}`;
}

/** AWS answers "State contains an invalid node: 'delta'" for a field of state that is not desired/reported. */
export function invalidNodeMessage(name: string): string {
  return `State contains an invalid node: '${name}'`;
}

/** 404 for GET/DELETE of a shadow that does not exist ("No shadow exists with name: shadowName"). */
export function noShadow(shadowName: string, clientToken?: string): ShadowRejection {
  return reject(404, `No shadow exists with name: ${shadowName}`, clientToken);
}

export function reject(code: number, message: string, clientToken?: string): ShadowRejection {
  return clientToken === undefined ? { ok: false, code, message } : { ok: false, code, message, clientToken };
}

/** The document published on .../rejected. */
export function errorDocument(rejection: ShadowRejection, now: number): ErrorDocument {
  const doc: ErrorDocument = { code: rejection.code, message: rejection.message, timestamp: now };
  if (rejection.clientToken !== undefined) doc.clientToken = rejection.clientToken;
  return doc;
}
