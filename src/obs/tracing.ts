// Traces with OpenTelemetry (issue 7): a message's path through the hub — publish → route →
// rule → action → webhook — as one trace, continuing the W3C `traceparent` a client sent in an
// MQTT 5 user property and handing the hub's own span on to subscribers and webhooks the same way.
//
// Off and free when no OTLP endpoint is configured: `enabled` is false, nothing listens on the
// message path and every method returns at its first line. On, a message is traced when its
// traceparent says "sampled", or, without one, with probability `sampleRatio` (W3C Trace Context
// §3.2; parent-based sampling as OpenTelemetry's ParentBased sampler).
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Attributes, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Broker } from '../core/broker/broker.js';
import type { Message } from '../core/message.js';

export interface TracingConfig {
  /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces; null turns tracing off. */
  otlpEndpoint: string | null;
  serviceName: string;
  /** Probability of tracing a message that arrives without a traceparent. */
  sampleRatio: number;
}

export const TRACEPARENT = 'traceparent';
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The remote parent a W3C traceparent names, or undefined when it is absent or malformed (§3.2.2). */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (value === undefined) return undefined;
  const m = TRACEPARENT_RE.exec(value.trim());
  if (m === null || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & 1, isRemote: true };
}

export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-0${ctx.traceFlags & TraceFlags.SAMPLED}`;
}

function userProperty(msg: Message, key: string): string | undefined {
  const ups = msg.properties?.userProperties;
  if (ups === undefined) return undefined;
  for (const [k, v] of ups) if (k === key) return v;
  return undefined;
}

export class Tracing {
  readonly enabled: boolean;
  private readonly tracer: Tracer | undefined;
  private readonly provider: BasicTracerProvider | undefined;
  private readonly spans = new WeakMap<Message, Span>();
  private off: (() => void) | undefined;

  private constructor(private readonly cfg: TracingConfig, exporter: SpanExporter | undefined, sync: boolean) {
    this.enabled = exporter !== undefined;
    if (exporter === undefined) return;
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': cfg.serviceName }),
      // Spans are exported in batches off the message path; tests export synchronously.
      spanProcessors: [sync ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
    });
    this.tracer = this.provider.getTracer('twinhub');
  }

  /** Tracing as configured: off without an endpoint. */
  static fromConfig(cfg: TracingConfig): Tracing {
    return new Tracing(cfg, cfg.otlpEndpoint === null ? undefined : new OTLPTraceExporter({ url: cfg.otlpEndpoint }), false);
  }

  /** Tracing into a given exporter, each span exported when it ends (tests). */
  static withExporter(cfg: Omit<TracingConfig, 'otlpEndpoint'>, exporter: SpanExporter): Tracing {
    return new Tracing({ ...cfg, otlpEndpoint: null }, exporter, true);
  }

  /**
   * Trace messages as the broker accepts them. The `publish` span's context replaces the
   * message's traceparent user property, so subscribers (and rules, webhooks) continue this trace.
   */
  attach(broker: Broker): void {
    if (!this.enabled || this.off !== undefined) return;
    this.off = broker.hooks.on('message.publish', (msg) => this.onPublish(msg));
  }

  private onPublish(msg: Message): void {
    const parent = parseTraceparent(userProperty(msg, TRACEPARENT));
    if (parent === undefined ? Math.random() >= this.cfg.sampleRatio : (parent.traceFlags & TraceFlags.SAMPLED) === 0) return;
    const ctx = parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent);
    const span = this.tracer!.startSpan(
      `publish ${msg.topic}`,
      {
        kind: SpanKind.CONSUMER,
        startTime: msg.receivedAt,
        attributes: {
          'messaging.system': 'mqtt',
          'messaging.destination.name': msg.topic,
          'messaging.operation.type': 'process',
          'messaging.message.body.size': msg.payload.length,
          'messaging.mqtt.qos': msg.qos,
          'messaging.mqtt.retain': msg.retain,
          'messaging.client.id': msg.origin.clientId,
          ...(msg.origin.deviceId === undefined ? {} : { 'twinhub.device.id': msg.origin.deviceId }),
        },
      },
      ctx,
    );
    this.spans.set(msg, span);
    // Hand this span on: subscribers get a traceparent naming it. The received frame no longer
    // matches the message, so it is not forwarded as is.
    const props = msg.properties ?? {};
    const ups = (props.userProperties ?? []).filter(([k]) => k !== TRACEPARENT);
    ups.push([TRACEPARENT, formatTraceparent(span.spanContext())]);
    msg.properties = { ...props, userProperties: ups };
    msg.frame = undefined;
    // Routing runs synchronously right after the message.publish listeners: the span ends then.
    queueMicrotask(() => span.end());
  }

  /** The span of a message the broker accepted, when it is traced. */
  spanOf(msg: Message): Span | undefined {
    return this.enabled ? this.spans.get(msg) : undefined;
  }

  /** A child span (rule evaluation, an action, a webhook call), or undefined when not traced. */
  child(name: string, parent: Span | undefined, attributes?: Attributes, kind: SpanKind = SpanKind.INTERNAL): Span | undefined {
    if (!this.enabled || parent === undefined) return undefined;
    return this.tracer!.startSpan(name, { kind, ...(attributes === undefined ? {} : { attributes }) }, trace.setSpan(ROOT_CONTEXT, parent));
  }

  /** The traceparent header value that continues `span` (W3C Trace Context §3.2). */
  traceparent(span: Span | undefined): string | undefined {
    return span === undefined ? undefined : formatTraceparent(span.spanContext());
  }

  async shutdown(): Promise<void> {
    this.off?.();
    this.off = undefined;
    await this.provider?.shutdown();
  }
}
