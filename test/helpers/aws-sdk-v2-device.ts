// A device built on AWS's aws-iot-device-sdk-v2 (IotShadowClientv2 over the AWS Common Runtime's
// native MQTT 5 or MQTT 3.1.1 client), run as a child process and driven over stdin/stdout by
// test/integration/twins-aws-sdk.test.ts.
//
// Why a child process: after a mutual-TLS connection, aws-crt's native teardown either keeps the
// process alive (MQTT 5) or crashes it at exit (MQTT 3.1.1) even when every client, stream and
// request-response client was closed in the documented order (AWS's own tests run jest with
// --forceExit). Here that can only end this process; the test reads the answers it printed and
// kills it if it does not exit.
//
//   node --import tsx aws-sdk-v2-device.ts <5|311> <host> <port> <clientId> <certPath> <keyPath> <caPath>
// stdin, one JSON object per line:  {"id":1,"op":"getShadow","req":{…}} (any IotShadowClientv2 request
//                                   method), {"id":2,"op":"stream","kind":"delta"|"updated","req":{…}}
//                                   (opened; events follow), {"id":3,"op":"quit"}
// stdout, one JSON object per line: {"ready":true} | {"id":1,"ok":true,"result":…} |
//                                   {"id":1,"ok":false,"modeled":{…}|null,"error":"…"} | {"stream":2,"event":…}
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { iot, mqtt, mqtt5 } from 'aws-crt';
import { iotshadow } from 'aws-iot-device-sdk-v2';

const [version, host, portText, clientId, certPath, keyPath, caPath] = process.argv.slice(2);
const out = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const RR_OPTIONS = { maxRequestResponseSubscriptions: 6, maxStreamingSubscriptions: 4, operationTimeoutInSeconds: 10 };

async function connect(): Promise<{ shadow: iotshadow.IotShadowClientv2; stop: () => Promise<void> }> {
  const port = Number(portText);
  if (version === '5') {
    // As AWS's builder connects to AWS IoT Core: mTLS, and a username carrying only SDK metrics.
    const b = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(host!, certPath!, keyPath!);
    b.withPort(port).withCertificateAuthorityFromPath(undefined, caPath!).withConnectProperties({ clientId: clientId!, keepAliveIntervalSeconds: 60 });
    const client = new mqtt5.Mqtt5Client(b.build());
    const failed = once(client, 'connectionFailure').then(([e]) => {
      throw new Error(`connection failed: ${(e as { error?: Error }).error?.message} CONNACK ${JSON.stringify((e as { connack?: unknown }).connack)}`);
    });
    client.start();
    await Promise.race([once(client, 'connectionSuccess'), failed]);
    return {
      shadow: iotshadow.IotShadowClientv2.newFromMqtt5(client, RR_OPTIONS),
      stop: async () => {
        const stopped = once(client, 'stopped');
        client.stop();
        await stopped;
        client.close();
      },
    };
  }
  const b = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(certPath!, keyPath!);
  b.with_endpoint(host!).with_port(port).with_client_id(clientId!).with_clean_session(true).with_certificate_authority_from_path(undefined, caPath!);
  const conn = new mqtt.MqttClient().new_connection(b.build());
  await conn.connect();
  return { shadow: iotshadow.IotShadowClientv2.newFromMqtt311(conn, RR_OPTIONS), stop: () => conn.disconnect() };
}

async function main(): Promise<void> {
  const { shadow, stop } = await connect();
  const streams: Array<{ close(): void }> = [];
  out({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const cmd = JSON.parse(line) as { id: number; op: string; kind?: string; req?: Record<string, unknown> };
    if (cmd.op === 'quit') break;
    if (cmd.op === 'stream') {
      const req = cmd.req as { thingName: string; shadowName?: string };
      const named = req.shadowName !== undefined;
      // The stream's own typings overload on() per event name; one shape for both kinds here.
      const op: { open(): void; close(): void; on(ev: string, l: (e: any) => void): unknown } =
        cmd.kind === 'delta'
          ? named
            ? shadow.createNamedShadowDeltaUpdatedStream(req as iotshadow.model.NamedShadowDeltaUpdatedSubscriptionRequest)
            : shadow.createShadowDeltaUpdatedStream(req)
          : named
            ? shadow.createNamedShadowUpdatedStream(req as iotshadow.model.NamedShadowUpdatedSubscriptionRequest)
            : shadow.createShadowUpdatedStream(req);
      streams.push(op);
      op.on('incomingPublish', (e: { message: unknown }) => out({ stream: cmd.id, event: e.message }));
      op.on('subscriptionStatus', (e: { type: number; error?: { error_name?: string } }) => {
        if (e.type === 0) out({ id: cmd.id, ok: true, result: null });
        else out({ id: cmd.id, ok: false, modeled: null, error: `subscription status ${e.type}: ${e.error?.error_name ?? ''}` });
      });
      op.open();
      continue;
    }
    const method = (shadow as unknown as Record<string, (r: unknown) => Promise<unknown>>)[cmd.op];
    if (typeof method !== 'function') {
      out({ id: cmd.id, ok: false, modeled: null, error: `no request ${cmd.op}` });
      continue;
    }
    method.call(shadow, cmd.req).then(
      (result) => out({ id: cmd.id, ok: true, result }),
      (e: { modeledError?: unknown; message?: string }) => out({ id: cmd.id, ok: false, modeled: e.modeledError ?? null, error: e.message ?? String(e) }),
    );
  }
  for (const s of streams) s.close();
  shadow.close();
  await stop();
  out({ closed: true });
  process.exit(0);
}

main().catch((e: Error) => {
  out({ fatal: e.message });
  process.exit(1);
});
