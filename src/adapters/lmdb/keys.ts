// Keys of the broker's sub-databases (data format 1). Binary and compact:
//
//   client key      u16 byte length + UTF-8 client id              (ids up to 400 bytes)
//                   0xFFFF + SHA-256 of the UTF-8 client id         (longer ids)
//   sessions        client key
//   outbound        client key + u64 seq (big-endian: the range of a client is in seq order)
//   inbound-qos2    client key + u16 packet id
//   retained        0x00 + UTF-8 topic (topics up to 400 bytes) | 0x01 + SHA-256 of the topic
//
// MQTT allows client ids and topics of 65,535 bytes (MQTT 5.0 §1.5.4) but an LMDB key holds at
// most 1,978; long ones are keyed by their digest and the full string is kept in the value. The
// length prefix (not a delimiter) keeps one client's range from containing another client whose
// id merely starts with the same bytes.
import { createHash } from 'node:crypto';
import type { Slab } from './binary.js';

const SHORT_MAX = 400;
const LONG_MARK = 0xffff;

/** Write the client key of `clientId` into the current record of `w`. */
export function writeClientKey(w: Slab, clientId: string): void {
  w.ensure(2 + clientId.length * 3);
  const at = w.pos + 2;
  const n = w.buf.write(clientId, at, 'utf8');
  if (n <= SHORT_MAX) {
    w.u16(n);
    w.pos += n;
  } else {
    const digest = createHash('sha256').update(w.buf.subarray(at, at + n)).digest();
    w.u16(LONG_MARK);
    w.raw(digest);
  }
}

/** Write the retained-message key of `topic` into the current record of `w`. */
export function writeRetainedKey(w: Slab, topic: string): void {
  w.ensure(1 + topic.length * 3);
  const at = w.pos + 1;
  const n = w.buf.write(topic, at, 'utf8');
  if (n <= SHORT_MAX) {
    w.u8(0);
    w.pos += n;
  } else {
    const digest = createHash('sha256').update(w.buf.subarray(at, at + n)).digest();
    w.u8(1);
    w.raw(digest);
  }
}

/** The exclusive end of the key range of every outbound / inbound key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.allocUnsafe(prefix.length + 9);
  prefix.copy(end, 0);
  end.fill(0xff, prefix.length);
  return end;
}

/** The seq of an outbound key (its last 8 bytes). */
export function seqOfKey(key: Uint8Array): number {
  const n = key.length;
  const hi = ((key[n - 8]! << 24) | (key[n - 7]! << 16) | (key[n - 6]! << 8) | key[n - 5]!) >>> 0;
  const lo = ((key[n - 4]! << 24) | (key[n - 3]! << 16) | (key[n - 2]! << 8) | key[n - 1]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** The packet id of an inbound-qos2 key (its last 2 bytes). */
export function packetIdOfKey(key: Uint8Array): number {
  const n = key.length;
  return (key[n - 2]! << 8) | key[n - 1]!;
}
