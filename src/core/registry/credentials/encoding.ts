// Strict unpadded base64/base64url. Node's Buffer.from(text, 'base64' | 'base64url') skips
// characters outside the alphabet and accepts both alphabets, so 'a.b', 'ab' and 'a b' decode
// alike. Credentials and JWS parts are instead refused unless they are exactly the encoding of some
// bytes: RFC 7515 §2 (base64url "with all trailing '=' characters omitted … and without the
// inclusion of any line breaks, whitespace, or other additional characters") and the PHC string
// format (B64: standard alphabet, no padding).

export type Alphabet = 'base64' | 'base64url';

const PATTERN: Record<Alphabet, RegExp> = {
  base64: /^[A-Za-z0-9+/]*$/,
  base64url: /^[A-Za-z0-9_-]*$/,
};

export function encodeUnpadded(bytes: Buffer, alphabet: Alphabet): string {
  return alphabet === 'base64url' ? bytes.toString('base64url') : bytes.toString('base64').replace(/=+$/, '');
}

/** The bytes `text` encodes, or undefined when it is not their one canonical unpadded encoding. */
export function decodeUnpadded(text: string, alphabet: Alphabet): Buffer | undefined {
  if (text.length % 4 === 1 || !PATTERN[alphabet].test(text)) return undefined;
  const bytes = Buffer.from(text, alphabet);
  // The unused low bits of the last character must be zero, so that one byte string has exactly
  // one accepted text (no second spelling of a signature or a hash).
  return encodeUnpadded(bytes, alphabet) === text ? bytes : undefined;
}
