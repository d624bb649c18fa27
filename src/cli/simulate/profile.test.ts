import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BUILT_IN_PROFILES, ProfileError, builtInProfile, classOf, loadProfile, parseChurn, parseDuration, parseProfile, parseProfileText } from './profile.js';

const minimal = { classes: [{ name: 's', telemetry: { metrics: { t: { min: 0, max: 10 } } } }] };

function refused(doc: unknown, path: string, re?: RegExp): void {
  assert.throws(
    () => parseProfile(doc),
    (err: unknown) => {
      assert.ok(err instanceof ProfileError, String(err));
      assert.equal(err.path, path, err.message);
      if (re) assert.match(err.message, re);
      return true;
    },
  );
}

describe('simulation profiles', () => {
  it('every built-in profile parses, and mixed mixes heartbeats, telemetry, bursts, twins and commands', () => {
    for (const name of BUILT_IN_PROFILES) assert.equal(builtInProfile(name).name, name);
    const mixed = builtInProfile('mixed');
    assert.deepEqual(mixed.classes.map((c) => c.name), ['sensor', 'meter', 'gateway']);
    assert.ok(mixed.classes.every((c) => c.heartbeat && c.telemetry && c.twin && c.commands));
    assert.ok(mixed.classes.some((c) => c.bursts));
    assert.ok(mixed.commands.rate > 0);
    // The hub's default telemetry mapping and the AWS shadow update topic.
    assert.equal(mixed.classes[0]!.telemetry!.topic, 'devices/{id}/telemetry');
    assert.equal(mixed.classes[0]!.twin!.topic, '$aws/things/{id}/shadow/update');
    const storm = builtInProfile('storm');
    assert.equal(storm.ramp, 0);
    assert.deepEqual(storm.churn, { fractionPerSecond: 0.05 });
    assert.throws(() => builtInProfile('nope'), /no built-in profile "nope"/);
  });

  it('fills in defaults for what a file leaves out', () => {
    const p = parseProfile(minimal, 'mine');
    assert.equal(p.name, 'mine');
    assert.equal(p.protocol, 5);
    assert.equal(p.keepAlive, 60);
    assert.deepEqual(p.churn, { perSecond: 0 });
    const t = p.classes[0]!.telemetry!;
    assert.equal(t.every, 5000);
    assert.equal(t.qos, 1);
    assert.deepEqual(t.metrics.t, { kind: 'walk', min: 0, max: 10, step: 0.1, revert: 0.02, daily: 0, peakHour: 15, noise: 0, decimals: 2 });
    assert.equal(p.classes[0]!.commands, undefined, 'no commands section: the devices do not subscribe');
    assert.deepEqual(parseProfile({ classes: [{ commands: true }] }).classes[0]!.commands, { delay: 0, failRate: 0, qos: 1 });
  });

  it('reads durations as seconds or with a unit', () => {
    assert.equal(parseDuration(3, 'x'), 3000);
    assert.equal(parseDuration('250ms', 'x'), 250);
    assert.equal(parseDuration('1.5s', 'x'), 1500);
    assert.equal(parseDuration('2m', 'x'), 120_000);
    assert.equal(parseDuration('1h', 'x'), 3_600_000);
    for (const bad of ['5 sec', '-1s', '', 'fast', -2, Infinity, null]) assert.throws(() => parseDuration(bad, 'x'), ProfileError, String(bad));
  });

  it('reads churn as devices per second or a share of the fleet', () => {
    assert.deepEqual(parseChurn(20, 'c'), { perSecond: 20 });
    assert.deepEqual(parseChurn('2.5', 'c'), { perSecond: 2.5 });
    assert.deepEqual(parseChurn('5%', 'c'), { fractionPerSecond: 0.05 });
    for (const bad of ['150%', '-3', 'lots', -1, '']) assert.throws(() => parseChurn(bad, 'c'), ProfileError, String(bad));
  });

  it('refuses bad input with the path of the offending key', () => {
    refused([], '', /expected an object/);
    refused({ ...minimal, colour: 'red' }, 'colour', /unknown key/);
    refused({ classes: [] }, 'classes', /non-empty/);
    refused({ classes: [{ telemetry: { evry: '5s', metrics: { t: 1 } } }] }, 'classes[0].telemetry.evry', /unknown key/);
    refused({ classes: [{ telemetry: { every: 'often', metrics: { t: 1 } } }] }, 'classes[0].telemetry.every', /duration/);
    refused({ classes: [{ telemetry: { every: '1ms', metrics: { t: 1 } } }] }, 'classes[0].telemetry.every', /at least 10 ms/);
    refused({ classes: [{ telemetry: { metrics: {} } }] }, 'classes[0].telemetry.metrics', /at least one/);
    refused({ classes: [{ telemetry: { metrics: { t: { min: 5, max: 5 } } } }] }, 'classes[0].telemetry.metrics.t.max', /greater than min/);
    refused({ classes: [{ telemetry: { metrics: { t: { min: 0, max: 1, start: 2 } } } }] }, 'classes[0].telemetry.metrics.t.start', /out of range/);
    refused({ classes: [{ telemetry: { metrics: { t: { kind: 'sine' } } } }] }, 'classes[0].telemetry.metrics.t.kind');
    refused({ classes: [{ telemetry: { metrics: { t: { kind: 'choice', values: [] } } } }] }, 'classes[0].telemetry.metrics.t.values');
    refused({ classes: [{ telemetry: { metrics: { t: { kind: 'choice', values: [{}] } } } }] }, 'classes[0].telemetry.metrics.t.values[0]');
    refused({ classes: [{ telemetry: { metrics: { ts: 1 } } }] }, 'classes[0].telemetry.metrics.ts', /reserved/);
    refused({ classes: [{ telemetry: { qos: 3, metrics: { t: 1 } } }] }, 'classes[0].telemetry.qos');
    refused({ classes: [{ bursts: { count: 5 } }] }, 'classes[0].bursts', /needs a telemetry section/);
    refused({ classes: [{ twin: { reported: { fw: '1' } }, weight: -1 }] }, 'classes[0].weight', /out of range/);
    refused({ classes: [{ weight: 0 }] }, 'classes', /weight above 0/);
    refused({ ...minimal, protocol: 3 }, 'protocol');
    refused({ ...minimal, chaos: { duplicate: 2 } }, 'chaos.duplicate', /out of range 0\.\.1/);
    refused({ ...minimal, commands: { names: ['a/b'] } }, 'commands.names');
    refused({ ...minimal, extends: 'huge' }, 'extends');
  });

  it('extends a built-in profile, replacing only the keys it names', () => {
    const p = parseProfile({ extends: 'mixed', ramp: '1s', commands: { rate: 9 } }, 'file');
    assert.equal(p.name, 'mixed');
    assert.equal(p.ramp, 1);
    assert.equal(p.commands.rate, 9);
    assert.equal(p.classes.length, 3);
  });

  it('reads YAML and JSON text, and files by path', async () => {
    const yaml = `
name: plant
ramp: 2s
churn: 1%
chaos: { skew: 10s, reorder: 0.5 }
classes:
  - name: pump
    weight: 3
    heartbeat: { every: 15s, qos: 1 }
    telemetry:
      every: 500ms
      topic: plant/{id}/data
      metrics:
        flow: { min: 0, max: 40, daily: 5, noise: 0.1, decimals: 1 }
        running: { kind: choice, values: [true, false], change: 0.01 }
        hours: { kind: counter, rate: 0.000278 }
        model: P-200
`;
    const p = parseProfileText(yaml, 'x');
    assert.equal(p.name, 'plant');
    assert.equal(p.ramp, 2);
    assert.deepEqual(p.churn, { fractionPerSecond: 0.01 });
    assert.equal(p.chaos.skewMs, 10_000);
    assert.equal(p.chaos.reorder, 0.5);
    const c = p.classes[0]!;
    assert.equal(c.heartbeat!.qos, 1);
    assert.equal(c.telemetry!.every, 500);
    assert.equal(c.telemetry!.topic, 'plant/{id}/data');
    assert.deepEqual(Object.keys(c.telemetry!.metrics), ['flow', 'running', 'hours', 'model']);
    assert.deepEqual(c.telemetry!.metrics.model, { kind: 'constant', value: 'P-200' });
    assert.equal(parseProfileText(JSON.stringify(minimal), 'j').name, 'j');
    assert.throws(() => parseProfileText('classes: [ {', 'x'), /not valid YAML or JSON/);

    const dir = await mkdtemp(join(tmpdir(), 'twinhub-sim-'));
    try {
      await writeFile(join(dir, 'fleet.yaml'), yaml.replace('name: plant\n', ''));
      assert.equal(loadProfile(join(dir, 'fleet.yaml')).name, 'fleet', 'named after the file when it has no name');
      await writeFile(join(dir, 'bad.json'), JSON.stringify({ classes: [{ twin: { every: 'x', reported: { a: 1 } } }] }));
      assert.throws(() => loadProfile(join(dir, 'bad.json')), /bad\.json: classes\[0\]\.twin\.every/);
      assert.throws(() => loadProfile(join(dir, 'missing.yaml')), /neither a built-in profile .* nor a readable file \(ENOENT\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives each device a class by weight, with the mix holding in any stretch of devices', () => {
    const p = builtInProfile('mixed'); // 60 / 25 / 15
    const count = (from: number, n: number): Record<string, number> => {
      const out: Record<string, number> = {};
      for (let i = from; i < from + n; i++) {
        const name = classOf(p, i).name;
        out[name] = (out[name] ?? 0) + 1;
      }
      return out;
    };
    const all = count(0, 10_000);
    assert.ok(Math.abs(all.sensor! - 6000) < 100 && Math.abs(all.meter! - 2500) < 100 && Math.abs(all.gateway! - 1500) < 100, JSON.stringify(all));
    const slice = count(5000, 100); // e.g. the second worker's first devices
    assert.ok(Math.abs(slice.sensor! - 60) <= 4 && Math.abs(slice.meter! - 25) <= 4 && Math.abs(slice.gateway! - 15) <= 4, JSON.stringify(slice));
    assert.equal(classOf(p, 42).name, classOf(p, 42).name, 'deterministic');
  });
});
