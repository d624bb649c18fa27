// The rule dry run (POST /api/v1/rules/test, `twinhub rule test`): what a prepared rule does with
// one message, without running anything — whether the topic matches, the rows it outputs (for a
// windowed rule, the windows this one message would close in a fresh window state), the actions
// that would run with their templates rendered, and the alert clears it satisfies. It evaluates
// with the same compiled rule and the same template contexts as the engine's message path
// (rule-runtime.ts rowContext), so what it shows is what a live message would do.
import { planAction, type ActionPlan } from './actions/plan.js';
import type { PreparedRule } from './prepare.js';
import { MessageContext, rowContext } from './rule-runtime.js';
import type { RuleFileError } from './rule-file.js';
import type { RuleInput } from './sql/index.js';
import { topicMatches } from '../router/topic.js';

export interface RuleTestMessage {
  topic: string;
  /** A string is the payload's text; any other JSON value is sent as its JSON text. */
  payload?: unknown;
  payloadBase64?: string;
  clientid?: string;
  deviceid?: string;
  qos?: number;
  retain?: boolean;
  timestamp?: number;
  userProperties?: Record<string, string>;
  device?: RuleInput['device'];
  twin?: RuleInput['twin'];
}

export interface RuleTestResult {
  /** Whether the topic matched a FROM filter. */
  matched: boolean;
  /** The output rows (one for a plain rule when WHERE passed; windowed rules: windows the message closed). */
  rows: Record<string, unknown>[];
  /** Per row, the actions that would run (templates rendered), or why one could not. */
  actions: Array<{ row: number; index: number; kind: string; plan?: ActionPlan; error?: string }>;
  /** Alert clear conditions the message satisfies, with the keys they would clear. */
  clears: Array<{ index: number; key: string }>;
}

/** Where the dry run reads what the rule needs and the message did not give. */
export interface DryRunLookups {
  device(id: string): Promise<RuleInput['device']>;
  twin(id: string): Promise<RuleInput['twin']>;
}

/** What `rule` (prepared, valid) does with the message `m` at `now`; nothing is executed. */
export async function dryRun(
  rule: PreparedRule,
  m: RuleTestMessage,
  now: number,
  lookups: DryRunLookups,
): Promise<{ ok: true; result: RuleTestResult } | { ok: false; errors: RuleFileError[] }> {
  let payload: Buffer;
  if (m.payloadBase64 !== undefined) payload = Buffer.from(m.payloadBase64, 'base64');
  else if (typeof m.payload === 'string') payload = Buffer.from(m.payload);
  else payload = m.payload === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(m.payload));
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    json = undefined;
  }
  const input: RuleInput = {
    topic: m.topic,
    payload,
    json,
    qos: m.qos ?? 0,
    retain: m.retain ?? false,
    clientId: m.clientid ?? m.deviceid ?? '',
    deviceId: m.deviceid,
    timestamp: m.timestamp ?? now,
    userProperties: m.userProperties ?? {},
  };
  const needs = rule.compiled.needs;
  if (m.device !== undefined) input.device = m.device;
  else if (needs.device && m.deviceid !== undefined) input.device = await lookups.device(m.deviceid);
  if (m.twin !== undefined) input.twin = m.twin;
  else if (needs.twin && m.deviceid !== undefined) {
    const twin = await lookups.twin(m.deviceid);
    if (twin !== undefined) input.twin = twin;
  }
  const matched = rule.compiled.from.some((f) => topicMatches(f, m.topic));
  const result: RuleTestResult = { matched, rows: [], actions: [], clears: [] };
  if (!matched) return { ok: true, result };
  const ctx = new MessageContext(input, 0, now);
  for (const { action, conditions } of rule.clears) {
    const i = rule.compiled.from.findIndex((f) => topicMatches(f, m.topic));
    const row = i >= 0 ? conditions[i]?.evaluate(input) : undefined;
    if (row !== undefined) {
      try {
        const plan = planAction(action, row, ctx);
        if (plan.kind === 'alert') result.clears.push({ index: action.index, key: plan.key });
      } catch {
        // An empty key clears nothing.
      }
    }
  }
  try {
    if (rule.compiled.windowed) result.rows = rule.compiled.createWindows().add(input, now);
    else {
      const row = rule.compiled.evaluate(input);
      if (row !== undefined) result.rows = [row];
    }
  } catch (err) {
    return { ok: false, errors: [{ path: 'sql', message: `evaluation failed: ${(err as Error).message}` }] };
  }
  result.rows.forEach((row, r) => {
    const c = rule.compiled.windowed ? rowContext(rule.compiled, row, ctx, 0) : ctx;
    for (const a of rule.spec.actions) {
      try {
        result.actions.push({ row: r, index: a.index, kind: a.kind, plan: planAction(a, row, c) });
      } catch (err) {
        result.actions.push({ row: r, index: a.index, kind: a.kind, error: (err as Error).message });
      }
    }
  });
  return { ok: true, result };
}
