// The contract every RegistryStore adapter passes (src/ports/registry-store.ts): one suite, run
// against each adapter by a *.test.ts file beside this.
//
// `open` returns a fresh, empty store; `reopen` (for durable adapters) closes it and opens the
// same data again; `cleanup` closes whatever is open and removes its data.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { TwinhubError } from '../../src/common/errors.js';
import type {
  AclPolicyRecord,
  ApiKeyRecord,
  CredentialRecord,
  DeviceRecord,
  PresenceRecord,
  RegistryStore,
} from '../../src/ports/registry-store.js';

export interface OpenedRegistryStore {
  store: RegistryStore;
  reopen?: () => Promise<RegistryStore>;
  cleanup: () => Promise<void>;
}

const T0 = 1_700_000_000_000;

export function device(id: string, over: Partial<DeviceRecord> = {}): DeviceRecord {
  return { id, tags: {}, enabled: true, createdAt: T0, updatedAt: T0, ...over };
}

/** A device with every optional field set. */
export function fullDevice(id: string): DeviceRecord {
  return device(id, {
    name: 'Boiler room sensor — Zürich',
    type: 'thermo-v2',
    group: 'plant-7',
    tags: { floor: '2', 'ünïcødé': '✓', empty: '' },
    enabled: false,
    createdAt: T0 + 1,
    updatedAt: T0 + 2,
    acl: [
      { filter: 'devices/{deviceId}/#', action: 'all', allow: true },
      { filter: 'admin/#', action: 'subscribe', allow: false },
    ],
    limits: { messagesPerSecond: 10, bytesPerSecond: 65_536 },
  });
}

export function password(id: string, deviceId: string, over: Partial<CredentialRecord> = {}): CredentialRecord {
  return {
    id,
    deviceId,
    type: 'password',
    createdAt: T0,
    hash: '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
    ...over,
  };
}

export function token(id: string, deviceId: string, digest: string, over: Partial<CredentialRecord> = {}): CredentialRecord {
  return { id, deviceId, type: 'token', createdAt: T0, lookupKey: `token:${digest}`, hash: digest, ...over };
}

export function apiKey(id: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return { id, name: `key ${id}`, role: 'operator', hash: 'ab'.repeat(32), createdAt: T0, ...over };
}

export function policy(id: string, over: Partial<AclPolicyRecord> = {}): AclPolicyRecord {
  return {
    id,
    rules: [{ filter: 'telemetry/{deviceId}/+', action: 'publish', allow: true }],
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

const online: PresenceRecord = { connected: true, lastSeen: T0 + 10, protocol: 'mqtt5', clientId: 'c-1', remoteAddress: '127.0.0.1:50000' };
const offline: PresenceRecord = { connected: false, lastSeen: T0 + 20 };

const exists = { ok: false, conflict: 'exists' } as const;
const ok = { ok: true } as const;

/** Sort strings by their UTF-8 bytes, independently of the adapters' own comparison. */
function utf8Sorted(ids: readonly string[]): string[] {
  return [...ids].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

async function allDevices(store: RegistryStore, pageSize: number): Promise<string[]> {
  const seen: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.scanDevices(after === undefined ? { limit: pageSize } : { after, limit: pageSize });
    assert.ok(page.length <= pageSize, 'a page holds at most `limit` devices');
    if (page.length === 0) return seen;
    for (const d of page) seen.push(d.id);
    after = page[page.length - 1]!.id;
    if (seen.length > 10_000) throw new Error('scan does not end');
  }
}

function isTwinhubError(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof TwinhubError, `expected a TwinhubError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

export function registryStoreContract(name: string, open: () => Promise<OpenedRegistryStore>): void {
  describe(`RegistryStore contract: ${name}`, () => {
    let h: OpenedRegistryStore;
    let store: RegistryStore;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('starts empty', async () => {
      assert.equal(await store.countDevices(), 0);
      assert.deepEqual(await store.scanDevices({ limit: 10 }), []);
      assert.equal(await store.getDevice('nobody'), undefined);
      assert.equal(await store.getPresence('nobody'), undefined);
      assert.equal(await store.getCredential('nothing'), undefined);
      assert.deepEqual(await store.listCredentials('nobody'), []);
      assert.equal(await store.findCredentialByLookup('token:00'), undefined);
      assert.deepEqual(await store.listApiKeys(), []);
      assert.equal(await store.getApiKey('k'), undefined);
      assert.deepEqual(await store.listAclPolicies(), []);
      assert.equal(await store.getAclPolicy('p'), undefined);
    });

    describe('devices', () => {
      it('creates and gets a device with every field', async () => {
        const d = fullDevice('sensor-1');
        assert.deepEqual(await store.createDevice(d), ok);
        assert.deepEqual(await store.getDevice('sensor-1'), d);
        assert.deepEqual(await store.createDevice(device('bare')), ok);
        assert.deepEqual(await store.getDevice('bare'), device('bare'));
        assert.equal(await store.getDevice('sensor-2'), undefined);
        assert.equal(await store.countDevices(), 2);
      });

      it('refuses to create a device whose id exists (exists) and leaves the stored one unchanged', async () => {
        const first = fullDevice('d');
        await store.createDevice(first);
        assert.deepEqual(await store.createDevice(device('d', { name: 'impostor', enabled: true })), exists);
        assert.deepEqual(await store.getDevice('d'), first);
        assert.equal(await store.countDevices(), 1);
      });

      it('updates an existing device by replacing the record; `missing` for an unknown one, creating nothing', async () => {
        await store.createDevice(fullDevice('d'));
        const replaced = device('d', { name: 'renamed', updatedAt: T0 + 99 });
        assert.deepEqual(await store.updateDevice(replaced), ok);
        assert.deepEqual(await store.getDevice('d'), replaced, 'fields absent from the new record are gone');
        assert.deepEqual(await store.updateDevice(device('ghost')), { ok: false, conflict: 'missing' });
        assert.equal(await store.getDevice('ghost'), undefined);
        assert.equal(await store.countDevices(), 1);
      });

      it('creates many at once with one result per input: duplicates in the batch and stored ones are `exists`, the rest stored', async () => {
        await store.createDevice(device('stored', { name: 'original' }));
        const results = await store.createDevices([
          device('a'),
          device('stored', { name: 'overwrite?' }),
          device('b', { name: 'first b' }),
          device('b', { name: 'second b' }),
          device('c'),
          device('a'),
        ]);
        assert.deepEqual(results, [ok, exists, ok, exists, ok, exists]);
        assert.equal((await store.getDevice('stored'))?.name, 'original');
        assert.equal((await store.getDevice('b'))?.name, 'first b', 'the first of two duplicates wins');
        assert.deepEqual(await store.getDevice('c'), device('c'));
        assert.equal(await store.countDevices(), 4);
        assert.deepEqual(await store.createDevices([]), []);
      });

      it('creates 2,000 devices in one call', async () => {
        const batch = Array.from({ length: 2000 }, (_, i) => device(`bulk-${String(i).padStart(4, '0')}`));
        const results = await store.createDevices(batch);
        assert.equal(results.length, 2000);
        assert.ok(results.every((r) => r.ok));
        assert.equal(await store.countDevices(), 2000);
        assert.deepEqual(await store.getDevice('bulk-1999'), batch[1999]);
      });

      it('counts devices as they are created and deleted', async () => {
        await store.createDevices([device('x'), device('y'), device('z')]);
        assert.equal(await store.countDevices(), 3);
        await store.deleteDevice('y');
        assert.equal(await store.countDevices(), 2);
        await store.deleteDevice('y');
        await store.createDevice(device('x'));
        assert.equal(await store.countDevices(), 2);
      });
    });

    describe('scanDevices', () => {
      // Ids whose UTF-8 byte order differs from JavaScript's UTF-16 order: U+FF5A (EF BD 9A)
      // sorts before U+1F600 (F0 9F 98 80) in UTF-8, after its surrogates (D83D…) in UTF-16.
      const ids = [
        'dev-😀',
        'dev-ｚ',
        'dev-\uffff',
        'dev-é',
        'dev-z',
        'dev-Z',
        'dev-',
        'dev',
        'dev-10',
        'dev-9',
        'dev-日本',
        'a',
        'ä',
        '~',
        ...Array.from({ length: 30 }, (_, i) => `bulk-${i}`),
      ];

      it('visits every device exactly once, in UTF-8 byte order of the ids, page by page', async () => {
        await store.createDevices(ids.map((id) => device(id)));
        const expected = utf8Sorted(ids);
        assert.ok(expected.indexOf('dev-ｚ') < expected.indexOf('dev-😀'), 'the fixture covers UTF-8 vs UTF-16 order');
        for (const pageSize of [1, 7, ids.length, 1000]) {
          assert.deepEqual(await allDevices(store, pageSize), expected, `page size ${pageSize}`);
        }
        const page = await store.scanDevices({ limit: 3 });
        assert.deepEqual(page, expected.slice(0, 3).map((id) => device(id)), 'returns whole records');
      });

      it('treats `after` as an exclusive cursor that need not be a stored id', async () => {
        await store.createDevices(ids.map((id) => device(id)));
        const expected = utf8Sorted(ids);
        const ofScan = async (after: string, limit: number): Promise<string[]> => (await store.scanDevices({ after, limit })).map((d) => d.id);
        assert.deepEqual(await ofScan('dev-9', 2), expected.slice(expected.indexOf('dev-9') + 1).slice(0, 2));
        assert.deepEqual(await ofScan('dev-zz', 1), ['dev-é'], 'an id that is not stored');
        assert.deepEqual(await ofScan('dev-ｚ', 1), ['dev-\uffff']);
        assert.deepEqual(await ofScan('dev-\uffff', 1), ['dev-😀']);
        assert.deepEqual(await ofScan('\u{10ffff}', 5), [], 'after the last id');
        assert.deepEqual(await ofScan('', 1), [expected[0]]);
      });

      it('stops when devices are deleted while paging, without repeating any', async () => {
        await store.createDevices(ids.map((id) => device(id)));
        const expected = utf8Sorted(ids);
        const first = await store.scanDevices({ limit: 10 });
        await store.deleteDevice(first[9]!.id);
        await store.deleteDevice(expected[20]!);
        const rest = await store.scanDevices({ after: first[9]!.id, limit: 1000 });
        assert.deepEqual(
          rest.map((d) => d.id),
          expected.slice(10).filter((id) => id !== expected[20]),
        );
      });
    });

    describe('deleteDevice', () => {
      it('removes the device, its credentials, their lookup keys and its presence, returning the device and its credentials oldest first', async () => {
        await store.createDevice(fullDevice('d'));
        await store.createDevice(device('other'));
        const pw = password('cred-pw', 'd', { createdAt: T0 + 5 });
        const tk = token('cred-tk', 'd', 'aa'.repeat(32), { createdAt: T0 + 1 });
        const otherTk = token('cred-other', 'other', 'bb'.repeat(32));
        for (const c of [pw, tk, otherTk]) assert.deepEqual(await store.addCredential(c), ok);
        await store.putPresence('d', online);
        await store.putPresence('other', online);

        const removed = await store.deleteDevice('d');
        assert.deepEqual(removed, { device: fullDevice('d'), credentials: [tk, pw] });
        assert.equal(await store.getDevice('d'), undefined);
        assert.equal(await store.getCredential('cred-pw'), undefined);
        assert.equal(await store.getCredential('cred-tk'), undefined);
        assert.deepEqual(await store.listCredentials('d'), []);
        assert.equal(await store.findCredentialByLookup(tk.lookupKey!), undefined);
        assert.equal(await store.getPresence('d'), undefined);
        // The other device keeps everything.
        assert.deepEqual(await store.getDevice('other'), device('other'));
        assert.deepEqual(await store.listCredentials('other'), [otherTk]);
        assert.deepEqual(await store.findCredentialByLookup(otherTk.lookupKey!), otherTk);
        assert.deepEqual(await store.getPresence('other'), online);
      });

      it('frees the lookup keys and credential ids for reuse, and a re-created device starts clean', async () => {
        await store.createDevice(device('d'));
        const tk = token('cred-tk', 'd', 'cc'.repeat(32));
        await store.addCredential(tk);
        await store.putPresence('d', online);
        await store.deleteDevice('d');
        await store.createDevice(device('d2'));
        const again = token('cred-new', 'd2', 'cc'.repeat(32));
        assert.deepEqual(await store.addCredential(again), ok);
        assert.deepEqual(await store.findCredentialByLookup(tk.lookupKey!), again);
        assert.deepEqual(await store.addCredential(password('cred-tk', 'd2')), ok, 'the credential id is free again');
        await store.createDevice(device('d'));
        assert.deepEqual(await store.listCredentials('d'), []);
        assert.equal(await store.getPresence('d'), undefined);
      });

      it('returns no device and removes nothing for an unknown id', async () => {
        await store.createDevice(device('d'));
        assert.deepEqual(await store.deleteDevice('unknown'), { device: undefined, credentials: [] });
        assert.equal(await store.countDevices(), 1);
      });

      it('keeps apart devices whose ids extend one another (d, d-1, d\\u0000x)', async () => {
        await store.createDevices([device('d'), device('d-1'), device('d\u0000x')]);
        const mine = password('p', 'd');
        const longer = password('q', 'd-1');
        // An index keyed "<device id> 0x00 <credential id>" holds "d\0x\0y" for credential y of
        // device "d\0x": read as an entry of "d", it names credential "x\0y", which exists.
        const nul = password('y', 'd\u0000x');
        const nul2 = password('x\u0000y', 'd\u0000x', { createdAt: T0 + 1 });
        for (const c of [mine, longer, nul, nul2]) assert.deepEqual(await store.addCredential(c), ok);
        assert.deepEqual(await store.listCredentials('d'), [mine]);
        assert.deepEqual(await store.listCredentials('d\u0000x'), [nul, nul2]);
        assert.deepEqual((await store.deleteDevice('d')).credentials, [mine]);
        assert.deepEqual(await store.getCredential('y'), nul);
        assert.deepEqual(await store.getCredential('x\u0000y'), nul2);
        assert.deepEqual(await store.getCredential('q'), longer);
        assert.deepEqual(await store.listCredentials('d\u0000x'), [nul, nul2]);
      });
    });

    describe('credentials', () => {
      it('refuses a credential of a missing device (missing-device) and writes nothing', async () => {
        const tk = token('c1', 'ghost', 'dd'.repeat(32));
        assert.deepEqual(await store.addCredential(tk), { ok: false, conflict: 'missing-device' });
        assert.equal(await store.getCredential('c1'), undefined);
        assert.equal(await store.findCredentialByLookup(tk.lookupKey!), undefined);
        await store.createDevice(device('ghost'));
        assert.deepEqual(await store.listCredentials('ghost'), []);
      });

      it('refuses a lookup key that another credential uses (lookup-taken) and writes nothing', async () => {
        await store.createDevices([device('a'), device('b')]);
        const first = token('c1', 'a', 'ee'.repeat(32));
        assert.deepEqual(await store.addCredential(first), ok);
        const clash = token('c2', 'b', 'ee'.repeat(32));
        assert.deepEqual(await store.addCredential(clash), { ok: false, conflict: 'lookup-taken' });
        assert.equal(await store.getCredential('c2'), undefined);
        assert.deepEqual(await store.listCredentials('b'), []);
        assert.deepEqual(await store.findCredentialByLookup(first.lookupKey!), first);
        // Also on the same device.
        assert.deepEqual(await store.addCredential(token('c3', 'a', 'ee'.repeat(32))), { ok: false, conflict: 'lookup-taken' });
        assert.deepEqual(await store.listCredentials('a'), [first]);
      });

      it('refuses a credential id that exists (exists), also on another device, and writes nothing', async () => {
        await store.createDevices([device('a'), device('b')]);
        const first = password('c1', 'a');
        await store.addCredential(first);
        const again = token('c1', 'b', 'ff'.repeat(32));
        assert.deepEqual(await store.addCredential(again), exists);
        assert.deepEqual(await store.getCredential('c1'), first);
        assert.deepEqual(await store.listCredentials('b'), []);
        assert.equal(await store.findCredentialByLookup(again.lookupKey!), undefined);
      });

      it('checks missing-device before exists before lookup-taken', async () => {
        await store.createDevice(device('a'));
        await store.addCredential(token('c1', 'a', '11'.repeat(32)));
        assert.deepEqual(await store.addCredential(token('c1', 'ghost', '11'.repeat(32))), { ok: false, conflict: 'missing-device' });
        assert.deepEqual(await store.addCredential(token('c1', 'a', '11'.repeat(32))), exists);
      });

      it('lists a device\'s credentials oldest first, by createdAt then id', async () => {
        await store.createDevice(device('d'));
        const creds = [
          password('m', 'd', { createdAt: T0 + 20 }),
          password('b', 'd', { createdAt: T0 + 10 }),
          password('a', 'd', { createdAt: T0 + 10 }),
          password('z', 'd', { createdAt: T0 }),
          token('y', 'd', '22'.repeat(32), { createdAt: T0 + 30, expiresAt: T0 + 1_000, label: 'factory token' }),
        ];
        for (const c of creds) assert.deepEqual(await store.addCredential(c), ok);
        assert.deepEqual(
          (await store.listCredentials('d')).map((c) => c.id),
          ['z', 'a', 'b', 'm', 'y'],
        );
        assert.deepEqual((await store.listCredentials('d'))[4], creds[4], 'every field kept');
      });

      it('finds credentials by lookup key, also very long ones, and only by the exact key', async () => {
        await store.createDevice(device('d'));
        const fp = 'a1'.repeat(32);
        const x509 = { id: 'x1', deviceId: 'd', type: 'x509', createdAt: T0, lookupKey: `x509-fp:${fp}`, fingerprint: fp } as const;
        const subject = `CN=dev-1\nO=${'Acme Ünïcødé Industries '.repeat(60)}`;
        const bySubject: CredentialRecord = { id: 'x2', deviceId: 'd', type: 'x509', createdAt: T0 + 1, lookupKey: `x509-subject:${subject}`, subject };
        const jwt: CredentialRecord = { id: 'j1', deviceId: 'd', type: 'jwt-key', createdAt: T0 + 2, alg: 'ES256', key: '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n' };
        for (const c of [x509, bySubject, jwt]) assert.deepEqual(await store.addCredential(c), ok);
        assert.deepEqual(await store.findCredentialByLookup(`x509-fp:${fp}`), x509);
        assert.deepEqual(await store.findCredentialByLookup(`x509-subject:${subject}`), bySubject);
        assert.equal(await store.findCredentialByLookup(`x509-subject:${subject}x`), undefined);
        assert.equal(await store.findCredentialByLookup(`x509-fp:${fp.toUpperCase()}`), undefined);
        assert.equal(await store.findCredentialByLookup(`x509-fp:${fp.slice(1)}`), undefined);
        assert.deepEqual(await store.getCredential('j1'), jwt);
        assert.deepEqual(await store.addCredential(token('x3', 'd', 'zz', { lookupKey: `x509-subject:${subject}` })), {
          ok: false,
          conflict: 'lookup-taken',
        });
      });

      it('removes one credential and its lookup key, returning it; undefined when there is none', async () => {
        await store.createDevice(device('d'));
        const keep = password('keep', 'd');
        const tk = token('tk', 'd', '33'.repeat(32));
        await store.addCredential(keep);
        await store.addCredential(tk);
        assert.deepEqual(await store.removeCredential('tk'), tk);
        assert.equal(await store.getCredential('tk'), undefined);
        assert.equal(await store.findCredentialByLookup(tk.lookupKey!), undefined);
        assert.deepEqual(await store.listCredentials('d'), [keep]);
        assert.equal(await store.removeCredential('tk'), undefined);
        assert.equal(await store.removeCredential('never'), undefined);
        assert.deepEqual(await store.addCredential(token('tk2', 'd', '33'.repeat(32))), ok, 'the lookup key is free again');
        assert.deepEqual(await store.removeCredential('keep'), keep);
        assert.deepEqual(
          (await store.listCredentials('d')).map((c) => c.id),
          ['tk2'],
        );
      });
    });

    describe('presence', () => {
      it('puts, replaces and gets the presence of a device', async () => {
        await store.createDevice(device('d'));
        await store.putPresence('d', online);
        assert.deepEqual(await store.getPresence('d'), online);
        await store.putPresence('d', offline);
        assert.deepEqual(await store.getPresence('d'), offline);
        assert.deepEqual(await store.getDevice('d'), device('d'), 'presence is kept apart from the device record');
      });

      it('ignores presence of an unknown device, also once a device of that id is created', async () => {
        await store.putPresence('ghost', online);
        assert.equal(await store.getPresence('ghost'), undefined);
        await store.createDevice(device('ghost'));
        assert.equal(await store.getPresence('ghost'), undefined);
      });

      it('leaves no presence behind when the device is deleted while a presence write is pending', async () => {
        await store.createDevices([device('d'), device('e')]);
        const pending = [store.putPresence('d', online), store.putPresence('e', online)];
        const removed = store.deleteDevice('d');
        await Promise.all(pending);
        await removed;
        assert.equal(await store.getPresence('d'), undefined);
        assert.deepEqual(await store.getPresence('e'), online);
        await store.putPresence('d', offline);
        assert.equal(await store.getPresence('d'), undefined);
      });

      it('applies many presence writes issued at once, the last one per device winning', async () => {
        const ids = Array.from({ length: 200 }, (_, i) => `p-${i}`);
        await store.createDevices(ids.map((id) => device(id)));
        const writes: Array<Promise<void>> = [];
        for (const id of ids) writes.push(store.putPresence(id, online));
        for (const id of ids.slice(0, 100)) writes.push(store.putPresence(id, offline));
        await Promise.all(writes);
        assert.deepEqual(await store.getPresence('p-0'), offline);
        assert.deepEqual(await store.getPresence('p-99'), offline);
        assert.deepEqual(await store.getPresence('p-100'), online);
        assert.deepEqual(await store.getPresence('p-199'), online);
      });
    });

    describe('API keys', () => {
      it('adds, gets, lists in id order and removes API keys', async () => {
        const admin = apiKey('k2', { role: 'admin', expiresAt: T0 + 86_400_000 });
        const reader = apiKey('k1', { role: 'read-only' });
        const unicode = apiKey('kä');
        for (const k of [admin, reader, unicode]) assert.deepEqual(await store.addApiKey(k), ok);
        assert.deepEqual(await store.getApiKey('k2'), admin);
        assert.deepEqual(await store.listApiKeys(), [reader, admin, unicode]);
        assert.deepEqual(await store.removeApiKey('k2'), admin);
        assert.equal(await store.getApiKey('k2'), undefined);
        assert.equal(await store.removeApiKey('k2'), undefined);
        assert.deepEqual(await store.listApiKeys(), [reader, unicode]);
      });

      it('refuses an API key whose id exists (exists) and keeps the stored one', async () => {
        const first = apiKey('k');
        await store.addApiKey(first);
        assert.deepEqual(await store.addApiKey(apiKey('k', { role: 'admin', hash: 'cd'.repeat(32) })), exists);
        assert.deepEqual(await store.getApiKey('k'), first);
        assert.equal((await store.listApiKeys()).length, 1);
      });
    });

    describe('ACL policies', () => {
      it('puts (inserting or replacing), gets, lists in id order and removes policies', async () => {
        const fleet = policy('fleet', { description: 'every device' });
        const byType = policy('by-type', { type: 'thermo-v2', rules: [] });
        const byGroup = policy('by-group', {
          group: 'plant-7',
          rules: [
            { filter: 'plants/7/#', action: 'subscribe', allow: true },
            { filter: 'plants/7/admin', action: 'all', allow: false },
          ],
        });
        for (const p of [fleet, byType, byGroup]) await store.putAclPolicy(p);
        assert.deepEqual(await store.getAclPolicy('by-group'), byGroup);
        assert.deepEqual(await store.listAclPolicies(), [byGroup, byType, fleet]);
        const replaced = policy('fleet', { rules: [], updatedAt: T0 + 5 });
        await store.putAclPolicy(replaced);
        assert.deepEqual(await store.getAclPolicy('fleet'), replaced, 'replaced whole: the description is gone');
        assert.equal((await store.listAclPolicies()).length, 3);
        assert.deepEqual(await store.removeAclPolicy('by-type'), byType);
        assert.equal(await store.getAclPolicy('by-type'), undefined);
        assert.equal(await store.removeAclPolicy('by-type'), undefined);
        assert.deepEqual(await store.listAclPolicies(), [byGroup, replaced]);
      });
    });

    describe('isolation', () => {
      it('stores copies: changing a record after writing it or after reading it does not change the store', async () => {
        const d = fullDevice('d');
        await store.createDevice(d);
        d.tags.floor = 'changed';
        d.acl!.push({ filter: '#', action: 'all', allow: true });
        const read = (await store.getDevice('d'))!;
        assert.deepEqual(read, fullDevice('d'));
        read.name = 'changed';
        read.limits!.messagesPerSecond = 1;
        (await store.scanDevices({ limit: 1 }))[0]!.tags.floor = 'changed';
        assert.deepEqual(await store.getDevice('d'), fullDevice('d'));

        const c = token('c', 'd', '44'.repeat(32));
        await store.addCredential(c);
        c.hash = 'changed';
        (await store.getCredential('c'))!.hash = 'changed';
        (await store.listCredentials('d'))[0]!.hash = 'changed';
        (await store.findCredentialByLookup(c.lookupKey!))!.hash = 'changed';
        assert.equal((await store.getCredential('c'))!.hash, '44'.repeat(32));

        const p = { ...online };
        await store.putPresence('d', p);
        p.connected = false;
        (await store.getPresence('d'))!.lastSeen = 0;
        assert.deepEqual(await store.getPresence('d'), online);

        const k = apiKey('k');
        await store.addApiKey(k);
        k.role = 'admin';
        (await store.getApiKey('k'))!.role = 'admin';
        (await store.listApiKeys())[0]!.role = 'admin';
        assert.equal((await store.getApiKey('k'))!.role, 'operator');

        const pol = policy('p');
        await store.putAclPolicy(pol);
        pol.rules[0]!.allow = false;
        (await store.getAclPolicy('p'))!.rules[0]!.allow = false;
        (await store.listAclPolicies())[0]!.rules.push({ filter: '#', action: 'all', allow: false });
        assert.deepEqual(await store.getAclPolicy('p'), policy('p'));

        const bulk = [device('b1')];
        await store.createDevices(bulk);
        bulk[0]!.enabled = false;
        await store.updateDevice(device('b1', { tags: { a: '1' } }));
        assert.deepEqual(await store.getDevice('b1'), device('b1', { tags: { a: '1' } }));
      });
    });

    it('rejects reads and writes once closed', async () => {
      await store.createDevice(device('d'));
      await store.close();
      await assert.rejects(store.getDevice('d'), isTwinhubError('TH_STORE_OPEN_FAILED'));
      await assert.rejects(store.createDevice(device('e')), isTwinhubError('TH_STORE_WRITE_FAILED'));
      await assert.rejects(store.putPresence('d', online), isTwinhubError('TH_STORE_WRITE_FAILED'));
      await store.close(); // a second close is harmless
    });

    it('keeps everything across a close and reopen', async (t) => {
      if (h.reopen === undefined) {
        t.skip('not a durable adapter');
        return;
      }
      const ids = ['dev-😀', 'dev-ｚ', 'dev-a', 'dev-b'];
      await store.createDevices(ids.map((id) => fullDevice(id)));
      await store.updateDevice(device('dev-b', { name: 'updated' }));
      const pw = password('pw', 'dev-a');
      const tk = token('tk', 'dev-a', '55'.repeat(32), { createdAt: T0 - 1 });
      await store.addCredential(pw);
      await store.addCredential(tk);
      await store.addCredential(password('gone', 'dev-b'));
      await store.removeCredential('gone');
      await store.putPresence('dev-a', online);
      await store.addApiKey(apiKey('k'));
      await store.putAclPolicy(policy('p'));
      await store.createDevice(device('deleted'));
      await store.deleteDevice('deleted');
      // Not awaited: close waits for pending writes.
      void store.putPresence('dev-b', offline);

      store = await h.reopen();
      assert.equal(await store.countDevices(), 4);
      assert.deepEqual(await allDevices(store, 3), utf8Sorted(ids));
      assert.deepEqual(await store.getDevice('dev-a'), fullDevice('dev-a'));
      assert.deepEqual(await store.getDevice('dev-b'), device('dev-b', { name: 'updated' }));
      assert.equal(await store.getDevice('deleted'), undefined);
      assert.deepEqual(await store.listCredentials('dev-a'), [tk, pw]);
      assert.deepEqual(await store.listCredentials('dev-b'), []);
      assert.deepEqual(await store.findCredentialByLookup(tk.lookupKey!), tk);
      assert.deepEqual(await store.getPresence('dev-a'), online);
      assert.deepEqual(await store.getPresence('dev-b'), offline);
      assert.deepEqual(await store.listApiKeys(), [apiKey('k')]);
      assert.deepEqual(await store.listAclPolicies(), [policy('p')]);
      // Conflicts are still found after the reopen.
      assert.deepEqual(await store.createDevice(device('dev-a')), exists);
      assert.deepEqual(await store.addCredential(token('tk9', 'dev-b', '55'.repeat(32))), { ok: false, conflict: 'lookup-taken' });
    });
  });
}
