// What a rule sees of a message (re-exported by index.ts).

export interface RuleInput {
  topic: string;
  payload: Buffer;
  /** The payload parsed as JSON once by the engine (undefined when not JSON); rules read payload.x from it. */
  json: unknown;
  qos: number;
  retain: boolean;
  clientId: string;
  deviceId: string | undefined;
  /** Epoch ms the message was received. */
  timestamp: number;
  userProperties: Record<string, string>;
  /** Registry attributes. */
  device?: { id: string; type?: string; group?: string; tags: Record<string, string> };
  /** The device's classic shadow state. */
  twin?: { desired?: Record<string, unknown>; reported?: Record<string, unknown> };
}
