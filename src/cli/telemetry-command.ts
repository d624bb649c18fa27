// `twinhub telemetry …`: the time series of a running hub, over its HTTP API only
// (/api/v1/telemetry/query, /latest). Human tables by default, the API's JSON with --json, CSV
// streamed with --csv / `export`; exit codes in client/common.ts EXIT_CODES_HELP and docs/CLI.md.
import type { Command } from 'commander';
import { BULK_TIMEOUT_S, clientAction, clientCommand, collect, jsonText, parseTag, type ClientContext, type ClientOptions } from './client/common.js';
import { writeExport } from './client/bulk-io.js';
import { usageError } from './client/http.js';
import { renderTable, type Column } from './client/table.js';

type PointValue = number | boolean | string;

interface QueryAnswer {
  series: { device: string; metric: string; points: [number, PointValue][] }[];
}

interface LatestAnswer {
  latest: { device: string; metric: string; ts: number; value: PointValue }[];
}

interface Row {
  device: string;
  metric: string;
  ts: number;
  value: PointValue;
}

const AGGS = ['avg', 'min', 'max', 'sum', 'count', 'last', 'first', 'p50', 'p90', 'p99'];
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const COLUMNS: Column<Row>[] = [
  { header: 'DEVICE', value: (r) => r.device },
  { header: 'METRIC', value: (r) => r.metric },
  { header: 'TIME', value: (r) => isoTime(r.ts) },
  { header: 'VALUE', value: (r) => String(r.value) },
];

function isoTime(ts: number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}

/**
 * A time option as the API takes it (epoch ms or ISO 8601), or relative to now: `now`, `-1h`,
 * `now-30m` (units ms s m h d w). Relative times become epoch ms here.
 */
export function resolveTime(text: string, flag: string, now: number = Date.now()): string {
  const rel = /^(?:now)?(?:-(\d+(?:\.\d+)?)(ms|s|m|h|d|w))?$/.exec(text);
  if (rel !== null && text !== '') {
    if (rel[1] === undefined) return String(now);
    return String(Math.round(now - Number(rel[1]) * UNIT_MS[rel[2]!]!));
  }
  if (/^-?\d+$/.test(text) || /^\d{4}-\d{2}-\d{2}/.test(text)) return text; // the hub checks the details
  throw usageError(`${flag}: expected epoch milliseconds, ISO 8601 (2026-01-02T03:04:05Z), now, or a time ago such as -1h, got ${JSON.stringify(text)}`);
}

interface QueryOptions extends ClientOptions {
  device?: string[];
  metric?: string[];
  type?: string;
  group?: string;
  tag?: string[];
  from?: string;
  to?: string;
  step?: string;
  agg?: string;
  csv?: boolean;
}

/** The query string of GET /api/v1/telemetry/query from the options. */
export function queryParams(o: QueryOptions, now: number = Date.now()): Record<string, string | string[] | undefined> {
  if (o.agg !== undefined && !AGGS.includes(o.agg)) throw usageError(`--agg: expected one of ${AGGS.join(', ')}, got ${JSON.stringify(o.agg)}`);
  if (o.agg !== undefined && o.step === undefined) throw usageError('--agg needs --step (e.g. --step 60s --agg avg)');
  if (o.csv === true && o.json === true) throw usageError('--csv and --json: choose one');
  const tag = (o.tag ?? []).map((t) => {
    const [k, v] = parseTag(t);
    return `${k}:${v}`;
  });
  return {
    device: o.device,
    metric: o.metric,
    type: o.type,
    group: o.group,
    tag: tag.length > 0 ? tag : undefined,
    from: o.from === undefined ? undefined : resolveTime(o.from, '--from', now),
    to: o.to === undefined ? undefined : resolveTime(o.to, '--to', now),
    step: o.step,
    agg: o.agg,
  };
}

async function query(ctx: ClientContext, _args: string[], o: QueryOptions): Promise<void> {
  const params = queryParams(o);
  if (params.device === undefined && params.type === undefined && params.group === undefined && params.tag === undefined) {
    throw usageError('give --device (repeatable), or --type, --group or --tag to choose devices');
  }
  if (o.csv === true) {
    const res = await ctx.client.send('GET', '/api/v1/telemetry/query', { query: { ...params, format: 'csv' } });
    await writeExport(res, undefined);
    return;
  }
  const answer = await ctx.client.json<QueryAnswer>('GET', '/api/v1/telemetry/query', { query: params });
  if (ctx.json) {
    ctx.out(jsonText(answer));
    return;
  }
  const rows: Row[] = [];
  for (const s of answer.series) for (const [ts, value] of s.points) rows.push({ device: s.device, metric: s.metric, ts, value });
  ctx.out(renderTable(COLUMNS, rows));
  if (rows.length === 0) ctx.err('twinhub: no points in that range (the default range is the last hour: see --from/--to)\n');
}

async function latest(ctx: ClientContext, _args: string[], o: ClientOptions & { device?: string }): Promise<void> {
  const answer = await ctx.client.json<LatestAnswer>('GET', '/api/v1/telemetry/latest', { query: { device: o.device } });
  ctx.out(ctx.json ? jsonText(answer) : renderTable(COLUMNS, answer.latest));
}

async function exportCmd(ctx: ClientContext, _args: string[], o: QueryOptions & { output?: string }): Promise<void> {
  if (o.device === undefined || o.device.length === 0) throw usageError('--device is required (repeatable)');
  if (o.json === true) throw usageError('export writes CSV; --json does not apply');
  const now = Date.now();
  // The whole history by default (the query API's own default is the last hour).
  const params = queryParams({ ...o, from: o.from ?? '0', to: o.to ?? String(now) }, now);
  const res = await ctx.client.send('GET', '/api/v1/telemetry/query', { query: { ...params, format: 'csv' } });
  const lines = await writeExport(res, o.output);
  if (o.output !== undefined && o.output !== '-') ctx.err(`twinhub: wrote ${Math.max(0, lines - 1)} point(s) to ${o.output}\n`);
}

const TIME_HELP = 'epoch ms, ISO 8601, now, or ago: -1h, now-30m';

/** Adds `twinhub telemetry …` to the CLI. */
export function registerTelemetryCommand(program: Command): void {
  const telemetry = program.command('telemetry').description("read a running hub's telemetry over its HTTP API (--url, --key)");

  clientCommand(telemetry, 'query', 'points of series over a time range, raw or aggregated over steps')
    .option('--device <id>', 'a device (repeatable)', collect)
    .option('--metric <name>', 'a metric (repeatable; default every metric)', collect)
    .option('--type <type>', 'devices of this type (registry)')
    .option('--group <group>', 'devices of this group (registry)')
    .option('--tag <key=value>', 'devices with this tag (repeatable; registry)', collect)
    .option('--from <time>', `start (${TIME_HELP}; default: to − 1h)`)
    .option('--to <time>', `end (${TIME_HELP}; default: now)`)
    .option('--step <duration>', 'bucket width: 60s, 5m, 1h, 1d')
    .option('--agg <agg>', `aggregation per step: ${AGGS.join(' ')} (default avg)`)
    .option('--csv', 'stream CSV (device,metric,ts,value) instead of a table')
    .action(clientAction(query, BULK_TIMEOUT_S));

  clientCommand(telemetry, 'latest', 'the newest value of each metric, per device')
    .option('--device <id>', 'only this device')
    .action(clientAction(latest));

  clientCommand(telemetry, 'export', 'stream the points of devices as CSV (device,metric,ts,value), the whole history by default')
    .option('--device <id>', 'a device (repeatable; required)', collect)
    .option('--metric <name>', 'a metric (repeatable; default every metric)', collect)
    .option('--from <time>', `start (${TIME_HELP}; default: the beginning)`)
    .option('--to <time>', `end (${TIME_HELP}; default: now)`)
    .option('-o, --output <file>', 'write to a file (complete or absent) instead of stdout')
    .action(clientAction(exportCmd, BULK_TIMEOUT_S));
}
