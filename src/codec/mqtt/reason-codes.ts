// Which reason codes each packet type may carry (MQTT 5.0 §2.4 and each packet's Reason Code
// table; MQTT 3.1.1 §3.2.2.3 and §3.9.3 for the return codes). A code outside its table is
// refused by the decoder (Malformed Packet) and by the encoder (RangeError).

function set(...codes: number[]): Uint8Array {
  const s = new Uint8Array(256);
  for (const c of codes) s[c] = 1;
  return s;
}

const CONNACK_5 = set(0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f);
const CONNACK_311 = set(0, 1, 2, 3, 4, 5);
const PUBACK_PUBREC = set(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99);
const PUBREL_PUBCOMP = set(0x00, 0x92);
const SUBACK_5 = set(0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2);
const SUBACK_311 = set(0x00, 0x01, 0x02, 0x80);
const UNSUBACK_5 = set(0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91);
const DISCONNECT_5 = set(
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
  0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
);
const AUTH_5 = set(0x00, 0x18, 0x19);

const TABLE_5: (Uint8Array | undefined)[] = [];
TABLE_5[2] = CONNACK_5;
TABLE_5[4] = PUBACK_PUBREC;
TABLE_5[5] = PUBACK_PUBREC;
TABLE_5[6] = PUBREL_PUBCOMP;
TABLE_5[7] = PUBREL_PUBCOMP;
TABLE_5[9] = SUBACK_5;
TABLE_5[11] = UNSUBACK_5;
TABLE_5[14] = DISCONNECT_5;
TABLE_5[15] = AUTH_5;

const TABLE_311: (Uint8Array | undefined)[] = [];
TABLE_311[2] = CONNACK_311;
TABLE_311[9] = SUBACK_311;

/** The statement requiring the sender to use a code from the packet type's table. */
const STATEMENT_5 = ['', '', 'MQTT-3.2.2-8', '', 'MQTT-3.4.2-1', 'MQTT-3.5.2-1', 'MQTT-3.6.2-1', 'MQTT-3.7.2-1', '', 'MQTT-3.9.3-2', '', 'MQTT-3.11.3-2', '', '', 'MQTT-3.14.2-1', 'MQTT-3.15.2-1'];

export function reasonCodeAllowed(type: number, v5: boolean, code: number): boolean {
  const table = v5 ? TABLE_5[type] : TABLE_311[type];
  return table === undefined || table[code] === 1;
}

export function reasonCodeStatement(type: number, v5: boolean): string {
  if (v5) return STATEMENT_5[type] ?? '';
  return type === 9 ? 'MQTT-3.9.3-2' : '3.1.1 §3.2.2.3';
}

/** Encoder side: refuses a code the packet type may not carry. */
export function checkReasonCode(type: number, v5: boolean, code: number): void {
  if (!Number.isInteger(code) || code < 0 || code > 0xff || !reasonCodeAllowed(type, v5, code)) {
    throw new RangeError(`reason code ${String(code)} is not valid in packet type ${type} [${reasonCodeStatement(type, v5)}]`);
  }
}

/** The codes packet type `type` may carry, for tests and tools; empty when it has no table. */
export function allowedReasonCodes(type: number, v5: boolean): number[] {
  const table = v5 ? TABLE_5[type] : TABLE_311[type];
  const out: number[] = [];
  if (table !== undefined) for (let c = 0; c < 256; c++) if (table[c] === 1) out.push(c);
  return out;
}
