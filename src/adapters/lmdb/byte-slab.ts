// Values for LMDB written piece by piece into a shared buffer (twin-store.ts): a record assembled
// from the JSON of its sections is encoded section by section, each piece already a flat string,
// instead of first joining the pieces into one string (which V8 then copies into a flat string
// before encoding it) and then allocating a Buffer per value. A value is a view of the slab; the
// slab is only ever appended to, and a full one is replaced rather than reused, so a view stays
// valid for as long as anything (lmdb-js until its commit) holds it.

/** Bytes per slab; a value larger than this gets a slab of its own size. */
const SLAB_BYTES = 256 * 1024;

export class ByteSlab {
  private buf: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private off = 0;
  private start = 0;

  /** Starts a value of at most `maxBytes` (a string is at most 3 UTF-8 bytes per UTF-16 unit: a surrogate pair is 4 for 2). */
  begin(maxBytes: number): this {
    if (this.off + maxBytes > this.buf.length) {
      this.buf = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, maxBytes));
      this.off = 0;
    }
    this.start = this.off;
    return this;
  }

  /** Appends a string as UTF-8. */
  str(s: string): this {
    this.off += this.buf.write(s, this.off, 'utf8');
    return this;
  }

  /** The value begun last. */
  end(): Buffer {
    return this.buf.subarray(this.start, this.off);
  }
}
