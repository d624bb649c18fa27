// A topic-filter trie: (filter, key) → value, matched against topic names (MQTT 5.0 §4.7).
// One node per filter level; '+' and '#' are dedicated slots rather than map entries so a match
// never looks them up by string. Generic over the value so the broker stores whatever it needs
// per subscription (session, QoS, options).
//
// Memory: a device fleet's tree is mostly chains of single-child nodes ('devices/{id}/cmd') with
// one subscriber each, so a node keeps its first child and its first subscriber inline and only
// creates a Map / arrays for the second one. Everything is created lazily and pruned on remove.
import { addChild, childOf, removeChild } from './level-children.js';

const DOLLAR = 0x24;

/** The subscribers of one filter: the first inline, the rest in parallel arrays. */
class Subs<V> {
  filter: string;
  k0: string;
  v0: V;
  keys: string[] | undefined = undefined;
  vals: V[] | undefined = undefined;
  /** key → index in keys, built once a filter has many subscribers so lookups stay O(1). */
  index: Map<string, number> | undefined = undefined;
  constructor(filter: string, key: string, value: V) {
    this.filter = filter;
    this.k0 = key;
    this.v0 = value;
  }
}

/** Past this many extra subscribers per filter, key lookups use a Map instead of a scan. */
const INDEX_AT = 8;

class Node<V> {
  /** The only literal child, while there is one (seg is its level). */
  seg: string | undefined = undefined;
  one: Node<V> | undefined = undefined;
  /** Literal children once there are two or more (then seg/one are unused). */
  kids: Map<string, Node<V>> | undefined = undefined;
  /** The '+' child. */
  plus: Node<V> | undefined = undefined;
  /** Subscribers of '<this level>/#' — '#' is always last, so it needs no node of its own. */
  hash: Subs<V> | undefined = undefined;
  /** Subscribers whose filter ends at this level. */
  subs: Subs<V> | undefined = undefined;

  child(seg: string): Node<V> | undefined {
    return childOf<Node<V>>(this, seg);
  }

  isEmpty(): boolean {
    return (
      this.subs === undefined &&
      this.hash === undefined &&
      this.plus === undefined &&
      this.one === undefined &&
      this.kids === undefined
    );
  }
}

export class TopicTrie<V> {
  private readonly root = new Node<V>();
  private count = 0;
  private nodes = 1;

  /** Number of (filter, key) pairs. */
  get size(): number {
    return this.count;
  }

  /** Number of trie nodes, root included (a gauge for memory; tests check pruning with it). */
  get nodeCount(): number {
    return this.nodes;
  }

  /**
   * Adds or replaces the value of (filter, key). Returns true if the pair is new. The filter must
   * be valid (validateTopicFilter) and not shared (strip `$share/{group}/` first).
   */
  add(filter: string, key: string, value: V): boolean {
    let node = this.root;
    let start = 0;
    for (;;) {
      let end = filter.indexOf('/', start);
      if (end < 0) end = filter.length;
      const seg = filter.slice(start, end);
      if (seg === '#') {
        // '#' is the last level [MQTT-4.7.1-2]; its subscribers live on the parent node.
        if (node.hash === undefined) {
          node.hash = new Subs(filter, key, value);
          this.count++;
          return true;
        }
        return this.put(node.hash, key, value);
      }
      node = seg === '+' ? this.plusOf(node) : this.literalOf(node, seg);
      if (end === filter.length) break;
      start = end + 1;
    }
    if (node.subs === undefined) {
      node.subs = new Subs(filter, key, value);
      this.count++;
      return true;
    }
    return this.put(node.subs, key, value);
  }

  /** Removes (filter, key); returns its value, or undefined if absent. Prunes emptied nodes. */
  remove(filter: string, key: string): V | undefined {
    const path: Node<V>[] = [];
    const segs: string[] = [];
    let node: Node<V> | undefined = this.root;
    let start = 0;
    let isHash = false;
    for (;;) {
      let end = filter.indexOf('/', start);
      if (end < 0) end = filter.length;
      const seg = filter.slice(start, end);
      if (seg === '#') {
        isHash = true;
        break;
      }
      path.push(node);
      segs.push(seg);
      node = seg === '+' ? node.plus : node.child(seg);
      if (node === undefined) return undefined;
      if (end === filter.length) break;
      start = end + 1;
    }
    const subs = isHash ? node.hash : node.subs;
    if (subs === undefined) return undefined;
    const r = this.take(subs, key);
    if (r === NOT_FOUND) return undefined;
    this.count--;
    if (r.empty) {
      if (isHash) node.hash = undefined;
      else node.subs = undefined;
    }
    // Prune from the deepest node up while nodes hold nothing.
    for (let i = path.length - 1; i >= 0 && node.isEmpty(); i--) {
      this.detach(path[i]!, segs[i]!);
      this.nodes--;
      node = path[i]!;
    }
    return r.value;
  }

  /** The value of (filter, key), if present. */
  get(filter: string, key: string): V | undefined {
    let node: Node<V> | undefined = this.root;
    let start = 0;
    for (;;) {
      let end = filter.indexOf('/', start);
      if (end < 0) end = filter.length;
      const seg = filter.slice(start, end);
      if (seg === '#') return node.hash === undefined ? undefined : lookup(node.hash, key);
      node = seg === '+' ? node.plus : node.child(seg);
      if (node === undefined) return undefined;
      if (end === filter.length) break;
      start = end + 1;
    }
    return node.subs === undefined ? undefined : lookup(node.subs, key);
  }

  /**
   * Calls visit(key, value, filter) for every (filter, key) whose filter matches the topic name.
   * A key subscribed with several matching filters is visited once per filter; the caller merges
   * (MQTT 5.0 §4.7.1: overlapping subscriptions). The visitor must not modify the trie.
   */
  match(topic: string, visit: (key: string, value: V, filter: string) => void): void {
    const root = this.root;
    const end = levelEnd(topic, 0);
    // [MQTT-4.7.2-1] filters starting with '#' or '+' do not match topics starting with '$'.
    if (topic.charCodeAt(0) !== DOLLAR) {
      if (root.hash !== undefined) emit(root.hash, visit);
      if (root.plus !== undefined) this.walk(root.plus, topic, end + 1, visit);
    }
    const next = childAt(root, topic, 0, end);
    if (next !== undefined) this.walk(next, topic, end + 1, visit);
  }

  /** Every filter that has at least one key, in no particular order. */
  *filters(): IterableIterator<string> {
    for (const s of this.allSubs()) yield s.filter;
  }

  /** Every (filter, key, value), in no particular order. The trie must not change meanwhile. */
  *entries(): IterableIterator<[filter: string, key: string, value: V]> {
    for (const s of this.allSubs()) {
      yield [s.filter, s.k0, s.v0];
      if (s.keys === undefined) continue;
      for (let i = 0; i < s.keys.length; i++) yield [s.filter, s.keys[i]!, s.vals![i]!];
    }
  }

  private *allSubs(): IterableIterator<Subs<V>> {
    const stack: Node<V>[] = [this.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.subs !== undefined) yield n.subs;
      if (n.hash !== undefined) yield n.hash;
      if (n.plus !== undefined) stack.push(n.plus);
      if (n.one !== undefined) stack.push(n.one);
      if (n.kids !== undefined) for (const c of n.kids.values()) stack.push(c);
    }
  }

  /**
   * `node` matched the topic's levels before `start`; start === topic.length + 1 means the topic
   * has no levels left. Follows the literal path in a loop and recurses only into '+' branches.
   */
  private walk(
    node: Node<V>,
    topic: string,
    start: number,
    visit: (key: string, value: V, filter: string) => void,
  ): void {
    const tl = topic.length;
    for (;;) {
      // 'x/#' matches below x and x itself (MQTT 5.0 §4.7.1.2), so it fires whenever x is reached.
      if (node.hash !== undefined) emit(node.hash, visit);
      if (start > tl) {
        if (node.subs !== undefined) emit(node.subs, visit);
        return;
      }
      const end = levelEnd(topic, start);
      // '+' matches exactly one level, empty ones included [MQTT-4.7.1-3].
      if (node.plus !== undefined) this.walk(node.plus, topic, end + 1, visit);
      const next = childAt(node, topic, start, end);
      if (next === undefined) return;
      node = next;
      start = end + 1;
    }
  }

  private plusOf(node: Node<V>): Node<V> {
    if (node.plus === undefined) {
      node.plus = new Node<V>();
      this.nodes++;
    }
    return node.plus;
  }

  private literalOf(node: Node<V>, seg: string): Node<V> {
    const found = node.child(seg);
    if (found !== undefined) return found;
    const created = new Node<V>();
    this.nodes++;
    addChild<Node<V>>(node, seg, created);
    return created;
  }

  private detach(parent: Node<V>, seg: string): void {
    if (seg === '+') {
      parent.plus = undefined;
      return;
    }
    removeChild<Node<V>>(parent, seg);
  }

  /** Adds or replaces key in a non-empty Subs. */
  private put(s: Subs<V>, key: string, value: V): boolean {
    if (s.k0 === key) {
      s.v0 = value;
      return false;
    }
    const i = indexOf(s, key);
    if (i >= 0) {
      s.vals![i] = value;
      return false;
    }
    if (s.keys === undefined) {
      s.keys = [key];
      s.vals = [value];
    } else {
      s.keys.push(key);
      s.vals!.push(value);
      if (s.index !== undefined) s.index.set(key, s.keys.length - 1);
      else if (s.keys.length > INDEX_AT) {
        s.index = new Map();
        for (let j = 0; j < s.keys.length; j++) s.index.set(s.keys[j]!, j);
      }
    }
    this.count++;
    return true;
  }

  /** Removes key from s: its value and whether s became empty, or NOT_FOUND. */
  private take(s: Subs<V>, key: string): { value: V; empty: boolean } | typeof NOT_FOUND {
    const keys = s.keys;
    const vals = s.vals;
    if (s.k0 === key) {
      const value = s.v0;
      if (keys === undefined || keys.length === 0) return { value, empty: true };
      // Move the last extra subscriber inline.
      s.k0 = keys.pop()!;
      s.v0 = vals!.pop()!;
      if (s.index !== undefined) s.index.delete(s.k0);
      this.shrink(s);
      return { value, empty: false };
    }
    const i = indexOf(s, key);
    if (i < 0) return NOT_FOUND;
    const value = vals![i]!;
    const last = keys!.length - 1;
    if (i !== last) {
      keys![i] = keys![last]!;
      vals![i] = vals![last]!;
      if (s.index !== undefined) s.index.set(keys![i]!, i);
    }
    keys!.pop();
    vals!.pop();
    if (s.index !== undefined) s.index.delete(key);
    this.shrink(s);
    return { value, empty: false };
  }

  private shrink(s: Subs<V>): void {
    const keys = s.keys!;
    if (keys.length === 0) {
      s.keys = undefined;
      s.vals = undefined;
      s.index = undefined;
    } else if (s.index !== undefined && keys.length <= INDEX_AT / 2) {
      s.index = undefined;
    }
  }
}

const NOT_FOUND = Symbol('not found');

function indexOf<V>(s: Subs<V>, key: string): number {
  if (s.index !== undefined) return s.index.get(key) ?? -1;
  const keys = s.keys;
  if (keys === undefined) return -1;
  for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i;
  return -1;
}

function lookup<V>(s: Subs<V>, key: string): V | undefined {
  if (s.k0 === key) return s.v0;
  const i = indexOf(s, key);
  return i < 0 ? undefined : s.vals![i];
}

function emit<V>(s: Subs<V>, visit: (key: string, value: V, filter: string) => void): void {
  const filter = s.filter;
  visit(s.k0, s.v0, filter);
  const keys = s.keys;
  if (keys === undefined) return;
  const vals = s.vals!;
  for (let i = 0; i < keys.length; i++) visit(keys[i]!, vals[i]!, filter);
}

/** Index of the '/' ending the level that starts at `start`, or topic.length. */
function levelEnd(topic: string, start: number): number {
  const e = topic.indexOf('/', start);
  return e < 0 ? topic.length : e;
}

/**
 * The literal child named topic[start..end). The inline single child is compared in place, so
 * chains of single-child nodes are walked without allocating a level string.
 */
function childAt<V>(node: Node<V>, topic: string, start: number, end: number): Node<V> | undefined {
  if (node.kids !== undefined) return node.kids.get(topic.slice(start, end));
  const seg = node.seg;
  if (seg === undefined || seg.length !== end - start) return undefined;
  if (!topic.startsWith(seg, start)) return undefined;
  return node.one;
}
