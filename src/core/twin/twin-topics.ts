// The reserved shadow topics ("Device Shadow MQTT topics", AWS IoT Developer Guide):
//   classic: $aws/things/{thingName}/shadow/{get|update|delete}
//   named:   $aws/things/{thingName}/shadow/name/{shadowName}/{get|update|delete}
// Responses go to the request topic + /accepted or /rejected; an accepted update also publishes
// {prefix}/update/delta and {prefix}/update/documents.

export type ShadowOp = 'get' | 'update' | 'delete';

export interface ShadowRequestTopic {
  readonly thing: string;
  /** '' for the classic (unnamed) shadow. */
  readonly shadow: string;
  readonly op: ShadowOp;
  /** The ShadowTopicPrefix: `$aws/things/{thing}/shadow` or `…/shadow/name/{shadow}`. */
  readonly prefix: string;
}

export const SHADOW_TOPIC_START = '$aws/things/';

/**
 * The request a topic names, or null when it is not a shadow request topic (response topics such
 * as …/update/accepted included, so the service ignores its own messages). Names are returned as
 * they are; the caller validates them (validateThingName, validateShadowName).
 */
export function parseShadowRequestTopic(topic: string): ShadowRequestTopic | null {
  if (!topic.startsWith(SHADOW_TOPIC_START)) return null;
  const levels = topic.split('/');
  if (levels[3] !== 'shadow') return null;
  let op: string | undefined;
  let shadow: string;
  if (levels.length === 5) {
    op = levels[4];
    shadow = '';
  } else if (levels.length === 7 && levels[4] === 'name') {
    op = levels[6];
    shadow = levels[5]!;
  } else {
    return null;
  }
  if (op !== 'get' && op !== 'update' && op !== 'delete') return null;
  return { thing: levels[2]!, shadow, op, prefix: topic.slice(0, topic.length - op.length - 1) };
}

/** The ShadowTopicPrefix of a shadow ('' = classic). */
export function shadowTopicPrefix(thing: string, shadow: string): string {
  return shadow === '' ? `${SHADOW_TOPIC_START}${thing}/shadow` : `${SHADOW_TOPIC_START}${thing}/shadow/name/${shadow}`;
}

/** Whether a name can be one topic level (no separators or wildcards, not empty). */
export function isTopicLevel(s: string): boolean {
  return s.length > 0 && !/[/+#\u0000]/.test(s);
}
