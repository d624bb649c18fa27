// The bytes of a twin's /update/delta messages (docs/TWINS.md "Performance"). A device that has not
// caught up with its desired state gets the same delta on every report it sends: the delta's
// `state` holds the same desired values and its `metadata` the same desired timestamps, only
// `version`, `timestamp` and `clientToken` change. DeltaJson keeps the JSON of the repeating head
// (`{"state":…,"metadata":…`) per twin and serialises the rest, and its bytes are exactly
// JSON.stringify(delta)'s (the property test in delta-json.test.ts compares them).
import { sameFields, type JsonObject } from './json-value.js';
import type { MetaNode } from './metadata.js';
import type { DeltaDocument } from './shadow-document.js';

/** A string JSON writes as it is between quotes: printable ASCII without `"` and `\\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A number as JSON writes it (String() is the same for finite numbers; JSON writes null otherwise). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

const DELTA_KEYS: readonly string[] = ['state', 'metadata', 'version', 'timestamp', 'clientToken'];

export class DeltaJson {
  /** The delta state and desired metadata the head was made from (compared by identity, field by field). */
  private state: JsonObject | undefined;
  private desiredMeta: MetaNode | undefined;
  private head: Buffer | undefined;

  /**
   * JSON.stringify(delta) as bytes. `desiredMeta` is the desired metadata `delta.metadata` was
   * rendered from (the document's `metadata.desired`): the same delta state with the same desired
   * metadata renders the same metadata, so the head is reused.
   */
  encode(delta: DeltaDocument, desiredMeta: MetaNode | undefined): Buffer {
    if (!plainDelta(delta)) return Buffer.from(JSON.stringify(delta));
    let head = this.head;
    if (head === undefined || desiredMeta !== this.desiredMeta || desiredMeta === undefined || !sameFields(delta.state, this.state!)) {
      // JSON.stringify writes the keys in insertion order: state, metadata, then the rest.
      const s = JSON.stringify({ state: delta.state, metadata: delta.metadata });
      head = this.head = Buffer.from(s.slice(0, -1));
      this.state = delta.state;
      this.desiredMeta = desiredMeta;
    }
    const token = delta.clientToken;
    const tail =
      token === undefined
        ? `,"version":${num(delta.version)},"timestamp":${num(delta.timestamp)}}`
        : `,"version":${num(delta.version)},"timestamp":${num(delta.timestamp)},"clientToken":${PLAIN.test(token) ? `"${token}"` : JSON.stringify(token)}}`;
    const out = Buffer.allocUnsafe(head.length + Buffer.byteLength(tail));
    head.copy(out, 0);
    out.write(tail, head.length);
    return out;
  }

}

/** Built by buildDeltaDocument: exactly its keys, in its order (clientToken optional). */
function plainDelta(d: DeltaDocument): boolean {
  let i = 0;
  for (const k in d) {
    if (i >= DELTA_KEYS.length || k !== DELTA_KEYS[i]) return false;
    i++;
  }
  return i >= 4 && Object.getPrototypeOf(d) === Object.prototype;
}
