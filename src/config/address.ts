// Listener addresses as users write them: "HOST:PORT", "[::1]:PORT", a bare port (loopback, as
// Mosquitto 2 defaults to), "off"/"none" (listener disabled), and in files also {host, port}.
import { isIP } from 'node:net';
import type { ListenAddress } from './types.js';

export const DEFAULT_LISTEN_HOST = '127.0.0.1';
export const ADDRESS_EXPECTED = 'expected HOST:PORT, [IPv6]:PORT, a port 0..65535 or "off"';

/** Result of parsing: an address, null (disabled), or a string saying what is wrong. */
export type ParsedAddress = { ok: true; value: ListenAddress | null } | { ok: false; problem: string };

// RFC 1123 host names (labels of letters, digits and hyphens); IP literals are checked by isIP.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function isValidHost(host: string): boolean {
  return isIP(host) !== 0 || HOSTNAME.test(host);
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** Parse the text form (environment, flags, strings in files). */
export function parseAddressText(raw: string): ParsedAddress {
  const text = raw.trim();
  const lower = text.toLowerCase();
  if (lower === 'off' || lower === 'none') return { ok: true, value: null };
  const bare = parsePort(text);
  if (bare !== undefined) return { ok: true, value: { host: DEFAULT_LISTEN_HOST, port: bare } };
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') return { ok: false, problem: ADDRESS_EXPECTED };
    host = text.slice(1, end);
    portText = text.slice(end + 2);
    if (isIP(host) !== 6) return { ok: false, problem: `"${host}" in brackets is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { ok: false, problem: ADDRESS_EXPECTED };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return { ok: false, problem: 'an IPv6 host must be in brackets, e.g. [::1]:1883' };
    if (!isValidHost(host)) return { ok: false, problem: host === '' ? `${ADDRESS_EXPECTED} (the host is empty)` : `"${host}" is not a host name or IP address` };
  }
  const port = parsePort(portText);
  if (port === undefined) return { ok: false, problem: `the port must be an integer 0..65535` };
  return { ok: true, value: { host, port } };
}

/** Parse a value from a config file or object: text, a port number, null, or {host, port}. */
export function parseAddressValue(raw: unknown): ParsedAddress {
  if (raw === null || raw === false) return { ok: true, value: null };
  if (typeof raw === 'string') return parseAddressText(raw);
  if (typeof raw === 'number') {
    if (Number.isInteger(raw) && raw >= 0 && raw <= 65535) return { ok: true, value: { host: DEFAULT_LISTEN_HOST, port: raw } };
    return { ok: false, problem: ADDRESS_EXPECTED };
  }
  if (typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== 'host' && k !== 'port');
    if (extra.length > 0) return { ok: false, problem: `unknown key "${extra[0]}" in {host, port}` };
    const host = o.host === undefined ? DEFAULT_LISTEN_HOST : o.host;
    if (typeof host !== 'string' || !isValidHost(host)) return { ok: false, problem: 'host must be a host name or IP address' };
    const port = o.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) return { ok: false, problem: 'port must be an integer 0..65535' };
    return { ok: true, value: { host, port } };
  }
  return { ok: false, problem: ADDRESS_EXPECTED };
}

/** "127.0.0.1:1883", "[::1]:1883". */
export function formatHostPort(addr: ListenAddress): string {
  return isIP(addr.host) === 6 ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (what "loopback only" means). */
export function isLoopbackAddress(host: string): boolean {
  const h = host.toLowerCase();
  if (h === '::1' || h === 'localhost') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
