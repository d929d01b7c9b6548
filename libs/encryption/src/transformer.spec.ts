import { createCipheriv, createDecipheriv } from 'node:crypto';
import nacl from 'tweetnacl';
import { EncryptionSettings, KeyedProviderType, ProviderSettings } from './config';
import { EncryptionError } from './errors';
import { transformerFromSettings, ValueTransformer } from './transformer';

const STORAGE_KEY = '/registry/secrets/default/db';
const PLAINTEXT = Buffer.from('{"kind":"Secret","apiVersion":"v1","data":{"password":"aHVudGVyMg=="}}');
const KEY_A = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const KEY_B = Buffer.from('1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100', 'hex');

function keyed(type: KeyedProviderType, ...keys: [string, Buffer][]): ProviderSettings {
  return { type, keys: keys.map(([name, secret]) => ({ name, secret })) };
}

function transformer(providers: ProviderSettings[], resources = ['secrets']): ValueTransformer {
  const settings: EncryptionSettings = { rules: [{ resources, providers }] };
  return transformerFromSettings(settings);
}

function openError(t: ValueTransformer, stored: Buffer, storageKey = STORAGE_KEY): EncryptionError {
  try {
    t.open(stored, storageKey);
  } catch (error) {
    expect(error).toBeInstanceOf(EncryptionError);
    return error as EncryptionError;
  }
  throw new Error('expected open to fail');
}

describe('round trips', () => {
  it.each(['aesgcm', 'aescbc', 'secretbox'] as const)('%s seals under its prefix and opens again', (type) => {
    const t = transformer([keyed(type, ['key1', KEY_A])]);
    const stored = t.seal('secrets', PLAINTEXT, STORAGE_KEY);
    expect(stored.subarray(0, `k8s:enc:${type}:v1:key1:`.length).toString()).toBe(`k8s:enc:${type}:v1:key1:`);
    expect(stored.includes(Buffer.from('aHVudGVyMg=='))).toBe(false);
    expect(t.open(stored, STORAGE_KEY)).toEqual(PLAINTEXT);
    expect(t.describe(stored)).toEqual({ encrypted: true, provider: type, keyName: 'key1' });
    expect(t.writeKeyName).toBe(`${type}:key1`);
  });

  it.each([16, 24, 32])('aesgcm and aescbc work with %i-byte keys', (bytes) => {
    for (const type of ['aesgcm', 'aescbc'] as const) {
      const t = transformer([keyed(type, ['k', KEY_A.subarray(0, bytes)])]);
      expect(t.open(t.seal('secrets', PLAINTEXT, STORAGE_KEY), STORAGE_KEY)).toEqual(PLAINTEXT);
    }
  });

  it('uses a fresh nonce for every seal', () => {
    const t = transformer([keyed('aesgcm', ['key1', KEY_A])]);
    expect(t.seal('secrets', PLAINTEXT, STORAGE_KEY)).not.toEqual(t.seal('secrets', PLAINTEXT, STORAGE_KEY));
  });

  it('round trips an empty value through every provider', () => {
    for (const type of ['aesgcm', 'aescbc', 'secretbox'] as const) {
      const t = transformer([keyed(type, ['k', KEY_A])]);
      expect(t.open(t.seal('secrets', Buffer.alloc(0), STORAGE_KEY), STORAGE_KEY)).toEqual(Buffer.alloc(0));
    }
  });
});

describe('stored layout matches kube-apiserver (values assembled by hand)', () => {
  const nonce12 = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex');

  it('aesgcm: prefix | 12-byte nonce | ciphertext | 16-byte tag, with the storage key as AAD', () => {
    const cipher = createCipheriv('aes-256-gcm', KEY_A, nonce12);
    cipher.setAAD(Buffer.from(STORAGE_KEY));
    const sealed = Buffer.concat([cipher.update(PLAINTEXT), cipher.final()]);
    const stored = Buffer.concat([
      Buffer.from('k8s:enc:aesgcm:v1:key1:'),
      nonce12,
      sealed,
      cipher.getAuthTag(),
    ]);
    expect(transformer([keyed('aesgcm', ['key1', KEY_A])]).open(stored, STORAGE_KEY)).toEqual(PLAINTEXT);
  });

  it('aesgcm: what we write opens with the layout read by hand', () => {
    const stored = transformer([keyed('aesgcm', ['key1', KEY_A])]).seal('secrets', PLAINTEXT, STORAGE_KEY);
    const payload = stored.subarray('k8s:enc:aesgcm:v1:key1:'.length);
    const decipher = createDecipheriv('aes-256-gcm', KEY_A, payload.subarray(0, 12));
    decipher.setAAD(Buffer.from(STORAGE_KEY));
    decipher.setAuthTag(payload.subarray(payload.length - 16));
    expect(
      Buffer.concat([decipher.update(payload.subarray(12, payload.length - 16)), decipher.final()]),
    ).toEqual(PLAINTEXT);
  });

  it('aescbc: prefix | 16-byte IV | CBC ciphertext with PKCS#7 padding', () => {
    const iv = Buffer.from('b0b1b2b3b4b5b6b7b8b9babbbcbdbebf', 'hex');
    const cipher = createCipheriv('aes-256-cbc', KEY_A, iv);
    const stored = Buffer.concat([
      Buffer.from('k8s:enc:aescbc:v1:key1:'),
      iv,
      cipher.update(PLAINTEXT),
      cipher.final(),
    ]);
    expect(transformer([keyed('aescbc', ['key1', KEY_A])]).open(stored, STORAGE_KEY)).toEqual(PLAINTEXT);
  });

  it('aescbc: what we write opens with the layout read by hand', () => {
    const stored = transformer([keyed('aescbc', ['key1', KEY_A])]).seal('secrets', PLAINTEXT, STORAGE_KEY);
    const payload = stored.subarray('k8s:enc:aescbc:v1:key1:'.length);
    const decipher = createDecipheriv('aes-256-cbc', KEY_A, payload.subarray(0, 16));
    expect(Buffer.concat([decipher.update(payload.subarray(16)), decipher.final()])).toEqual(PLAINTEXT);
  });

  it('secretbox: prefix | 24-byte nonce | NaCl secretbox output', () => {
    // Node's crypto has no XSalsa20-Poly1305, so the box itself comes from tweetnacl.
    const nonce24 = Buffer.from('c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7', 'hex');
    const box = nacl.secretbox(PLAINTEXT, nonce24, KEY_A);
    const stored = Buffer.concat([Buffer.from('k8s:enc:secretbox:v1:key1:'), nonce24, box]);
    const t = transformer([keyed('secretbox', ['key1', KEY_A])]);
    expect(t.open(stored, STORAGE_KEY)).toEqual(PLAINTEXT);

    const ours = t.seal('secrets', PLAINTEXT, STORAGE_KEY).subarray('k8s:enc:secretbox:v1:key1:'.length);
    expect(Buffer.from(nacl.secretbox.open(ours.subarray(24), ours.subarray(0, 24), KEY_A)!)).toEqual(
      PLAINTEXT,
    );
  });

  it('reads a value sealed with aesgcm by a 16-byte key', () => {
    const key16 = KEY_A.subarray(0, 16);
    const cipher = createCipheriv('aes-128-gcm', key16, nonce12);
    cipher.setAAD(Buffer.from(STORAGE_KEY));
    const sealed = Buffer.concat([cipher.update(PLAINTEXT), cipher.final(), cipher.getAuthTag()]);
    const stored = Buffer.concat([Buffer.from('k8s:enc:aesgcm:v1:short:'), nonce12, sealed]);
    expect(transformer([keyed('aesgcm', ['short', key16])]).open(stored, STORAGE_KEY)).toEqual(PLAINTEXT);
  });
});

describe('authentication and damage', () => {
  it('aesgcm binds a value to its storage key', () => {
    const t = transformer([keyed('aesgcm', ['key1', KEY_A])]);
    const stored = t.seal('secrets', PLAINTEXT, STORAGE_KEY);
    const error = openError(t, stored, '/registry/secrets/default/other');
    expect(error.message).toMatch(
      /^cannot decrypt value sealed with aesgcm key "key1": authentication failed/,
    );
    expect(error.provider).toBe('aesgcm');
    expect(error.keyName).toBe('key1');
  });

  it.each(['aesgcm', 'secretbox'] as const)(
    '%s rejects a flipped bit and a wrong key behind the same name',
    (type) => {
      const t = transformer([keyed(type, ['key1', KEY_A])]);
      const stored = t.seal('secrets', PLAINTEXT, STORAGE_KEY);
      const tampered = Buffer.from(stored);
      tampered[tampered.length - 20] ^= 1;
      expect(openError(t, tampered).message).toContain(`${type} key "key1": authentication failed`);

      const impostor = transformer([keyed(type, ['key1', KEY_B])]);
      expect(openError(impostor, stored).message).toContain('authentication failed');
    },
  );

  it.each(['aesgcm', 'secretbox'] as const)(
    '%s rejects a value too short to hold a nonce and tag',
    (type) => {
      const t = transformer([keyed(type, ['key1', KEY_A])]);
      const stored = Buffer.from(`k8s:enc:${type}:v1:key1:short`);
      expect(openError(t, stored).message).toContain('shorter than a nonce and a tag');
    },
  );

  it('aescbc rejects truncated values, partial blocks and bad padding', () => {
    const t = transformer([keyed('aescbc', ['key1', KEY_A])]);
    const prefix = Buffer.from('k8s:enc:aescbc:v1:key1:');
    expect(openError(t, Buffer.concat([prefix, Buffer.alloc(16)])).message).toContain(
      'shorter than an IV and one block',
    );
    expect(openError(t, Buffer.concat([prefix, Buffer.alloc(40)])).message).toContain(
      'not a whole number of AES blocks',
    );

    const iv = Buffer.alloc(16, 9);
    for (const lastBlock of [Buffer.alloc(16, 0), Buffer.concat([Buffer.alloc(15, 1), Buffer.from([2])])]) {
      const cipher = createCipheriv('aes-256-cbc', KEY_A, iv).setAutoPadding(false);
      const stored = Buffer.concat([prefix, iv, cipher.update(lastBlock), cipher.final()]);
      expect(openError(t, stored).message).toContain('aescbc key "key1": invalid PKCS#7 padding');
    }
  });
});

describe('key rotation', () => {
  it('writes with the first key and reads with every key', () => {
    const before = transformer([keyed('aesgcm', ['key1', KEY_A])]);
    const old = before.seal('secrets', PLAINTEXT, STORAGE_KEY);

    const during = transformer([keyed('aesgcm', ['key2', KEY_B], ['key1', KEY_A])]);
    expect(during.writeKeyName).toBe('aesgcm:key2');
    const fresh = during.seal('secrets', PLAINTEXT, STORAGE_KEY);
    expect(during.describe(fresh).keyName).toBe('key2');
    expect(during.open(old, STORAGE_KEY)).toEqual(PLAINTEXT);
    expect(during.open(fresh, STORAGE_KEY)).toEqual(PLAINTEXT);

    const after = transformer([keyed('aesgcm', ['key2', KEY_B])]);
    expect(after.open(fresh, STORAGE_KEY)).toEqual(PLAINTEXT);
    const error = openError(after, old);
    expect(error.message).toBe(
      'cannot decrypt value sealed with aesgcm key "key1": no such key is configured',
    );
    expect(error.keyName).toBe('key1');
    expect(after.describe(old)).toEqual({ encrypted: true, provider: 'aesgcm', keyName: 'key1' });
  });

  it('reports values sealed with anything but the current write key as needing a rewrite', () => {
    const old = transformer([keyed('aesgcm', ['key1', KEY_A])]).seal('secrets', PLAINTEXT, STORAGE_KEY);
    const during = transformer([keyed('aesgcm', ['key2', KEY_B], ['key1', KEY_A])]);
    expect(during.needsRewrite('secrets', old)).toBe(true);
    expect(during.needsRewrite('secrets', PLAINTEXT)).toBe(true);
    expect(during.needsRewrite('secrets', during.seal('secrets', PLAINTEXT, STORAGE_KEY))).toBe(false);
    expect(during.needsRewrite('configmaps', PLAINTEXT)).toBe(false);
    expect(during.needsRewrite('configmaps', old)).toBe(true);

    const prefixTwin = transformer([keyed('aesgcm', ['a', KEY_A], ['a:b', KEY_B])]);
    const sealedWithLonger = transformer([keyed('aesgcm', ['a:b', KEY_B])]).seal(
      'secrets',
      PLAINTEXT,
      STORAGE_KEY,
    );
    expect(prefixTwin.needsRewrite('secrets', sealedWithLonger)).toBe(true);
  });

  it('moves between providers: a later provider still reads what it wrote', () => {
    const cbc = transformer([keyed('aescbc', ['old', KEY_A])]);
    const old = cbc.seal('secrets', PLAINTEXT, STORAGE_KEY);
    const both = transformer([keyed('secretbox', ['new', KEY_B]), keyed('aescbc', ['old', KEY_A])]);
    expect(both.writeKeyName).toBe('secretbox:new');
    expect(both.open(old, STORAGE_KEY)).toEqual(PLAINTEXT);
  });

  it('tries every key whose prefix matches, since key names may contain ":"', () => {
    const t = transformer([keyed('aesgcm', ['a', KEY_A], ['a:b', KEY_B])]);
    const sealedWithLonger = transformer([keyed('aesgcm', ['a:b', KEY_B])]).seal(
      'secrets',
      PLAINTEXT,
      STORAGE_KEY,
    );
    expect(t.open(sealedWithLonger, STORAGE_KEY)).toEqual(PLAINTEXT);
    expect(t.describe(sealedWithLonger).keyName).toBe('a:b');
  });
});

describe('identity and plaintext', () => {
  it('identity first writes plaintext but still reads encrypted values', () => {
    const encrypted = transformer([keyed('aesgcm', ['key1', KEY_A])]).seal('secrets', PLAINTEXT, STORAGE_KEY);
    const t = transformer([{ type: 'identity' }, keyed('aesgcm', ['key1', KEY_A])]);
    expect(t.encrypts('secrets')).toBe(false);
    expect(t.writeKeyName).toBeUndefined();
    expect(t.seal('secrets', PLAINTEXT, STORAGE_KEY)).toEqual(PLAINTEXT);
    expect(t.open(encrypted, STORAGE_KEY)).toEqual(PLAINTEXT);
  });

  it('treats a value without the k8s:enc: prefix as plaintext', () => {
    const t = transformer([keyed('aesgcm', ['key1', KEY_A])]);
    expect(t.open(PLAINTEXT, STORAGE_KEY)).toEqual(PLAINTEXT);
    expect(t.describe(PLAINTEXT)).toEqual({ encrypted: false });
  });

  it('refuses to store plaintext that would read back as ciphertext', () => {
    const t = transformer([{ type: 'identity' }]);
    expect(() => t.seal('secrets', Buffer.from('k8s:enc:aesgcm:v1:x:'), STORAGE_KEY)).toThrow(
      /reserved "k8s:enc:" prefix/,
    );
  });

  it('refuses to seal without a storage key', () => {
    const t = transformer([keyed('aesgcm', ['key1', KEY_A])]);
    expect(() => t.seal('secrets', PLAINTEXT, '')).toThrow(
      'cannot seal with aesgcm key "key1": the storage key is empty',
    );
  });
});

describe('resource matching', () => {
  const t = transformerFromSettings({
    rules: [
      { resources: ['secrets'], providers: [keyed('aesgcm', ['s', KEY_A])] },
      { resources: ['events'], providers: [{ type: 'identity' }] },
      { resources: ['*.apps'], providers: [keyed('secretbox', ['apps', KEY_B])] },
      { resources: ['*.'], providers: [keyed('aescbc', ['core', KEY_B])] },
    ],
  });

  it('prefers the exact resource, then the group wildcard', () => {
    expect(t.describe(t.seal('secrets', PLAINTEXT, STORAGE_KEY)).keyName).toBe('s');
    expect(t.describe(t.seal('deployments.apps', PLAINTEXT, '/registry/deployments/a/b')).keyName).toBe(
      'apps',
    );
    expect(t.describe(t.seal('configmaps', PLAINTEXT, '/registry/configmaps/a/b')).keyName).toBe('core');
    expect(t.encrypts('events')).toBe(false);
    expect(t.encrypts('leases.coordination.k8s.io')).toBe(false);
    expect(t.seal('leases.coordination.k8s.io', PLAINTEXT, '/registry/leases/a/b')).toEqual(PLAINTEXT);
  });

  it('*.* covers everything not named earlier', () => {
    const all = transformer([keyed('aesgcm', ['all', KEY_A])], ['*.*']);
    expect(all.encrypts('widgets.example.com')).toBe(true);
    expect(all.encrypts('secrets')).toBe(true);
    expect(all.writeKeyName).toBe('aesgcm:all');
  });

  it('gives a resource named in two entries the first entry’s writer and both entries’ readers', () => {
    const old = transformer([keyed('aesgcm', ['old', KEY_B])]).seal('secrets', PLAINTEXT, STORAGE_KEY);
    const twice = transformerFromSettings({
      rules: [
        { resources: ['secrets'], providers: [keyed('aesgcm', ['new', KEY_A])] },
        { resources: ['secrets'], providers: [keyed('aesgcm', ['old', KEY_B])] },
      ],
    });
    expect(twice.writeKeyName).toBe('aesgcm:new');
    expect(twice.open(old, STORAGE_KEY)).toEqual(PLAINTEXT);
  });

  it('leaves Secrets in plaintext when no rule covers them', () => {
    const configmapsOnly = transformer([keyed('aesgcm', ['k', KEY_A])], ['configmaps']);
    expect(configmapsOnly.writeKeyName).toBeUndefined();
    expect(configmapsOnly.encrypts('secrets')).toBe(false);
  });
});

describe('values this configuration cannot read', () => {
  const t = transformer([keyed('aesgcm', ['key1', KEY_A])]);

  it('names a kms provider as unsupported', () => {
    const error = openError(t, Buffer.from('k8s:enc:kms:v2:vault:\x0a\x01rest'));
    expect(error.message).toBe(
      'cannot decrypt value sealed with kms key "vault": kubetime does not support the kms provider',
    );
    expect(error.provider).toBe('kms');
  });

  it('names a provider that is configured for nothing', () => {
    expect(openError(t, Buffer.from('k8s:enc:secretbox:v1:key1:xxxx')).message).toBe(
      'cannot decrypt value sealed with secretbox key "key1": no such key is configured',
    );
  });

  it('explains a header it cannot parse', () => {
    const error = openError(t, Buffer.from('k8s:enc:garbage'));
    expect(error.message).toBe(
      'cannot decrypt value sealed with unknown: the value has no readable provider and key name',
    );
    expect(error.keyName).toBeUndefined();
    expect(t.describe(Buffer.from('k8s:enc:garbage'))).toEqual({ encrypted: true });
    expect(t.describe(Buffer.from('k8s:enc:aesgcm:v1'))).toEqual({ encrypted: true, provider: 'aesgcm' });
  });
});

describe('transformerFromSettings', () => {
  it('validates settings it did not get from the parser', () => {
    expect(() => transformer([keyed('aesgcm', ['k', Buffer.alloc(5)])])).toThrow('aesgcm key "k"');
  });
});
