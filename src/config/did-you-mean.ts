// "Did you mean …?" for unknown keys and variables: the closest candidate by edit distance,
// compared without case, '_' and '-' (so max_keep_alive finds maxKeepAlive).

function normalize(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}

/** Levenshtein distance with two rows (inputs are short key names). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** The closest candidate, if it is close enough to be a likely typo. */
export function closest(input: string, candidates: Iterable<string>, key: (c: string) => string = (c) => c): string | undefined {
  const n = normalize(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(n, normalize(key(c)));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const threshold = Math.max(2, Math.floor(n.length / 3));
  return bestDistance <= threshold ? best : undefined;
}

export function didYouMean(input: string, candidates: Iterable<string>, key?: (c: string) => string): string {
  const c = closest(input, candidates, key);
  return c === undefined ? '' : `; did you mean ${c}?`;
}
