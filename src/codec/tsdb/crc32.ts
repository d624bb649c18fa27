// CRC-32 (IEEE 802.3 polynomial, reflected 0xEDB88320, as in zlib and PNG) of a chunk's bytes.
// Chunks sit in LMDB, which checks nothing on read, so the chunk carries its own check: any
// corruption of up to 32 consecutive bits, and all but 2^-32 of other damage, is caught.

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/** CRC-32 of bytes[start, end), as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
