// Relations between two topic filters, for authorizing subscriptions: does one filter match every
// topic another can match (covers), and can some topic match both (intersect)? Both take valid,
// non-shared topic filters (MQTT 5.0 §4.7). A SUBSCRIBE is checked once, so these split the
// filters into levels rather than walk indexes like the publish-path matcher.
//
// "Topic" below means a valid topic name: at least one character [MQTT-4.7.3-1], no wildcards;
// the empty string, which topicMatches would let '+', '#', '/#' and '+/#' match, is not one.
// A filter whose first character is a wildcard matches no topic starting with '$'
// [MQTT-4.7.2-1]; a filter starts with '$' only through a literal first level, and then every
// topic it matches starts with '$'.

const DOLLAR = 0x24; // '$'
const PLUS = 0x2b; // '+'
const HASH = 0x23; // '#'

function startsWithWildcard(filter: string): boolean {
  const c = filter.charCodeAt(0);
  return c === PLUS || c === HASH;
}

/** True when `rule` matches every topic that `filter` can match. */
export function filterCovers(rule: string, filter: string): boolean {
  // The filter's topics all start with '$'; the rule matches none of them [MQTT-4.7.2-1].
  if (filter.charCodeAt(0) === DOLLAR && startsWithWildcard(rule)) return false;
  const r = rule.split('/');
  const f = filter.split('/');
  for (let i = 0; ; i++) {
    const rl = r[i];
    const fl = f[i];
    // '#' matches the remaining levels, however many, and also none (the parent level).
    if (rl === '#') return true;
    if (rl === undefined) return fl === undefined;
    if (fl === undefined) return false; // the rule needs a level these topics do not have
    if (fl === '#') {
      // The filter matches this prefix with any number of further levels, including none, which
      // only a rule '#' here covers. Except when the prefix is necessarily the empty string (the
      // filters '#' and '/#'): that is not a topic, so there are one or more further levels and
      // a rule '+/#' here covers them too ('+/#' covers '#', '/+/#' covers '/#').
      const emptyPrefix = i === 0 || (i === 1 && f[0] === '');
      return emptyPrefix && rl === '+' && r.length === i + 2 && r[i + 1] === '#';
    }
    if (rl === '+') continue; // any single level, including one the filter's '+' stands for
    if (fl === '+' || rl !== fl) return false;
  }
}

/** True when some topic matches both filters. Symmetric. */
export function filtersIntersect(a: string, b: string): boolean {
  // A '$' topic can match only the filter with the literal '$' level [MQTT-4.7.2-1].
  if (startsWithWildcard(a) && b.charCodeAt(0) === DOLLAR) return false;
  if (startsWithWildcard(b) && a.charCodeAt(0) === DOLLAR) return false;
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === '#' || q === '#') {
      // '#' absorbs whatever the other has left, including nothing (the parent level). When the
      // other has ended after a level that one of them fixes as '', the only common topic is
      // the empty string, which is not a topic ('+' and '/#' share no topic).
      return !(i === 1 && (p === undefined || q === undefined) && (x[0] === '' || y[0] === ''));
    }
    if (p === undefined || q === undefined) return p === q;
    if (p !== '+' && q !== '+' && p !== q) return false;
  }
}
