import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OptionError, credentialsOf, deviceId, parseTokenFile, parseUrl, resolveSimOptions } from './options.js';
import { EventQueue } from './schedule.js';
import { niceStep, lineChart, escapeHtml } from './html.js';

describe('simulate options', () => {
  it('parses broker URLs', () => {
    assert.deepEqual(parseUrl('mqtt://127.0.0.1:1884'), { host: '127.0.0.1', port: 1884 });
    assert.deepEqual(parseUrl('mqtt://broker.example'), { host: 'broker.example', port: 1883 });
    assert.deepEqual(parseUrl('tcp://[::1]:1883/'), { host: '::1', port: 1883 });
    for (const bad of ['http://x:1', 'mqtt://x:0', 'mqtt://x:70000', '127.0.0.1:1883']) assert.throws(() => parseUrl(bad), OptionError, bad);
  });

  it('resolves defaults and refuses bad values', () => {
    const o = resolveSimOptions({}, 'abc');
    assert.equal(o.devices, 100);
    assert.equal(o.duration, 30, 'bounded by default: 30 s');
    assert.equal(o.profile.name, 'mixed');
    assert.equal(o.workers, 1);
    assert.equal(o.protocol, 5);
    assert.equal(deviceId(o, 7), 'sim-7');
    const big = resolveSimOptions({ devices: '45000', url: 'mqtt://127.0.0.1:1884' }, 'abc');
    assert.equal(big.workers, 5, 'one worker process per 10,000 devices');
    assert.equal(big.sourceAddresses, true, 'many loopback connections spread over source addresses');
    assert.equal(resolveSimOptions({ devices: '45000', url: 'mqtt://10.0.0.5:1883' }, 'a').sourceAddresses, false);
    assert.equal(resolveSimOptions({ duration: '2m', ramp: '500ms', churn: '5%' }, 'a').duration, 120);
    assert.equal(resolveSimOptions({ duration: '4' }, 'a').ramp, 2, "the profile's 5 s ramp fits in half of a short run");
    assert.equal(resolveSimOptions({ duration: '4', ramp: '6' }, 'a').ramp, 6, '--ramp is taken as given');
    assert.throws(() => resolveSimOptions({ devices: '40000', workers: '1' }, 'a'), /20,000 files/);
    assert.throws(() => resolveSimOptions({ devices: '0' }, 'a'), OptionError);
    assert.throws(() => resolveSimOptions({ duration: '0' }, 'a'), /above 0/);
    assert.throws(() => resolveSimOptions({ duration: 'soon' }, 'a'), OptionError);
    assert.throws(() => resolveSimOptions({ protocol: '3' }, 'a'), OptionError);
    assert.throws(() => resolveSimOptions({ idTemplate: 'dev' }, 'a'), /\{n\}/);
    assert.throws(() => resolveSimOptions({ idTemplate: 'a/{n}' }, 'a'), /one topic level/);
    assert.throws(() => resolveSimOptions({ profile: 'no-such-profile' }, 'a'), /profile: .*neither a built-in/);
    assert.throws(() => resolveSimOptions({ sourceAddresses: 'maybe' }, 'a'), OptionError);
    assert.throws(() => resolveSimOptions({ tokenFile: '/nonexistent/tokens' }, 'a'), /ENOENT/);
  });

  it('fills credentials per device; a password alone gets the device id as user name [MQTT-3.1.2-22]', () => {
    assert.deepEqual(credentialsOf({}, 'd1', 1), {});
    assert.deepEqual(credentialsOf({ passwordTemplate: 'pw-of-{id}' }, 'd1', 1), { username: 'd1', password: 'pw-of-d1' });
    assert.deepEqual(credentialsOf({ usernameTemplate: 'u{n}', passwordTemplate: 'p' }, 'd1', 1), { username: 'u1', password: 'p' });
    assert.deepEqual(credentialsOf({ usernameTemplate: 'u-{id}' }, 'd1', 1), { username: 'u-d1' });
    assert.deepEqual(credentialsOf({ token: 'T', tokens: { d2: 'T2' } }, 'd2', 2), { username: 'd2', password: 'T2' });
    assert.deepEqual(credentialsOf({ token: 'T', tokens: { d2: 'T2' } }, 'd3', 3), { username: 'd3', password: 'T' });
  });

  it('reads token files: one token, or "DEVICE_ID TOKEN" lines', () => {
    assert.deepEqual(parseTokenFile('eyJhbGciOi.x.y\n'), { token: 'eyJhbGciOi.x.y' });
    assert.deepEqual(parseTokenFile('# tokens\nd1 t1\n\nd2\tt2\n'), { tokens: { d1: 't1', d2: 't2' } });
    assert.throws(() => parseTokenFile(''), /empty/);
    assert.throws(() => parseTokenFile('d1 t1\nd2 t2 extra\n'), /line 2/);
  });
});

describe('event queue', () => {
  it('pops events in time order, only once due', () => {
    const q = new EventQueue<{ at: number; id: number }>();
    const ats = [5, 1, 9, 3, 3, 7, 0, 8, 2, 6];
    ats.forEach((at, id) => q.push({ at, id }));
    assert.equal(q.popDue(-1), undefined);
    const out: number[] = [];
    for (let e = q.popDue(4.5); e; e = q.popDue(4.5)) out.push(e.at);
    assert.deepEqual(out, [0, 1, 2, 3, 3]);
    for (let e = q.popDue(100); e; e = q.popDue(100)) out.push(e.at);
    assert.deepEqual(out, [...ats].sort((a, b) => a - b));
    assert.equal(q.size, 0);
  });
});

describe('HTML report charts', () => {
  it('picks round axis steps', () => {
    assert.equal(niceStep(100), 20);
    assert.equal(niceStep(7), 2);
    assert.equal(niceStep(0.03), 0.01);
    assert.equal(niceStep(0), 1);
  });

  it('draws a self-contained SVG with gaps where a value is missing, and escapes text', () => {
    const svg = lineChart('a <b> & "c"', 'ms', [{ name: 'p99', color: '#000', points: [[1, 2], [2, null], [3, 4], [4, 5]] }], 4);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.includes('a &lt;b&gt; &amp; &quot;c&quot;'));
    const d = /<path d="([^"]+)"/.exec(svg)![1]!;
    assert.equal(d.split('M').length - 1, 2, 'a new segment after the gap');
    assert.equal(escapeHtml("'"), '&#39;');
  });
});
