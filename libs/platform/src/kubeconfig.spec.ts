import { execFile } from 'child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'fs/promises';
import { createServer, Server } from 'https';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';
import { promisify } from 'util';
import { stringify } from 'yaml';
import { readKubeconfig, writeKubeconfig } from './kubeconfig';
import { ensureTls } from './tls';

const run = promisify(execFile);
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function kubeconfigYaml(options: {
  contexts: [string, string, string][];
  clusters: [string, Record<string, unknown>][];
  users?: [string, Record<string, unknown>][];
  current?: string;
}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: options.clusters.map(([name, cluster]) => ({ name, cluster })),
    users: (options.users ?? []).map(([name, user]) => ({ name, user })),
    contexts: options.contexts.map(([name, cluster, user]) => ({ name, context: { cluster, user } })),
    ...(options.current ? { 'current-context': options.current } : {}),
  });
}

describe('kubeconfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubetime-kubeconfig-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes a private kubeconfig that reads back to the same connection', async () => {
    const path = await writeKubeconfig(dir, {
      server: 'https://127.0.0.1:6443',
      caPem: CA_PEM,
      token: 'secret',
    });
    expect(path).toBe(join(dir, 'kubeconfig'));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(readKubeconfig({ kubeconfig: path, env: {} })).toEqual({
      server: 'https://127.0.0.1:6443',
      caPem: CA_PEM,
      token: 'secret',
    });
  });

  it('is understood by kubectl', async () => {
    const path = await writeKubeconfig(dir, {
      server: 'https://127.0.0.1:6443',
      caPem: CA_PEM,
      token: 'secret',
    });
    const { stdout } = await run('kubectl', [
      '--kubeconfig',
      path,
      'config',
      'view',
      '--minify',
      '--raw',
      '-o',
      'json',
    ]);
    const view = JSON.parse(stdout);
    expect(view['current-context']).toBe('kubetime');
    expect(view.contexts).toEqual([{ name: 'kubetime', context: { cluster: 'kubetime', user: 'kubetime' } }]);
    expect(view.clusters[0].cluster).toEqual({
      server: 'https://127.0.0.1:6443',
      'certificate-authority-data': Buffer.from(CA_PEM).toString('base64'),
    });
    expect(view.users[0]).toEqual({ name: 'kubetime', user: { token: 'secret' } });
  });

  it('lets kubectl verify the generated serving certificate and send the token', async () => {
    const tls = await ensureTls(dir, []);
    const authorizations: (string | undefined)[] = [];
    const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      authorizations.push(req.headers.authorization);
      res.setHeader('Content-Type', 'text/plain');
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const path = await writeKubeconfig(dir, {
        server: `https://127.0.0.1:${port}`,
        caPem: tls.caPem,
        token: 'tok',
      });
      const { stdout } = await run('kubectl', ['get', '--raw', '/healthz'], {
        env: { ...process.env, KUBECONFIG: path },
      });
      expect(stdout).toBe('ok');
      expect(new Set(authorizations)).toEqual(new Set(['Bearer tok']));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('readKubeconfig', () => {
    it('merges KUBECONFIG files like kubectl: first definition and first current-context win', async () => {
      const first = join(dir, 'first');
      const second = join(dir, 'second');
      await writeFile(
        first,
        kubeconfigYaml({
          clusters: [['shared', { server: 'https://first:1' }]],
          contexts: [['a', 'shared', 'alice']],
          users: [['alice', { token: 'alice-token' }]],
        }),
      );
      await writeFile(
        second,
        kubeconfigYaml({
          clusters: [
            ['shared', { server: 'https://second:2' }],
            ['lab', { server: 'https://lab:3', 'insecure-skip-tls-verify': true }],
          ],
          contexts: [['b', 'lab', 'bob']],
          users: [['bob', { token: 'bob-token' }]],
          current: 'a',
        }),
      );
      const env = { KUBECONFIG: [join(dir, 'missing'), first, '', second].join(delimiter) };
      expect(readKubeconfig({ env })).toEqual({ server: 'https://first:1', token: 'alice-token' });
      expect(readKubeconfig({ env, context: 'b' })).toEqual({
        server: 'https://lab:3',
        token: 'bob-token',
        insecure: true,
      });
      expect(() => readKubeconfig({ env, context: 'nope' })).toThrow('context "nope" does not exist');
    });

    it('resolves certificate-authority and tokenFile relative to their kubeconfig', async () => {
      await mkdir(join(dir, 'conf', 'certs'), { recursive: true });
      await writeFile(join(dir, 'conf', 'certs', 'ca.crt'), CA_PEM);
      await writeFile(join(dir, 'conf', 'token'), 'from-file\n');
      const path = join(dir, 'conf', 'config');
      await writeFile(
        path,
        kubeconfigYaml({
          clusters: [['c', { server: 'https://c:6443', 'certificate-authority': 'certs/ca.crt' }]],
          users: [['u', { tokenFile: 'token' }]],
          contexts: [['ctx', 'c', 'u']],
          current: 'ctx',
        }),
      );
      expect(readKubeconfig({ kubeconfig: path, env: {} })).toEqual({
        server: 'https://c:6443',
        caPem: CA_PEM,
        token: 'from-file',
      });
    });

    it('falls back to ~/.kube/config', async () => {
      await mkdir(join(dir, '.kube'));
      await writeFile(
        join(dir, '.kube', 'config'),
        kubeconfigYaml({
          clusters: [['h', { server: 'https://home:6443' }]],
          contexts: [['h', 'h', 'none']],
          current: 'h',
        }),
      );
      expect(readKubeconfig({ env: { HOME: dir } })).toEqual({ server: 'https://home:6443' });
    });

    it('explains what is missing', async () => {
      expect(() => readKubeconfig({ kubeconfig: join(dir, 'absent'), env: {} })).toThrow('does not exist');
      expect(() => readKubeconfig({ env: { HOME: dir } })).toThrow('no kubeconfig');
      const path = join(dir, 'no-current');
      await writeFile(
        path,
        kubeconfigYaml({ clusters: [['c', { server: 'https://c' }]], contexts: [['c', 'c', 'u']] }),
      );
      expect(() => readKubeconfig({ kubeconfig: path, env: {} })).toThrow('no context chosen');
    });
  });
});
