// Byte-level writing and reading of the lmdb adapter's keys and records.
//
// `Slab` is a bump allocator: records are written one after another into a large Buffer and
// handed out as views that are never written again. lmdb-js keeps a pointer to each value until
// its transaction commits on the writer thread, so a value's bytes must stay untouched until
// then; never reusing slab space guarantees it without tracking commits, and one Buffer per
// 64 KiB (instead of one per record) keeps allocation and lmdb's per-buffer address lookup off
// the per-message path. A slab is freed by GC once no view of it is alive.

const SLAB_SIZE = 64 * 1024;

export class Slab {
  buf: Buffer = Buffer.allocUnsafe(SLAB_SIZE);
  pos = 0;
  /** Where the record being written starts. */
  private start = 0;

  /** Start a new record. */
  begin(): void {
    this.start = this.pos;
  }

  /** The record written since `begin`, as a view that stays valid and unchanged. */
  end(): Buffer {
    const view = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return view;
  }

  /** Offset of the write position from the start of the current record (survives `grow`). */
  get offset(): number {
    return this.pos - this.start;
  }

  /** The bytes of the current record from `offset` to the write position. */
  since(offset: number): Buffer {
    return this.buf.subarray(this.start + offset, this.pos);
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  /** Move the current record to a fresh slab with room for `n` more bytes. */
  private grow(n: number): void {
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(SLAB_SIZE, used + n));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v & 0xff;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.pos++] = v >>> 24;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = v & 0xff;
  }

  /** An integer 0..2^53-1 as 8 bytes big-endian, so keys sort by it. */
  u64(v: number): void {
    this.u32(Math.floor(v / 0x1_0000_0000));
    this.u32(v >>> 0);
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** A string as u32 byte length + UTF-8. */
  str(s: string): void {
    const len = s.length;
    this.ensure(4 + len * 3);
    const b = this.buf;
    const at = this.pos + 4;
    let n = 0;
    // Topics and client ids are short and mostly ASCII: a byte loop beats the native call.
    if (len <= 64) {
      for (; n < len; n++) {
        const c = s.charCodeAt(n);
        if (c > 0x7f) break;
        b[at + n] = c;
      }
    }
    if (n < len) n = b.write(s, at, 'utf8');
    this.u32(n);
    this.pos += n;
  }

  /** Bytes as u32 length + the bytes. */
  bytes(v: Uint8Array): void {
    this.u32(v.length);
    this.raw(v);
  }

  /** Bytes without a length. */
  raw(v: Uint8Array): void {
    const n = v.length;
    this.ensure(n);
    const b = this.buf;
    if (n <= 32) {
      for (let i = 0; i < n; i++) b[this.pos + i] = v[i]!;
    } else {
      b.set(v, this.pos);
    }
    this.pos += n;
  }
}

/** Reads what `Slab` wrote. Bounds are checked by Buffer itself (a short record throws). */
export class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  u8(): number {
    if (this.pos >= this.buf.length) throw new RangeError('record truncated');
    return this.buf[this.pos++]!;
  }

  u16(): number {
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.u32();
    const end = this.pos + n;
    if (end > this.buf.length) throw new RangeError('record truncated');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  /** A view of the stored bytes (the record Buffer is the reader's own copy). */
  bytes(): Buffer {
    const n = this.u32();
    const end = this.pos + n;
    if (end > this.buf.length) throw new RangeError('record truncated');
    const v = this.buf.subarray(this.pos, end);
    this.pos = end;
    return v;
  }
}

/** lmdb-js returns values as Uint8Array or Buffer depending on the read path; records are Buffers. */
export function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
