// The in-memory index of retained messages, one per topic name (MQTT 5.0 §3.3.1.3). Topics sit in
// a level tree so a subscription's filter visits only the branches it can match ('a/+/c' walks
// the children of 'a', not every retained topic); a flat Map beside it makes get/set/delete of a
// known topic O(1), since retained publishes replace the same topics over and over.
//
// When a client subscribes, the retained messages matching the filter are sent to it
// [MQTT-3.3.1-9]; matching follows §4.7, including the '$' rule [MQTT-4.7.2-1].
import { addChild, childOf, removeChild } from './level-children.js';

const DOLLAR = 0x24;

class RNode<M> {
  /** The only child, while there is one (seg is its level); see kids. */
  seg: string | undefined = undefined;
  one: RNode<M> | undefined = undefined;
  kids: Map<string, RNode<M>> | undefined = undefined;
  /** The topic of the message stored here; undefined when no message ends at this level. */
  topic: string | undefined = undefined;
  message: M | undefined = undefined;

  child(seg: string): RNode<M> | undefined {
    return childOf<RNode<M>>(this, seg);
  }
}

export class RetainedIndex<M> {
  private readonly root = new RNode<M>();
  private readonly byTopic = new Map<string, RNode<M>>();

  get size(): number {
    return this.byTopic.size;
  }

  get(topic: string): M | undefined {
    return this.byTopic.get(topic)?.message;
  }

  /** Stores (or replaces) the retained message of a topic name. */
  set(topic: string, m: M): void {
    const known = this.byTopic.get(topic);
    if (known !== undefined) {
      known.message = m;
      return;
    }
    let node = this.root;
    let start = 0;
    for (;;) {
      let end = topic.indexOf('/', start);
      if (end < 0) end = topic.length;
      node = childOrCreate(node, topic.slice(start, end));
      if (end === topic.length) break;
      start = end + 1;
    }
    node.topic = topic;
    node.message = m;
    this.byTopic.set(topic, node);
  }

  /** Removes a topic's retained message; true if there was one. Prunes emptied levels. */
  delete(topic: string): boolean {
    const node = this.byTopic.get(topic);
    if (node === undefined) return false;
    this.byTopic.delete(topic);
    node.topic = undefined;
    node.message = undefined;
    if (!isEmpty(node)) return true;
    // Walk down again to know the parents, then detach empty nodes bottom-up.
    const path: RNode<M>[] = [];
    const segs: string[] = [];
    let n = this.root;
    let start = 0;
    for (;;) {
      let end = topic.indexOf('/', start);
      if (end < 0) end = topic.length;
      const seg = topic.slice(start, end);
      path.push(n);
      segs.push(seg);
      n = n.child(seg)!;
      if (end === topic.length) break;
      start = end + 1;
    }
    for (let i = path.length - 1; i >= 0 && isEmpty(n); i--) {
      removeChild<RNode<M>>(path[i]!, segs[i]!);
      n = path[i]!;
    }
    return true;
  }

  /**
   * Calls visit(topic, message) for every retained message whose topic matches the (valid,
   * non-shared) filter. The visitor must not modify the index.
   */
  match(filter: string, visit: (topic: string, m: M) => void): void {
    walk(this.root, filter, 0, true, visit);
  }

  /** Every (topic, message), in no particular order. */
  *entries(): IterableIterator<[topic: string, m: M]> {
    for (const [topic, node] of this.byTopic) yield [topic, node.message as M];
  }
}

function childOrCreate<M>(node: RNode<M>, seg: string): RNode<M> {
  const found = node.child(seg);
  if (found !== undefined) return found;
  const created = new RNode<M>();
  addChild<RNode<M>>(node, seg, created);
  return created;
}

function isEmpty<M>(n: RNode<M>): boolean {
  return n.topic === undefined && n.one === undefined && n.kids === undefined;
}


/**
 * `node` is reached by the filter's levels before `start`. `top` is true at the root, where the
 * '$' rule applies: a first-level '+' or '#' skips topics whose first level starts with '$'
 * [MQTT-4.7.2-1].
 */
function walk<M>(
  node: RNode<M>,
  filter: string,
  start: number,
  top: boolean,
  visit: (topic: string, m: M) => void,
): void {
  for (;;) {
    let end = filter.indexOf('/', start);
    if (end < 0) end = filter.length;
    const last = end === filter.length;
    if (end - start === 1 && filter.charCodeAt(start) === 0x23) {
      // '#': this level's own message ('sport/#' matches 'sport', MQTT 5.0 §4.7.1.2) and all below.
      if (node.topic !== undefined) visit(node.topic, node.message as M);
      forEachChild(node, top, (c) => visitAll(c, visit));
      return;
    }
    if (end - start === 1 && filter.charCodeAt(start) === 0x2b) {
      // '+': every child, one level [MQTT-4.7.1-3].
      forEachChild(node, top, (c) => {
        if (last) {
          if (c.topic !== undefined) visit(c.topic, c.message as M);
        } else walk(c, filter, end + 1, false, visit);
      });
      return;
    }
    const next = node.child(filter.slice(start, end));
    if (next === undefined) return;
    if (last) {
      if (next.topic !== undefined) visit(next.topic, next.message as M);
      return;
    }
    node = next;
    start = end + 1;
    top = false;
  }
}

function forEachChild<M>(node: RNode<M>, top: boolean, f: (c: RNode<M>) => void): void {
  if (node.one !== undefined) {
    if (!(top && node.seg!.charCodeAt(0) === DOLLAR)) f(node.one);
    return;
  }
  if (node.kids === undefined) return;
  for (const [seg, c] of node.kids) {
    if (top && seg.charCodeAt(0) === DOLLAR) continue;
    f(c);
  }
}

/** Every message in the subtree of `node`. */
function visitAll<M>(node: RNode<M>, visit: (topic: string, m: M) => void): void {
  const stack: RNode<M>[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.topic !== undefined) visit(n.topic, n.message as M);
    if (n.one !== undefined) stack.push(n.one);
    else if (n.kids !== undefined) for (const c of n.kids.values()) stack.push(c);
  }
}
