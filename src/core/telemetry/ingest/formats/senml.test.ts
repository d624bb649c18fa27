// SenML (RFC 8428) tests. The Packs marked "RFC 8428 §x" are the RFC's own examples, verbatim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Encoder } from 'cbor-x';
import type { Options as CborOptions } from 'cbor-x';

// Plain CBOR maps, as devices send them: cbor-x would otherwise tag a Map with 259 and encode
// objects as its records extension.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, useTag259ForMaps: false } as CborOptions);
const encode = (v: unknown): Buffer => cbor.encode(v);
import { readSenml, validSenmlName } from './senml.js';
import type { SenmlOptions } from './senml.js';
import { decodeCborItem } from './decode.js';
import type { Sink, TelemetryPoint } from '../types.js';

const NOW = 1_700_000_000_000;
const DROP: SenmlOptions = { prefix: '', keepBaseName: false, fallbackMetric: 'value' };
const PREFIX: SenmlOptions = { prefix: '', keepBaseName: true, fallbackMetric: 'value' };

function sink(ignoreStrings = false): Sink {
  return { device: 'd1', topic: 'devices/d1/senml', receivedAt: NOW, ignoreStrings, points: [], deadLetters: [] };
}

function readJson(text: string, opts = PREFIX, ignoreStrings = false): Sink {
  const s = sink(ignoreStrings);
  readSenml(JSON.parse(text), opts, s);
  return s;
}

/** RFC 8428 §6 Table 4: the CBOR label of each JSON label. */
const CBOR_LABEL: Record<string, number> = { bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6, n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8 };

/** The CBOR representation (§6) of a JSON Pack: integer labels; vd as a byte string. */
function toCbor(pack: Record<string, unknown>[]): Buffer {
  return encode(
    pack.map(
      (r) =>
        new Map(
          Object.entries(r).map(([k, v]) => [CBOR_LABEL[k] ?? k, k === 'vd' && typeof v === 'string' ? Buffer.from(v, 'base64url') : v] as [number | string, unknown]),
        ),
    ),
  );
}

function readCbor(bytes: Buffer, opts = PREFIX, ignoreStrings = false): Sink {
  const s = sink(ignoreStrings);
  readSenml(decodeCborItem(bytes, true), opts, s);
  return s;
}

function rows(s: Sink): [string, number, number | boolean, string | undefined][] {
  return s.points.map((p: TelemetryPoint) => [p.metric, p.ts, p.value, p.unit]);
}

// RFC 8428 §5.1.1: "a temperature reading taken approximately 'now'".
const EX_5_1_1 = `[
     {"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}
   ]`;

// RFC 8428 §5.1.2, first Pack: voltage and current "now", i.e., at an unspecified time.
const EX_5_1_2_A = `[
     {"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},
     {"n":"current","u":"A","v":1.2}
   ]`;

// RFC 8428 §5.1.2, second Pack: current at Tue Jun 8 18:01:16.001 UTC 2010 and at each second for
// the previous 5 seconds.
const EX_5_1_2_B = `[
     {"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
      "bu":"A","bver":5,
      "n":"voltage","u":"V","v":120.1},
     {"n":"current","t":-5,"v":1.2},
     {"n":"current","t":-4,"v":1.3},
     {"n":"current","t":-3,"v":1.4},
     {"n":"current","t":-2,"v":1.5},
     {"n":"current","t":-1,"v":1.6},
     {"n":"current","v":1.7}
   ]`;

// RFC 8428 §5.1.3: humidity with position data from a mobile device, starting at
// Mon Oct 31 13:24:24 UTC 2011, and battery status at a separate time.
const EX_5_1_3 = `[
     {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
      "bu":"%RH","v":20},
     {"u":"lon","v":24.30621},
     {"u":"lat","v":60.07965},
     {"t":60,"v":20.3},
     {"u":"lon","t":60,"v":24.30622},
     {"u":"lat","t":60,"v":60.07965},
     {"t":120,"v":20.7},
     {"u":"lon","t":120,"v":24.30623},
     {"u":"lat","t":120,"v":60.07966},
     {"u":"%EL","t":150,"v":98},
     {"t":180,"v":21.2},
     {"u":"lon","t":180,"v":24.30628},
     {"u":"lat","t":180,"v":60.07967}
   ]`;

// RFC 8428 §5.1.4: the §5.1.3 Pack in resolved form.
const EX_5_1_4 = `[
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,
      "v":20},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,
      "v":24.30621},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,
      "v":60.07965},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,
      "v":20.3},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,
      "v":24.30622},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,
      "v":60.07965},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,
      "v":20.7},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,
      "v":24.30623},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,
      "v":60.07966},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,
      "v":98},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,
      "v":21.2},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,
      "v":24.30628},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,
      "v":60.07967}
   ]`;

// RFC 8428 §5.1.5: a sensor that returns different data types.
const EX_5_1_5 = `[
     {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},
     {"n":"label","vs":"Machine Room"},
     {"n":"open","vb":false},
     {"n":"nfc-reader","vd":"aGkgCg"}
   ]`;

// RFC 8428 §5.1.6: a collection of resources; the last record uses the Base Name of the 3rd
// record but the Base Time of the first.
const EX_5_1_6 = `[
     {"bn":"2001:db8::2/","bt":1.320078429e+09,
      "n":"temperature","u":"Cel","v":25.2},
     {"n":"humidity","u":"%RH","v":30},
     {"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},
     {"n":"humidity","u":"%RH","v":67}
   ]`;

// RFC 8428 §5.1.7: setting the set point and switches of a thermostat.
const EX_5_1_7 = `[
     {"bn":"urn:dev:ow:10e2073a01080063:"},
     {"n":"temp","u":"Cel","v":23.1},
     {"n":"heat","u":"/","v":1},
     {"n":"fan","u":"/","v":0}
   ]`;

test('RFC 8428 §5.1.1 single datapoint: time 0 means roughly "now" (§4.5.3)', () => {
  const s = readJson(EX_5_1_1);
  assert.deepEqual(s.points, [{ device: 'd1', metric: 'urn:dev:ow:10e2073a01080063', ts: NOW, value: 23.1, unit: 'Cel' }]);
  assert.deepEqual(s.deadLetters, []);
});

test('RFC 8428 §5.1.2 multiple datapoints: name = bn + n (§4.5.1), per-record units', () => {
  assert.deepEqual(rows(readJson(EX_5_1_2_A)), [
    ['urn:dev:ow:10e2073a01080063:voltage', NOW, 120.1, 'V'],
    ['urn:dev:ow:10e2073a01080063:current', NOW, 1.2, 'A'],
  ]);
});

test('RFC 8428 §5.1.2 with base time: time = bt + t in seconds (§4.5.3), bu applies where u is absent (§4.1)', () => {
  const base = 1276020076001; // Tue Jun 8 18:01:16.001 UTC 2010
  assert.equal(new Date(base).toISOString(), '2010-06-08T18:01:16.001Z');
  assert.deepEqual(rows(readJson(EX_5_1_2_B)), [
    ['urn:dev:ow:10e2073a0108006:voltage', base, 120.1, 'V'],
    ['urn:dev:ow:10e2073a0108006:current', base - 5000, 1.2, 'A'],
    ['urn:dev:ow:10e2073a0108006:current', base - 4000, 1.3, 'A'],
    ['urn:dev:ow:10e2073a0108006:current', base - 3000, 1.4, 'A'],
    ['urn:dev:ow:10e2073a0108006:current', base - 2000, 1.5, 'A'],
    ['urn:dev:ow:10e2073a0108006:current', base - 1000, 1.6, 'A'],
    ['urn:dev:ow:10e2073a0108006:current', base, 1.7, 'A'],
  ]);
});

test('RFC 8428 §5.1.3 multiple measurements resolve to exactly the records of §5.1.4 (§4.6 resolved records)', () => {
  const fromBase = readJson(EX_5_1_3);
  const resolved = readJson(EX_5_1_4);
  assert.equal(fromBase.points.length, 13);
  assert.deepEqual(fromBase.points, resolved.points);
  assert.deepEqual(rows(fromBase).slice(9, 10), [['urn:dev:ow:10e2073a01080063', 1320067614000, 98, '%EL']]);
  assert.equal(new Date(fromBase.points[0]!.ts).toISOString(), '2011-10-31T13:24:24.000Z');
});

test('RFC 8428 §5.1.5 multiple data types: v and vb are points; vs and vd are dead letters naming the record', () => {
  const s = readJson(EX_5_1_5);
  assert.deepEqual(rows(s), [
    ['urn:dev:ow:10e2073a01080063:temp', NOW, 23.1, 'Cel'],
    ['urn:dev:ow:10e2073a01080063:open', NOW, false, undefined],
  ]);
  assert.deepEqual(
    s.deadLetters.map((d) => [d.field, d.reason]),
    [
      ['urn:dev:ow:10e2073a01080063:label', 'record 1: string value (vs): only numbers and booleans are metrics'],
      ['urn:dev:ow:10e2073a01080063:nfc-reader', 'record 3: data value (vd): only numbers and booleans are metrics'],
    ],
  );
  assert.deepEqual(readJson(EX_5_1_5, PREFIX, true).deadLetters, [], "strings: 'ignore'");
});

test('RFC 8428 §5.1.6 collection of resources: a new bn replaces the old one, bt stays in effect (§4.1)', () => {
  assert.deepEqual(rows(readJson(EX_5_1_6)), [
    ['2001:db8::2/temperature', 1320078429000, 25.2, 'Cel'],
    ['2001:db8::2/humidity', 1320078429000, 30, '%RH'],
    ['2001:db8::1/temperature', 1320078429000, 12.3, 'Cel'],
    ['2001:db8::1/humidity', 1320078429000, 67, '%RH'],
  ]);
});

test('RFC 8428 §5.1.7 actuation: a record of base fields only sets context and is no point, no error', () => {
  const s = readJson(EX_5_1_7);
  assert.deepEqual(rows(s), [
    ['urn:dev:ow:10e2073a01080063:temp', NOW, 23.1, 'Cel'],
    ['urn:dev:ow:10e2073a01080063:heat', NOW, 1, '/'],
    ['urn:dev:ow:10e2073a01080063:fan', NOW, 0, '/'],
  ]);
  assert.deepEqual(s.deadLetters, []);
});

test("senmlBaseName 'drop' (the default): the topic names the device, metrics are the record names", () => {
  assert.deepEqual(
    readJson(EX_5_1_2_A, DROP).points.map((p) => p.metric),
    ['voltage', 'current'],
  );
  // Records without a name take the fallback metric (mapping.metric, the topic rest or 'value').
  assert.deepEqual(
    readJson('[{"bn":"urn:dev:ow:1","v":1}]', { ...DROP, fallbackMetric: 'temp' }).points.map((p) => p.metric),
    ['temp'],
  );
  assert.deepEqual(
    readJson('[{"n":"a","v":1}]', { prefix: 'env.', keepBaseName: false, fallbackMetric: 'env.value' }).points.map((p) => p.metric),
    ['env.a'],
  );
});

test('RFC 8428 §4.5.3: times below 2^28 are relative to now, at or above 2^28 absolute', () => {
  const below = readJson(`[{"n":"a","t":${2 ** 28 - 1},"v":1}]`);
  assert.equal(below.points[0]!.ts, NOW + (2 ** 28 - 1) * 1000);
  const at = readJson(`[{"n":"a","t":${2 ** 28},"v":1}]`);
  assert.equal(at.points[0]!.ts, 2 ** 28 * 1000);
  const neg = readJson('[{"n":"a","t":-60,"v":1}]');
  assert.equal(neg.points[0]!.ts, NOW - 60000);
  // The rule applies to bt + t, not to t alone: a small t under an absolute bt is absolute.
  const sum = readJson('[{"bt":1.7e9,"n":"a","t":5,"v":1}]');
  assert.equal(sum.points[0]!.ts, 1700000005000);
  // Fractional seconds round to the nearest millisecond.
  assert.equal(readJson('[{"n":"a","t":1.7000000000015e9,"v":1}]').points[0]!.ts, 1700000000002);
});

test('RFC 8428 §4.5.4: value = bv + v, sum = bs + s; a sum is a series <name>.sum', () => {
  const s = readJson('[{"bn":"m:","bv":100,"n":"a","v":5},{"n":"b","v":-1},{"n":"c","vb":true}]');
  assert.deepEqual(rows(s), [
    ['m:a', NOW, 105, undefined],
    ['m:b', NOW, 99, undefined],
    ['m:c', NOW, true, undefined],
  ]);
  // §4.2: a record with a Sum may have no value.
  const sum = readJson('[{"n":"energy","u":"W","s":1500},{"bs":1000,"n":"e2","s":5},{"n":"e3","v":1}]');
  assert.deepEqual(rows(sum), [
    ['energy.sum', NOW, 1500, undefined],
    ['e2.sum', NOW, 1005, undefined],
    ['e3', NOW, 1, undefined],
    ['e3.sum', NOW, 1000, undefined], // bs in effect: the missing s counts as zero
  ]);
});

test('RFC 8428 §4.2: more than one value field, or none without a sum, is an error of that record only', () => {
  const s = readJson('[{"n":"a","v":1,"vb":true},{"n":"b","u":"Cel"},{"n":"c","v":3}]');
  assert.deepEqual(rows(s), [['c', NOW, 3, undefined]]);
  assert.deepEqual(
    s.deadLetters.map((d) => [d.field, d.reason]),
    [
      ['a', 'record 0: more than one value field (RFC 8428 §4.2)'],
      ['b', 'record 1: no value field (v, vb, vs, vd) and no sum (RFC 8428 §4.2)'],
    ],
  );
});

test('RFC 8428 §4.4: an unknown field is ignored; one whose label ends with "_" is an error', () => {
  const s = readJson('[{"n":"a","v":1,"foo":2},{"n":"b","v":2,"crit_":1},{"n":"c","v":3}]');
  assert.deepEqual(
    rows(s).map((r) => r[0]),
    ['a', 'c'],
  );
  assert.equal(s.deadLetters.length, 1);
  assert.match(s.deadLetters[0]!.reason, /record 1: unknown must-understand field 'crit_' \(RFC 8428 §4.4\)/);
});

test('RFC 8428 §4.4: a version newer than 10 must not be used, for its record and those after it', () => {
  const s = readJson('[{"n":"a","v":1},{"bver":11,"n":"b","v":2},{"n":"c","v":3},{"bver":10,"n":"d","v":4}]');
  assert.deepEqual(
    rows(s).map((r) => r[0]),
    ['a', 'd'],
  );
  assert.deepEqual(
    s.deadLetters.map((d) => d.reason),
    ['record 1: record 1 declares SenML version 11, newer than 10 (RFC 8428 §4.4)', 'record 2: record 1 declares SenML version 11, newer than 10 (RFC 8428 §4.4)'],
  );
  for (const bad of ['0', '1.5', '"10"']) {
    assert.equal(readJson(`[{"bver":${bad},"n":"a","v":1}]`).deadLetters.length, 1, bad);
  }
});

test('RFC 8428 §4.5.1: names are A-Z a-z 0-9 - : . / _ and start with a letter or digit', () => {
  assert.ok(validSenmlName('urn:dev:ow:10e2073a01080063:temp'));
  assert.ok(validSenmlName('2001:db8::2/temperature'));
  assert.ok(validSenmlName('a_b-c.d'));
  for (const bad of ['-a', ':a', '_a', '.a', '/a', 'a b', 'temp°', 'a#b', 'ä']) assert.equal(validSenmlName(bad), false, bad);
  const s = readJson('[{"n":"bad name","v":1},{"n":"good","v":2}]');
  assert.deepEqual(
    rows(s).map((r) => r[0]),
    ['good'],
  );
  assert.match(s.deadLetters[0]!.reason, /RFC 8428 §4.5.1/);
  // The rule is on bn + n even when the metric drops bn.
  assert.equal(readJson('[{"bn":"-x:","n":"a","v":1}]', DROP).deadLetters.length, 1);
});

test('a base field of the wrong type dead-letters the records that inherit it, until it is set again', () => {
  const s = readJson('[{"bn":5,"n":"a","v":1},{"n":"b","v":2},{"bn":"x:","n":"c","v":3},{"bt":"now","n":"d","v":4},{"bt":0,"n":"e","v":5}]');
  assert.deepEqual(
    rows(s).map((r) => r[0]),
    ['x:c', 'x:e'],
  );
  assert.deepEqual(
    s.deadLetters.map((d) => d.reason),
    [
      'record 0: the base name (bn) of record 0 is a number, not text',
      'record 1: the base name (bn) of record 0 is a number, not text',
      'record 3: the base time (bt) of record 3 is a string, not a number',
    ],
  );
});

test('bad input of many shapes: each record on its own, the rest of the Pack kept', () => {
  const s = readJson(
    JSON.stringify([
      5,
      null,
      'x',
      [1],
      { n: 7, v: 1 },
      { n: 'u', u: 3, v: 1 },
      { n: 'v', v: '1' },
      { n: 'vb', vb: 1 },
      { n: 'vs', vs: 1 },
      { n: 'vd', vd: 1 },
      { n: 't', t: '1', v: 1 },
      { n: 'ut', ut: 'x', v: 1 },
      { n: 's', s: 'x' },
      { n: 'big', t: 1e300, v: 1 },
      { n: 'past', t: -1e13, v: 1 },
      { n: 'ok', v: 1 },
    ]),
  );
  assert.deepEqual(
    rows(s).map((r) => r[0]),
    ['ok'],
  );
  assert.equal(s.deadLetters.length, 15);
  for (const d of s.deadLetters) assert.equal(d.device, 'd1');
});

test('a Pack that is not an array is one dead letter (RFC 8428 §4)', () => {
  for (const v of [{}, 5, 'x', null, true]) {
    const s = sink();
    readSenml(v, PREFIX, s);
    assert.deepEqual(s.points, []);
    assert.equal(s.deadLetters.length, 1);
    assert.match(s.deadLetters[0]!.reason, /a SenML Pack must be an array of records/);
  }
});

test('RFC 8428 §6: the CBOR representation of the §5.1.2 Pack with base time (integer labels, half floats)', () => {
  // The RFC's §6 example bytes. Note the last record carries t: 0 and 1.5 is a half float (f9 3e00).
  const hex = `87 a7 21 78 1b 75 72 6e 3a 64 65 76 3a 6f 77 3a
    31 30 65 32 30 37 33 61 30 31 30 38 30 30 36 3a
    22 fb 41 d3 03 a1 5b 00 10 62 23 61 41 20 05 00
    67 76 6f 6c 74 61 67 65 01 61 56 02 fb 40 5e 06
    66 66 66 66 66 a3 00 67 63 75 72 72 65 6e 74 06
    24 02 fb 3f f3 33 33 33 33 33 33 a3 00 67 63 75
    72 72 65 6e 74 06 23 02 fb 3f f4 cc cc cc cc cc
    cd a3 00 67 63 75 72 72 65 6e 74 06 22 02 fb 3f
    f6 66 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e
    74 06 21 02 f9 3e 00 a3 00 67 63 75 72 72 65 6e
    74 06 20 02 fb 3f f9 99 99 99 99 99 9a a3 00 67
    63 75 72 72 65 6e 74 06 00 02 fb 3f fb 33 33 33
    33 33 33`.replace(/\s+/g, '');
  const s = readCbor(Buffer.from(hex, 'hex'));
  assert.deepEqual(s.deadLetters, []);
  assert.deepEqual(s.points, readJson(EX_5_1_2_B).points);
});

test('RFC 8428 §6: every §5.1 example gives the same points in CBOR as in JSON; vd is a byte string there', () => {
  for (const ex of [EX_5_1_1, EX_5_1_2_A, EX_5_1_2_B, EX_5_1_3, EX_5_1_4, EX_5_1_5, EX_5_1_6, EX_5_1_7]) {
    const json = readJson(ex);
    const cbor = readCbor(toCbor(JSON.parse(ex) as Record<string, unknown>[]));
    assert.deepEqual(cbor.points, json.points);
    assert.deepEqual(cbor.deadLetters, json.deadLetters);
  }
});

test('CBOR SenML: NaN and ±Infinity values are kept; integers beyond 2^53 become the nearest float64', () => {
  const s = readCbor(toCbor([{ n: 'nan', v: NaN }, { n: 'inf', v: -Infinity }, { n: 'big', v: 2n ** 64n }]));
  assert.ok(Number.isNaN(s.points[0]!.value));
  assert.equal(s.points[1]!.value, -Infinity);
  assert.equal(s.points[2]!.value, 2 ** 64);
  // A NaN time cannot be placed: dead letter.
  assert.equal(readCbor(toCbor([{ n: 'a', t: NaN, v: 1 }])).deadLetters.length, 1);
});

test('CBOR SenML: a record that is not a map, or a misplaced break code, is a dead letter of its own', () => {
  const s = readCbor(Buffer.from('83' + '01' + 'ff' + 'a2' + '00' + '6161' + '02' + '01', 'hex'));
  assert.deepEqual(
    rows(s).map((r) => r[0]),
    ['a'],
  );
  assert.equal(s.deadLetters.length, 2);
  assert.match(s.deadLetters[1]!.reason, /break code/);
});

test('CBOR SenML: fields are the integer labels of RFC 8428 §6 Table 4; a text label ending with "_" is an error (§4.4), other text labels are ignored', () => {
  const records = [
    new Map<unknown, unknown>([[0, 'a'], [2, 1], ['v', 99]]),
    new Map<unknown, unknown>([[0, 'b'], [2, 2], ['crit_', 1]]),
    new Map<unknown, unknown>([[0, 'c'], [4, true], [[1], 'odd key'], [99, 'unknown label']]),
  ];
  const s = readCbor(encode(records));
  assert.deepEqual(rows(s), [
    ['a', NOW, 1, undefined],
    ['c', NOW, true, undefined],
  ]);
  assert.equal(s.deadLetters.length, 1);
  assert.match(s.deadLetters[0]!.reason, /record 1: unknown must-understand field 'crit_'/);
});
