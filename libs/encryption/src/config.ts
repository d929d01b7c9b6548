import { parseDocument } from 'yaml';
import { EncryptionConfigError } from './errors';

export const ENCRYPTION_CONFIG_API_VERSION = 'apiserver.config.k8s.io/v1';
export const ENCRYPTION_CONFIG_KIND = 'EncryptionConfiguration';

export type KeyedProviderType = 'aesgcm' | 'aescbc' | 'secretbox';
export type ProviderType = KeyedProviderType | 'identity';

export interface EncryptionKey {
  readonly name: string;
  readonly secret: Buffer;
}

export type ProviderSettings =
  | { readonly type: 'identity' }
  | { readonly type: KeyedProviderType; readonly keys: readonly EncryptionKey[] };

/** One `resources[]` entry: the group-resources it covers and its providers, first one writes. */
export interface ResourceRule {
  readonly resources: readonly string[];
  readonly providers: readonly ProviderSettings[];
}

export interface EncryptionSettings {
  readonly rules: readonly ResourceRule[];
}

/** AES accepts all three sizes; kube-apiserver validates aescbc with the same list even though its docs ask for 32. */
export const KEY_SIZES: Readonly<Record<KeyedProviderType, readonly number[]>> = {
  aesgcm: [16, 24, 32],
  aescbc: [16, 24, 32],
  secretbox: [32],
};

const KEYED_PROVIDERS: readonly KeyedProviderType[] = ['aesgcm', 'aescbc', 'secretbox'];
const SUPPORTED_PROVIDERS = 'aesgcm, aescbc, secretbox, identity';

/** Resources kube-apiserver refuses to encrypt because they are not served over REST. */
const NON_REST_RESOURCES = new Set(['apiserveripinfo', 'serviceipallocations', 'servicenodeportallocations']);

export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

/** Same split as Kubernetes: everything after the first dot is the group, so `*.` is the core group. */
export function parseGroupResource(groupResource: string): GroupResource {
  const dot = groupResource.indexOf('.');
  return dot < 0
    ? { group: '', resource: groupResource }
    : { group: groupResource.slice(dot + 1), resource: groupResource.slice(0, dot) };
}

export function formatGroupResource(gr: GroupResource): string {
  return gr.group === '' && gr.resource !== '*' ? gr.resource : `${gr.resource}.${gr.group}`;
}

/**
 * Parses an `apiserver.config.k8s.io/v1` EncryptionConfiguration (YAML or JSON) and applies the
 * checks kube-apiserver applies, so a file accepted here is accepted there and vice versa, except
 * that `kms` is refused and a key name must mean one secret throughout the file.
 */
export function parseEncryptionConfiguration(text: string): EncryptionSettings {
  if (text.trim() === '') fail('the file is empty');
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) fail(`not valid YAML or JSON: ${document.errors[0].message}`);
  const root = asMapping(document.toJSON(), 'the document');

  if (root.kind === 'EncryptionConfig' && root.apiVersion === 'v1') {
    fail(
      `the legacy "kind: EncryptionConfig, apiVersion: v1" form is no longer accepted; ` +
        `use "kind: ${ENCRYPTION_CONFIG_KIND}" with "apiVersion: ${ENCRYPTION_CONFIG_API_VERSION}"`,
    );
  }
  if (root.apiVersion !== ENCRYPTION_CONFIG_API_VERSION) {
    fail(`apiVersion must be "${ENCRYPTION_CONFIG_API_VERSION}", got ${describeValue(root.apiVersion)}`);
  }
  if (root.kind !== ENCRYPTION_CONFIG_KIND) {
    fail(`kind must be "${ENCRYPTION_CONFIG_KIND}", got ${describeValue(root.kind)}`);
  }
  rejectUnknownFields(root, ['apiVersion', 'kind', 'resources'], 'the document');

  const entries = asNonEmptyList(root.resources, 'resources');
  const settings: EncryptionSettings = {
    rules: entries.map((entry, index) => parseRule(entry, `resources[${index}]`)),
  };
  validateSettings(settings);
  return settings;
}

/**
 * The semantic checks shared by the parser and by callers that build settings in code: resource
 * names, wildcard masking, key sizes and the one-secret-per-key-name rule.
 */
export function validateSettings(settings: EncryptionSettings): void {
  if (settings.rules.length === 0) fail('resources: at least one entry is required');
  const configured = new Set<string>();
  const secretsByKeyId = new Map<string, Buffer>();

  settings.rules.forEach((rule, ruleIndex) => {
    const path = `resources[${ruleIndex}]`;
    if (rule.resources.length === 0) fail(`${path}.resources: at least one resource is required`);
    if (rule.providers.length === 0) fail(`${path}.providers: at least one provider is required`);
    rule.resources.forEach((name, i) => validateResourceName(name, `${path}.resources[${i}]`));
    rejectOverlap(rule.resources, `${path}.resources`);

    for (const name of rule.resources) {
      const gr = parseGroupResource(name);
      for (const wildcard of [
        { group: gr.group, resource: '*' },
        { group: '*', resource: '*' },
      ]) {
        if (configured.has(formatGroupResource(wildcard))) {
          fail(
            `${path}.resources: "${name}" is masked by the earlier rule "${formatGroupResource(wildcard)}"; ` +
              `list specific resources before wildcards`,
          );
        }
      }
      configured.add(formatGroupResource(gr));
    }

    rule.providers.forEach((provider, providerIndex) => {
      if (provider.type === 'identity') return;
      const providerPath = `${path}.providers[${providerIndex}].${provider.type}.keys`;
      if (provider.keys.length === 0) fail(`${providerPath}: at least one key is required`);
      provider.keys.forEach((key, keyIndex) => {
        const keyPath = `${providerPath}[${keyIndex}]`;
        if (key.name === '') fail(`${keyPath}: name is required`);
        const allowed = KEY_SIZES[provider.type];
        if (!allowed.includes(key.secret.length)) {
          fail(
            `${provider.type} key "${key.name}" (${keyPath}): secret is ${key.secret.length} bytes after ` +
              `base64 decoding, ${provider.type} needs ${formatSizes(allowed)} bytes`,
          );
        }
        // Stored values name their key but not the entry it came from, so one name must mean one secret.
        const keyId = `${provider.type}:${key.name}`;
        const earlier = secretsByKeyId.get(keyId);
        if (earlier && !earlier.equals(key.secret)) {
          fail(
            `${provider.type} key "${key.name}" (${keyPath}) is defined again with a different secret; ` +
              `stored values are matched to keys by name, so give the new key a new name`,
          );
        }
        secretsByKeyId.set(keyId, key.secret);
      });
    });
  });
}

function parseRule(value: unknown, path: string): ResourceRule {
  const entry = asMapping(value, path);
  rejectUnknownFields(entry, ['resources', 'providers'], path);
  const resources = asNonEmptyList(entry.resources, `${path}.resources`).map((name, i) => {
    if (typeof name !== 'string')
      fail(`${path}.resources[${i}]: must be a string, got ${describeValue(name)}`);
    return name;
  });
  const providers = asNonEmptyList(entry.providers, `${path}.providers`).map((provider, i) =>
    parseProvider(provider, `${path}.providers[${i}]`),
  );
  return { resources, providers };
}

function parseProvider(value: unknown, path: string): ProviderSettings {
  const entry = asMapping(value, path);
  const names = Object.keys(entry);
  if (names.length === 0) fail(`${path}: names no provider; expected one of ${SUPPORTED_PROVIDERS}`);
  if (names.length > 1) {
    fail(`${path}: names several providers (${names.join(', ')}); put each provider in its own list item`);
  }
  const type = names[0];
  const body = entry[type];
  const bodyPath = `${path}.${type}`;
  if (type === 'kms') {
    fail(`${bodyPath}: the kms provider is not supported by kubetime; use one of ${SUPPORTED_PROVIDERS}`);
  }
  if (type === 'identity') {
    rejectUnknownFields(asMapping(body, bodyPath), [], bodyPath);
    return { type: 'identity' };
  }
  if (!isKeyedProvider(type))
    fail(`${path}: unknown provider "${type}"; expected one of ${SUPPORTED_PROVIDERS}`);

  const settings = asMapping(body, bodyPath);
  rejectUnknownFields(settings, ['keys'], bodyPath);
  const keys = asNonEmptyList(settings.keys, `${bodyPath}.keys`).map((key, i) =>
    parseKey(key, type, `${bodyPath}.keys[${i}]`),
  );
  return { type, keys };
}

function parseKey(value: unknown, type: KeyedProviderType, path: string): EncryptionKey {
  const entry = asMapping(value, path);
  rejectUnknownFields(entry, ['name', 'secret'], path);
  if (typeof entry.name !== 'string' || entry.name === '') {
    fail(`${path}.name: a non-empty string is required, got ${describeValue(entry.name)}`);
  }
  const name = entry.name;
  if (typeof entry.secret !== 'string' || entry.secret === '') {
    fail(`${type} key "${name}" (${path}): secret is required and must be a base64 string`);
  }
  return { name, secret: decodeBase64Secret(entry.secret, type, name, path) };
}

/**
 * Strict standard base64 like Go's decoder (which skips line breaks), because Node's own decoder
 * silently drops bad characters and would turn a mistyped key into a shorter, different key.
 */
function decodeBase64Secret(text: string, type: KeyedProviderType, name: string, path: string): Buffer {
  const compact = text.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    // The value itself is never echoed: it may be a real key with a typo.
    fail(`${type} key "${name}" (${path}): secret is not valid standard base64`);
  }
  return Buffer.from(compact, 'base64');
}

function validateResourceName(name: string, path: string): void {
  const gr = parseGroupResource(name);
  if (name === '') fail(`${path}: resource name is empty`);
  if (name !== name.toLowerCase()) fail(`${path}: "${name}" must not contain capital letters`);
  if (name === '*') fail(`${path}: use "*." for every core resource or "*.*" for every resource, not "*"`);
  if (NON_REST_RESOURCES.has(name)) fail(`${path}: "${name}" has no REST API and cannot be encrypted`);
  if (gr.group === 'events.k8s.io') {
    fail(`${path}: "${name}": events.k8s.io events are stored as core "events"; list "events" instead`);
  }
  if (gr.group === 'extensions') fail(`${path}: "${name}": the extensions group no longer exists`);
  if (gr.group === '*' && gr.resource !== '*') {
    fail(`${path}: "${name}": one resource across all groups cannot be encrypted; name the group`);
  }
}

function rejectOverlap(resources: readonly string[], path: string): void {
  const parsed = resources.map(parseGroupResource);
  parsed.forEach((a, i) => {
    parsed.forEach((b, j) => {
      if (i === j) return;
      if (a.group === b.group && a.resource === b.resource) {
        fail(`${path}: "${resources[i]}" is listed more than once`);
      }
      const covers = (a.group === '*' && a.resource === '*') || (a.group === b.group && a.resource === '*');
      if (covers)
        fail(`${path}: "${resources[i]}" already covers "${resources[j]}"; list them in separate entries`);
    });
  });
}

function isKeyedProvider(type: string): type is KeyedProviderType {
  return (KEYED_PROVIDERS as readonly string[]).includes(type);
}

function asMapping(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(`${path}: must be a mapping, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function asNonEmptyList(value: unknown, path: string): unknown[] {
  if (value === undefined) fail(`${path}: is required`);
  if (!Array.isArray(value)) fail(`${path}: must be a list, got ${describeValue(value)}`);
  if (value.length === 0) fail(`${path}: must not be empty`);
  return value;
}

function rejectUnknownFields(mapping: Record<string, unknown>, known: readonly string[], path: string): void {
  const unknown = Object.keys(mapping).find((field) => !known.includes(field));
  if (unknown !== undefined) fail(`${path}: unknown field "${unknown}"`);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function formatSizes(sizes: readonly number[]): string {
  return sizes.length === 1
    ? String(sizes[0])
    : `${sizes.slice(0, -1).join(', ')} or ${sizes[sizes.length - 1]}`;
}

function fail(message: string): never {
  throw new EncryptionConfigError(`invalid EncryptionConfiguration: ${message}`);
}
