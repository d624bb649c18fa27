// `twinhub simulate` against a real hub: a mixed profile (heartbeats, telemetry on the hub's
// default mapping, bursts, AWS shadow reports, commands) runs in this process while a second,
// smaller fleet runs in two worker processes over MQTT 3.1.1, and the test itself sends commands
// to simulated devices as an application would. The reports must agree with what the hub saw.
//
// Duration: TWINHUB_SIM_TEST_SECONDS (default 30, the "30-second mixed profile"; the whole
// file takes about 35 s). Set it lower (e.g. 8) for a quick run.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderHtml } from '../../src/cli/simulate/html.js';
import { resolveSimOptions } from '../../src/cli/simulate/options.js';
import type { SimReport } from '../../src/cli/simulate/report.js';
import { runSimulation } from '../../src/cli/simulate/run.js';
import { writeFileSync } from 'node:fs';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, closeAll, connect, sleep, subscribe, waitFor } from '../helpers/mqtt.js';

const SECONDS = Number(process.env.TWINHUB_SIM_TEST_SECONDS ?? 30);
const DEVICES = 50;

describe(`twinhub simulate: ${DEVICES} devices, mixed profile, ${SECONDS} s against the hub`, () => {
  let t: TestHub;
  let dir: string;
  before(async () => {
    t = await startTestHub();
    dir = await mkdtemp(join(tmpdir(), 'twinhub-sim-test-'));
  });
  after(async () => {
    cleanupClients();
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports what the hub counted: messages, twin reports, command round trips; writes JSON and HTML', { timeout: (SECONDS + 40) * 1000 }, async (ctx) => {
    if (t.external) return ctx.skip('needs the in-process hub (TWINHUB_TEST_BROKER is set)');
    const before = t.hub.broker.stats().messagesIn;
    const main = resolveSimOptions(
      { url: t.mqttUrl, devices: String(DEVICES), duration: String(SECONDS), profile: 'mixed', ramp: '3s', commandRate: '4', seed: '42', quiet: true },
      'main',
    );
    // A second fleet in two worker processes, MQTT 3.1.1, its own ids: the fork path and the
    // 3.1.1 command replies on devices/{id}/commands/{cmd}/reply.
    const forked = resolveSimOptions(
      { url: t.mqttUrl, devices: '20', duration: '4', profile: 'twins', workers: '2', protocol: '4', idTemplate: 'w-{n}', commandRate: '10', seed: '7', quiet: true },
      'forked',
    );
    const mainRun = runSimulation(main);
    const forkedRun = runSimulation(forked);

    // An application sends commands to simulated devices once they are up: MQTT 5 with a
    // Response Topic and Correlation Data (MQTT 5.0 §4.10), and the 3.1.1 reply convention.
    await waitFor(() => t.hub.broker.stats().clientsConnected >= DEVICES, 15_000, 'the devices to connect');
    const app5 = await connect(t, { protocolVersion: 5 });
    await subscribe(app5.client, 'app/replies', { qos: 1 });
    const app4 = await connect(t, { protocolVersion: 4 });
    await subscribe(app4.client, 'devices/sim-3/commands/+/reply', { qos: 1 });
    let appSent = 0;
    for (let i = 0; i < 5; i++) {
      await app5.client.publishAsync(`devices/sim-${10 + i}/commands/setpoint`, JSON.stringify({ id: `a${i}`, value: 21 }), {
        qos: 1,
        properties: { responseTopic: 'app/replies', correlationData: Buffer.from(`corr-${i}`) },
      });
      appSent++;
    }
    await app4.client.publishAsync('devices/sim-3/commands/reboot', JSON.stringify({ id: 'r1' }), { qos: 1 });
    appSent++;
    const replies5 = await app5.log.waitFor(5, 5000);
    const corr = replies5.map((m) => m.packet.properties?.correlationData?.toString()).sort();
    assert.deepEqual(corr, ['corr-0', 'corr-1', 'corr-2', 'corr-3', 'corr-4'], 'each reply carries its request\'s Correlation Data');
    for (const m of replies5) {
      const body = JSON.parse(m.payload.toString());
      assert.equal(body.status, 'ok');
      assert.equal(body.cmd, 'setpoint');
      assert.match(body.id, /^a\d$/);
    }
    const [reply4] = await app4.log.waitFor(1, 5000);
    assert.equal(reply4!.topic, 'devices/sim-3/commands/reboot/reply');
    assert.deepEqual({ ...JSON.parse(reply4!.payload.toString()), ts: 0 }, { id: 'r1', cmd: 'reboot', status: 'ok', ts: 0 });
    await closeAll(app5.client, app4.client);

    const [r, w] = await Promise.all([mainRun, forkedRun]);
    await sleep(200); // the last frames before each DISCONNECT are counted as they are read
    const hubIn = t.hub.broker.stats().messagesIn - before;

    // Every device connected once, nothing went wrong.
    assert.equal(r.connections.connects, DEVICES);
    assert.equal(r.connections.peak, DEVICES);
    assert.equal(r.errors.total, 0, JSON.stringify(r.errors));
    assert.equal(w.connections.connects, 20);
    assert.equal(w.workers, 2);
    assert.equal(w.errors.total, 0, JSON.stringify(w.errors));

    // Messages sent = messages the hub counted, within what was in flight when the run ended.
    const sent = r.messages.sent + r.commands.commanderSent + w.messages.sent + w.commands.commanderSent + appSent;
    const inFlight = r.messages.unacked + w.messages.unacked;
    assert.ok(hubIn <= sent && hubIn >= sent - inFlight, `hub counted ${hubIn}, simulators sent ${sent} (${inFlight} in flight)`);
    assert.equal(r.messages.acked, r.messages.needingAck, 'every QoS 1 publish acknowledged');
    assert.equal(r.messages.sent, Object.values(r.messages.byKind).reduce((a, b) => a + b, 0));
    for (const kind of ['telemetry', 'heartbeat', 'burst', 'twin', 'reply'] as const) assert.ok(r.messages.byKind[kind] > 0, `some ${kind} messages`);
    assert.ok(r.publishAckMs !== null && r.publishAckMs.count === r.messages.acked);

    // Twin reports reached the twins (AWS shadow update → reported state).
    for (let i = 0; i < DEVICES; i++) {
      const twin = await t.hub.twins.get(`sim-${i}`, '');
      assert.ok(twin !== undefined, `sim-${i} has a twin`);
      const reported = (twin as { state: { reported?: Record<string, unknown> } }).state.reported;
      assert.match(String(reported?.firmware), /^\d+\.\d+\.\d+$/, `sim-${i} reported its firmware`);
    }
    assert.ok((await t.hub.twins.get('w-0', '')) !== undefined, 'the 3.1.1 fleet reported too');

    // Command round trips: the simulator's own, timed, and the test's, answered.
    assert.ok(r.commands.issued > 0 && r.commands.answered === r.commands.issued - r.commands.unanswered, JSON.stringify(r.commands));
    assert.equal(r.commands.timedOut, 0);
    assert.ok(r.commands.roundTripMs !== null && r.commands.roundTripMs.count === r.commands.answered);
    assert.ok(r.commands.received >= r.commands.answered + appSent, 'the devices received the simulator\'s and the test\'s commands');
    assert.ok(w.commands.answered > 0 && w.commands.timedOut === 0, JSON.stringify(w.commands));

    // The timeline covers the run.
    assert.ok(r.timeline.length >= SECONDS, `${r.timeline.length} seconds in the timeline`);
    assert.equal(r.timeline.reduce((s, p) => s + p.sent, 0), r.messages.sent);
    assert.ok(r.timeline.some((p) => p.connected === DEVICES));

    // Reports on disk, as `--report` writes them.
    const html = join(dir, 'run.html');
    const json = join(dir, 'run.json');
    writeFileSync(html, renderHtml(r));
    writeFileSync(json, JSON.stringify(r));
    const page = await readFile(html, 'utf8');
    assert.match(page, /<svg[^>]*>/);
    assert.equal((page.match(/<svg /g) ?? []).length, 4, 'four charts');
    assert.doesNotMatch(page, /<script|src="http|href="http/, 'self-contained: no scripts, nothing fetched');
    const back = JSON.parse(await readFile(json, 'utf8')) as SimReport;
    assert.equal(back.runId, 'main');
  });
});
