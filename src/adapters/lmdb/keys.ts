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
import { put16, put8, putRaw } from './binary.js';

const SHORT_MAX = 400;
const LONG_MARK = 0xffff;

/** Upper bound of the bytes `putClientKey` writes. */
export function clientKeyBound(clientId: string): number {
  return 2 + 3 * clientId.length;
}

/** Write the client key of `clientId` at `p` (room for clientKeyBound reserved); returns the end. */
export function putClientKey(b: Buffer, p: number, clientId: string): number {
  const at = p + 2;
  const n = b.write(clientId, at, 'utf8');
  if (n <= SHORT_MAX) return put16(b, p, n) + n;
  const digest = createHash('sha256').update(b.subarray(at, at + n)).digest();
  return putRaw(b, put16(b, p, LONG_MARK), digest);
}

/** Upper bound of the bytes `putRetainedKey` writes. */
export function retainedKeyBound(topic: string): number {
  return 1 + 3 * topic.length;
}

/** Write the retained-message key of `topic` at `p` (room reserved); returns the end. */
export function putRetainedKey(b: Buffer, p: number, topic: string): number {
  const at = p + 1;
  const n = b.write(topic, at, 'utf8');
  if (n <= SHORT_MAX) return put8(b, p, 0) + n;
  const digest = createHash('sha256').update(b.subarray(at, at + n)).digest();
  return putRaw(b, put8(b, p, 1), digest);
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
