// A map used as a cache of few distinct keys (interned strings, parsed topics): bounded without
// LRU bookkeeping by clearing it when full, which costs a burst of misses once in a while and
// nothing per hit.

/** The value `map` holds for `key`, made by `make` and kept when missing; `map` is cleared first when it holds `max` entries. */
export function getOrMake<V>(map: Map<string, V>, max: number, key: string, make: (key: string) => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make(key);
    setBounded(map, max, key, v);
  }
  return v;
}

/** Sets `key` in `map`, clearing the map first when it holds `max` entries. */
export function setBounded<K, V>(map: Map<K, V>, max: number, key: K, value: V): void {
  if (map.size >= max) map.clear();
  map.set(key, value);
}
