import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEncryptionConfiguration } from './config';
import { EncryptionConfigError } from './errors';
import { loadEncryptionConfig } from './load';

const STORAGE_KEY = '/registry/secrets/default/db';
const PLAINTEXT = Buffer.from('{"kind":"Secret"}');

describe('loadEncryptionConfig', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kubetime-encryption-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates a private aesgcm config for secrets on first start, in a data dir it creates', async () => {
    const dataDir = join(root, 'nested', 'data');
    const t = await loadEncryptionConfig({ dataDir });
    const path = join(dataDir, 'encryption-config.yaml');

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect(await readdir(dataDir)).toEqual(['encryption-config.yaml']);
    const settings = parseEncryptionConfiguration(await readFile(path, 'utf8'));
    expect(settings.rules.map((r) => r.resources)).toEqual([['secrets']]);
    const [gcm, identity] = settings.rules[0].providers;
    expect(gcm.type === 'aesgcm' && gcm.keys[0].secret.length).toBe(32);
    expect(identity.type).toBe('identity');

    expect(t.writeKeyName).toBe('aesgcm:key1');
    expect(t.encrypts('secrets')).toBe(true);
    expect(t.encrypts('configmaps')).toBe(false);
  });

  it('reuses the generated key on the next start', async () => {
    const first = await loadEncryptionConfig({ dataDir: root });
    const written = await readFile(join(root, 'encryption-config.yaml'), 'utf8');
    const sealed = first.seal('secrets', PLAINTEXT, STORAGE_KEY);

    const second = await loadEncryptionConfig({ dataDir: root });
    expect(await readFile(join(root, 'encryption-config.yaml'), 'utf8')).toBe(written);
    expect(second.open(sealed, STORAGE_KEY)).toEqual(PLAINTEXT);
  });

  it('keeps one key when several servers start at once', async () => {
    const starts = await Promise.all([1, 2, 3, 4].map(() => loadEncryptionConfig({ dataDir: root })));
    const sealed = starts[0].seal('secrets', PLAINTEXT, STORAGE_KEY);
    for (const t of starts) expect(t.open(sealed, STORAGE_KEY)).toEqual(PLAINTEXT);
    expect(await readdir(root)).toEqual(['encryption-config.yaml']);
  });

  it('uses the operator file instead of generating one', async () => {
    const configPath = join(root, 'operator.yaml');
    const secret = Buffer.alloc(32, 3).toString('base64');
    await writeFile(
      configPath,
      [
        'apiVersion: apiserver.config.k8s.io/v1',
        'kind: EncryptionConfiguration',
        'resources:',
        '  - resources: [secrets, configmaps]',
        '    providers:',
        `      - secretbox: {keys: [{name: ops, secret: "${secret}"}]}`,
      ].join('\n'),
    );
    const dataDir = join(root, 'data');
    const t = await loadEncryptionConfig({ configPath, dataDir });
    expect(t.writeKeyName).toBe('secretbox:ops');
    expect(t.encrypts('configmaps')).toBe(true);
    await expect(stat(dataDir)).rejects.toThrow();
  });

  it('names the operator file when it is missing or invalid', async () => {
    const missing = join(root, 'missing.yaml');
    await expect(loadEncryptionConfig({ configPath: missing, dataDir: root })).rejects.toThrow(
      new RegExp(`^cannot read encryption config ${missing}`),
    );

    const invalid = join(root, 'invalid.yaml');
    await writeFile(invalid, 'apiVersion: v1\nkind: EncryptionConfiguration\nresources: []\n');
    const failure = loadEncryptionConfig({ configPath: invalid, dataDir: root });
    await expect(failure).rejects.toBeInstanceOf(EncryptionConfigError);
    await expect(failure).rejects.toThrow(`${invalid}: invalid EncryptionConfiguration: apiVersion must be`);
  });

  it('refuses to start on a default config that was damaged, rather than replacing its key', async () => {
    await writeFile(join(root, 'encryption-config.yaml'), 'kind: nonsense\n');
    await expect(loadEncryptionConfig({ dataDir: root })).rejects.toThrow(
      /encryption-config\.yaml: invalid EncryptionConfiguration/,
    );
    expect(await readFile(join(root, 'encryption-config.yaml'), 'utf8')).toBe('kind: nonsense\n');
  });

  it('refuses an empty default config instead of generating a new key over it', async () => {
    await writeFile(join(root, 'encryption-config.yaml'), '');
    await expect(loadEncryptionConfig({ dataDir: root })).rejects.toThrow('the file is empty');
  });

  it('reports a default config path it cannot read', async () => {
    await mkdir(join(root, 'encryption-config.yaml'));
    await expect(loadEncryptionConfig({ dataDir: root })).rejects.toThrow(
      /^cannot read encryption config .*EISDIR/,
    );
  });
});
