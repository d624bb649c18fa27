// Payload bytes → a decoded value, once per payload: JSON (RFC 8259) or CBOR (RFC 8949).
import { isUtf8 } from 'node:buffer';
import { decode as decodeCbor, Decoder } from 'cbor-x';

/**
 * cbor-x decodes a break code (0xff) outside an indefinite-length item, which is not well-formed
 * (RFC 8949 §3.2.1), to one shared empty object instead of failing. Readers compare with it.
 */
export const CBOR_BREAK: unknown = decodeCbor(Buffer.from([0xff]));

export const MISPLACED_BREAK = 'not well-formed CBOR: a break code outside an indefinite-length item (RFC 8949 §3.2.1)';

/** Why a payload could not be decoded. */
export class DecodeFailure {
  constructor(readonly reason: string) {}
}

/**
 * One JSON.parse of the payload. JSON text is UTF-8 (RFC 8259 §8.1); a leading byte order mark
 * is ignored, as §8.1 allows.
 */
export function decodeJson(payload: Buffer): unknown {
  let start = 0;
  if (payload.length >= 3 && payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf) start = 3;
  if (!isUtf8(payload)) return new DecodeFailure('payload is not valid UTF-8 (RFC 8259 §8.1)');
  try {
    return JSON.parse(payload.toString('utf8', start));
  } catch (e) {
    return new DecodeFailure(`payload is not JSON: ${(e as Error).message}`);
  }
}

/** Maps as Map objects, keys as decoded (integers stay numbers): for SenML CBOR records. */
const mapDecoder = new Decoder({ mapsAsObjects: false, useRecords: false });

/**
 * One CBOR data item (RFC 8949). Maps decode to plain objects whose keys are strings (an
 * integer key -2 becomes '-2'), or with `asMaps` to Map objects with the keys as decoded. Bytes
 * after the item are an error: a payload is one item, not a CBOR sequence (RFC 8742).
 */
export function decodeCborItem(payload: Buffer, asMaps = false): unknown {
  if (payload.length === 0) return new DecodeFailure('payload is empty, not CBOR');
  try {
    const v: unknown = asMaps ? mapDecoder.decode(payload) : decodeCbor(payload);
    return v === CBOR_BREAK ? new DecodeFailure(MISPLACED_BREAK) : v;
  } catch (e) {
    return new DecodeFailure(`payload is not CBOR: ${(e as Error).message}`);
  }
}
