// Shared subscriptions (MQTT 5.0 §4.8.2): subscriptions `$share/{ShareName}/{filter}` with the
// same ShareName and filter form one group, and each matching message goes to exactly one member
// of each matching group. A group is identified by (ShareName, filter): `$share/g/a/+` and
// `$share/g/a/#` are two groups and a message on 'a/b' goes to one member of each.
import { TopicTrie } from './trie.js';

/**
 * The members of one shared subscription, picked round-robin. Members sit in parallel arrays so
 * a pick is an index walk with no allocation; a Map gives O(1) add/remove by key.
 */
export class SharedGroup<V> {
  readonly group: string;
  /** The filter members receive messages for (without the `$share/{group}/` prefix). */
  readonly filter: string;
  private readonly keys: string[] = [];
  private readonly vals: V[] = [];
  private readonly index = new Map<string, number>();
  private cursor = 0;

  constructor(group: string, filter: string) {
    this.group = group;
    this.filter = filter;
  }

  get size(): number {
    return this.keys.length;
  }

  /** Adds or replaces a member; true if it is new. */
  add(key: string, value: V): boolean {
    const i = this.index.get(key);
    if (i !== undefined) {
      this.vals[i] = value;
      return false;
    }
    this.index.set(key, this.keys.length);
    this.keys.push(key);
    this.vals.push(value);
    return true;
  }

  /** Removes a member; returns its value, or undefined if it was not one. */
  remove(key: string): V | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const value = this.vals[i]!;
    const last = this.keys.length - 1;
    if (i !== last) {
      // Swap-remove keeps the arrays dense; the moved member keeps its turn roughly in place.
      const movedKey = this.keys[last]!;
      this.keys[i] = movedKey;
      this.vals[i] = this.vals[last]!;
      this.index.set(movedKey, i);
    }
    this.keys.pop();
    this.vals.pop();
    this.index.delete(key);
    if (this.cursor > last) this.cursor = 0;
    return value;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): V | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.vals[i];
  }

  /**
   * Index of the member that gets the next message, or -1 when the group is empty: the next
   * eligible member (e.g. connected) in round-robin order, else — no member is eligible — the
   * next member regardless, so a message for a group of offline persistent sessions is queued for
   * one of them rather than dropped (§4.8.2 leaves the choice to the Server). Allocation-free;
   * read the member with keyAt/valueAt.
   */
  pickIndex(isEligible: (v: V) => boolean): number {
    const n = this.keys.length;
    if (n === 0) return -1;
    const from = this.cursor < n ? this.cursor : 0;
    let i = from;
    do {
      if (isEligible(this.vals[i]!)) {
        this.cursor = i + 1 === n ? 0 : i + 1;
        return i;
      }
      i = i + 1 === n ? 0 : i + 1;
    } while (i !== from);
    this.cursor = from + 1 === n ? 0 : from + 1;
    return from;
  }

  /** The member for the next message as [key, value], or undefined when the group is empty. */
  pick(isEligible: (v: V) => boolean): [key: string, value: V] | undefined {
    const i = this.pickIndex(isEligible);
    return i < 0 ? undefined : [this.keys[i]!, this.vals[i]!];
  }

  keyAt(i: number): string {
    return this.keys[i]!;
  }

  valueAt(i: number): V {
    return this.vals[i]!;
  }

  *members(): IterableIterator<[key: string, value: V]> {
    for (let i = 0; i < this.keys.length; i++) yield [this.keys[i]!, this.vals[i]!];
  }
}

/**
 * Every shared subscription, keyed by (group, filter). Groups are stored in a TopicTrie (filter →
 * group name → SharedGroup) so matching a topic walks the trie once for all groups.
 */
export class SharedSubscriptions<V> {
  private readonly trie = new TopicTrie<SharedGroup<V>>();
  private members = 0;
  /** The visitor of the match in progress; a field rather than a closure per message. */
  private visitGroup: ((group: SharedGroup<V>) => void) | undefined = undefined;
  private readonly onMatch = (_name: string, group: SharedGroup<V>): void => {
    this.visitGroup!(group);
  };

  /** Number of (group, filter, key) memberships. */
  get size(): number {
    return this.members;
  }

  /** Number of groups. */
  get groupCount(): number {
    return this.trie.size;
  }

  /**
   * Adds or replaces key's membership of (group, filter); true if it is new. `filter` is the part
   * after `$share/{group}/` (see parseShared), already validated.
   */
  add(group: string, filter: string, key: string, value: V): boolean {
    let g = this.trie.get(filter, group);
    if (g === undefined) {
      g = new SharedGroup<V>(group, filter);
      this.trie.add(filter, group, g);
    }
    const added = g.add(key, value);
    if (added) this.members++;
    return added;
  }

  /** Removes key from (group, filter); drops the group when it empties. Returns the value. */
  remove(group: string, filter: string, key: string): V | undefined {
    const g = this.trie.get(filter, group);
    if (g === undefined || !g.has(key)) return undefined;
    const value = g.remove(key);
    this.members--;
    if (g.size === 0) this.trie.remove(filter, group);
    return value;
  }

  /** The group (group, filter), if it has members. */
  getGroup(group: string, filter: string): SharedGroup<V> | undefined {
    return this.trie.get(filter, group);
  }

  /** Calls visit once for each group whose filter matches the topic name. */
  match(topic: string, visit: (group: SharedGroup<V>) => void): void {
    const outer = this.visitGroup;
    this.visitGroup = visit;
    try {
      this.trie.match(topic, this.onMatch);
    } finally {
      this.visitGroup = outer;
    }
  }

  /** Every group, in no particular order. */
  *groups(): IterableIterator<SharedGroup<V>> {
    for (const [, , g] of this.trie.entries()) yield g;
  }
}
