// "Did you mean …?" for unknown keys and variables: the closest candidate by edit distance,
// compared without case, '_' and '-' (so max_keep_alive finds maxKeepAlive).

function normalize(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}

/**
 * Edit distance counting a swap of two neighbouring letters as one edit (optimal string
 * alignment), since "tsl" for "tls" is a more likely typo than "tsl" for "ws".
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
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
