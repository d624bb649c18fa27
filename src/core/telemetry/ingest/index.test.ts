import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import type { Options as CborOptions } from 'cbor-x';

// Plain CBOR maps, as devices send them: cbor-x would otherwise tag a Map with 259 and encode
// objects as its records extension.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, useTag259ForMaps: false } as CborOptions);
const encode = (v: unknown): Buffer => cbor.encode(v);
import { TwinhubError } from '../../../common/errors.js';
import { createIngestor, DEFAULT_TELEMETRY_MAPPINGS, SchemaRegistry, TELEMETRY_FORMATS } from './index.js';
import type { IngestResult, TelemetryMapping } from './index.js';

const NOW = 1_700_000_000_000;
const j = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

test('default mapping: a JSON object of numbers on devices/{deviceId}/telemetry, time from ts or the receive time', () => {
  const ing = createIngestor(DEFAULT_TELEMETRY_MAPPINGS);
  assert.deepEqual(ing.ingest('devices/d1/telemetry', j({ temp: 21.5, hum: 40 }), NOW), {
    points: [
      { device: 'd1', metric: 'temp', ts: NOW, value: 21.5 },
      { device: 'd1', metric: 'hum', ts: NOW, value: 40 },
    ],
    deadLetters: [],
  });
  assert.deepEqual(ing.ingest('devices/d1/telemetry', j({ ts: 1714564800000, temp: 1 }), NOW)!.points, [
    { device: 'd1', metric: 'temp', ts: 1714564800000, value: 1 },
  ]);
  assert.deepEqual(ing.ingest('devices/d1/telemetry', j({ ts: '2024-05-01T12:00:00Z', temp: 1 }), NOW)!.points, [
    { device: 'd1', metric: 'temp', ts: 1714564800000, value: 1 },
  ]);
});

test('default mapping: levels under telemetry/ prefix the metrics, like nesting the object under them', () => {
  const ing = createIngestor(DEFAULT_TELEMETRY_MAPPINGS);
  const a = ing.ingest('devices/d1/telemetry/gps', j({ lat: 60.1, lon: 24.9 }), NOW)!;
  const b = ing.ingest('devices/d1/telemetry', j({ gps: { lat: 60.1, lon: 24.9 } }), NOW)!;
  assert.deepEqual(a, b);
  assert.deepEqual(
    a.points.map((p) => p.metric),
    ['gps.lat', 'gps.lon'],
  );
});

test('a topic no mapping matches gives undefined; match() tells without a payload', () => {
  const ing = createIngestor(DEFAULT_TELEMETRY_MAPPINGS);
  assert.equal(ing.ingest('devices/d1/state', j({ a: 1 }), NOW), undefined);
  assert.equal(ing.match('devices/d1/state'), undefined);
  assert.equal(ing.match('devices/d1/telemetry/x')?.device, 'd1');
  // Cached answers are the same answers.
  assert.equal(ing.ingest('devices/d1/state', j({ a: 1 }), NOW), undefined);
  assert.equal(ing.match('devices/d1/telemetry/x')?.device, 'd1');
});

test('an empty device level is a dead letter without a device', () => {
  const ing = createIngestor(DEFAULT_TELEMETRY_MAPPINGS);
  assert.deepEqual(ing.ingest('devices//telemetry', j({ a: 1 }), NOW), {
    points: [],
    deadLetters: [{ device: undefined, topic: 'devices//telemetry', reason: 'the topic has an empty device id level' }],
  });
});

test('a payload that does not parse, or is not an object, is one dead letter with the reason', () => {
  const ing = createIngestor(DEFAULT_TELEMETRY_MAPPINGS);
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('{"temp": '), /payload is not JSON/],
    [Buffer.from(''), /payload is not JSON/],
    [Buffer.from([0xff, 0xfe]), /not valid UTF-8/],
    [j([1, 2]), /the payload is an array, not an object of metrics/],
    [j(5), /the payload is a number, not an object of metrics/],
    [j('x'), /the payload is a string/],
    [j(null), /the payload is null/],
  ];
  for (const [payload, re] of cases) {
    const r = ing.ingest('devices/d1/telemetry', payload, NOW)!;
    assert.deepEqual(r.points, []);
    assert.equal(r.deadLetters.length, 1, payload.toString());
    assert.equal(r.deadLetters[0]!.device, 'd1');
    assert.equal(r.deadLetters[0]!.topic, 'devices/d1/telemetry');
    assert.equal(r.deadLetters[0]!.field, undefined);
    assert.match(r.deadLetters[0]!.reason, re);
  }
});

test('nothing valid in the same payload is dropped: strings are dead letters, numbers beside them are points', () => {
  const ing = createIngestor(DEFAULT_TELEMETRY_MAPPINGS);
  const r = ing.ingest('devices/d1/telemetry', j({ temp: 20, fw: '1.2.3', door: true, gps: { lat: 1, fix: 'none' } }), NOW)!;
  assert.deepEqual(
    r.points.map((p) => [p.metric, p.value]),
    [
      ['temp', 20],
      ['door', true],
      ['gps.lat', 1],
    ],
  );
  assert.deepEqual(
    r.deadLetters.map((d) => d.field),
    ['fw', 'gps.fix'],
  );
});

test("metricPrefix is prepended as is; strings: 'ignore'", () => {
  const ing = createIngestor([{ filter: 'd/{deviceId}', format: 'json', metricPrefix: 'env.', strings: 'ignore' }]);
  assert.deepEqual(ing.ingest('d/x', j({ t: 1, s: 'a' }), NOW), { points: [{ device: 'x', metric: 'env.t', ts: NOW, value: 1 }], deadLetters: [] });
});

test("format 'json-ts': the timestamp field is required; a batch array gives each object its own time", () => {
  const ing = createIngestor([{ filter: 'd/{deviceId}/batch', format: 'json-ts', timestampField: 'time', timestampUnit: 's' }]);
  const r = ing.ingest('d/x/batch', j([{ time: 1700000000, v: 1 }, { time: 1700000060, v: 2 }, { v: 3 }, 'junk']), NOW)!;
  assert.deepEqual(r.points, [
    { device: 'x', metric: 'v', ts: 1700000000000, value: 1 },
    { device: 'x', metric: 'v', ts: 1700000060000, value: 2 },
  ]);
  assert.deepEqual(
    r.deadLetters.map((d) => d.reason),
    ["missing timestamp field 'time', message not ingested", 'batch element 3 is a string, not an object of metrics'],
  );
  assert.equal(ing.ingest('d/x/batch', j({ v: 1 }), NOW)!.deadLetters.length, 1);
});

test("format 'cbor': a map like the JSON object; ts may be a CBOR date (tag 1); NaN and ±Infinity kept", () => {
  const ing = createIngestor([{ filter: 'd/{deviceId}/cbor', format: 'cbor' }]);
  const r = ing.ingest('d/x/cbor', encode({ ts: new Date(1714564800000), temp: 21.5, bad: NaN, hi: Infinity, gps: { lat: 1 } }), NOW)!;
  assert.equal(r.deadLetters.length, 0);
  assert.deepEqual(
    r.points.map((p) => [p.metric, p.ts]),
    [
      ['temp', 1714564800000],
      ['bad', 1714564800000],
      ['hi', 1714564800000],
      ['gps.lat', 1714564800000],
    ],
  );
  assert.ok(Number.isNaN(r.points[1]!.value));
  assert.equal(ing.ingest('d/x/cbor', Buffer.from([0x01]), NOW)!.deadLetters[0]!.reason, 'the payload is a number, not an object of metrics');
  assert.match(ing.ingest('d/x/cbor', Buffer.from([0xa1]), NOW)!.deadLetters[0]!.reason, /payload is not CBOR/);
});

test("format 'number': metric from the mapping, else the topic rest, else 'value'", () => {
  const ing = createIngestor([
    { filter: 'n/{deviceId}/fixed', format: 'number', metric: 'temperature', metricPrefix: 'p.' },
    { filter: 'n/{deviceId}/#', format: 'number' },
  ]);
  assert.deepEqual(ing.ingest('n/x/fixed', Buffer.from('21.5'), NOW)!.points, [{ device: 'x', metric: 'p.temperature', ts: NOW, value: 21.5 }]);
  assert.deepEqual(ing.ingest('n/x/room/temp', Buffer.from('true'), NOW)!.points, [{ device: 'x', metric: 'room.temp', ts: NOW, value: true }]);
  assert.deepEqual(ing.ingest('n/x', Buffer.from('-1'), NOW)!.points, [{ device: 'x', metric: 'value', ts: NOW, value: -1 }]);
  assert.equal(ing.ingest('n/x', Buffer.from('abc'), NOW)!.deadLetters.length, 1);
});

test("format 'senml-json' / 'senml-cbor': the device is the topic's; bn dropped unless senmlBaseName: 'prefix'", () => {
  const pack = [
    { bn: 'urn:dev:ow:10e2073a01080063:', n: 'voltage', u: 'V', v: 120.1 },
    { n: 'current', u: 'A', v: 1.2 },
  ];
  const ing = createIngestor([
    { filter: 's/{deviceId}/json', format: 'senml-json' },
    { filter: 's/{deviceId}/full', format: 'senml-json', senmlBaseName: 'prefix' },
    { filter: 's/{deviceId}/cbor', format: 'senml-cbor' },
  ]);
  assert.deepEqual(ing.ingest('s/gw/json', j(pack), NOW)!.points, [
    { device: 'gw', metric: 'voltage', ts: NOW, value: 120.1, unit: 'V' },
    { device: 'gw', metric: 'current', ts: NOW, value: 1.2, unit: 'A' },
  ]);
  assert.deepEqual(
    ing.ingest('s/gw/full', j(pack), NOW)!.points.map((p) => p.metric),
    ['urn:dev:ow:10e2073a01080063:voltage', 'urn:dev:ow:10e2073a01080063:current'],
  );
  const packCbor = encode(pack.map((r) => new Map(Object.entries(r).map(([k, v]) => [({ bn: -2, n: 0, u: 1, v: 2 } as Record<string, number>)[k]!, v]))));
  assert.deepEqual(ing.ingest('s/gw/cbor', packCbor, NOW)!.points, ing.ingest('s/gw/json', j(pack), NOW)!.points);
  assert.match(ing.ingest('s/gw/json', j({ n: 'a', v: 1 }), NOW)!.deadLetters[0]!.reason, /SenML Pack must be an array/);
  assert.match(ing.ingest('s/gw/cbor', j(pack), NOW)!.deadLetters[0]!.reason, /SenML Pack must be an array|not CBOR/);
});

test('schemas: a payload failing its device type schema is dead-lettered whole, with the ajv errors', () => {
  const schemas = new SchemaRegistry();
  schemas.register('thermo', '1.0.0', { type: 'object', properties: { temp: { type: 'number', maximum: 100 } }, required: ['temp'] });
  const ing = createIngestor(DEFAULT_TELEMETRY_MAPPINGS, { schemas });
  const bad = ing.ingest('devices/d1/telemetry', j({ temp: 150, hum: 3 }), NOW, 'thermo')!;
  assert.deepEqual(bad, {
    points: [],
    deadLetters: [{ device: 'd1', topic: 'devices/d1/telemetry', reason: 'schema thermo@1.0.0: /temp must be <= 100' }],
  });
  assert.equal(ing.ingest('devices/d1/telemetry', j({ temp: 50, hum: 3 }), NOW, 'thermo')!.points.length, 2);
  // No device type, or a type without a schema: not validated.
  assert.equal(ing.ingest('devices/d1/telemetry', j({ temp: 150 }), NOW)!.points.length, 1);
  assert.equal(ing.ingest('devices/d1/telemetry', j({ temp: 150 }), NOW, 'other')!.points.length, 1);
  // A schema registered after the ingestor was made applies at once.
  schemas.register('other', '1.0.0', { type: 'object', required: ['x'] });
  assert.equal(ing.ingest('devices/d1/telemetry', j({ temp: 150 }), NOW, 'other')!.points.length, 0);
});

test('should a reader throw, ingest returns one dead letter instead of throwing, and no partial points', () => {
  class Throwing extends SchemaRegistry {
    override check(): string | null {
      throw new Error('boom');
    }
  }
  const ing = createIngestor(DEFAULT_TELEMETRY_MAPPINGS, { schemas: new Throwing() });
  assert.deepEqual(ing.ingest('devices/d1/telemetry', j({ a: 1 }), NOW, 'x'), {
    points: [],
    deadLetters: [{ device: 'd1', topic: 'devices/d1/telemetry', reason: 'payload could not be read: boom' }],
  });
});

test('createIngestor refuses an invalid mapping with TwinhubError CONFIG_INVALID', () => {
  assert.throws(
    () => createIngestor([{ filter: 'devices/+/telemetry', format: 'json' } as TelemetryMapping]),
    (e: unknown) => e instanceof TwinhubError && e.code === 'TH_CONFIG_INVALID',
  );
});

function checkResult(r: IngestResult | undefined): void {
  assert.ok(r !== undefined);
  for (const p of r.points) {
    assert.equal(p.device, 'd');
    assert.ok(typeof p.metric === 'string' && p.metric.length > 0);
    assert.ok(Number.isInteger(p.ts) && p.ts >= 0);
    assert.ok(typeof p.value === 'number' || typeof p.value === 'boolean');
  }
  for (const d of r.deadLetters) {
    assert.ok(typeof d.reason === 'string' && d.reason.length > 0);
    // The safety net of ingest() must not be what kept it from throwing.
    assert.ok(!d.reason.startsWith('payload could not be read'), d.reason);
  }
}

test('ingest never throws on arbitrary bytes, for every format (property)', () => {
  const mappings: TelemetryMapping[] = TELEMETRY_FORMATS.map((format) => ({ filter: `${format}/{deviceId}`, format }));
  const ing = createIngestor(mappings);
  fc.assert(
    fc.property(fc.constantFrom(...TELEMETRY_FORMATS), fc.uint8Array({ maxLength: 200 }), (format, bytes) => {
      checkResult(ing.ingest(`${format}/d`, Buffer.from(bytes), NOW));
    }),
    { numRuns: 3000 },
  );
});

test('ingest never throws on arbitrary JSON and CBOR values, for every format (property)', () => {
  const mappings: TelemetryMapping[] = TELEMETRY_FORMATS.map((format) => ({ filter: `${format}/{deviceId}`, format }));
  const ing = createIngestor(mappings);
  const senmlKeys = ['bn', 'bt', 'bu', 'bv', 'bs', 'bver', 'n', 'u', 'v', 'vs', 'vb', 'vd', 's', 't', 'ut', 'x_', 'ts'];
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 6 }),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...senmlKeys), fc.string({ maxLength: 4 })), tie('v'), { maxKeys: 5 }),
    ),
  })).v;
  fc.assert(
    fc.property(fc.constantFrom(...TELEMETRY_FORMATS), value, (format, v) => {
      checkResult(ing.ingest(`${format}/d`, Buffer.from(JSON.stringify(v) ?? ''), NOW));
      checkResult(ing.ingest(`${format}/d`, encode(v), NOW));
    }),
    { numRuns: 2000 },
  );
});
