// Byte-level writing and reading of the lmdb adapter's keys and records.
//
// `Slab` is a bump allocator: records are written one after another into a large Buffer and
// handed out as views that are never written again. lmdb-js keeps a pointer to each value until
// its transaction commits on the writer thread, so a value's bytes must stay untouched until
// then; never reusing slab space guarantees it without tracking commits, and one Buffer per
// 64 KiB (instead of one per record) keeps allocation and lmdb's per-buffer address lookup off
// the per-message path. A slab is freed by GC once no view of it is alive.
//
// Writers are plain functions `put…(buffer, position, value) → next position` without bounds
// checks: an encoder computes an upper bound of its record's size, reserves it once, and writes.

const SLAB_SIZE = 64 * 1024;

export class Slab {
  buf: Buffer = Buffer.allocUnsafe(SLAB_SIZE);
  /** Write position; encoders read it after `reserve` and store it back before `end`. */
  pos = 0;
  /** Where the record being written starts. */
  private start = 0;

  /** Start a new record. */
  begin(): void {
    this.start = this.pos;
  }

  /** Make room for `n` more bytes of the current record (may move it to a new slab: re-read `buf`). */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  /** The record written since `begin`, as a view that stays valid and unchanged. */
  end(): Buffer {
    const view = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return view;
  }

  private grow(n: number): void {
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(SLAB_SIZE, used + n));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
  }
}

/** Upper bound of the bytes `putStr` writes for `s`. */
export function strBound(s: string): number {
  return 4 + 3 * s.length;
}

export function put8(b: Buffer, p: number, v: number): number {
  b[p] = v;
  return p + 1;
}

export function put16(b: Buffer, p: number, v: number): number {
  b[p] = v >>> 8;
  b[p + 1] = v & 0xff;
  return p + 2;
}

export function put32(b: Buffer, p: number, v: number): number {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
  return p + 4;
}

/** An integer 0..2^53-1 as 8 bytes big-endian, so keys sort by it. */
export function put64(b: Buffer, p: number, v: number): number {
  return put32(b, put32(b, p, Math.floor(v / 0x1_0000_0000)), v >>> 0);
}

export function putF64(b: Buffer, p: number, v: number): number {
  b.writeDoubleBE(v, p);
  return p + 8;
}

/** A string as u32 byte length + UTF-8. */
export function putStr(b: Buffer, p: number, s: string): number {
  const len = s.length;
  const at = p + 4;
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
  put32(b, p, n);
  return at + n;
}

/** Bytes as u32 length + the bytes. */
export function putBytes(b: Buffer, p: number, v: Uint8Array): number {
  return putRaw(b, put32(b, p, v.length), v);
}

/** Bytes without a length. */
export function putRaw(b: Buffer, p: number, v: Uint8Array): number {
  const n = v.length;
  if (n <= 32) {
    for (let i = 0; i < n; i++) b[p + i] = v[i]!;
  } else {
    b.set(v, p);
  }
  return p + n;
}

/** Reads what the writers wrote; a short or damaged record throws a RangeError. */
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
