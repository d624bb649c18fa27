// Errors with stable codes. Each code is declared once here and never reused for another
// condition once retired. Protocol reason codes (MQTT 5, CoAP) are separate: see
// src/codec/mqtt/packets.ts ReasonCode.

export interface ErrorSpec {
  readonly code: string;
  readonly status: number; // HTTP status when surfaced over the API
  readonly hint?: string;
}

export class TwinhubError extends Error {
  readonly code: string;
  readonly status: number;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  constructor(spec: ErrorSpec, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TwinhubError';
    this.code = spec.code;
    this.status = spec.status;
    this.hint = spec.hint;
    this.details = details;
  }
}

export const Errors = {
  CONFIG_INVALID: { code: 'TH_CONFIG_INVALID', status: 500, hint: 'Fix the named key in the config file, environment or flags.' },
  CONFIG_FILE_UNREADABLE: { code: 'TH_CONFIG_FILE_UNREADABLE', status: 500 },
  LISTEN_FAILED: { code: 'TH_LISTEN_FAILED', status: 500, hint: 'Choose another address with the flag named in the message.' },
  STORE_OPEN_FAILED: { code: 'TH_STORE_OPEN_FAILED', status: 500 },
  STORE_WRITE_FAILED: { code: 'TH_STORE_WRITE_FAILED', status: 503 },
  DATA_FORMAT_UNSUPPORTED: { code: 'TH_DATA_FORMAT_UNSUPPORTED', status: 500 },
  BAD_REQUEST: { code: 'TH_BAD_REQUEST', status: 400 },
  NOT_FOUND: { code: 'TH_NOT_FOUND', status: 404 },
  INTERNAL: { code: 'TH_INTERNAL', status: 500 },
  // HTTP API: operators
  UNAUTHENTICATED: { code: 'TH_UNAUTHENTICATED', status: 401, hint: 'Send `Authorization: Bearer <api key>`.' },
  FORBIDDEN: { code: 'TH_FORBIDDEN', status: 403 },
  RATE_LIMITED: { code: 'TH_RATE_LIMITED', status: 429 },
  API_KEY_NOT_FOUND: { code: 'TH_API_KEY_NOT_FOUND', status: 404 },
  // Registry
  DEVICE_ID_INVALID: { code: 'TH_DEVICE_ID_INVALID', status: 400 },
  DEVICE_INVALID: { code: 'TH_DEVICE_INVALID', status: 400 },
  DEVICE_NOT_FOUND: { code: 'TH_DEVICE_NOT_FOUND', status: 404 },
  DEVICE_EXISTS: { code: 'TH_DEVICE_EXISTS', status: 409 },
  CREDENTIAL_INVALID: { code: 'TH_CREDENTIAL_INVALID', status: 400 },
  CREDENTIAL_NOT_FOUND: { code: 'TH_CREDENTIAL_NOT_FOUND', status: 404 },
  CREDENTIAL_TAKEN: { code: 'TH_CREDENTIAL_TAKEN', status: 409 },
  ACL_RULE_INVALID: { code: 'TH_ACL_RULE_INVALID', status: 400 },
  ACL_POLICY_NOT_FOUND: { code: 'TH_ACL_POLICY_NOT_FOUND', status: 404 },
  SESSION_NOT_FOUND: { code: 'TH_SESSION_NOT_FOUND', status: 404 },
  IMPORT_INVALID: { code: 'TH_IMPORT_INVALID', status: 400 },
  // Messages over the API
  TOPIC_INVALID: { code: 'TH_TOPIC_INVALID', status: 400 },
  PAYLOAD_TOO_LARGE: { code: 'TH_PAYLOAD_TOO_LARGE', status: 413 },
  // Twins
  TWIN_NOT_FOUND: { code: 'TH_TWIN_NOT_FOUND', status: 404 },
  TWIN_INVALID: { code: 'TH_TWIN_INVALID', status: 400 },
  VERSION_CONFLICT: { code: 'TH_VERSION_CONFLICT', status: 409 },
  PRECONDITION_FAILED: { code: 'TH_PRECONDITION_FAILED', status: 412 },
  // Rules
  RULE_INVALID: { code: 'TH_RULE_INVALID', status: 400, hint: 'Fix the rule at the line, column and key path given in `errors`.' },
  RULE_NOT_FOUND: { code: 'TH_RULE_NOT_FOUND', status: 404 },
  ALERT_NOT_FOUND: { code: 'TH_ALERT_NOT_FOUND', status: 404 },
  // Operations
  PROFILER_BUSY: { code: 'TH_PROFILER_BUSY', status: 409, hint: 'Wait for the running profile or snapshot to finish.' },
  // Telemetry
  TELEMETRY_QUERY_INVALID: { code: 'TH_TELEMETRY_QUERY_INVALID', status: 400 },
  SCHEMA_INCOMPATIBLE: { code: 'TH_SCHEMA_INCOMPATIBLE', status: 409 },
} as const satisfies Record<string, ErrorSpec>;
