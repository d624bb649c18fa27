// `client.authenticate` filled by the registry. Who a connecting client is:
//   1. an mTLS client whose certificate (fingerprint or subject) is a device's x509 credential;
//   2. a client whose username is a registered device id, proving it with one of the device's
//      credentials in the password field: an access token, a JWT (per-device key or the fleet
//      key, `sub` = device id) or a password (scrypt, on the thread pool);
//   3. a client presenting a token alone (username empty or not a device): found by its hash;
//   4. anyone else is anonymous: allowed where the listener allows anonymous clients.
// A registered device must use its id as client id unless config says otherwise [MQTT-3.1.3-8
// lets a server refuse a client id: 0x85 / 3.1.1 return code 2].
import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { TwinhubConfig } from '../../config/types.js';
import type { CredentialRecord, DeviceRecord, RegistryStore } from '../../ports/registry-store.js';
import { authenticateAnonymous } from '../broker/static-auth.js';
import type { AuthenticateRequest, AuthResult, SessionAuth } from '../hooks.js';
import { certificateLookupKeys, constantTimeEqualHex, importJwtKey, sha256Hex, verifyJwt, verifyPassword, type JwtAlg } from './credentials/index.js';
import { tokenLookupKey } from './credentials/tokens.js';
import { setBounded } from '../../common/bounded-map.js';

export interface FleetJwtKey {
  alg: JwtAlg;
  key: KeyObject;
}

export interface AuthenticatorDeps {
  store: RegistryStore;
  config: Pick<TwinhubConfig, 'registry'>;
  log: Logger;
  now: () => number;
  fleetKey: FleetJwtKey | undefined;
  /** Builds the per-connection grants (ACL, quota) of an authenticated device. */
  grant: (device: DeviceRecord, req: AuthenticateRequest, credential: CredentialRecord | undefined, expiresAt: number) => SessionAuth;
}

export interface AuthCounters {
  ok: number;
  anonymous: number;
  badCredentials: number;
  notAuthorized: number;
  badClientId: number;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const VERIFIED_CACHE_MAX = 200_000;

export class DeviceAuthenticator {
  readonly counters: AuthCounters = { ok: 0, anonymous: 0, badCredentials: 0, notAuthorized: 0, badClientId: 0 };
  /**
   * Credential id → HMAC of the password last verified for it, under a key that lives only in
   * this process: a reconnecting device (every device after a hub-side network blip) skips the
   * scrypt cost, and the cache holds no password. Revocation and deletion evict.
   */
  private readonly verified = new Map<string, string>();
  private readonly cacheKey = randomBytes(32);

  constructor(private readonly deps: AuthenticatorDeps) {}

  evict(credentialId: string): void {
    this.verified.delete(credentialId);
  }

  async authenticate(req: AuthenticateRequest): Promise<AuthResult> {
    const r = await this.identify(req);
    if (r.ok) {
      if (r.deviceId === undefined) this.counters.anonymous++;
      else this.counters.ok++;
    } else if (r.reason === 'bad-credentials') this.counters.badCredentials++;
    else if (r.reason === 'bad-client-id') this.counters.badClientId++;
    else this.counters.notAuthorized++;
    return r;
  }

  private async identify(req: AuthenticateRequest): Promise<AuthResult> {
    const { store } = this.deps;
    const cert = req.client.certificate;
    if (cert !== undefined) {
      for (const key of certificateLookupKeys(cert)) {
        const cred = await store.findCredentialByLookup(key);
        if (cred !== undefined && this.live(cred)) return this.admit(req, cred.deviceId, cred, 0);
      }
    }
    const password = req.password;
    const username = req.username;
    if (username !== undefined && username.length > 0) {
      const device = await store.getDevice(username);
      if (device !== undefined) {
        if (password === undefined) return { ok: false, reason: 'bad-credentials', message: 'a registered device must send a password, token or JWT' };
        return this.proveDevice(req, device, password);
      }
    }
    if (password !== undefined && password.length > 0 && password.length <= 256) {
      // A token alone identifies its device.
      const cred = await store.findCredentialByLookup(tokenLookupKey(password));
      if (cred !== undefined && this.live(cred)) return this.admit(req, cred.deviceId, cred, 0);
    }
    return authenticateAnonymous(req, username === undefined ? 'unknown credentials' : `no device ${JSON.stringify(username)} is registered`);
  }

  private live(cred: CredentialRecord): boolean {
    return cred.expiresAt === undefined || cred.expiresAt > this.deps.now();
  }

  private async proveDevice(req: AuthenticateRequest, device: DeviceRecord, password: Buffer): Promise<AuthResult> {
    const creds = (await this.deps.store.listCredentials(device.id)).filter((c) => this.live(c));
    const text = password.toString('utf8');
    // Cheap checks first: token hash, then JWT signatures, then scrypt (milliseconds each).
    const tokenHash = sha256Hex(password);
    for (const c of creds) {
      if (c.type === 'token' && c.hash !== undefined && constantTimeEqualHex(c.hash, tokenHash)) return this.admit(req, device.id, c, 0, device);
    }
    if (JWT_SHAPE.test(text)) {
      const keys: { alg: JwtAlg; key: KeyObject; cred: CredentialRecord | undefined }[] = [];
      for (const c of creds) {
        if (c.type !== 'jwt-key' || c.alg === undefined || c.key === undefined) continue;
        try {
          keys.push({ alg: c.alg, key: importJwtKey(c.alg, c.key), cred: c });
        } catch {
          // A stored key that no longer imports is skipped; it was valid when added.
        }
      }
      if (this.deps.fleetKey !== undefined) keys.push({ ...this.deps.fleetKey, cred: undefined });
      const skew = this.deps.config.registry.jwt.clockSkew;
      for (const k of keys) {
        const v = verifyJwt(text, [k], { now: this.deps.now(), clockSkewSeconds: skew, subject: device.id });
        if (v.ok) {
          return this.admit(req, device.id, k.cred, v.expiresAt === undefined ? 0 : v.expiresAt + skew * 1000, device);
        }
      }
    }
    const mac = createHmac('sha256', this.cacheKey).update(password).digest('hex');
    for (const c of creds) {
      if (c.type !== 'password' || c.hash === undefined) continue;
      const cached = this.verified.get(c.id);
      if (cached !== undefined && constantTimeEqualHex(cached, mac)) return this.admit(req, device.id, c, 0, device);
    }
    for (const c of creds) {
      if (c.type !== 'password' || c.hash === undefined) continue;
      if (await verifyPassword(password, c.hash)) {
        setBounded(this.verified, VERIFIED_CACHE_MAX, c.id, mac);
        return this.admit(req, device.id, c, 0, device);
      }
    }
    return { ok: false, reason: 'bad-credentials', message: 'wrong credentials for this device' };
  }

  private async admit(req: AuthenticateRequest, deviceId: string, cred: CredentialRecord | undefined, expiresAt: number, known?: DeviceRecord): Promise<AuthResult> {
    const device = known ?? (await this.deps.store.getDevice(deviceId));
    if (device === undefined) return { ok: false, reason: 'bad-credentials', message: 'the device of this credential no longer exists' };
    if (!device.enabled) return { ok: false, reason: 'not-authorized', message: 'this device is disabled' };
    if (this.deps.config.registry.clientIdMustMatch && req.client.clientId !== device.id) {
      return { ok: false, reason: 'bad-client-id', message: `a registered device must connect with its device id as client id (${device.id})` };
    }
    let end = expiresAt;
    if (cred?.expiresAt !== undefined && (end === 0 || cred.expiresAt < end)) end = cred.expiresAt;
    return { ok: true, deviceId: device.id, auth: this.deps.grant(device, req, cred, end) };
  }
}
