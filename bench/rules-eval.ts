// Rule evaluation throughput (issue 6): compiled rules evaluated on pre-built messages, the way
// the engine calls them (payload JSON parsed once per message, before the rules). Prints one JSON
// line:
//   - typical: one rule with a WHERE and 3 outputs, evaluations/s (compiled, and the reference
//     interpreter walking the same AST for comparison);
//   - fleet: 100 rules on the telemetry of 10,000 devices (10 values per message), rule
//     evaluations/s and messages/s, without and with the per-message JSON.parse.
//
//   node --import tsx bench/rules-eval.ts [--seconds 2]
import { compileRule, type CompiledRule, type RuleInput } from '../src/core/rules/sql/index.js';
import { analyze } from '../src/core/rules/sql/checker.js';
import { interpretAst } from '../src/core/rules/sql/interpreter.js';
import { parseRule } from '../src/core/rules/sql/parser.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const SECONDS = arg('seconds', 2);
const DEVICES = 10_000;
const RULES = 100;

let seed = 0x2545f491;
function rnd(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

function compile(sql: string): CompiledRule {
  const c = compileRule(sql);
  if (!c.ok) throw new Error(`${sql}: ${JSON.stringify(c.errors)}`);
  return c.rule;
}

// 10,000 devices, one telemetry message each (10 values), as text and as the engine's input.
const texts: string[] = [];
const inputs: RuleInput[] = [];
for (let d = 0; d < DEVICES; d++) {
  const p = {
    temp: 15 + rnd(250) / 10, hum: rnd(100), pressure: 950 + rnd(100), battery: rnd(101), rssi: -40 - rnd(60),
    co2: 400 + rnd(1600), voc: rnd(500), lux: rnd(10_000), status: ['ok', 'warn', 'fault'][rnd(3)], fw: `1.${rnd(5)}.0`,
  };
  const text = JSON.stringify(p);
  texts.push(text);
  inputs.push({
    topic: `devices/dev-${d}/telemetry`, payload: Buffer.from(text), json: p, qos: 1, retain: false, clientId: `dev-${d}`,
    deviceId: `dev-${d}`, timestamp: 1_700_000_000_000 + d, userProperties: {},
  });
}

const TYPICAL = "SELECT payload.temp AS t, payload.hum AS h, topic(2) AS d FROM 'devices/+/telemetry' WHERE payload.temp > 30";

// 100 rules of the shapes rule authors write: thresholds, status filters, derived values, CASE.
const FIELDS = ['temp', 'hum', 'pressure', 'battery', 'rssi', 'co2', 'voc', 'lux'];
const fleetSql: string[] = [];
for (let r = 0; r < RULES; r++) {
  const f = FIELDS[r % FIELDS.length]!;
  const g = FIELDS[(r + 3) % FIELDS.length]!;
  switch (r % 5) {
    case 0:
      fleetSql.push(`SELECT payload.${f} AS v, deviceid() AS d, timestamp() AS ts FROM 'devices/+/telemetry' WHERE payload.${f} > ${r}`);
      break;
    case 1:
      fleetSql.push(`SELECT payload.${f}, payload.${g}, topic(2) AS d FROM 'devices/+/telemetry' WHERE payload.status IN ('warn', 'fault') AND payload.${g} < ${r * 10}`);
      break;
    case 2:
      fleetSql.push(`SELECT round(payload.${f} * 1.8 + 32, 1) AS f, clientid() AS c FROM 'devices/+/telemetry' WHERE payload.fw LIKE '1.${r % 5}%'`);
      break;
    case 3:
      fleetSql.push(`SELECT CASE WHEN payload.${f} > ${r} THEN 'high' ELSE 'normal' END AS level, payload.${g} AS v FROM 'devices/+/telemetry' WHERE payload.battery BETWEEN ${r % 50} AND 100`);
      break;
    default:
      fleetSql.push(`SELECT payload.${f} AS v, upper(payload.status) AS s FROM 'devices/+/telemetry' WHERE payload.${f} IS NOT NULL AND NOT payload.status = 'ok'`);
  }
}
const fleet = fleetSql.map(compile);

/** Runs fn(i) for i = 0,1,… for about SECONDS; returns calls/s. */
function measure(fn: (i: number) => number): { perSecond: number; sink: number } {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += fn(i); // warm up
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let k = 0; k < 1000; k++) sink += fn(n++);
  }
  return { perSecond: Math.round(n / ((performance.now() - t0) / 1000)), sink };
}

const typical = compile(TYPICAL);
const typicalRun = measure((i) => (typical.evaluate(inputs[i % DEVICES]!) === undefined ? 0 : 1));
const typicalAst = parseRule(TYPICAL);
const typicalFields = analyze(typicalAst).fields;
const interpreted = measure((i) => (interpretAst(typicalAst, typicalFields, inputs[i % DEVICES]!) === undefined ? 0 : 1));

let passed = 0;
for (const m of inputs) for (const rule of fleet) if (rule.evaluate(m) !== undefined) passed++;
const passRate = Number((passed / (DEVICES * RULES)).toFixed(3));
const fleetRun = measure((i) => {
  const m = inputs[i % DEVICES]!;
  let out = 0;
  for (let r = 0; r < RULES; r++) if (fleet[r]!.evaluate(m) !== undefined) out++;
  return out;
});
const fleetParsed = measure((i) => {
  const d = i % DEVICES;
  const base = inputs[d]!;
  const m: RuleInput = { ...base, json: JSON.parse(texts[d]!) };
  let out = 0;
  for (let r = 0; r < RULES; r++) if (fleet[r]!.evaluate(m) !== undefined) out++;
  return out;
});

console.log(
  JSON.stringify({
    bench: 'rules-eval',
    node: process.version,
    seconds: SECONDS,
    typical: { rule: TYPICAL, evaluationsPerSecond: typicalRun.perSecond, interpreterEvaluationsPerSecond: interpreted.perSecond },
    fleet: {
      rules: RULES,
      devices: DEVICES,
      valuesPerMessage: 10,
      ruleEvaluationsPerSecond: fleetRun.perSecond * RULES,
      messagesPerSecond: fleetRun.perSecond,
      /** Share of (message, rule) pairs whose WHERE held (each produced an output row). */
      passRate,
      withJsonParse: { ruleEvaluationsPerSecond: fleetParsed.perSecond * RULES, messagesPerSecond: fleetParsed.perSecond },
    },
  }),
);
