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
} as const satisfies Record<string, ErrorSpec>;
