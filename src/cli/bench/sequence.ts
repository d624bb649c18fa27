// Per-publisher sequence checks on one subscriber connection: each message is new, a duplicate,
// or late (from a step its publisher already left). A bitmap per publisher remembers which
// sequence numbers of the current step were seen, so duplicates and out-of-order arrivals are
// told apart exactly; it grows by doubling and is cleared, not reallocated, between steps.

export const SEQ_NEW = 0;
export const SEQ_DUPLICATE = 1;
export const SEQ_LATE = 2;
/** New, but after a higher sequence number of the same publisher and step. */
export const SEQ_OUT_OF_ORDER = 3;

export class SequenceTracker {
  private readonly stepOf: Int32Array;
  private readonly maxSeen: Float64Array;
  private readonly bitmaps: Uint8Array[];

  constructor(publishers: number) {
    this.stepOf = new Int32Array(publishers).fill(-1);
    this.maxSeen = new Float64Array(publishers).fill(-1);
    this.bitmaps = [];
    for (let i = 0; i < publishers; i++) this.bitmaps.push(new Uint8Array(1024));
  }

  /** Classifies one message: SEQ_NEW, SEQ_OUT_OF_ORDER (also new), SEQ_DUPLICATE or SEQ_LATE. */
  record(step: number, publisher: number, seq: number): number {
    if (publisher >= this.stepOf.length) return SEQ_LATE; // not one of ours: never counted as new
    const current = this.stepOf[publisher];
    if (step < current) return SEQ_LATE;
    let bits = this.bitmaps[publisher];
    if (step > current) {
      const used = this.maxSeen[publisher];
      if (used >= 0) bits.fill(0, 0, Math.min(bits.length, Math.floor(used / 8) + 1));
      this.stepOf[publisher] = step;
      this.maxSeen[publisher] = -1;
    }
    const byte = seq >>> 3;
    if (byte >= bits.length) {
      let size = bits.length * 2;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(bits);
      this.bitmaps[publisher] = bits = grown;
    }
    const mask = 1 << (seq & 7);
    if ((bits[byte] & mask) !== 0) return SEQ_DUPLICATE;
    bits[byte] |= mask;
    if (seq < this.maxSeen[publisher]) return SEQ_OUT_OF_ORDER;
    this.maxSeen[publisher] = seq;
    return SEQ_NEW;
  }
}
