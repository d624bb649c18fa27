// Configuration loading: precedence (defaults < file < env < flags), the TWINHUB_* mapping, and
// every kind of validation error naming the key and where its value came from.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ConfigError, describeSource, isConfigError } from '../../src/config/config-error.js';
import { buildConfig, loadConfig } from '../../src/config/load.js';
import { renderEffectiveConfig } from '../../src/config/print.js';
import { CONFIG_KEYS, getAt } from '../../src/config/schema.js';
import { DEFAULT_CONFIG } from '../../src/config/types.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinhub-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

/** The ConfigError's message lines, or a failure when loading succeeded. */
async function errorsOf(p: Promise<unknown> | (() => unknown)): Promise<string[]> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.ok(isConfigError(err), `expected a config error, got ${String(err)}`);
    return (err as Error).message.split('\n');
  }
  assert.fail('expected the config to be refused');
}

describe('config precedence', () => {
  test('with nothing given the config is DEFAULT_CONFIG and every source is default', async () => {
    const loaded = await loadConfig({});
    assert.deepEqual(loaded.config, DEFAULT_CONFIG);
    for (const k of CONFIG_KEYS) assert.equal(describeSource(loaded.sources.get(k.path)!), 'default', k.path);
    assert.equal(loaded.file, undefined);
  });

  test('defaults < file < env < flags, each key with its source', async () => {
    const f = await file(
      'prec.yaml',
      ['mqtt: 0.0.0.0:1000', 'http: 127.0.0.1:1001', 'limits:', '  maxKeepAlive: 10', '  maxInflight: 7', 'persistence:', '  fsync: false'].join('\n'),
    );
    const loaded = await loadConfig({
      file: f,
      env: { TWINHUB_HTTP: '127.0.0.1:2001', TWINHUB_LIMITS__MAX_KEEP_ALIVE: '20', TWINHUB_PERSISTENCE__FSYNC: 'true', TWINHUB_ALLOW_ANONYMOUS: 'false', PATH: '/bin' },
      flags: { http: '127.0.0.1:3001', allowAnonymous: true },
    });
    const c = loaded.config;
    assert.deepEqual(c.mqtt, { host: '0.0.0.0', port: 1000 }); // file
    assert.deepEqual(c.http, { host: '127.0.0.1', port: 3001 }); // flag over env over file
    assert.equal(c.limits.maxKeepAlive, 20); // env over file
    assert.equal(c.limits.maxInflight, 7); // file
    assert.equal(c.persistence.fsync, true); // env
    assert.equal(c.allowAnonymous, true); // flag over env
    assert.equal(c.limits.maxPacketSize, DEFAULT_CONFIG.limits.maxPacketSize); // default
    const src = (p: string) => describeSource(loaded.sources.get(p)!);
    assert.equal(src('mqtt'), f);
    assert.equal(src('http'), '--http');
    assert.equal(src('limits.maxKeepAlive'), 'TWINHUB_LIMITS__MAX_KEEP_ALIVE');
    assert.equal(src('limits.maxInflight'), f);
    assert.equal(src('allowAnonymous'), '--allow-anonymous');
    assert.equal(src('limits.maxPacketSize'), 'default');
  });

  test('TWINHUB_CONFIG names the file when no --config is given', async () => {
    const f = await file('envfile.json', JSON.stringify({ limits: { maxKeepAlive: 33 } }));
    const loaded = await loadConfig({ env: { TWINHUB_CONFIG: f } });
    assert.equal(loaded.config.limits.maxKeepAlive, 33);
    assert.equal(loaded.file, f);
  });

  test('JSON files are read as JSON, an empty YAML file is an empty config', async () => {
    const j = await file('c.json', '{"mqtt": {"host": "::1", "port": 0}, "acl": [{"filter": "a/+", "action": "all", "allow": false}]}');
    const loaded = await loadConfig({ file: j });
    assert.deepEqual(loaded.config.mqtt, { host: '::1', port: 0 });
    assert.deepEqual(loaded.config.acl, [{ filter: 'a/+', action: 'all', allow: false }]);
    const empty = await file('empty.yaml', '');
    assert.deepEqual((await loadConfig({ file: empty })).config, DEFAULT_CONFIG);
  });

  test('the issue examples: TWINHUB_LIMITS__MAX_KEEP_ALIVE, TWINHUB_PERSISTENCE__FSYNC, TWINHUB_MQTT, TWINHUB_ALLOW_ANONYMOUS, TWINHUB_ACL', () => {
    const { config } = buildConfig({
      env: {
        TWINHUB_LIMITS__MAX_KEEP_ALIVE: '60',
        TWINHUB_PERSISTENCE__FSYNC: 'true',
        TWINHUB_MQTT: '0.0.0.0:1883',
        TWINHUB_ALLOW_ANONYMOUS: 'false',
        TWINHUB_ACL: '[{"filter":"secret/#","action":"subscribe","allow":false}]',
      },
    });
    assert.equal(config.limits.maxKeepAlive, 60);
    assert.equal(config.persistence.fsync, true);
    assert.deepEqual(config.mqtt, { host: '0.0.0.0', port: 1883 });
    assert.equal(config.allowAnonymous, false);
    assert.deepEqual(config.acl, [{ filter: 'secret/#', action: 'subscribe', allow: false }]);
  });

  test('every key can be set through its environment variable', () => {
    // One non-default valid value per schema type, set through the environment alone.
    for (const k of CONFIG_KEYS) {
      const v = k.def.value;
      let text: string;
      let expected: unknown;
      switch (v.type) {
        case 'integer':
        case 'number':
          text = String(v.min);
          expected = v.min;
          break;
        case 'boolean':
          expected = !getAt(DEFAULT_CONFIG, k.segments);
          text = String(expected);
          break;
        case 'enum':
          text = v.values.find((x) => x !== getAt(DEFAULT_CONFIG, k.segments))!;
          expected = text;
          break;
        case 'address':
          text = '127.0.0.2:4567';
          expected = { host: '127.0.0.2', port: 4567 };
          break;
        case 'list':
          text = '[]';
          expected = [];
          break;
        case 'map':
          text = '{"broker":"debug"}';
          expected = { broker: 'debug' };
          break;
        default:
          text = v.type === 'string' && v.format === 'url-path' ? '/x' : 'x.pem';
          expected = text;
      }
      const env: Record<string, string> = { [k.env]: text };
      // mqtts needs its certificate files to be a valid config.
      if (k.path === 'mqtts') Object.assign(env, { TWINHUB_TLS__CERT: 'c.pem', TWINHUB_TLS__KEY: 'k.pem' });
      const loaded = buildConfig({ env });
      assert.deepEqual(getAt(loaded.config, k.segments), expected, k.env);
      assert.equal(describeSource(loaded.sources.get(k.path)!), k.env);
    }
  });
});

describe('listener addresses', () => {
  const parse = (text: string) => buildConfig({ env: { TWINHUB_WS: text } }).config.ws;
  test('HOST:PORT, [IPv6]:PORT, a bare port, host names', () => {
    assert.deepEqual(parse('0.0.0.0:8083'), { host: '0.0.0.0', port: 8083 });
    assert.deepEqual(parse('[::1]:8083'), { host: '::1', port: 8083 });
    assert.deepEqual(parse('8083'), { host: '127.0.0.1', port: 8083 });
    assert.deepEqual(parse('localhost:0'), { host: 'localhost', port: 0 });
  });
  test('"off" and "none" disable a listener, in env, flags and files', async () => {
    assert.equal(parse('off'), null);
    assert.equal(parse('NONE'), null);
    assert.equal(buildConfig({ flags: { mqtt: 'off' } }).config.mqtt, null);
    const f = await file('off.yaml', 'http: off\nmqtt: null\n');
    const c = (await loadConfig({ file: f })).config;
    assert.equal(c.http, null);
    assert.equal(c.mqtt, null);
  });
  test('{host, port} objects and bare port numbers in files', async () => {
    const f = await file('obj.yaml', 'mqtt: {host: "::", port: 1884}\nhttp: 8081\n');
    const c = (await loadConfig({ file: f })).config;
    assert.deepEqual(c.mqtt, { host: '::', port: 1884 });
    assert.deepEqual(c.http, { host: '127.0.0.1', port: 8081 });
  });
  test('bad addresses name the key and the source', async () => {
    for (const bad of ['::1:1883', '1.2.3.4:99999', 'host:', ':1883', 'a b:1', 'nope', '[1.2.3.4]:1']) {
      const lines = await errorsOf(() => buildConfig({ env: { TWINHUB_MQTT: bad } }));
      assert.equal(lines.length, 1, bad);
      assert.match(lines[0]!, /^invalid config: mqtt \(from TWINHUB_MQTT\): /, bad);
      assert.ok(lines[0]!.includes(JSON.stringify(bad)), `${lines[0]} shows ${bad}`);
    }
    const lines = await errorsOf(() => buildConfig({ flags: { ws: '70000' } }));
    assert.match(lines[0]!, /^invalid config: ws \(from --ws\): .*"70000"/);
    const f = await file('badobj.yaml', 'mqtt: {host: 127.0.0.1, port: 1, tls: true}\n');
    assert.match((await errorsOf(loadConfig({ file: f })))[0]!, /^invalid config: mqtt \(from .*badobj\.yaml\): unknown key "tls"/);
  });
});

describe('config validation errors', () => {
  test('a bad value from the environment: the message of the issue', async () => {
    const lines = await errorsOf(() => buildConfig({ env: { TWINHUB_LIMITS__MAX_KEEP_ALIVE: 'abc' } }));
    assert.deepEqual(lines, ['invalid config: limits.maxKeepAlive (from TWINHUB_LIMITS__MAX_KEEP_ALIVE): expected an integer 0..65535, got "abc"']);
  });

  test('out of range, wrong type and bad enum values in a file', async () => {
    const f = await file('bad.yaml', ['limits:', '  maxKeepAlive: 70000', '  maxInflight: "5"', 'log:', '  level: verbose', 'persistence:', '  enabled: maybe'].join('\n'));
    const lines = await errorsOf(loadConfig({ file: f }));
    assert.deepEqual(lines.sort(), [
      `invalid config: limits.maxInflight (from ${f}): expected an integer 1..65535, got "5"`,
      `invalid config: limits.maxKeepAlive (from ${f}): expected an integer 0..65535, got 70000`,
      `invalid config: log.level (from ${f}): expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"`,
      `invalid config: persistence.enabled (from ${f}): expected true or false, got "maybe"`,
    ]);
  });

  test('a bad flag value names the flag', async () => {
    const lines = await errorsOf(() => buildConfig({ flags: { 'log.level': 'loud' } }));
    assert.match(lines[0]!, /^invalid config: log\.level \(from --log-level\): expected one of/);
  });

  test('unknown keys in a file are errors, with a did-you-mean when close', async () => {
    const f = await file('unknown.yaml', ['limits:', '  maxKeepAliv: 3', 'maxKeepAlive: 4', 'tsl:', '  cert: x', 'zzzzzz: 1'].join('\n'));
    const lines = await errorsOf(loadConfig({ file: f }));
    assert.ok(lines.includes(`invalid config: limits.maxKeepAliv (from ${f}): unknown key; did you mean limits.maxKeepAlive?`), lines.join('\n'));
    assert.ok(lines.includes(`invalid config: maxKeepAlive (from ${f}): unknown key; did you mean limits.maxKeepAlive?`), lines.join('\n'));
    assert.ok(lines.includes(`invalid config: tsl (from ${f}): unknown key; did you mean tls?`), lines.join('\n'));
    assert.ok(lines.includes(`invalid config: zzzzzz (from ${f}): unknown key`), lines.join('\n'));
  });

  test('unknown TWINHUB_* variables are errors with a did-you-mean; TWINHUB_CONFIG and TWINHUB_TEST_* are not config keys', async () => {
    const lines = await errorsOf(() => buildConfig({ env: { TWINHUB_LIMITS__MAX_KEEPALIVE: '3', TWINHUB_LIMITS_MAX_KEEP_ALIVE: '3' } }));
    assert.deepEqual(lines, [
      'invalid config: TWINHUB_LIMITS__MAX_KEEPALIVE (from environment): unknown variable; did you mean TWINHUB_LIMITS__MAX_KEEP_ALIVE?',
      'invalid config: TWINHUB_LIMITS_MAX_KEEP_ALIVE (from environment): unknown variable; did you mean TWINHUB_LIMITS__MAX_KEEP_ALIVE?',
    ]);
    assert.deepEqual(buildConfig({ env: { TWINHUB_TEST_BROKER: '127.0.0.1:1', TWINHUB_CONFIG: '' } }).config, DEFAULT_CONFIG);
  });

  test('a file that cannot be read or parsed, or is not a mapping', async () => {
    const missing = join(dir, 'missing.yaml');
    const l1 = await errorsOf(loadConfig({ file: missing, fileSource: { kind: 'flag', flag: '--config' } }));
    assert.deepEqual(l1, [`invalid config: cannot read config file ${missing} (from --config): ENOENT`]);
    const broken = await file('broken.yaml', 'limits:\n  maxKeepAlive: [1,\n');
    assert.match((await errorsOf(loadConfig({ file: broken })))[0]!, new RegExp(`^invalid config: cannot parse config file ${broken}: `));
    const brokenJson = await file('broken.json', '{"mqtt": }');
    assert.match((await errorsOf(loadConfig({ file: brokenJson })))[0]!, /cannot parse config file .*broken\.json/);
    const list = await file('list.yaml', '- a\n- b\n');
    assert.match((await errorsOf(loadConfig({ file: list })))[0]!, /^invalid config: \(top level\) \(from .*list\.yaml\): expected a mapping/);
    const scalarGroup = await file('scalar-group.yaml', 'limits: 5\n');
    assert.match((await errorsOf(loadConfig({ file: scalarGroup })))[0]!, /^invalid config: limits \(from .*\): expected a mapping/);
  });

  test('mqtts without tls.cert and tls.key names both keys and their variables', async () => {
    const lines = await errorsOf(() => buildConfig({ flags: { mqtts: '127.0.0.1:0' } }));
    assert.deepEqual(lines, [
      'invalid config: mqtts (from --mqtts): the MQTT/TLS listener requires tls.cert and tls.key; set tls.cert (TWINHUB_TLS__CERT) and tls.key (TWINHUB_TLS__KEY)',
    ]);
    const onlyKey = await errorsOf(() => buildConfig({ env: { TWINHUB_MQTTS: '8883', TWINHUB_TLS__CERT: 'server.pem' } }));
    assert.match(onlyKey[0]!, /^invalid config: mqtts \(from TWINHUB_MQTTS\): .*set tls\.key \(TWINHUB_TLS__KEY\)$/);
    assert.doesNotThrow(() => buildConfig({ env: { TWINHUB_MQTTS: '8883', TWINHUB_TLS__CERT: 'a', TWINHUB_TLS__KEY: 'b' } }));
  });

  test('two listeners on one port are refused, naming both', async () => {
    const lines = await errorsOf(() => buildConfig({ flags: { ws: '127.0.0.1:1883' } }));
    assert.deepEqual(lines, ['invalid config: ws (from --ws): address 127.0.0.1:1883 is also used by mqtt (from default); give each listener its own port']);
    // Port 0 never conflicts: each listener gets its own free port.
    assert.doesNotThrow(() => buildConfig({ flags: { mqtt: '0', ws: '0', http: '0' } }));
  });

  test('acl and priorities items are checked field by field [MQTT-4.7.1-1] [MQTT-4.7.1-2]', async () => {
    const lines = await errorsOf(() =>
      buildConfig({
        env: {
          TWINHUB_ACL: '[{"filter":"a/#/b","action":"read","allow":"yes"},{"filter":"a+/b","action":"all"}]',
          TWINHUB_PRIORITIES: '[{"name":"x","filters":["#"]},{"name":"x","filters":[]}]',
        },
      }),
    );
    // Item errors come first; the duplicate name is a cross-key check that runs after them.
    assert.deepEqual(lines, [
      'invalid config: acl[0].filter (from TWINHUB_ACL): "#" must be a whole level and the last one [MQTT-4.7.1-1], got "a/#/b"',
      'invalid config: acl[0].action (from TWINHUB_ACL): expected one of publish, subscribe, all, got "read"',
      'invalid config: acl[0].allow (from TWINHUB_ACL): expected true or false, got "yes"',
      'invalid config: acl[1].filter (from TWINHUB_ACL): "+" must be a whole level [MQTT-4.7.1-2], got "a+/b"',
      'invalid config: acl[1].allow (from TWINHUB_ACL): missing; expected true or false',
    ]);
    const dup = await errorsOf(() => buildConfig({ env: { TWINHUB_PRIORITIES: '[{"name":"x","filters":["#"]},{"name":"x","filters":[]}]' } }));
    assert.deepEqual(dup, ['invalid config: priorities[1].name (from TWINHUB_PRIORITIES): duplicate priority class name "x"']);
    const notJson = await errorsOf(() => buildConfig({ env: { TWINHUB_ACL: '{filter: x}' } }));
    assert.match(notJson[0]!, /^invalid config: acl \(from TWINHUB_ACL\): expected a JSON array/);
  });

  test('all problems of one load are reported together, as one ConfigError with issues', () => {
    try {
      buildConfig({ env: { TWINHUB_LIMITS__MAX_INFLIGHT: '0', TWINHUB_WS_PATH: 'mqtt' } });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map((i) => i.key).sort(), ['limits.maxInflight', 'wsPath']);
      assert.equal(err.code, 'TH_CONFIG_INVALID');
    }
  });
});

describe('config print', () => {
  test('the printed YAML names each source and loads back to the same config', async () => {
    const f = await file('print.yaml', 'limits:\n  maxKeepAlive: 42\nacl:\n  - {filter: "x/#", action: publish, allow: false}\n');
    const loaded = await loadConfig({ file: f, env: { TWINHUB_MQTT: '0.0.0.0:1' }, flags: { ws: '127.0.0.1:0' } });
    const text = renderEffectiveConfig(loaded);
    assert.match(text, /^mqtt: 0\.0\.0\.0:1 # TWINHUB_MQTT$/m);
    assert.match(text, /^ws: 127\.0\.0\.1:0 # --ws$/m);
    assert.match(text, /^mqtts: off # default$/m);
    assert.match(text, new RegExp(`^  maxKeepAlive: 42 # ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    const again = buildConfig({ objects: [{ value: parseYaml(text), label: 'printed' }] });
    assert.deepEqual(again.config, loaded.config);
  });
});
