// The literal children of a level-tree node, shared by the subscription trie and the retained
// index: most levels in a device fleet have exactly one child (`devices/<id>/telemetry`), so the
// only child sits inline (`seg`, `one`) and a Map is made only when a second one arrives, and
// dropped again when the node is back to one.

export interface LevelNode<N> {
  /** The only literal child's level, while there is one. */
  seg: string | undefined;
  one: N | undefined;
  /** Literal children once there are two or more (then seg/one are unused). */
  kids: Map<string, N> | undefined;
}

export function childOf<N extends LevelNode<N>>(node: N, seg: string): N | undefined {
  if (node.kids !== undefined) return node.kids.get(seg);
  return node.seg === seg ? node.one : undefined;
}

/** Adds `created` as the child at `seg` (which must not exist yet). */
export function addChild<N extends LevelNode<N>>(node: N, seg: string, created: N): void {
  if (node.kids !== undefined) {
    node.kids.set(seg, created);
  } else if (node.one === undefined) {
    node.seg = seg;
    node.one = created;
  } else {
    node.kids = new Map([[node.seg!, node.one]]);
    node.kids.set(seg, created);
    node.seg = undefined;
    node.one = undefined;
  }
}

export function removeChild<N extends LevelNode<N>>(parent: N, seg: string): void {
  const kids = parent.kids;
  if (kids === undefined) {
    parent.seg = undefined;
    parent.one = undefined;
    return;
  }
  kids.delete(seg);
  if (kids.size === 1) {
    // Back to the inline form so a node that once had siblings does not keep a Map.
    for (const [s, n] of kids) {
      parent.seg = s;
      parent.one = n;
    }
    parent.kids = undefined;
  }
}
