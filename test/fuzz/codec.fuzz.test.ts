// Bounded fuzzing of the MQTT decoder for the default test run (a few seconds); the long run is
// `npm run fuzz` (test/fuzz/long-fuzz.ts). Malformed input must surface as MqttProtocolError
// only (MQTT 5.0 §4.13: a Malformed Packet closes the connection with a reason code).
import { test } from 'node:test';
import fc from 'fast-check';
import { mutatedFramesProperty, randomBytesProperty } from './codec-properties.js';

test('random bytes: the decoder delivers packets or throws MqttProtocolError, whole or chunked (MQTT 5.0 §4.13)', () => {
  fc.assert(randomBytesProperty, { numRuns: 3000 });
});

test('mutated valid frames: only MqttProtocolError, and accepted packets re-encode to themselves (MQTT 5.0 §4.13)', () => {
  fc.assert(mutatedFramesProperty, { numRuns: 3000 });
});
