// What an action will do for one output row: its templates rendered, nothing executed. The engine
// executes plans; POST /api/v1/rules/test returns them (a dry run).
import type { ActionLogLevel, ActionSpec, Severity } from '../rule-file.js';
import { render, renderTree, type TemplateContext } from '../template.js';

export type ActionPlan =
  | { kind: 'republish'; topic: string; payload: string; qos: 0 | 1 | 2; retain: boolean }
  | { kind: 'webhook'; url: string; method: string; headers: Record<string, string>; body: string | undefined; timeoutMs: number; retries: number }
  | { kind: 'twin'; device: string; name: string; state: { desired?: unknown; reported?: unknown } }
  | { kind: 'alert'; key: string; severity: Severity; message: string | undefined }
  | { kind: 'log'; level: ActionLogLevel; row: Record<string, unknown> }
  | { kind: 'telemetry'; points: Array<{ device: string; metric: string; ts: number; value: number | boolean }> };

/** Thrown for a plan that cannot be carried out (no device id, no numeric field…): the action fails. */
export class ActionError extends Error {
  override name = 'ActionError';
}

export function planAction(action: ActionSpec, row: Record<string, unknown>, ctx: TemplateContext): ActionPlan {
  switch (action.kind) {
    case 'republish': {
      const topic = render(action.topic, row, ctx);
      if (topic === '') throw new ActionError(`republish: topic template ${JSON.stringify(action.topic.source)} rendered empty`);
      const payload = action.payload === undefined ? JSON.stringify(row) : render(action.payload, row, ctx);
      return { kind: 'republish', topic, payload, qos: action.qos, retain: action.retain };
    }
    case 'webhook': {
      const headers: Record<string, string> = {};
      for (const [k, t] of action.headers) headers[k] = render(t, row, ctx);
      let body: string | undefined;
      if (action.method !== 'GET') {
        body = action.body === undefined ? JSON.stringify(row) : render(action.body, row, ctx);
        if (action.body === undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      }
      const url = render(action.url, row, ctx);
      if (!/^https?:\/\//i.test(url)) throw new ActionError(`webhook: url rendered to ${JSON.stringify(url)}, not an http(s) URL`);
      return { kind: 'webhook', url, method: action.method, headers, body, timeoutMs: action.timeoutMs, retries: action.retries };
    }
    case 'twin': {
      const device = action.device === undefined ? (ctx.deviceId ?? '') : render(action.device, row, ctx);
      if (device === '') throw new ActionError('twin: no device (the message has no device id and the action names none)');
      const state: { desired?: unknown; reported?: unknown } = {};
      if (action.desired !== undefined) state.desired = renderTree(action.desired, row, ctx);
      if (action.reported !== undefined) state.reported = renderTree(action.reported, row, ctx);
      return { kind: 'twin', device, name: action.name, state };
    }
    case 'alert': {
      const key = render(action.key, row, ctx);
      if (key === '') throw new ActionError(`alert: key template ${JSON.stringify(action.key.source)} rendered empty`);
      return { kind: 'alert', key, severity: action.severity, message: action.message === undefined ? undefined : render(action.message, row, ctx) };
    }
    case 'log':
      return { kind: 'log', level: action.level, row };
    case 'telemetry': {
      const device = action.device === undefined ? (ctx.deviceId ?? '') : render(action.device, row, ctx);
      if (device === '') throw new ActionError('telemetry: no device (the message has no device id and the action names none)');
      const points: Array<{ device: string; metric: string; ts: number; value: number | boolean }> = [];
      const push = (metric: string, v: unknown): void => {
        if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') points.push({ device, metric, ts: ctx.timestamp, value: v });
      };
      if (action.metrics === undefined) for (const k of Object.keys(row)) push(k, row[k]);
      else for (const m of action.metrics) push(m.metric, row[m.field]);
      if (points.length === 0) throw new ActionError('telemetry: the output row has no number or boolean field to store');
      return { kind: 'telemetry', points };
    }
  }
}
