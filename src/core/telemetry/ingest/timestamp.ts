// Point times from payload fields: epoch numbers in a configured unit, or ISO 8601 date-time
// strings with a time zone (the RFC 3339 profile). Returns epoch milliseconds, or a reason string.

export type TimestampUnit = 's' | 'ms' | 'us' | 'ns';

/** Largest time a JavaScript Date can hold (ECMA-262 §21.4.1.1): ±8.64e15 ms. */
export const MAX_EPOCH_MS = 8.64e15;

const UNIT_TO_MS: Record<TimestampUnit, number> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };

/**
 * A numeric epoch time in `unit` → epoch ms, rounded to the nearest millisecond. Times before
 * 1970 and beyond what a Date can hold are refused: they are device clock faults, not data.
 */
export function epochToMs(value: number, unit: TimestampUnit): number | string {
  if (!Number.isFinite(value)) return `timestamp ${value} is not a finite number`;
  const ms = Math.round(value * UNIT_TO_MS[unit]);
  if (ms < 0) return `timestamp ${value} (${unit}) is before 1970-01-01`;
  if (ms > MAX_EPOCH_MS) return `timestamp ${value} (${unit}) is out of range`;
  return ms;
}

// YYYY-MM-DD, 'T' (or 't' or a space, RFC 3339 §5.6 NOTE), hh:mm[:ss[.fraction]], then 'Z' or an
// offset ±hh:mm / ±hhmm. ISO 8601 also allows ',' as the decimal sign.
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
function daysFromCivil(y: number, m: number, d: number): number {
  // Shift the year to start in March so the leap day is the last day of the shifted year.
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400; // [0, 399]
  const mp = (m + 9) % 12; // March = 0
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1; // [0, 365]
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy; // [0, 146096]
  return era * 146097 + doe - 719468;
}

/**
 * An ISO 8601 date-time string with a time zone → epoch ms. Fractions beyond the millisecond are
 * truncated. A time without a zone is refused: its instant depends on where the device is.
 */
export function isoToMs(s: string): number | string {
  const m = ISO_RE.exec(s);
  if (m === null) {
    return `timestamp "${clip(s)}" is not an ISO 8601 date-time with a time zone (e.g. 2024-05-01T12:00:00Z)`;
  }
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hour = +m[4]!;
  const minute = +m[5]!;
  const second = m[6] === undefined ? 0 : +m[6];
  const frac = m[7];
  const ms = frac === undefined ? 0 : +(frac + '00').slice(0, 3);
  if (month < 1 || month > 12) return `timestamp "${clip(s)}": month out of range`;
  const dim = month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]!;
  if (day < 1 || day > dim) return `timestamp "${clip(s)}": day out of range`;
  if (hour > 23 || minute > 59 || second > 59) return `timestamp "${clip(s)}": time of day out of range`;
  let offsetMin = 0;
  if (m[8] === undefined) {
    const oh = +m[10]!;
    const om = +m[11]!;
    if (oh > 23 || om > 59) return `timestamp "${clip(s)}": zone offset out of range`;
    offsetMin = (oh * 60 + om) * (m[9] === '-' ? -1 : 1);
  }
  const t = (daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetMin * 60) * 1000 + ms;
  if (t < 0) return `timestamp "${clip(s)}" is before 1970-01-01`;
  if (t > MAX_EPOCH_MS) return `timestamp "${clip(s)}" is out of range`;
  return t;
}

/** A timestamp field's value (number in `unit`, or ISO 8601 string) → epoch ms, or a reason. */
export function timestampToMs(value: unknown, unit: TimestampUnit): number | string {
  if (typeof value === 'number') return epochToMs(value, unit);
  if (typeof value === 'string') return isoToMs(value);
  if (typeof value === 'bigint') return epochToMs(Number(value), unit);
  // CBOR tags 0 and 1 (RFC 8949 §3.4.1, §3.4.2) decode to Date.
  if (value instanceof Date) return epochToMs(value.getTime(), 'ms');
  return `timestamp must be a number or an ISO 8601 string, not ${describe(value)}`;
}

/** A short type name of a decoded value, for reasons. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const t = typeof value;
  if (t === 'object') {
    // The prototype, not a `constructor` property: a payload can name a field "constructor".
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null || proto === Object.prototype) return 'an object';
    const c: unknown = (proto as { constructor?: unknown }).constructor;
    return typeof c === 'function' && c.name !== '' ? `a ${c.name}` : 'an object';
  }
  return `a ${t}`;
}

function clip(s: string): string {
  return s.length > 64 ? s.slice(0, 64) + '…' : s;
}
