import { PayloadCipher, payloadCipher } from './ciphers';
import {
  EncryptionSettings,
  formatGroupResource,
  KeyedProviderType,
  parseGroupResource,
  ProviderSettings,
  validateSettings,
} from './config';
import { EncryptionError } from './errors';

/**
 * Turns serialized objects into the bytes kept in PostgreSQL (and written to etcd snapshots) and
 * back, exactly as kube-apiserver's encryption at rest does for the same EncryptionConfiguration.
 */
export interface ValueTransformer {
  /** Whether new writes of this group-resource (`secrets`, `deployments.apps`) are encrypted. */
  encrypts(groupResource: string): boolean;
  /** `storageKey` is the etcd key (`/registry/secrets/default/db`); aesgcm binds the value to it. */
  seal(groupResource: string, plaintext: Buffer, storageKey: string): Buffer;
  /** Values without the `k8s:enc:` prefix are plaintext and come back unchanged. */
  open(stored: Buffer, storageKey: string): Buffer;
  describe(stored: Buffer): { encrypted: boolean; provider?: string; keyName?: string };
  /**
   * True when a new write of this group-resource would be sealed differently (another key, or
   * plaintext versus encrypted). The store must then write an update even if the object did not
   * change, as kube-apiserver does for its "stale" reads, or rotation never re-encrypts anything.
   */
  needsRewrite(groupResource: string, stored: Buffer): boolean;
  /** The key that seals Secrets, as `<provider>:<key name>`; undefined when Secrets are written in plaintext. */
  readonly writeKeyName: string | undefined;
}

const ENCRYPTED_PREFIX = Buffer.from('k8s:enc:');

interface ConfiguredKey {
  readonly provider: KeyedProviderType;
  readonly keyName: string;
  readonly prefix: Buffer;
  readonly cipher: PayloadCipher;
}

export function transformerFromSettings(settings: EncryptionSettings): ValueTransformer {
  validateSettings(settings);
  return new ConfiguredTransformer(settings);
}

class ConfiguredTransformer implements ValueTransformer {
  /** Providers per configured group-resource (wildcards included), in the order they apply. */
  private readonly providersByResource = new Map<string, ProviderSettings[]>();
  /** Every key of every entry, in file order: any of them may have sealed a stored value. */
  private readonly readKeys: ConfiguredKey[] = [];
  private readonly keysById = new Map<string, ConfiguredKey>();
  readonly writeKeyName: string | undefined;

  constructor(settings: EncryptionSettings) {
    for (const rule of settings.rules) {
      for (const name of rule.resources) {
        const key = formatGroupResource(parseGroupResource(name));
        // A resource named in several entries gets all their providers, the first entry's first.
        this.providersByResource.set(key, [...(this.providersByResource.get(key) ?? []), ...rule.providers]);
      }
      for (const provider of rule.providers) {
        if (provider.type === 'identity') continue;
        for (const { name, secret } of provider.keys) {
          const id = keyId(provider.type, name);
          if (this.keysById.has(id)) continue;
          const configured: ConfiguredKey = {
            provider: provider.type,
            keyName: name,
            prefix: Buffer.from(`k8s:enc:${provider.type}:v1:${name}:`),
            cipher: payloadCipher(provider.type, secret),
          };
          this.keysById.set(id, configured);
          this.readKeys.push(configured);
        }
      }
    }
    const secretsKey = this.writeKey('secrets');
    this.writeKeyName = secretsKey && keyId(secretsKey.provider, secretsKey.keyName);
  }

  encrypts(groupResource: string): boolean {
    return this.writeKey(groupResource) !== undefined;
  }

  seal(groupResource: string, plaintext: Buffer, storageKey: string): Buffer {
    const key = this.writeKey(groupResource);
    if (key === undefined) {
      if (startsWithEncryptedPrefix(plaintext)) {
        // It would be read back as ciphertext; kube-apiserver has the same reserved prefix.
        throw new EncryptionError(
          `refusing to store plaintext for ${storageKey} that begins with the reserved "k8s:enc:" prefix`,
          'identity',
          undefined,
        );
      }
      return plaintext;
    }
    if (storageKey === '') {
      throw new EncryptionError(
        `cannot seal with ${key.provider} key "${key.keyName}": the storage key is empty`,
        key.provider,
        key.keyName,
      );
    }
    return Buffer.concat([key.prefix, key.cipher.seal(plaintext, Buffer.from(storageKey))]);
  }

  open(stored: Buffer, storageKey: string): Buffer {
    if (!startsWithEncryptedPrefix(stored)) return stored;
    const candidates = this.readKeys.filter((key) => hasPrefix(stored, key.prefix));
    if (candidates.length === 0) {
      const header = parseHeader(stored);
      const reason =
        header.provider === 'kms'
          ? 'kubetime does not support the kms provider'
          : header.provider !== undefined && header.keyName !== undefined
            ? 'no such key is configured'
            : 'the value has no readable provider and key name';
      throw decryptError(header.provider ?? 'unknown', header.keyName, reason);
    }
    // Like kube-apiserver, every key whose prefix matches gets a try: names may contain ':'.
    const failures: string[] = [];
    for (const key of candidates) {
      try {
        return key.cipher.open(stored.subarray(key.prefix.length), Buffer.from(storageKey));
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    const [first] = candidates;
    throw decryptError(first.provider, first.keyName, failures.join('; '));
  }

  describe(stored: Buffer): { encrypted: boolean; provider?: string; keyName?: string } {
    if (!startsWithEncryptedPrefix(stored)) return { encrypted: false };
    const matches = this.readKeys.filter((key) => hasPrefix(stored, key.prefix));
    if (matches.length > 0) {
      const longest = matches.reduce((a, b) => (b.prefix.length > a.prefix.length ? b : a));
      return { encrypted: true, provider: longest.provider, keyName: longest.keyName };
    }
    const header = parseHeader(stored);
    return {
      encrypted: true,
      ...(header.provider !== undefined && { provider: header.provider }),
      ...(header.keyName !== undefined && { keyName: header.keyName }),
    };
  }

  needsRewrite(groupResource: string, stored: Buffer): boolean {
    const writer = this.writeKey(groupResource);
    const current = this.describe(stored);
    if (writer === undefined) return current.encrypted;
    return current.provider !== writer.provider || current.keyName !== writer.keyName;
  }

  /** kube-apiserver's lookup order: the exact group-resource, then `*.<group>`, then `*.*`. */
  private writeKey(groupResource: string): ConfiguredKey | undefined {
    const { group, resource } = parseGroupResource(groupResource);
    const providers =
      this.providersByResource.get(formatGroupResource({ group, resource })) ??
      this.providersByResource.get(formatGroupResource({ group, resource: '*' })) ??
      this.providersByResource.get('*.*');
    const first = providers?.[0];
    if (first === undefined || first.type === 'identity') return undefined;
    return this.keysById.get(keyId(first.type, first.keys[0].name));
  }
}

function keyId(provider: string, keyName: string): string {
  return `${provider}:${keyName}`;
}

function startsWithEncryptedPrefix(value: Buffer): boolean {
  return hasPrefix(value, ENCRYPTED_PREFIX);
}

function hasPrefix(value: Buffer, prefix: Buffer): boolean {
  return value.length >= prefix.length && value.subarray(0, prefix.length).equals(prefix);
}

/**
 * Reads `k8s:enc:<provider>:<version>:<name>:` from a value no configured key claims, only to name
 * what is missing in the error. The header is ASCII; the search stops early so the payload is not scanned.
 */
function parseHeader(stored: Buffer): { provider?: string; keyName?: string } {
  const fields = stored
    .subarray(ENCRYPTED_PREFIX.length, ENCRYPTED_PREFIX.length + 512)
    .toString('latin1')
    .split(':');
  if (fields.length < 2 || fields[0] === '') return {};
  const provider = fields[0];
  return fields.length >= 4 && fields[2] !== '' ? { provider, keyName: fields[2] } : { provider };
}

function decryptError(provider: string, keyName: string | undefined, reason: string): EncryptionError {
  const subject = keyName === undefined ? provider : `${provider} key "${keyName}"`;
  return new EncryptionError(`cannot decrypt value sealed with ${subject}: ${reason}`, provider, keyName);
}
