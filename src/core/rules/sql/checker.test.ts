import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from './checker.js';
import { parseRule } from './parser.js';

const check = (src: string) => analyze(parseRule(src));
/** The errors as "line:column message". */
const errors = (src: string) => check(src).errors.map((e) => `${e.line}:${e.column} ${e.message}`);
const col = (src: string, at: string, from = 0) => src.indexOf(at, from) + 1;

test('a valid rule has no errors', () => {
  assert.deepEqual(errors("SELECT payload.temp FROM 'devices/+/telemetry' WHERE payload.temp > 30"), []);
});

test('FROM: a filter that is not a valid MQTT topic filter is refused at its position', () => {
  // [MQTT-4.7.1-2] '#' last and alone; [MQTT-4.7.1-3] '+' a whole level; [MQTT-4.7.3-1] non-empty.
  const src = "SELECT 1 FROM 'a/#/b', 'a/b+', '', '$share/g/a'";
  assert.deepEqual(errors(src), [
    `1:15 invalid topic filter 'a/#/b': '#' must be the last level, alone`,
    `1:24 invalid topic filter 'a/b+': '+' must occupy a whole level`,
    `1:32 invalid topic filter '': topic filter is empty`,
    `1:36 FROM takes a topic filter, not a shared subscription ($share/…)`,
  ]);
  assert.deepEqual(errors("SELECT 1 FROM '$events/client_disconnected', '#', '+/x/+'"), []);
});

test('functions: unknown, wrong arity, bare name that is not a message attribute, * outside count', () => {
  const src = "SELECT foo(1), lower(), round(1, 2, 3), concat(), lower AS l, temp, sum(*) FROM 'a'";
  assert.deepEqual(errors(src), [
    `1:8 unknown function 'foo'`,
    `1:16 lower() takes 1 argument, not 0`,
    `1:25 round() takes 1 to 2 arguments, not 3`,
    `1:41 concat() takes at least 1 arguments, not 0`,
    `1:51 'lower' is a function: write lower(…)`,
    `1:63 unknown name 'temp': payload fields are written payload.temp`,
    `1:69 only count takes *`,
    `1:69 aggregate sum() needs a windowed rule (GROUP BY … WINDOW …)`,
  ]);
});

test('aggregates: only in the SELECT of a windowed rule, not nested, not in WHERE or GROUP BY', () => {
  assert.deepEqual(errors("SELECT avg(payload.t) FROM 'a'"), ['1:8 aggregate avg() needs a windowed rule (GROUP BY … WINDOW …)']);
  const src = "SELECT sum(avg(payload.t)) AS s FROM 'a' WHERE count(*) > 1 GROUP BY max(payload.t) WINDOW COUNT(5)";
  assert.deepEqual(errors(src), [
    `1:${col(src, 'avg')} aggregate avg() cannot be nested in another aggregate`,
    `1:${col(src, 'count')} aggregate count() is only allowed in SELECT`,
    `1:${col(src, 'max')} aggregate max() is only allowed in SELECT`,
  ]);
  // min/max with two arguments are scalar functions, fine anywhere.
  assert.deepEqual(errors("SELECT max(payload.a, payload.b) AS m FROM 'a' WHERE min(1, 2) = 1"), []);
});

test('windowed SELECT: a column outside aggregates must be a GROUP BY expression', () => {
  const src = "SELECT deviceid() AS d, topic(2) AS t, payload.x, avg(payload.t) * 2 + 1 AS a, window_start() AS ws, upper(deviceid()) AS u FROM 'a' GROUP BY deviceid() WINDOW TUMBLING(1m)";
  assert.deepEqual(errors(src), [`1:${col(src, 'topic')} 'topic(2)' is neither aggregated nor in GROUP BY`, `1:${col(src, 'payload.x')} 'payload.x' is neither aggregated nor in GROUP BY`]);
  assert.deepEqual(errors("SELECT * FROM 'a' WINDOW COUNT(2)"), ['1:8 SELECT * is not allowed in a windowed rule: name the aggregates']);
  assert.deepEqual(errors("SELECT window_end() AS e FROM 'a'"), ['1:8 window_end() is only allowed in the SELECT of a windowed rule, outside aggregates']);
});

test('static types: operands whose type is known must fit the operator', () => {
  const src = "SELECT TRUE * 2 AS a, 'abc' + 1 AS b, '5' + 1 AS c, NOT 5 AS d, 1 AND TRUE AS e, payload.s LIKE 5 AS f, -'x' AS g FROM 'a' WHERE 'yes'";
  assert.deepEqual(errors(src), [
    `1:8 '*' needs numbers, not a boolean`,
    `1:23 '+' needs numbers, not the string 'abc'`,
    `1:${col(src, '5 AS d')} NOT needs a boolean condition, not a number`,
    `1:${col(src, '1 AND')} AND needs a boolean condition, not a number`,
    `1:${col(src, '5 AS f')} LIKE needs a string pattern, not a number`,
    `1:${col(src, "'x'")} unary '-' needs numbers, not the string 'x'`,
    `1:${col(src, "'yes'")} WHERE needs a boolean condition, not a string`,
  ]);
  assert.deepEqual(errors("SELECT 1 FROM 'a' WHERE CASE WHEN 1 THEN TRUE END"), ['1:35 WHEN needs a boolean condition, not a number']);
});

test('device and twin paths name attributes that exist', () => {
  assert.deepEqual(errors("SELECT device.type, device.group, device.id AS i, device.tags.site, device.tags['k'] AS k, twin.reported.fw, twin.desired.x FROM 'a'"), []);
  const src = "SELECT device.model AS a, device.type.x AS b, twin.state.x AS c FROM 'a'";
  assert.deepEqual(errors(src), [
    `1:${col(src, 'model')} a device has id, type, group and tags (device.tags.site)`,
    `1:${col(src, 'x AS b')} device.type is a string and has no fields`,
    `1:${col(src, 'state')} a twin has desired and reported state (twin.reported.fw)`,
  ]);
});

test('regex_match needs a literal, valid pattern; user_property a string key', () => {
  const src = "SELECT regex_match(payload.s, payload.p) AS a, regex_match(payload.s, '(') AS b, user_property(1) AS c FROM 'a'";
  const e = errors(src);
  assert.equal(e[0], `1:${col(src, 'payload.p')} regex_match needs a string literal pattern`);
  assert.match(e[1]!, new RegExp(`^1:${col(src, "'('")} invalid regular expression`));
  assert.equal(e[2], `1:${col(src, '1)')} user_property needs a string key`);
});

test('errors on several lines are reported each at its own line and column, in order', () => {
  assert.deepEqual(errors("SELECT\n  nope(payload.x) AS a\nFROM 'a/#/b'\nWHERE  1"), [
    "2:3 unknown function 'nope'",
    "3:6 invalid topic filter 'a/#/b': '#' must be the last level, alone",
    '4:8 WHERE needs a boolean condition, not a number',
  ]);
});

test('output names: aliases, derived names, duplicates refused', () => {
  const a = check(
    "SELECT payload.temp, payload.readings[0].v, payload.readings[1], payload.'odd key', payload, device.tags.site, avg(payload.temp), count(*), topic(2), round(payload.x, 1), user_property('unit'), 1 + 2, clientid, deviceid() AS d FROM 'a' GROUP BY deviceid(), payload.temp, payload.readings[0].v, payload.readings[1], payload.'odd key', payload, device.tags.site, topic(2), round(payload.x, 1), user_property('unit'), clientid WINDOW COUNT(2)",
  );
  assert.deepEqual(a.errors, []);
  assert.deepEqual(a.fields, ['temp', 'v', 'readings_1', 'odd key', 'payload', 'site', 'avg_temp', 'count', 'topic_2', 'round_x', 'user_property_unit', 'col12', 'clientid', 'd']);
  assert.deepEqual(errors("SELECT payload.a.t, payload.b.t FROM 'a'"), ["1:21 duplicate output field 't': give one of them another name with AS"]);
  assert.deepEqual(errors("SELECT 1 AS x, 2 AS X FROM 'a'"), []);
});

test('needs: json for payload paths and *, device for device.*, twin for twin.*', () => {
  assert.deepEqual(check("SELECT topic() FROM 'a'").needs, { json: false, device: false, twin: false });
  assert.deepEqual(check("SELECT * FROM 'a'").needs, { json: true, device: false, twin: false });
  assert.deepEqual(check("SELECT 1 FROM 'a' WHERE device.tags.site = 'x' AND twin.reported.fw = 2").needs, { json: false, device: true, twin: true });
});
