import { stringify } from 'yaml';
import { parseEncryptionConfiguration, validateSettings } from './config';
import { EncryptionConfigError } from './errors';

const KEY_32 = Buffer.alloc(32, 7).toString('base64');
const KEY_16 = Buffer.alloc(16, 7).toString('base64');

function configText(resources: unknown, extra: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources,
    ...extra,
  });
}

function withProviders(providers: unknown, resources: unknown = ['secrets']): string {
  return configText([{ resources, providers }]);
}

function parseError(text: string): string {
  try {
    parseEncryptionConfiguration(text);
  } catch (error) {
    expect(error).toBeInstanceOf(EncryptionConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('parseEncryptionConfiguration', () => {
  it('reads every supported provider in order, with decoded keys', () => {
    const settings = parseEncryptionConfiguration(
      withProviders(
        [
          {
            aesgcm: {
              keys: [
                { name: 'gcm1', secret: KEY_16 },
                { name: 'gcm2', secret: KEY_32 },
              ],
            },
          },
          { aescbc: { keys: [{ name: 'cbc1', secret: KEY_32 }] } },
          { secretbox: { keys: [{ name: 'box1', secret: KEY_32 }] } },
          { identity: {} },
        ],
        ['secrets', 'configmaps', '*.apps'],
      ),
    );
    expect(settings.rules).toHaveLength(1);
    expect(settings.rules[0].resources).toEqual(['secrets', 'configmaps', '*.apps']);
    expect(settings.rules[0].providers.map((p) => p.type)).toEqual([
      'aesgcm',
      'aescbc',
      'secretbox',
      'identity',
    ]);
    const gcm = settings.rules[0].providers[0];
    expect(gcm.type === 'aesgcm' && gcm.keys.map((k) => [k.name, k.secret.length])).toEqual([
      ['gcm1', 16],
      ['gcm2', 32],
    ]);
  });

  it('accepts JSON, which is what some operators write', () => {
    const json = JSON.stringify({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: [
        { resources: ['*.*'], providers: [{ secretbox: { keys: [{ name: 'k', secret: KEY_32 }] } }] },
      ],
    });
    expect(parseEncryptionConfiguration(json).rules[0].providers[0].type).toBe('secretbox');
  });

  it('accepts a resource named again in a later entry, as kube-apiserver does', () => {
    const text = configText([
      { resources: ['secrets'], providers: [{ identity: {} }] },
      { resources: ['secrets'], providers: [{ aesgcm: { keys: [{ name: 'k', secret: KEY_32 }] } }] },
    ]);
    expect(parseEncryptionConfiguration(text).rules).toHaveLength(2);
  });

  it.each([
    ['an empty file', '  \n', 'the file is empty'],
    ['broken YAML', 'resources: [', 'not valid YAML or JSON'],
    ['a list at the top', '- a\n', 'the document: must be a mapping, got a list'],
    ['duplicate YAML keys', 'kind: a\nkind: b\n', 'not valid YAML or JSON'],
  ])('rejects %s', (_case, text, message) => {
    expect(parseError(text)).toContain(message);
  });

  it('rejects a wrong apiVersion or kind, and explains the legacy form', () => {
    expect(parseError(configText([], { apiVersion: 'apiserver.config.k8s.io/v1beta1' }))).toContain(
      'apiVersion must be "apiserver.config.k8s.io/v1", got "apiserver.config.k8s.io/v1beta1"',
    );
    expect(parseError(configText([], { kind: 'Secret' }))).toContain(
      'kind must be "EncryptionConfiguration", got "Secret"',
    );
    expect(parseError(configText([], { kind: undefined }))).toContain('got nothing');
    expect(parseError(configText([], { kind: 'EncryptionConfig', apiVersion: 'v1' }))).toContain('legacy');
  });

  it('rejects unknown fields, so typos do not silently disable encryption', () => {
    expect(parseError(configText([], { resource: [] }))).toContain('the document: unknown field "resource"');
    expect(parseError(configText([{ resources: ['secrets'], provider: [] }]))).toContain(
      'resources[0]: unknown field "provider"',
    );
    expect(
      parseError(withProviders([{ aesgcm: { keys: [{ name: 'k', secret: KEY_32 }], cache: 1 } }])),
    ).toContain('resources[0].providers[0].aesgcm: unknown field "cache"');
    expect(
      parseError(withProviders([{ aesgcm: { keys: [{ name: 'k', secret: KEY_32, id: 1 }] } }])),
    ).toContain('unknown field "id"');
    expect(parseError(withProviders([{ identity: { strict: true } }]))).toContain('unknown field "strict"');
  });

  it('rejects missing or empty resources and providers', () => {
    expect(parseError(configText(undefined))).toContain('resources: is required');
    expect(parseError(configText([]))).toContain('resources: must not be empty');
    expect(parseError(configText({ secrets: true }))).toContain('resources: must be a list, got a mapping');
    expect(parseError(configText(['secrets']))).toContain('resources[0]: must be a mapping, got "secrets"');
    expect(parseError(configText([{ providers: [{ identity: {} }] }]))).toContain(
      'resources[0].resources: is required',
    );
    expect(parseError(withProviders([{ identity: {} }], []))).toContain(
      'resources[0].resources: must not be empty',
    );
    expect(parseError(withProviders([{ identity: {} }], [3]))).toContain(
      'resources[0].resources[0]: must be a string',
    );
    expect(parseError(configText([{ resources: ['secrets'] }]))).toContain(
      'resources[0].providers: is required',
    );
    expect(parseError(withProviders([]))).toContain('resources[0].providers: must not be empty');
  });

  it.each([
    ['', 'resource name is empty'],
    ['Secrets', 'must not contain capital letters'],
    ['*', 'use "*." for every core resource'],
    ['serviceipallocations', 'has no REST API'],
    ['*.events.k8s.io', 'list "events" instead'],
    ['deployments.extensions', 'the extensions group no longer exists'],
    ['secrets.*', 'one resource across all groups'],
  ])('rejects the resource name %j', (name, message) => {
    expect(parseError(withProviders([{ identity: {} }], [name]))).toContain(message);
  });

  it('rejects duplicate and overlapping resources in one entry', () => {
    expect(parseError(withProviders([{ identity: {} }], ['secrets', 'secrets']))).toContain(
      'listed more than once',
    );
    expect(parseError(withProviders([{ identity: {} }], ['secrets', '*.']))).toContain(
      '"*." already covers "secrets"',
    );
    expect(parseError(withProviders([{ identity: {} }], ['*.*', 'deployments.apps']))).toContain(
      'already covers',
    );
  });

  it('rejects a resource masked by a wildcard in an earlier entry', () => {
    const text = configText([
      { resources: ['*.apps'], providers: [{ identity: {} }] },
      { resources: ['deployments.apps'], providers: [{ identity: {} }] },
    ]);
    expect(parseError(text)).toContain('"deployments.apps" is masked by the earlier rule "*.apps"');
    const everything = configText([
      { resources: ['*.*'], providers: [{ identity: {} }] },
      { resources: ['secrets'], providers: [{ identity: {} }] },
    ]);
    expect(parseError(everything)).toContain('masked by the earlier rule "*.*"');
  });

  it('refuses kms with a clear "not supported" error', () => {
    const message = parseError(
      withProviders([{ kms: { apiVersion: 'v2', name: 'vault', endpoint: 'unix:///kms.sock' } }]),
    );
    expect(message).toContain('resources[0].providers[0].kms: the kms provider is not supported by kubetime');
  });

  it('rejects unknown, missing and combined providers', () => {
    expect(parseError(withProviders([{ aesctr: { keys: [] } }]))).toContain('unknown provider "aesctr"');
    expect(parseError(withProviders([{}]))).toContain('names no provider');
    expect(parseError(withProviders([{ identity: {}, aesgcm: { keys: [] } }]))).toContain(
      'names several providers (identity, aesgcm)',
    );
    expect(parseError(withProviders([{ identity: null }]))).toContain(
      'providers[0].identity: must be a mapping, got null',
    );
    expect(parseError(withProviders([{ aesgcm: {} }]))).toContain('providers[0].aesgcm.keys: is required');
    expect(parseError(withProviders([{ aesgcm: { keys: [] } }]))).toContain('aesgcm.keys: must not be empty');
  });

  it('names the key when its secret is not base64, without echoing the secret', () => {
    const message = parseError(
      withProviders([{ aesgcm: { keys: [{ name: 'key1', secret: 'not*base64!' }] } }]),
    );
    expect(message).toContain(
      'aesgcm key "key1" (resources[0].providers[0].aesgcm.keys[0]): secret is not valid standard base64',
    );
    expect(message).not.toContain('not*base64!');
    expect(parseError(withProviders([{ aesgcm: { keys: [{ name: 'key1', secret: 'abc' }] } }]))).toContain(
      'not valid standard base64',
    );
  });

  it('tolerates line breaks inside a base64 secret, as Go does', () => {
    const wrapped = `${KEY_32.slice(0, 20)}\n${KEY_32.slice(20)}`;
    const settings = parseEncryptionConfiguration(
      withProviders([{ aesgcm: { keys: [{ name: 'k', secret: wrapped }] } }]),
    );
    const provider = settings.rules[0].providers[0];
    expect(provider.type === 'aesgcm' && provider.keys[0].secret.length).toBe(32);
  });

  it.each([
    ['aesgcm', 10, '16, 24 or 32'],
    ['aescbc', 20, '16, 24 or 32'],
    ['secretbox', 16, 'needs 32 bytes'],
  ])('rejects a %s key of %i bytes, naming it', (type, bytes, expected) => {
    const secret = Buffer.alloc(bytes, 1).toString('base64');
    const message = parseError(withProviders([{ [type]: { keys: [{ name: 'key7', secret }] } }]));
    expect(message).toContain(`${type} key "key7"`);
    expect(message).toContain(`secret is ${bytes} bytes`);
    expect(message).toContain(expected);
  });

  it('accepts every AES key size upstream accepts', () => {
    for (const type of ['aesgcm', 'aescbc']) {
      for (const bytes of [16, 24, 32]) {
        const secret = Buffer.alloc(bytes, 1).toString('base64');
        expect(() =>
          parseEncryptionConfiguration(withProviders([{ [type]: { keys: [{ name: 'k', secret }] } }])),
        ).not.toThrow();
      }
    }
  });

  it('rejects keys without a name or secret', () => {
    expect(parseError(withProviders([{ aesgcm: { keys: [{ secret: KEY_32 }] } }]))).toContain(
      'aesgcm.keys[0].name: a non-empty string is required, got nothing',
    );
    expect(parseError(withProviders([{ aesgcm: { keys: [{ name: 'k' }] } }]))).toContain(
      'aesgcm key "k" (resources[0].providers[0].aesgcm.keys[0]): secret is required',
    );
    expect(parseError(withProviders([{ aesgcm: { keys: ['k'] } }]))).toContain('keys[0]: must be a mapping');
  });

  it('rejects one key name bound to two different secrets', () => {
    const text = configText([
      { resources: ['secrets'], providers: [{ aesgcm: { keys: [{ name: 'key1', secret: KEY_32 }] } }] },
      { resources: ['configmaps'], providers: [{ aesgcm: { keys: [{ name: 'key1', secret: KEY_16 }] } }] },
    ]);
    expect(parseError(text)).toContain(
      'aesgcm key "key1" (resources[1].providers[0].aesgcm.keys[0]) is defined again',
    );
  });

  it('allows the same key reused with the same secret', () => {
    const key = { aesgcm: { keys: [{ name: 'key1', secret: KEY_32 }] } };
    const text = configText([
      { resources: ['secrets'], providers: [key] },
      { resources: ['configmaps'], providers: [key] },
    ]);
    expect(parseEncryptionConfiguration(text).rules).toHaveLength(2);
  });
});

describe('validateSettings', () => {
  it('checks settings built in code as strictly as parsed ones', () => {
    expect(() => validateSettings({ rules: [] })).toThrow('at least one entry is required');
    expect(() => validateSettings({ rules: [{ resources: [], providers: [{ type: 'identity' }] }] })).toThrow(
      'resources[0].resources: at least one resource is required',
    );
    expect(() => validateSettings({ rules: [{ resources: ['secrets'], providers: [] }] })).toThrow(
      'resources[0].providers: at least one provider is required',
    );
    expect(() =>
      validateSettings({ rules: [{ resources: ['secrets'], providers: [{ type: 'aesgcm', keys: [] }] }] }),
    ).toThrow('at least one key is required');
    expect(() =>
      validateSettings({
        rules: [
          {
            resources: ['secrets'],
            providers: [{ type: 'aesgcm', keys: [{ name: '', secret: Buffer.alloc(32) }] }],
          },
        ],
      }),
    ).toThrow('keys[0]: name is required');
    expect(() =>
      validateSettings({
        rules: [
          {
            resources: ['secrets'],
            providers: [{ type: 'secretbox', keys: [{ name: 'k', secret: Buffer.alloc(31) }] }],
          },
        ],
      }),
    ).toThrow('secretbox key "k"');
  });
});
