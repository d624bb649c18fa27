import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TwinhubError } from '../../../common/errors.js';
import { compileMappings, DEFAULT_TELEMETRY_MAPPINGS, matchMapping, validateMapping } from './mapping.js';
import type { TelemetryMapping } from './mapping.js';

test('the default mappings are valid and cover devices/{deviceId}/telemetry and everything below it', () => {
  for (const m of DEFAULT_TELEMETRY_MAPPINGS) assert.equal(validateMapping(m), null);
  const c = compileMappings(DEFAULT_TELEMETRY_MAPPINGS);
  assert.deepEqual(matchMapping(c, 'devices/d1/telemetry'), { mapping: DEFAULT_TELEMETRY_MAPPINGS[0], index: 0, device: 'd1', rest: [] });
  assert.deepEqual(matchMapping(c, 'devices/d1/telemetry/env/room1'), {
    mapping: DEFAULT_TELEMETRY_MAPPINGS[1],
    index: 1,
    device: 'd1',
    rest: ['env', 'room1'],
  });
  assert.equal(matchMapping(c, 'devices/d1/state'), undefined);
  assert.equal(matchMapping(c, 'devices/d1'), undefined);
  assert.equal(matchMapping(c, 'other/d1/telemetry'), undefined);
  assert.ok(Object.isFrozen(DEFAULT_TELEMETRY_MAPPINGS) && Object.isFrozen(DEFAULT_TELEMETRY_MAPPINGS[0]));
});

test('mappings are checked in order; the first match wins', () => {
  const ms: TelemetryMapping[] = [
    { filter: 'devices/{deviceId}/telemetry/temp', format: 'number', metric: 'temperature' },
    { filter: 'devices/{deviceId}/telemetry/#', format: 'json' },
  ];
  const c = compileMappings(ms);
  assert.equal(matchMapping(c, 'devices/a/telemetry/temp')?.index, 0);
  assert.equal(matchMapping(c, 'devices/a/telemetry/hum')?.index, 1);
  const reversed = compileMappings([ms[1]!, ms[0]!]);
  assert.equal(matchMapping(reversed, 'devices/a/telemetry/temp')?.index, 0, 'the # mapping listed first shadows the other');
});

test("'#' also matches the parent level (MQTT 5.0 §4.7.1.2): rest is then empty", () => {
  const c = compileMappings([{ filter: 'devices/{deviceId}/telemetry/#', format: 'json' }]);
  assert.deepEqual(matchMapping(c, 'devices/x/telemetry')?.rest, []);
});

test("the placeholder matches exactly one level, like '+' [MQTT-4.7.1-3]", () => {
  const c = compileMappings([{ filter: 'devices/{deviceId}/telemetry', format: 'json' }]);
  assert.equal(matchMapping(c, 'devices/a/b/telemetry'), undefined);
  assert.equal(matchMapping(c, 'devices/a/telemetry')?.device, 'a');
  // Empty levels are levels (§4.7.3): the device id is then empty, which ingest refuses.
  assert.equal(matchMapping(c, 'devices//telemetry')?.device, '');
});

test("a placeholder in the first level does not match '$' topics [MQTT-4.7.2-1]", () => {
  const c = compileMappings([{ filter: '{deviceId}/telemetry', format: 'json' }]);
  assert.equal(matchMapping(c, '$SYS/telemetry'), undefined);
  assert.equal(matchMapping(c, 'd7/telemetry')?.device, 'd7');
});

test("rest: levels matched by '+' after the placeholder, then by '#'; literal levels and empty levels left out", () => {
  const c = compileMappings([{ filter: 'site/+/{deviceId}/+/data/#', format: 'number' }]);
  assert.deepEqual(matchMapping(c, 'site/s1/dev9/power/data/phase/l1'), {
    mapping: { filter: 'site/+/{deviceId}/+/data/#', format: 'number' },
    index: 0,
    device: 'dev9',
    rest: ['power', 'phase', 'l1'],
  });
  assert.deepEqual(matchMapping(c, 'site/s1/dev9/power/data//x/')?.rest, ['power', 'x']);
});

test('validateMapping: precise reasons', () => {
  const cases: [unknown, RegExp][] = [
    [null, /must be an object/],
    [[], /must be an object/],
    [{ format: 'json' }, /'filter' must be a non-empty string/],
    [{ filter: '', format: 'json' }, /'filter' must be a non-empty string/],
    [{ filter: 'devices/+/telemetry', format: 'json' }, /no \{deviceId\} level/],
    [{ filter: '{deviceId}/{deviceId}', format: 'json' }, /appears 2 times/],
    [{ filter: 'devices/dev-{deviceId}/t', format: 'json' }, /must occupy a whole level/],
    [{ filter: 'devices/{device}/t', format: 'json' }, /unknown placeholder in level '\{device\}'/],
    [{ filter: 'devices/{deviceId}/#/x', format: 'json' }, /'#' must be the last level/],
    [{ filter: 'devices/{deviceId}/a+', format: 'json' }, /'\+' must occupy a whole level/],
    [{ filter: '$share/g/devices/{deviceId}', format: 'json' }, /shared subscription/],
    [{ filter: 'devices/{deviceId}/t\u0000', format: 'json' }, /U\+0000/],
    [{ filter: 'devices/{deviceId}' }, /'format' must be one of json, json-ts, senml-json, senml-cbor, cbor, number/],
    [{ filter: 'devices/{deviceId}', format: 'xml' }, /'format' must be one of/],
    [{ filter: 'devices/{deviceId}', format: 'json', timestampField: '' }, /'timestampField' must be a non-empty string/],
    [{ filter: 'devices/{deviceId}', format: 'number', timestampField: 'ts' }, /'timestampField' applies to the formats json, json-ts, cbor, not number/],
    [{ filter: 'devices/{deviceId}', format: 'json', timestampUnit: 'h' }, /'timestampUnit' must be one of s, ms, us, ns/],
    [{ filter: 'devices/{deviceId}', format: 'senml-json', timestampUnit: 's' }, /'timestampUnit' applies to/],
    [{ filter: 'devices/{deviceId}', format: 'number', metric: '' }, /'metric' must be a non-empty string/],
    [{ filter: 'devices/{deviceId}', format: 'json', metric: 'x' }, /'metric' applies to the formats number, senml-json, senml-cbor, not json/],
    [{ filter: 'devices/{deviceId}', format: 'json', metricPrefix: 3 }, /'metricPrefix' must be a string/],
    [{ filter: 'devices/{deviceId}', format: 'json', strings: 'keep' }, /'strings' must be 'dead-letter' or 'ignore'/],
    [{ filter: 'devices/{deviceId}', format: 'senml-json', senmlBaseName: 'keep' }, /'senmlBaseName' must be 'drop' or 'prefix'/],
    [{ filter: 'devices/{deviceId}', format: 'json', senmlBaseName: 'prefix' }, /'senmlBaseName' applies to the formats senml-json, senml-cbor, not json/],
    [{ filter: 'devices/{deviceId}', format: 'json', timestampfield: 'ts' }, /unknown field 'timestampfield'/],
  ];
  for (const [m, re] of cases) {
    const r = validateMapping(m);
    assert.ok(r !== null && re.test(r), `${JSON.stringify(m)} → ${r}`);
  }
});

test('validateMapping accepts every option in its place', () => {
  const ok: TelemetryMapping[] = [
    { filter: 'devices/{deviceId}/telemetry', format: 'json', timestampField: 'time', timestampUnit: 's', metricPrefix: 'env.', strings: 'ignore' },
    { filter: 'devices/{deviceId}/senml', format: 'senml-json', senmlBaseName: 'prefix', metric: 'reading', strings: 'dead-letter' },
    { filter: 'devices/{deviceId}/senml-cbor', format: 'senml-cbor', senmlBaseName: 'drop' },
    { filter: '{deviceId}', format: 'cbor', timestampField: 't' },
    { filter: 'x/{deviceId}/+/#', format: 'number', metric: 'v' },
    { filter: 'devices/{deviceId}/batch', format: 'json-ts', timestampUnit: 'ns' },
  ];
  for (const m of ok) assert.equal(validateMapping(m), null, JSON.stringify(m));
});

test('compileMappings throws TwinhubError CONFIG_INVALID naming the first invalid mapping', () => {
  assert.throws(
    () => compileMappings([{ filter: 'devices/{deviceId}', format: 'json' }, { filter: 'x', format: 'json' }]),
    (e: unknown) => e instanceof TwinhubError && e.code === 'TH_CONFIG_INVALID' && /telemetry mapping 1: .*deviceId/.test(e.message) && e.details?.index === 1,
  );
});
