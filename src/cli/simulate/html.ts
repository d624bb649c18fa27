// `--report FILE.html`: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
// with the summary and charts of rates, connections, latency and errors over time.
import type { LatencySummary } from '../bench/histogram.js';
import type { SimReport, TimelinePoint } from './report.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A round step for about `target` ticks over [0, max]: 1, 2 or 5 times a power of ten. */
export function niceStep(max: number, target = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

export interface Series {
  name: string;
  color: string;
  /** y per x; null leaves a gap. */
  points: [number, number | null][];
}

const W = 760;
const H = 240;
const PAD = { left: 64, right: 16, top: 28, bottom: 36 };

function fmtTick(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (Math.abs(v) >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toPrecision(4));
}

/** A line chart as an SVG element. */
export function lineChart(title: string, unit: string, series: Series[], xMax: number, markX?: number): string {
  const all = series.flatMap((s) => s.points.map((p) => p[1]).filter((y): y is number => y !== null && Number.isFinite(y)));
  const yTop = Math.max(1e-9, ...all, 0);
  const step = niceStep(yTop);
  const yMax = Math.max(step, Math.ceil(yTop / step) * step);
  const xm = Math.max(1, xMax);
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const X = (x: number): number => PAD.left + (x / xm) * pw;
  const Y = (y: number): number => PAD.top + ph - (y / yMax) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">`);
  parts.push(`<title>${escapeHtml(title)}</title>`);
  parts.push(`<text x="${PAD.left}" y="18" class="t">${escapeHtml(title)}${unit ? ` (${escapeHtml(unit)})` : ''}</text>`);
  for (let y = 0; y <= yMax + step / 2; y += step) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${Y(y).toFixed(1)}" y2="${Y(y).toFixed(1)}" class="g"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(Y(y) + 4).toFixed(1)}" class="yl">${fmtTick(y)}</text>`);
  }
  const xStep = niceStep(xm, 8);
  for (let x = 0; x <= xm + 1e-9; x += xStep) {
    parts.push(`<text x="${X(x).toFixed(1)}" y="${H - PAD.bottom + 16}" class="xl">${fmtTick(x)}</text>`);
  }
  parts.push(`<text x="${W - PAD.right}" y="${H - 4}" class="xl" text-anchor="end">seconds</text>`);
  if (markX !== undefined && markX <= xm) {
    parts.push(`<line x1="${X(markX).toFixed(1)}" x2="${X(markX).toFixed(1)}" y1="${PAD.top}" y2="${PAD.top + ph}" class="m"/>`);
  }
  parts.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + ph}" class="a"/>`);
  parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + ph}" y2="${PAD.top + ph}" class="a"/>`);
  series.forEach((s, i) => {
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`;
      pen = true;
    }
    if (d !== '') parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"><title>${escapeHtml(s.name)}</title></path>`);
    const lx = PAD.left + 8 + i * 150;
    parts.push(`<rect x="${lx}" y="${PAD.top + 4}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${PAD.top + 13}" class="lg">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

function latencyRow(name: string, s: LatencySummary | null): string {
  if (s === null) return `<tr><th>${name}</th><td colspan="6">none measured</td></tr>`;
  return `<tr><th>${name}</th><td>${s.count.toLocaleString('en-US')}</td><td>${s.p50}</td><td>${s.p90}</td><td>${s.p99}</td><td>${s.p999}</td><td>${s.max}</td></tr>`;
}

function series(tl: TimelinePoint[], name: string, color: string, f: (p: TimelinePoint) => number | null): Series {
  return { name, color, points: tl.map((p) => [p.t, f(p)]) };
}

export function renderHtml(r: SimReport): string {
  const tl = r.timeline;
  const xMax = Math.max(r.durationS, ...tl.map((p) => p.t));
  const m = r.messages;
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const charts = [
    lineChart('Messages per second', 'msg/s', [series(tl, 'sent', '#2563eb', (p) => p.sent), series(tl, 'acknowledged', '#16a34a', (p) => p.acked)], xMax, r.durationS),
    lineChart('Devices connected', 'devices', [series(tl, 'connected', '#7c3aed', (p) => p.connected)], xMax, r.durationS),
    lineChart(
      'Latency',
      'ms',
      [
        series(tl, 'publish ack p50', '#0891b2', (p) => p.pubAckP50),
        series(tl, 'publish ack p99', '#1e3a8a', (p) => p.pubAckP99),
        series(tl, 'command p50', '#f59e0b', (p) => p.commandP50),
        series(tl, 'command p99', '#b45309', (p) => p.commandP99),
      ],
      xMax,
      r.durationS,
    ),
    lineChart(
      'Connections and errors per second',
      'per s',
      [series(tl, 'connects', '#16a34a', (p) => p.connects), series(tl, 'disconnects', '#64748b', (p) => p.disconnects), series(tl, 'errors', '#dc2626', (p) => p.errors)],
      xMax,
      r.durationS,
    ),
  ];
  const errs = r.errors.messages.map((e) => `<tr><td>${n(e.count)}</td><td>${escapeHtml(e.message)}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>twinhub simulate — ${escapeHtml(r.profile)} × ${r.devices}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#111;max-width:820px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}th{text-align:left;font-weight:600}
svg{display:block;margin:12px 0;background:#fafafa;border:1px solid #e5e5e5}
svg .t{font-size:13px;font-weight:600}svg .g{stroke:#e5e5e5}svg .a{stroke:#888}svg .m{stroke:#999;stroke-dasharray:4 3}
svg .yl{font-size:11px;text-anchor:end;fill:#555}svg .xl{font-size:11px;text-anchor:middle;fill:#555}svg .lg{font-size:11px;fill:#333}
</style></head><body>
<h1>twinhub simulate: ${n(r.devices)} devices, profile ${escapeHtml(r.profile)}</h1>
<p>Target ${escapeHtml(r.target)} (MQTT ${r.protocol === 5 ? '5.0' : '3.1.1'}), started ${escapeHtml(r.startedAt)}, ${r.durationS} s of traffic (${r.elapsedS} s with the drain), ${r.workers} process${r.workers === 1 ? '' : 'es'}, seed ${r.seed}. Ramp ${r.settings.ramp} s, chaos ${r.settings.chaos ? 'on' : 'off'}, ${r.settings.commandRate} commands/s. The dashed line marks the end of the traffic.</p>
<table>
<tr><th>Connections</th><td>peak ${n(r.connections.peak)}, connects ${n(r.connections.connects)} of ${n(r.connections.attempts)} attempts, failed ${n(r.connections.failures)}</td></tr>
<tr><th>Disconnects</th><td>churn ${n(r.connections.disconnects.churn)}, chaos ${n(r.connections.disconnects.chaos)}, by the broker ${n(r.connections.disconnects.broker)}</td></tr>
<tr><th>Messages sent</th><td>${n(m.sent)}: telemetry ${n(m.byKind.telemetry)}, heartbeat ${n(m.byKind.heartbeat)}, burst ${n(m.byKind.burst)}, twin ${n(m.byKind.twin)}, reply ${n(m.byKind.reply)}</td></tr>
<tr><th>Rate</th><td>${n(m.ratePerSecond.mean)} msg/s mean, ${n(m.ratePerSecond.peak)} peak</td></tr>
<tr><th>QoS 1/2</th><td>${n(m.needingAck)}: acknowledged ${n(m.acked)}, refused ${n(m.rejected)}, unacknowledged ${n(m.unacked)}, skipped ${n(m.skipped)}</td></tr>
<tr><th>Commands</th><td>received ${n(r.commands.received)}, replied ${n(r.commands.replied)}; issued ${n(r.commands.issued)}, answered ${n(r.commands.answered)}, timed out ${n(r.commands.timedOut)}</td></tr>
<tr><th>Errors</th><td>${n(r.errors.total)}</td></tr>
</table>
<h2>Latency (ms)</h2>
<table><tr><th></th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
${latencyRow('connect (CONNACK)', r.connections.connectMs)}
${latencyRow('publish ack', r.publishAckMs)}
${latencyRow('command round trip', r.commands.roundTripMs)}
</table>
<h2>Over time</h2>
${charts.join('\n')}
${errs === '' ? '' : `<h2>Errors</h2><table><tr><th>count</th><th>message</th></tr>${errs}</table>`}
</body></html>
`;
}
