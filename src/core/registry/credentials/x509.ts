// Client certificates as registry credentials. A device is found by its certificate's SHA-256
// fingerprint (pinning one certificate) or by its subject (any certificate a trusted CA issues
// with that subject: renewals keep working). Matching by subject is sound only for certificates
// the TLS layer verified against the configured CA (`socket.authorized`); the caller decides which
// keys it may look up.
//
// Inputs are what Node prints: X509Certificate.fingerprint256 (`AB:CD:…`) and
// X509Certificate.subject (one RDN per line, `type=value`, values escaped as in RFC 2253 §2.4).

/** SHA-256 fingerprint as lowercase hex without separators, or undefined unless 32 bytes given as `AB:CD:…` or plain hex. */
export function normalizeFingerprint(text: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  const t = text.trim(); // fingerprints are pasted from terminals, newline included
  if (/^[0-9a-fA-F]{64}$/.test(t)) return t.toLowerCase();
  if (/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){31}$/.test(t)) return t.replaceAll(':', '').toLowerCase();
  return undefined;
}

/** CredentialRecord.lookupKey of an x509 credential pinning a fingerprint (as normalizeFingerprint returns it). */
export function fingerprintLookupKey(fingerprint: string): string {
  return `x509-fp:${fingerprint}`;
}

/** CredentialRecord.lookupKey of an x509 credential matching a certificate subject. */
export function subjectLookupKey(subject: string): string {
  return `x509-subject:${subject}`;
}

/**
 * The CredentialRecord.lookupKey values that may find this certificate's credential:
 * `x509-fp:<hex>` and `x509-subject:<subject>` (no subject key for an empty subject, which would
 * match every other certificate without one).
 */
export function certificateLookupKeys(cert: { fingerprint256: string; subject: string }): string[] {
  const keys: string[] = [];
  const fp = normalizeFingerprint(cert.fingerprint256);
  if (fp !== undefined) keys.push(fingerprintLookupKey(fp));
  if (typeof cert.subject === 'string' && cert.subject !== '') keys.push(subjectLookupKey(cert.subject));
  return keys;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Attribute type and unescaped value of each `type=value` in one printed RDN line; undefined if malformed. */
function parseRdn(line: string): { type: string; value: string }[] | undefined {
  const out: { type: string; value: string }[] = [];
  let i = 0;
  while (i <= line.length) {
    const eq = line.indexOf('=', i);
    if (eq < 0) return undefined;
    const type = line.slice(i, eq);
    const bytes: number[] = [];
    let j = eq + 1;
    let end = false;
    while (j < line.length && !end) {
      const c = line[j]!;
      if (c === '\\') {
        // RFC 2253 §2.4: a backslash precedes either a pair of hex digits or the character itself.
        const pair = line.slice(j + 1, j + 3);
        if (/^[0-9a-fA-F]{2}$/.test(pair)) {
          bytes.push(parseInt(pair, 16));
          j += 3;
        } else if (j + 1 < line.length) {
          const cp = line.codePointAt(j + 1)!;
          bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
          j += 1 + (cp > 0xffff ? 2 : 1);
        } else {
          return undefined; // dangling backslash
        }
      } else if (c === '+') {
        // An unescaped '+' joins the values of a multi-valued RDN; Node prints it as ' + '.
        if (bytes.at(-1) === 0x20) bytes.pop();
        j += line[j + 1] === ' ' ? 2 : 1;
        end = true;
      } else {
        const cp = line.codePointAt(j)!;
        bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
        j += cp > 0xffff ? 2 : 1;
      }
    }
    let value: string;
    try {
      value = utf8.decode(Uint8Array.from(bytes));
    } catch {
      return undefined; // \XX escapes that are not UTF-8
    }
    out.push({ type, value });
    if (!end) break;
    i = j;
  }
  return out;
}

/**
 * The common name of a subject as Node prints it, or undefined when there is no CN or more than
 * one: with several, implementations disagree on which names the subject (OpenSSL's lookup takes
 * the first, Go's pkix.Name the last), so none is trusted as a device identity.
 */
export function subjectCommonName(subject: string): string | undefined {
  if (typeof subject !== 'string') return undefined;
  const names: string[] = [];
  for (const line of subject.split('\n')) {
    const rdn = parseRdn(line);
    if (rdn === undefined) return undefined;
    for (const { type, value } of rdn) if (type === 'CN') names.push(value);
  }
  return names.length === 1 && names[0] !== '' ? names[0] : undefined;
}
