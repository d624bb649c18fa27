// Topic names and topic filters: validation, shared-subscription parsing and the reference
// matcher (MQTT 5.0 §4.7, §4.8.2; MQTT 3.1.1 §4.7). Pure functions, no allocation on the match
// path. Comparisons are exact code-unit comparisons: the Server MUST NOT normalize topic names or
// filters [MQTT-4.7.3-4].

const SLASH = 0x2f; // '/'
const PLUS = 0x2b; // '+'
const HASH = 0x23; // '#'
const DOLLAR = 0x24; // '$'

/** The prefix that marks a shared subscription (MQTT 5.0 §4.8.2). */
export const SHARE_PREFIX = '$share/';

/** Largest UTF-8 encoded string length MQTT can carry [MQTT-4.7.3-3] (§1.5.4). */
const MAX_UTF8_BYTES = 65535;

/**
 * UTF-8 byte length exceeds 65535? One UTF-16 code unit encodes to at most 3 UTF-8 bytes (a
 * surrogate pair: 2 units → 4 bytes), so strings up to 21845 units cannot exceed it and skip the
 * count entirely.
 */
function tooLong(s: string): boolean {
  return s.length > MAX_UTF8_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_UTF8_BYTES;
}

/**
 * Checks a topic name (the topic of a PUBLISH, will or retained message). Returns null when valid,
 * else a short reason for logs and MQTT 5 reason strings (Topic Name invalid, 0x90).
 */
const TOO_MANY_LEVELS = ' levels';

/** Whether an error of validateTopicName/validateTopicFilter is the level limit (counted as a limit hit). */
export function exceedsMaxLevels(error: string): boolean {
  return error.endsWith(TOO_MANY_LEVELS);
}

export function validateTopicName(topic: string, maxLevels: number): string | null {
  const n = topic.length;
  // [MQTT-4.7.3-1] all topic names are at least one character long.
  if (n === 0) return 'topic name is empty';
  if (tooLong(topic)) return 'topic name longer than 65535 bytes'; // [MQTT-4.7.3-3]
  let levels = 1;
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    if (c === SLASH) levels++;
    // [MQTT-3.3.2-2] [MQTT-4.7.0-1] wildcards are not allowed in a topic name.
    else if (c === PLUS || c === HASH) return 'topic name contains a wildcard';
    // [MQTT-4.7.3-2] [MQTT-1.5.4-2] no null character.
    else if (c === 0) return 'topic name contains U+0000';
  }
  if (levels > maxLevels) return `topic name has more than ${maxLevels}${TOO_MANY_LEVELS}`;
  return null;
}

/**
 * Checks a topic filter of SUBSCRIBE/UNSUBSCRIBE, including the shared form
 * `$share/{ShareName}/{filter}`. Returns null when valid, else a short reason (Topic Filter
 * invalid, 0x8F). `maxLevels` applies to the filter that is matched (after `$share/{ShareName}/`).
 */
export function validateTopicFilter(filter: string, maxLevels: number): string | null {
  // [MQTT-4.7.3-1] all topic filters are at least one character long.
  if (filter.length === 0) return 'topic filter is empty';
  if (tooLong(filter)) return 'topic filter longer than 65535 bytes'; // [MQTT-4.7.3-3]
  let start = 0;
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf('/', SHARE_PREFIX.length);
    const nameEnd = slash < 0 ? filter.length : slash;
    // [MQTT-4.8.2-1] the ShareName is at least one character long.
    if (nameEnd === SHARE_PREFIX.length) return 'shared subscription has an empty ShareName';
    for (let i = SHARE_PREFIX.length; i < nameEnd; i++) {
      const c = filter.charCodeAt(i);
      // [MQTT-4.8.2-2] the ShareName contains no '/', '+' or '#' ('/' ends it).
      if (c === PLUS || c === HASH) return 'ShareName contains a wildcard';
      if (c === 0) return 'topic filter contains U+0000';
    }
    // [MQTT-4.8.2-2] the ShareName is followed by '/' and a topic filter.
    if (slash < 0 || slash === filter.length - 1) return 'shared subscription has no topic filter';
    start = slash + 1;
  }
  return checkFilterLevels(filter, start, maxLevels);
}

/** Wildcard placement, null characters and the level count of filter[start..]. */
function checkFilterLevels(filter: string, start: number, maxLevels: number): string | null {
  const n = filter.length;
  let levels = 1;
  let levelStart = start;
  for (let i = start; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === SLASH) {
      levels++;
      levelStart = i + 1;
    } else if (c === HASH) {
      // [MQTT-4.7.1-2] '#' stands alone in its level and is the filter's last character.
      if (i !== levelStart || i !== n - 1) return "'#' must be the last level, alone";
    } else if (c === PLUS) {
      // [MQTT-4.7.1-3] '+' occupies an entire level.
      if (i !== levelStart || (i + 1 < n && filter.charCodeAt(i + 1) !== SLASH)) {
        return "'+' must occupy a whole level";
      }
    } else if (c === 0) {
      return 'topic filter contains U+0000'; // [MQTT-4.7.3-2]
    }
  }
  if (levels > maxLevels) return `topic filter has more than ${maxLevels}${TOO_MANY_LEVELS}`;
  return null;
}

/**
 * Splits `$share/{group}/{filter}` (MQTT 5.0 §4.8.2). Returns null for a filter that is not a
 * well-formed shared subscription; callers validate with validateTopicFilter first.
 */
export function parseShared(filter: string): { group: string; filter: string } | null {
  if (!filter.startsWith(SHARE_PREFIX)) return null;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash <= SHARE_PREFIX.length || slash === filter.length - 1) return null;
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) };
}

/**
 * Does a (valid, non-shared) topic filter match a topic name? The reference matcher that the
 * trie and the retained index are tested against.
 *
 * - A filter starting with a wildcard does not match a topic starting with '$' [MQTT-4.7.2-1].
 * - 'sport/#' matches 'sport': '#' also matches the parent level (MQTT 5.0 §4.7.1.2).
 * - Empty levels are levels: 'a//b' has three, '/a' two (§4.7.3).
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === DOLLAR) {
    const f0 = filter.charCodeAt(0);
    if (f0 === HASH || f0 === PLUS) return false; // [MQTT-4.7.2-1]
  }
  const fl = filter.length;
  const tl = topic.length;
  let fi = 0; // start of the current filter level
  let ti = 0; // start of the current topic level; tl + 1 once the topic has no levels left
  for (;;) {
    let fe = filter.indexOf('/', fi);
    if (fe < 0) fe = fl;
    const isHash = fe - fi === 1 && filter.charCodeAt(fi) === HASH;
    // '#' matches this level and everything below, or no level at all (the parent) [MQTT-4.7.1-2].
    if (isHash) return true;
    if (ti > tl) return false; // the filter has a level the topic lacks
    let te = topic.indexOf('/', ti);
    if (te < 0) te = tl;
    if (!(fe - fi === 1 && filter.charCodeAt(fi) === PLUS)) {
      const len = fe - fi;
      if (len !== te - ti) return false;
      for (let k = 0; k < len; k++) {
        if (filter.charCodeAt(fi + k) !== topic.charCodeAt(ti + k)) return false;
      }
    }
    if (fe === fl) return te === tl; // the filter ended: the topic must end too
    fi = fe + 1;
    ti = te + 1;
  }
}
