// OpenTelemetry traces (issue 7): the W3C traceparent of an MQTT 5 publish is continued by the
// hub's span and handed on to subscribers in the same user property; spans reach an OTLP/HTTP
// collector; with tracing off nothing about a message changes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { formatTraceparent, parseTraceparent, Tracing } from '../../src/obs/tracing.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { cleanupClients, connect, waitFor } from '../helpers/mqtt.js';

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

test('traceparent parsing follows W3C Trace Context §3.2: version 00, lowercase hex, no all-zero ids', () => {
  assert.deepEqual(parseTraceparent(`00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`), { traceId: CLIENT_TRACE, spanId: CLIENT_SPAN, traceFlags: 1, isRemote: true });
  for (const bad of [undefined, '', `00-${'0'.repeat(32)}-${CLIENT_SPAN}-01`, `00-${CLIENT_TRACE}-${'0'.repeat(16)}-01`, `00-${CLIENT_TRACE.toUpperCase()}-${CLIENT_SPAN}-01`, `00-${CLIENT_TRACE}-${CLIENT_SPAN}`, 'garbage']) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
  assert.equal(formatTraceparent({ traceId: CLIENT_TRACE, spanId: CLIENT_SPAN, traceFlags: 1 }), `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
});

describe('tracing on the message path', () => {
  let t: TestHub;
  let tracing: Tracing;
  const exporter = new InMemorySpanExporter();
  before(async () => {
    t = await startTestHub();
    tracing = Tracing.withExporter({ serviceName: 'twinhub-test', sampleRatio: 0 }, exporter);
    tracing.attach(t.hub.broker);
  });
  after(async () => {
    cleanupClients();
    await tracing.shutdown();
    await t.stop();
  });

  test('a publish with a sampled traceparent gets a hub span under it, and subscribers receive the hub span as traceparent', async () => {
    const sub = await connect(t, { protocolVersion: 5 });
    await sub.client.subscribeAsync('traced/#', { qos: 1 });
    const pub = await connect(t, { protocolVersion: 5 });
    await pub.client.publishAsync('traced/a', 'x', { qos: 1, properties: { userProperties: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, other: 'kept' } } });
    const m = await waitFor(() => sub.log.messages.find((x) => x.topic === 'traced/a'), 3000, 'the message');
    await waitFor(() => exporter.getFinishedSpans().length > 0, 2000, 'the span');
    const span = exporter.getFinishedSpans().find((s) => s.name === 'publish traced/a')!;
    assert.equal(span.spanContext().traceId, CLIENT_TRACE, 'same trace as the client');
    assert.equal(span.parentSpanContext?.spanId, CLIENT_SPAN, 'the client span is the parent');
    assert.equal(span.attributes['messaging.destination.name'], 'traced/a');
    const ups = m.packet.properties?.userProperties as Record<string, string>;
    assert.equal(ups.other, 'kept');
    assert.equal(ups.traceparent, `00-${CLIENT_TRACE}-${span.spanContext().spanId}-01`, 'handed on with the hub span as parent');
  });

  test('an unsampled traceparent (flags 00) or none with sampleRatio 0: no span and the message is untouched', async () => {
    exporter.reset();
    const sub = await connect(t, { protocolVersion: 5 });
    await sub.client.subscribeAsync('plain/#', { qos: 0 });
    const pub = await connect(t, { protocolVersion: 5 });
    await pub.client.publishAsync('plain/a', 'x', { qos: 1, properties: { userProperties: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-00` } } });
    await pub.client.publishAsync('plain/b', 'y', { qos: 1 });
    const a = await waitFor(() => sub.log.messages.find((x) => x.topic === 'plain/a'), 3000, 'plain/a');
    await waitFor(() => sub.log.messages.find((x) => x.topic === 'plain/b'), 3000, 'plain/b');
    assert.equal((a.packet.properties?.userProperties as Record<string, string>).traceparent, `00-${CLIENT_TRACE}-${CLIENT_SPAN}-00`);
    assert.equal(exporter.getFinishedSpans().length, 0);
  });
});

test('spans are exported over OTLP/HTTP to the configured endpoint; without an endpoint tracing is off', async () => {
  const bodies: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString('latin1')));
    req.on('end', () => {
      bodies.push(`${req.method} ${req.url} ${b}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t = await startTestHub();
  const tracing = Tracing.fromConfig({ otlpEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, serviceName: 'twinhub-otlp', sampleRatio: 1 });
  try {
    assert.equal(Tracing.fromConfig({ otlpEndpoint: null, serviceName: 'x', sampleRatio: 1 }).enabled, false);
    tracing.attach(t.hub.broker);
    const pub = await connect(t, { protocolVersion: 5 });
    await pub.client.publishAsync('otlp/a', 'x', { qos: 1 });
    pub.client.end(true);
    await tracing.shutdown(); // flushes the batch
    await waitFor(() => bodies.length > 0, 5000, 'an OTLP request');
    assert.match(bodies[0]!, /^POST \/v1\/traces /);
    assert.ok(bodies.some((b) => b.includes('publish otlp/a') && b.includes('twinhub-otlp')), bodies.join('\n').slice(0, 500));
  } finally {
    cleanupClients();
    await t.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('one trace from an MQTT publish through a rule to its webhook: the webhook gets the traceparent, the collector gets publish → rule → action spans', async () => {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const otlp: { resourceSpans: { scopeSpans: { spans: { name: string; traceId: string; spanId: string; parentSpanId?: string }[] }[] }[] }[] = [];
  const collector = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      otlp.push(JSON.parse(b));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const hooks: { traceparent: string | undefined; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      hooks.push({ traceparent: req.headers.traceparent as string | undefined, body: b });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const t = await startTestHub({ config: { traces: { otlpEndpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`, sampleRatio: 0 } } });
  try {
    const folder = join(t.dataDir, 'rules');
    await mkdir(folder, { recursive: true });
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await writeFile(join(folder, 'hot.yaml'), `id: hot\nsql: "SELECT payload.temp AS temp FROM 'sensors/+/temp' WHERE payload.temp > 30"\nactions:\n  - webhook: {url: "${hook}"}\n`);
    await waitFor(() => t.hub.rules!.list().some((r) => r.id === 'hot' && r.status === 'active'), 3000, 'the rule loaded');
    const pub = await connect(t, { protocolVersion: 5 });
    await pub.client.publishAsync('sensors/s1/temp', JSON.stringify({ temp: 35 }), { qos: 1, properties: { userProperties: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } } });
    pub.client.end(true);
    await waitFor(() => hooks.length > 0, 5000, 'the webhook call');
    assert.deepEqual(JSON.parse(hooks[0]!.body), { temp: 35 });
    const tp = parseTraceparent(hooks[0]!.traceparent);
    assert.equal(tp?.traceId, CLIENT_TRACE, 'the webhook continues the client\'s trace');
    await t.hub.stop(); // flushes the span batch to the collector
    await waitFor(() => otlp.length > 0, 5000, 'spans at the collector');
    const spans = otlp.flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)));
    const byName = (n: string) => spans.find((s) => s.name === n);
    const publish = byName('publish sensors/s1/temp');
    const rule = byName('rule hot');
    const action = byName('action webhook');
    assert.ok(publish && rule && action, spans.map((s) => s.name).join(', '));
    for (const s of [publish, rule, action]) assert.equal(s.traceId, CLIENT_TRACE);
    assert.equal(publish.parentSpanId, CLIENT_SPAN);
    assert.equal(rule.parentSpanId, publish.spanId);
    assert.equal(action.parentSpanId, rule.spanId);
    assert.equal(tp?.spanId, action.spanId, 'the webhook\'s parent is the action span');
  } finally {
    cleanupClients();
    await t.stop();
    await new Promise<void>((r) => collector.close(() => r()));
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});
