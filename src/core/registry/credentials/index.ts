// Credential cryptography of the device registry: pure functions over node:crypto, no storage.
// Passwords (scrypt, PHC strings), random tokens and API keys (stored as SHA-256), JWT
// verification for jwt-key credentials, and client-certificate lookup keys.

export {
  DEFAULT_SCRYPT,
  hashPassword,
  parsePasswordHash,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_CHARACTERS,
  validatePassword,
  verifyPassword,
  type ScryptParams,
} from './passwords.js';
export { constantTimeEqualHex, generateApiKey, generateDeviceToken, parseApiKeyId, sha256Hex, tokenLookupKey } from './tokens.js';
export {
  importJwtKey,
  MAX_JWT_LENGTH,
  signJwt,
  verifyJwt,
  type JwtAlg,
  type JwtKey,
  type JwtVerification,
  type JwtVerifyOptions,
} from './jwt.js';
export { certificateLookupKeys, normalizeFingerprint, subjectCommonName } from './x509.js';
