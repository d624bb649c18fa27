// Chunks hold points in time order (chunk.ts rejects anything else), so a caller merging late or
// out-of-order points sorts them first with this.

/** The points ordered by timestamp; points with equal timestamps keep their order (stable). */
export function sortPoints(timestamps: ArrayLike<number>, values: ArrayLike<number>): { timestamps: Float64Array; values: Float64Array } {
  const n = timestamps.length;
  const ts = Float64Array.from(timestamps);
  const vs = values instanceof Float64Array ? values.slice(0, n) : Float64Array.from(values);
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = ts[i - 1]! <= ts[i]!;
  if (sorted) return { timestamps: ts, values: vs };
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ts[a]! - ts[b]! || a - b);
  const outT = new Float64Array(n);
  const outV = new Float64Array(n);
  // Copy value bits through uint32 views so NaN payloads survive the move.
  const inW = new Uint32Array(vs.buffer, vs.byteOffset, n * 2);
  const outW = new Uint32Array(outV.buffer);
  for (let i = 0; i < n; i++) {
    const j = order[i]!;
    outT[i] = ts[j]!;
    outW[2 * i] = inW[2 * j]!;
    outW[2 * i + 1] = inW[2 * j + 1]!;
  }
  return { timestamps: outT, values: outV };
}
