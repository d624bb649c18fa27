import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleFile, parseRuleObject, placeInFile, ruleYaml, setRuleKeys, type RuleFileError } from './rule-file.js';
import { prepareRule } from './prepare.js';
import { compileRule } from './sql/index.js';
import { parseTemplate, render, renderTree } from './template.js';
import { PriorityLanes } from './lanes.js';

function errorsOf(text: string, id?: string): RuleFileError[] {
  const r = parseRuleFile(text, 'r.yaml', id);
  assert.equal(r.ok, false, 'expected the file to be refused');
  return r.ok ? [] : r.errors;
}

const GOOD = `id: hot
sql: SELECT payload.temp AS t FROM 'devices/+/telemetry' WHERE payload.temp > 30
priority: 5
actions:
  - republish: {topic: "alerts/\${deviceid}", qos: 1}
  - log:
  - alert: {severity: critical, key: "hot-\${deviceid}", clear: "payload.temp < 25"}
  - webhook: {url: "http://127.0.0.1:9/hook", headers: {x-t: "\${t}"}, retries: 1}
  - twin: {reported: {hot: true, t: "\${t}"}}
  - telemetry: {metrics: {temp_c: t}}
`;

test('rule file: a valid file gives id, sql, priority, defaults and every action kind', () => {
  const r = parseRuleFile(GOOD, 'hot.yaml', 'hot');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const s = r.spec;
  assert.equal(s.id, 'hot');
  assert.equal(s.priority, 5);
  assert.equal(s.enabled, true);
  assert.deepEqual(s.actions.map((a) => a.kind), ['republish', 'log', 'alert', 'webhook', 'twin', 'telemetry']);
  const rp = s.actions[0]!;
  assert.ok(rp.kind === 'republish' && rp.qos === 1 && rp.retain === false && rp.payload === undefined);
  const wh = s.actions[3]!;
  assert.ok(wh.kind === 'webhook' && wh.method === 'POST' && wh.retries === 1 && wh.timeoutMs === 5000);
  const lg = s.actions[1]!;
  assert.ok(lg.kind === 'log' && lg.level === 'info');
});

test('rule file: priority defaults to 0 and enabled to true', () => {
  const r = parseRuleFile("id: a\nsql: SELECT * FROM 'x'\nactions: []\n", 'a.yaml', 'a');
  assert.ok(r.ok);
  assert.equal(r.spec.priority, 0);
  assert.equal(r.spec.enabled, true);
});

test('rule file: YAML syntax errors carry line and column', () => {
  const e = errorsOf('id: a\nsql: [unclosed\nactions: []\n');
  assert.ok(e[0]!.line !== undefined && e[0]!.column !== undefined);
  assert.equal(e[0]!.file, 'r.yaml');
});

test('rule file: missing keys, wrong types and unknown keys are named by path and position', () => {
  const e = errorsOf('id: a\npriority: high\nenabled: "yes"\nextra: 1\nactions: {}\n');
  const byPath = new Map(e.map((x) => [x.path, x]));
  assert.ok(byPath.has('sql'), 'missing sql');
  assert.equal(byPath.get('priority')!.line, 2);
  assert.equal(byPath.get('enabled')!.line, 3);
  assert.equal(byPath.get('extra')!.line, 4);
  assert.equal(byPath.get('actions')!.line, 5);
});

test('rule file: the id must be valid and match the file name', () => {
  assert.match(errorsOf("id: 'a b'\nsql: SELECT * FROM 'x'\nactions: []\n")[0]!.message, /1-64 characters/);
  assert.match(errorsOf("id: other\nsql: SELECT * FROM 'x'\nactions: []\n", 'mine')[0]!.message, /does not match the file name/);
});

test('rule file: actions are one-key objects of known kinds with valid options', () => {
  const e = errorsOf(`id: a
sql: SELECT * FROM 'x'
actions:
  - republish: {topic: "a/#"}
  - {log: {}, republish: {topic: b}}
  - shout: {}
  - alert: {severity: fatal, key: k}
  - webhook: {url: "ftp://x", method: BREW, retries: 99}
  - republish: {topic: "a/\${oops"}
  - twin: {device: d}
  - log: {level: loud}
`);
  const paths = e.map((x) => x.path);
  for (const p of ['actions[0].republish.topic', 'actions[1]', 'actions[2]', 'actions[3].alert.severity', 'actions[4].webhook.url', 'actions[4].webhook.method', 'actions[4].webhook.retries', 'actions[5].republish.topic', 'actions[6].twin', 'actions[7].log.level']) {
    assert.ok(paths.includes(p), `expected an error at ${p}; got ${paths.join(', ')}`);
  }
  const unclosed = e.find((x) => x.path === 'actions[5].republish.topic')!;
  // `  - republish: {topic: "a/${oops"}`: the template starts at column 25, "${" at offset 2.
  assert.equal(unclosed.line, 9);
  assert.equal(unclosed.column, 27);
});

test('rule file: JSON objects validate the same way, with key paths and no positions', () => {
  const r = parseRuleObject({ id: 'a', sql: 'SELECT * FROM x', actions: [{ log: { level: 'nope' } }] });
  assert.ok(!r.ok);
  assert.equal(r.errors[0]!.path, 'actions[0].log.level');
  assert.equal(r.errors[0]!.line, undefined);
  const ok = parseRuleObject({ id: 'a', sql: "SELECT * FROM 'x'", actions: [{ log: {} }] });
  assert.ok(ok.ok);
});

test('rule file: SQL errors are placed in the file (block scalar and one-line forms)', () => {
  const block = parseRuleFile("id: a\nsql: |\n  SELECT payload.t\n  FROM 'x' WHERE payload.t > AND 1\nactions: []\n", 'a.yaml', 'a');
  assert.ok(block.ok);
  const p = prepareRule(block.spec, 'a.yaml', compileRule);
  assert.ok(!p.ok);
  // The SQL's line 2 is the file's line 4, shifted by the block's indentation.
  assert.equal(p.errors[0]!.line, 4);
  assert.ok(p.errors[0]!.column! >= 3);
  assert.equal(p.errors[0]!.path, 'sql');
  const inline = parseRuleFile("id: a\nsql: \"SELECT FROM 'x'\"\nactions: []\n", 'a.yaml', 'a');
  assert.ok(inline.ok);
  const q = prepareRule(inline.spec, 'a.yaml', compileRule);
  assert.ok(!q.ok);
  assert.equal(q.errors[0]!.line, 2);
  assert.ok(q.errors[0]!.column! > 6, 'column inside the quoted SQL');
});

test('rule file: templates naming no output field or rule function are refused at load', () => {
  const r = parseRuleFile("id: a\nsql: SELECT payload.t AS t FROM 'x'\nactions:\n  - republish: {topic: \"o/${tt}/${deviceid}\"}\n", 'a.yaml', 'a');
  assert.ok(r.ok);
  const p = prepareRule(r.spec, 'a.yaml', compileRule);
  assert.ok(!p.ok);
  assert.match(p.errors[0]!.message, /\$\{tt\}/);
  assert.equal(p.errors[0]!.line, 4);
  assert.equal(p.errors[0]!.path, 'actions[0].republish.topic');
});

test('rule file: a bad clear condition is refused with its position', () => {
  const r = parseRuleFile("id: a\nsql: SELECT payload.t AS t FROM 'x'\nactions:\n  - alert: {severity: info, key: k, clear: \"payload.t <\"}\n", 'a.yaml', 'a');
  assert.ok(r.ok);
  const p = prepareRule(r.spec, 'a.yaml', compileRule);
  assert.ok(!p.ok);
  assert.equal(p.errors[0]!.path, 'actions[0].alert.clear');
  assert.equal(p.errors[0]!.line, 4);
});

test('rule file: setRuleKeys keeps comments; ruleYaml round-trips', () => {
  const text = "# my rule\nid: a # inline\nsql: SELECT * FROM 'x'\nactions: []\n";
  const out = setRuleKeys(text, { enabled: false });
  assert.match(out, /# my rule/);
  assert.match(out, /# inline/);
  const r = parseRuleFile(out, 'a.yaml', 'a');
  assert.ok(r.ok && r.spec.enabled === false);
  const y = ruleYaml({ id: 'b', sql: "SELECT * FROM 'x'", actions: [{ log: { level: 'warn' } }] });
  const back = parseRuleFile(y, 'b.yaml', 'b');
  assert.ok(back.ok && back.spec.actions[0]!.kind === 'log');
});

test('placeInFile: block lines map one to one; folded text points at its start', () => {
  assert.deepEqual(placeInFile({ kind: 'block', line: 3, column: 3 }, 2, 5), { line: 4, column: 7 });
  assert.deepEqual(placeInFile({ kind: 'inline', line: 2, column: 6 }, 1, 3), { line: 2, column: 8 });
  assert.deepEqual(placeInFile({ kind: 'approx', line: 2, column: 6 }, 3, 3), { line: 2, column: 6 });
});

test('templates: fields, nested members, functions, escapes, typed single references', () => {
  const t = parseTemplate('a/${deviceid}/${x.y}/$${lit}/${n}');
  assert.ok(t.ok);
  const ctx = { deviceId: 'd1', clientId: 'c', topic: 't', timestamp: 5 };
  assert.equal(render(t.template, { x: { y: 'Y' }, n: 3 }, ctx), 'a/d1/Y/${lit}/3');
  // An output field shadows the function of the same name.
  const f = parseTemplate('${topic}');
  assert.ok(f.ok);
  assert.equal(render(f.template, { topic: 'mine' }, ctx), 'mine');
  assert.equal(render(f.template, {}, ctx), 't');
  const single = parseTemplate('${n}');
  assert.ok(single.ok);
  const tree = renderTree({ kind: 'object', entries: [['t', { kind: 'template', t: single.template }]] }, { n: 3 }, ctx);
  assert.deepEqual(tree, { t: 3 });
  assert.equal(parseTemplate('${a b}').ok, false);
  assert.equal(parseTemplate('${a').ok, false);
});

test('priority lanes: higher priority first, FIFO within a lane, tail drop counted', () => {
  const l = new PriorityLanes<string>(2);
  assert.ok(l.push(0, 'low1'));
  assert.ok(l.push(10, 'high1'));
  assert.ok(l.push(0, 'low2'));
  assert.equal(l.push(0, 'low3'), false);
  assert.ok(l.push(10, 'high2'));
  assert.deepEqual([l.shift(), l.shift(), l.shift(), l.shift(), l.shift()], ['high1', 'high2', 'low1', 'low2', undefined]);
  const low = l.stats().find((s) => s.priority === 0)!;
  assert.equal(low.dropped, 1);
  assert.equal(low.ran, 2);
  // The ring grows past its initial capacity in order.
  const big = new PriorityLanes<number>(1000);
  for (let i = 0; i < 100; i++) big.push(1, i);
  for (let i = 0; i < 100; i++) assert.equal(big.shift(), i);
});
