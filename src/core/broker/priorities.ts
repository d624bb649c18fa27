// Priority classes (config.priorities): topic filter → class index, 0 highest. Topics matching no
// class get the class after the last. Evaluated once per topic (the route cache keeps the
// result), so classes cost nothing per message.
import type { PriorityClass } from '../../config/types.js';
import { TopicTrie } from '../router/trie.js';

export class PriorityClassifier {
  private readonly trie = new TopicTrie<number>();
  readonly defaultClass: number;

  constructor(classes: readonly PriorityClass[]) {
    classes.forEach((c, i) => {
      for (const f of c.filters) {
        // Where a topic matches filters of several classes, the highest class (lowest index) wins.
        const existing = this.trie.get(f, 'c');
        if (existing === undefined || existing > i) this.trie.add(f, 'c', i);
      }
    });
    this.defaultClass = classes.length;
  }

  classify(topic: string): number {
    let best = this.defaultClass;
    this.trie.match(topic, (_k, cls) => {
      if (cls < best) best = cls;
    });
    return best;
  }
}
