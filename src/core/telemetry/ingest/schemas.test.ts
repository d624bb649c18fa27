import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TwinhubError } from '../../../common/errors.js';
import { breakingChanges, escapePointer, SchemaRegistry } from './schemas.js';

const V1 = {
  type: 'object',
  properties: {
    temp: { type: 'number' },
    hum: { type: 'number' },
    gps: { type: 'object', properties: { lat: { type: 'number' }, lon: { type: 'number' } }, required: ['lat'] },
  },
  required: ['temp'],
};

function withProps(extra: Record<string, unknown>, required: string[] = ['temp']): object {
  return { ...V1, properties: { ...V1.properties, ...extra }, required };
}

test('register, current, validate: errors one line each with the JSON pointer of the payload field', () => {
  const r = new SchemaRegistry();
  assert.deepEqual(r.register('thermo', '1.0.0', V1), { ok: true });
  assert.deepEqual(r.current('thermo'), { version: '1.0.0', schema: V1 });
  assert.deepEqual(r.validate('thermo', { temp: 1, gps: { lat: 1 } }), []);
  assert.deepEqual(r.validate('thermo', { temp: 'hot', gps: { lon: 1 } }), ['/temp must be number', "/gps must have required property 'lat'"]);
  assert.deepEqual(r.validate('thermo', 5), ['(root) must be object']);
  assert.deepEqual(r.validate('unknown-type', 5), [], 'no schema: nothing to check');
  assert.equal(r.current('unknown-type'), undefined);
});

test('the registry keeps its own frozen copy of a schema', () => {
  const r = new SchemaRegistry();
  const s = { type: 'object', properties: { a: { type: 'number' } } };
  r.register('t', '1.0.0', s);
  s.properties.a.type = 'string';
  assert.deepEqual(r.validate('t', { a: 1 }), []);
  assert.ok(Object.isFrozen(r.current('t')!.schema));
});

test('check(): one reason naming the type and version, at most 10 errors listed', () => {
  const r = new SchemaRegistry();
  const props: Record<string, unknown> = {};
  for (let i = 0; i < 15; i++) props[`f${i}`] = { type: 'number' };
  r.register('many', '2.1.0', { type: 'object', properties: props });
  assert.equal(r.check('many', { f0: 1 }), null);
  const bad: Record<string, string> = {};
  for (let i = 0; i < 15; i++) bad[`f${i}`] = 'x';
  const reason = r.check('many', bad)!;
  assert.match(reason, /^schema many@2\.1\.0: \/f0 must be number; /);
  assert.match(reason, /; and 5 more$/);
  assert.equal(r.check('none', bad), null);
});

test('adding an optional property is compatible within a major version', () => {
  const r = new SchemaRegistry();
  r.register('t', '1.0.0', V1);
  assert.deepEqual(r.register('t', '1.1.0', withProps({ battery: { type: 'number' } })), { ok: true });
  assert.equal(r.current('t')!.version, '1.1.0');
  assert.deepEqual(
    r.versions('t').map((v) => v.version),
    ['1.0.0', '1.1.0'],
  );
});

test('removing, retyping, requiring an optional or adding a required property is breaking: one line each, JSON pointer paths', () => {
  const r = new SchemaRegistry();
  r.register('t', '1.0.0', V1);
  const next = {
    type: 'object',
    properties: {
      temp: { type: 'string' }, // retyped
      // hum removed
      gps: { type: 'object', properties: { lat: { type: 'number' } }, required: ['lat', 'alt'] }, // lon removed, alt required added
      rssi: { type: 'integer' }, // required added below
    },
    required: ['temp', 'rssi', 'hum'],
  };
  const res = r.register('t', '1.1.0', next);
  assert.equal(res.ok, false);
  assert.ok(!res.ok);
  assert.equal(res.reason, 'incompatible');
  assert.deepEqual(res.breaking, [
    '/temp: type changed from number to string',
    '/hum: property removed',
    '/gps/lon: property removed',
    '/gps/alt: required property added',
    '/rssi: required property added',
    '/hum: optional property made required',
  ]);
  assert.equal(r.current('t')!.version, '1.0.0', 'a refused version changes nothing');
});

test('making an optional property required is breaking; dropping a requirement is not', () => {
  assert.deepEqual(breakingChanges(V1, withProps({}, ['temp', 'hum'])), ['/hum: optional property made required']);
  assert.deepEqual(breakingChanges(V1, withProps({}, [])), []);
});

test('type widening is compatible (integer → number, number → [number, null]); narrowing is not', () => {
  const a = { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'number' }, z: {} } };
  assert.deepEqual(breakingChanges(a, { type: 'object', properties: { x: { type: 'number' }, y: { type: ['number', 'null'] }, z: {} } }), []);
  assert.deepEqual(breakingChanges({ type: 'object', properties: { x: { type: 'number' } } }, { type: 'object', properties: { x: { type: 'integer' } } }), [
    '/x: type changed from number to integer',
  ]);
  assert.deepEqual(breakingChanges(a, { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'number' }, z: { type: 'string' } } }), [
    '/z: type restricted to string (any type was accepted)',
  ]);
});

test('forbidding additional properties is breaking', () => {
  assert.deepEqual(breakingChanges(V1, { ...V1, additionalProperties: false }), ['(root): additional properties no longer allowed']);
});

test('JSON pointer paths escape ~ and / (RFC 6901 §3)', () => {
  assert.equal(escapePointer('a/b~c'), 'a~1b~0c');
  assert.deepEqual(breakingChanges({ properties: { 'a/b': { properties: { '~x': {} } } } }, { properties: { 'a/b': { properties: {} } } }), ['/a~1b/~0x: property removed']);
});

test('a new major version may break', () => {
  const r = new SchemaRegistry();
  r.register('t', '1.4.2', V1);
  assert.deepEqual(r.register('t', '2.0.0', { type: 'object', properties: { temperature: { type: 'number' } }, required: ['temperature'] }), { ok: true });
  assert.deepEqual(r.validate('t', { temp: 1 }), ["(root) must have required property 'temperature'"]);
});

test('a version not greater than the current one is refused; versions must be x.y.z (SemVer 2.0.0 §2)', () => {
  const r = new SchemaRegistry();
  r.register('t', '1.2.0', V1);
  for (const v of ['1.2.0', '1.1.9', '0.9.0']) {
    const res = r.register('t', v, V1);
    assert.ok(!res.ok && res.reason === 'version' && /not greater than the current 1\.2\.0/.test(res.breaking[0]!), v);
  }
  for (const v of ['1.3', 'v1.3.0', '1.3.0-beta', '01.3.0', '1.3.0+b', '', '1.3.0.0']) {
    const res = r.register('t', v, V1);
    assert.ok(!res.ok && res.reason === 'version' && /not a semantic version/.test(res.breaking[0]!), v);
  }
  assert.deepEqual(r.register('t', '1.10.0', V1), { ok: true }, 'numeric, not string, comparison');
});

test('a schema that does not compile is refused with the reason', () => {
  const r = new SchemaRegistry();
  for (const s of [{ type: 'nope' }, { properties: 5 }, { required: 'x' }, { $async: true, type: 'object' }]) {
    const res = r.register('t', '1.0.0', s);
    assert.ok(!res.ok && res.reason === 'invalid-schema', JSON.stringify(s));
  }
  const notObject = r.register('t', '1.0.0', [] as unknown as object);
  assert.ok(!notObject.ok && notObject.reason === 'invalid-schema');
  const noType = r.register('', '1.0.0', V1);
  assert.ok(!noType.ok && noType.reason === 'device-type');
  assert.equal(r.current('t'), undefined);
});

test('annotations and unknown keywords are allowed; format is not validated (no ajv-formats)', () => {
  const r = new SchemaRegistry();
  assert.deepEqual(r.register('t', '1.0.0', { type: 'object', title: 'x', 'x-unit': 'Cel', properties: { at: { type: 'string', format: 'date-time' } } }), { ok: true });
  assert.deepEqual(r.validate('t', { at: 'whenever' }), []);
});

test('two versions may share an $id', () => {
  const r = new SchemaRegistry();
  assert.deepEqual(r.register('t', '1.0.0', { $id: 'https://example.com/schemas/thermo.json', ...V1 }), { ok: true });
  assert.deepEqual(r.register('t', '1.1.0', { $id: 'https://example.com/schemas/thermo.json', ...withProps({ b: { type: 'number' } }) }), { ok: true });
});

test('toJSON/fromJSON round trip keeps every version, the current one validates', () => {
  const r = new SchemaRegistry();
  r.register('a', '1.0.0', V1);
  r.register('a', '1.1.0', withProps({ b: { type: 'number' } }));
  r.register('b', '0.1.0', { type: 'object' });
  const json = JSON.parse(JSON.stringify(r.toJSON())) as unknown;
  const back = SchemaRegistry.fromJSON(json);
  assert.deepEqual(back.toJSON(), r.toJSON());
  assert.deepEqual(back.deviceTypes(), ['a', 'b']);
  assert.deepEqual(back.validate('a', { temp: 1, b: 'x' }), ['/b must be number']);
  // The compatibility check continues from the restored current version.
  const res = back.register('a', '1.2.0', V1);
  assert.ok(!res.ok && res.breaking.includes('/b: property removed'));
});

test('fromJSON refuses malformed data with TwinhubError DATA_FORMAT_UNSUPPORTED', () => {
  const bad: unknown[] = [
    null,
    5,
    {},
    { format: 2, deviceTypes: [] },
    { format: 1, deviceTypes: {} },
    { format: 1, deviceTypes: [{ versions: [] }] },
    { format: 1, deviceTypes: [{ deviceType: 'a', versions: [] }] },
    { format: 1, deviceTypes: [{ deviceType: 'a', versions: [{ version: '1.0', schema: {} }] }] },
    { format: 1, deviceTypes: [{ deviceType: 'a', versions: [{ version: '1.0.0', schema: 5 }] }] },
    { format: 1, deviceTypes: [{ deviceType: 'a', versions: [{ version: '1.0.0', schema: {} }, { version: '1.0.0', schema: {} }] }] },
    { format: 1, deviceTypes: [{ deviceType: 'a', versions: [{ version: '1.0.0', schema: { type: 'nope' } }] }] },
    { format: 1, deviceTypes: [{ deviceType: 'a', versions: [{ version: '1.0.0', schema: {} }] }, { deviceType: 'a', versions: [{ version: '1.0.0', schema: {} }] }] },
  ];
  for (const d of bad) {
    assert.throws(
      () => SchemaRegistry.fromJSON(d),
      (e: unknown) => e instanceof TwinhubError && e.code === 'TH_DATA_FORMAT_UNSUPPORTED',
      JSON.stringify(d),
    );
  }
});

test('delete forgets a device type', () => {
  const r = new SchemaRegistry();
  r.register('t', '1.0.0', V1);
  assert.equal(r.delete('t'), true);
  assert.equal(r.current('t'), undefined);
  assert.deepEqual(r.register('t', '0.0.1', V1), { ok: true });
});
