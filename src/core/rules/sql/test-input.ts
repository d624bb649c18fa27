// A RuleInput for tests and benches.

import type { RuleInput } from './input.js';

export function makeInput(json: unknown, over: Partial<RuleInput> = {}): RuleInput {
  return {
    topic: 'devices/d1/telemetry',
    payload: Buffer.from(json === undefined ? 'not json' : JSON.stringify(json)),
    json,
    qos: 1,
    retain: false,
    clientId: 'client-1',
    deviceId: 'd1',
    timestamp: 1_700_000_000_000,
    userProperties: { unit: 'C' },
    ...over,
  };
}
