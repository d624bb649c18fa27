// Human output of the client commands: aligned tables for lists, "key: value" lines for one
// object. Values come from the hub and may hold anything a device or operator typed, so control
// characters are escaped: a device name must not be able to move the cursor or recolour the
// terminal of the operator reading it.

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

// C0 controls, DEL and C1 controls (ESC starts ANSI sequences; C1 CSI 0x9B does too).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Text for a terminal: control characters as \xNN (\n, \r and \t by name). */
export function safeText(s: string): string {
  return s.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** One value as a table cell or "key: value" value: absent is "-", tags maps are k=v lists. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (typeof v === 'string') return safeText(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return safeText(JSON.stringify(v));
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return '-';
    if (entries.every(([, x]) => typeof x === 'string')) return safeText(entries.map(([k, x]) => `${k}=${String(x)}`).join(','));
    return safeText(JSON.stringify(v));
  }
  return safeText(String(v));
}

/** Display width: code points (wide CJK glyphs count as one; good enough for ids and names). */
function width(s: string): number {
  return [...s].length;
}

/** An aligned table, header first, two spaces between columns, no trailing spaces. */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((r) => columns.map((c) => formatValue(c.value(r))));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((row) => width(row[i]!))));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v + ' '.repeat(widths[i]! - width(v))))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].map((l) => `${l}\n`).join('');
}

/** "key: value" lines with the values aligned; `order` first, then the remaining keys. */
export function renderObject(obj: Record<string, unknown>, order: readonly string[] = []): string {
  const keys = [...order.filter((k) => k in obj), ...Object.keys(obj).filter((k) => !order.includes(k))];
  const w = Math.max(0, ...keys.map((k) => width(safeText(k)) + 1));
  return keys.map((k) => `${(safeText(k) + ':').padEnd(w)} ${formatValue(obj[k])}\n`).join('');
}
