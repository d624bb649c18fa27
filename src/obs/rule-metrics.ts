// Prometheus metrics of the rule engine, read at scrape time: per rule (labelled by rule id: rules
// are few and named by operators, so the label stays low-cardinality), per priority lane, and the
// webhook queue and circuit breakers.
import type { RuleEngine } from '../core/rules/engine.js';
import type { RuleCounters } from '../core/rules/rule-runtime.js';
import { perTurn } from './metrics.js';
import type { Collector, HubMetrics, Sample } from './metrics.js';

export function addRuleMetrics(metrics: HubMetrics, engine: RuleEngine): () => void {
  // One list() and one stats() per scrape, shared by the collectors that read them.
  const list = perTurn((e: RuleEngine) => e.list());
  const statsOf = perTurn((e: RuleEngine) => e.stats());
  const perRule = (pick: (c: RuleCounters) => number): (() => Sample[]) => () => list(engine).map((r) => ({ labels: { rule: r.id }, value: pick(r.counters) }));
  const stats = () => statsOf(engine);
  const collectors: Collector[] = [
    { name: 'twinhub_rule_messages_matched_total', help: 'Messages whose topic matched a rule\'s FROM filter.', type: 'counter', read: perRule((c) => c.matched) },
    { name: 'twinhub_rule_messages_passed_total', help: 'Rule output rows (messages past WHERE, or closed windows).', type: 'counter', read: perRule((c) => c.passedWhere) },
    { name: 'twinhub_rule_actions_succeeded_total', help: 'Rule actions that succeeded.', type: 'counter', read: perRule((c) => c.actionsOk) },
    { name: 'twinhub_rule_actions_failed_total', help: 'Rule actions that failed (after retries).', type: 'counter', read: perRule((c) => c.actionsFailed) },
    { name: 'twinhub_rule_actions_dropped_total', help: 'Rule actions dropped by a full priority lane.', type: 'counter', read: perRule((c) => c.actionsDropped) },
    { name: 'twinhub_rule_evaluation_errors_total', help: 'Rule evaluations that failed at run time.', type: 'counter', read: perRule((c) => c.evalErrors) },
    { name: 'twinhub_rule_evaluation_seconds_total', help: 'Time spent evaluating each rule.', type: 'counter', read: perRule((c) => c.evalTimeSumUs / 1e6) },
    { name: 'twinhub_rule_evaluations_total', help: 'Rule evaluations.', type: 'counter', read: perRule((c) => c.evalCount) },
    { name: 'twinhub_rules', help: 'Rules by state.', type: 'gauge', read: () => { const s = stats(); return [{ labels: { state: 'active' }, value: s.active }, { labels: { state: 'invalid' }, value: s.invalid }, { labels: { state: 'disabled' }, value: s.rules - s.active - s.invalid }]; } },
    { name: 'twinhub_rule_loop_dropped_total', help: 'Messages dropped at the rule hop limit (rules.maxHops).', type: 'counter', read: () => [{ value: stats().loopDropped }] },
    { name: 'twinhub_rule_lane_depth', help: 'Actions waiting per priority lane.', type: 'gauge', read: () => stats().lanes.map((l) => ({ labels: { priority: l.priority }, value: l.depth })) },
    { name: 'twinhub_rule_lane_dropped_total', help: 'Actions refused per priority lane because it was full.', type: 'counter', read: () => stats().lanes.map((l) => ({ labels: { priority: l.priority }, value: l.dropped })) },
    { name: 'twinhub_webhook_requests_total', help: 'Webhook requests by outcome.', type: 'counter', read: () => { const w = stats().webhook; return [{ labels: { outcome: 'succeeded' }, value: w.succeeded }, { labels: { outcome: 'failed' }, value: w.failed }, { labels: { outcome: 'retried' }, value: w.retries }]; } },
    { name: 'twinhub_webhook_queue_overflow_total', help: 'Webhook calls refused because the queue was full.', type: 'counter', read: () => [{ value: stats().webhook.overflow }] },
    { name: 'twinhub_webhook_queued', help: 'Webhook calls queued or waiting for a retry.', type: 'gauge', read: () => { const w = stats().webhook; return [{ value: w.queued + w.waitingRetry }]; } },
    { name: 'twinhub_alerts_open', help: 'Open alerts.', type: 'gauge', read: () => [{ value: stats().alerts.open }] },
    { name: 'twinhub_rule_window_keys', help: 'Group keys held by windowed rules.', type: 'gauge', read: () => [{ value: stats().windows.keys }] },
    { name: 'twinhub_rule_window_memory_bytes', help: 'Estimated memory of windowed rule state.', type: 'gauge', read: () => [{ value: stats().windows.memoryBytes }] },
  ];
  const removers = collectors.map((c) => metrics.addCollector(c));
  return () => {
    for (const r of removers) r();
  };
}
