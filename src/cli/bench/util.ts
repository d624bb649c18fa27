// Small helpers shared by the bench's coordinator modules.

/** Splits `n` items over `parts` processes as [offset, count] pairs. */
export function split(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  let offset = 0;
  for (let i = 0; i < parts; i++) {
    const count = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    if (count > 0) out.push([offset, count]);
    offset += count;
  }
  return out;
}

export function sum<T>(xs: T[], f: (x: T) => number): number {
  let s = 0;
  for (const x of xs) s += f(x);
  return s;
}

export function round(x: number, digits: number): number {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
