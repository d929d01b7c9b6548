/**
 * The etcd backup drill through the kubetime CLI and a running server (the JSON-RPC snapshot methods with
 * format "etcd"), checked with the real etcd 3.4 tools both ways: our file through `etcdctl snapshot
 * status/restore` into a real etcd, and a real etcd's `etcdctl snapshot save` restored into a branch that
 * kubectl reads. Every etcd listens on loopback and is stopped by its own process.
 */
import { execFile } from 'child_process';
import { copyFileSync } from 'fs';
import { readFile, writeFile } from 'fs/promises';
import { join } from 'path';
import { promisify } from 'util';
import {
  etcdctl,
  getPrefix,
  HAVE_ETCD,
  newMember,
  RunningEtcd,
  SKIP_ETCD_REASON,
  startEtcd,
  tempDir,
} from '../libs/etcd-snapshot/src/spec-fixtures';
import type { TestDatabase } from './support/database';
import { CliResult, runCli } from './support/cli';
import { startServer, stopServer, TestServer } from './support/server';

const run = promisify(execFile);

if (!HAVE_ETCD) console.warn(SKIP_ETCD_REASON);
const describeWithEtcd = HAVE_ETCD ? describe : describe.skip;

const configMap = (namespace: string, name: string, data: Record<string, string>) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, uid: `uid-${namespace}-${name}` },
    data,
  });

describeWithEtcd('etcd-format snapshots through the CLI (real server, real etcd 3.4, real kubectl)', () => {
  let server: TestServer & { database: TestDatabase };
  let dir: string;
  let cleanup: () => Promise<void>;
  let kubeconfig: string;
  const running: RunningEtcd[] = [];
  /** Saved by the first test, at `savedAt`; later tests restore or damage it. */
  const ours = { file: '', savedAt: 0 };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    server = await startServer();
    kubeconfig = join(dir, 'kubeconfig');
    copyFileSync(server.kubeconfig, kubeconfig);
    await kubectl(['create', 'namespace', 'team']);
    await kubectl(['-n', 'team', 'create', 'configmap', 'settings', '--from-literal=mode=fast']);
    await kubectl(['-n', 'team', 'create', 'secret', 'generic', 'db', '--from-literal=password=hunter2']);
    await kubectl(['create', 'deployment', 'web', '--image=nginx:1.25']);
    // Big enough that the file crosses several chunks both ways (256 KiB down, 1 MiB up).
    const blob = join(dir, 'blob.txt');
    await writeFile(blob, 'kubetime '.repeat(100_000));
    for (const name of ['big-1', 'big-2', 'big-3'])
      await kubectl(['-n', 'team', 'create', 'configmap', name, `--from-file=blob=${blob}`]);
  });

  afterAll(async () => {
    for (const e of running.splice(0)) await e.stop();
    if (server) await stopServer(server);
    await cleanup?.();
  });

  async function kubectl(args: string[]): Promise<string> {
    const result = await server.kubectl(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  const cli = (args: string[]): Promise<CliResult> => runCli(kubeconfig, args);

  async function ok(args: string[]): Promise<string> {
    const result = await cli(args);
    if (result.code !== 0)
      throw new Error(`kubetime ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  async function branches(): Promise<string[]> {
    return JSON.parse(await ok(['branch', 'list', '-o', 'json'])).items.map((b: { name: string }) => b.name);
  }

  async function mainHead(): Promise<number> {
    const main = JSON.parse(await ok(['branch', 'list', '-o', 'json'])).items.find(
      (b: { name: string }) => b.name === 'main',
    );
    return main.headRevision;
  }

  it('saves in etcd format: etcdctl snapshot status agrees, etcdctl snapshot restore accepts it, a real etcd serves our keys', async () => {
    const head = await mainHead();
    ours.file = join(dir, 'ours.db');
    ours.savedAt = head;
    expect(await ok(['snapshot', 'save', ours.file, '--format', 'etcd'])).toMatch(
      new RegExp(
        `^saved main@${head} as an etcd snapshot to .*: \\d+ revision keys, compacted at ${head} \\(\\d+ bytes\\)$`,
        'm',
      ),
    );
    const saved = JSON.parse(
      await ok(['snapshot', 'save', join(dir, 'again.db'), '--format', 'etcd', '-o', 'json']),
    );
    expect(saved).toMatchObject({ format: 'etcd', branch: 'main', revision: head, compactRevision: head });

    const status = JSON.parse(await etcdctl(['snapshot', 'status', ours.file, '-w', 'json']));
    expect(status.revision).toBe(head);
    // etcdctl counts every bucket entry: our revision keys plus consistent_index and the two compact revisions.
    expect(status.totalKey).toBe(saved.keys + 3);

    const member = await newMember('from-kubetime');
    const dataDir = join(dir, 'from-kubetime-data');
    // No --skip-hash-check: the sha256 trailer must be right after the trip through the API.
    await etcdctl([
      'snapshot',
      'restore',
      ours.file,
      '--name',
      member.name,
      '--data-dir',
      dataDir,
      '--initial-cluster',
      `${member.name}=${member.peerUrl}`,
      '--initial-advertise-peer-urls',
      member.peerUrl,
    ]);
    const etcd = await startEtcd(dataDir, member, join(dir, 'from-kubetime.log'));
    running.push(etcd);
    const served = await getPrefix(etcd.endpoint, '/registry');
    expect(served.revision).toBe(head);
    const byKey = new Map(served.kvs.map((kv) => [kv.key, kv]));
    // Every object kubectl sees is there, at its key, as the apiserver stores it (no resourceVersion).
    for (const [resource, key] of [
      ['namespaces', (o: any) => `/registry/namespaces/${o.metadata.name}`],
      ['configmaps', (o: any) => `/registry/configmaps/${o.metadata.namespace}/${o.metadata.name}`],
      ['deployments', (o: any) => `/registry/deployments/${o.metadata.namespace}/${o.metadata.name}`],
    ] as const) {
      const listed = JSON.parse(await kubectl(['get', resource, '-A', '-o', 'json'])).items;
      expect(listed.length).toBeGreaterThan(0);
      for (const o of listed) {
        const kv = byKey.get(key(o));
        expect(kv).toBeDefined();
        const stored = JSON.parse(kv!.value.toString());
        expect(stored.metadata.uid).toBe(o.metadata.uid);
        expect(stored.metadata.resourceVersion).toBeUndefined();
        expect(kv!.modRevision).toBe(Number(o.metadata.resourceVersion));
      }
    }
    expect(JSON.parse(byKey.get('/registry/configmaps/team/settings')!.value.toString()).data).toEqual({
      mode: 'fast',
    });
    expect(saved.bytes).toBeGreaterThan(2 * 1024 * 1024);
    const secret = byKey.get('/registry/secrets/team/db')!;
    expect(secret.value.subarray(0, 8).toString()).toBe('k8s:enc:');
    expect(secret.value.includes(Buffer.from('hunter2'))).toBe(false);
    // New writes in the restored etcd continue above our revision.
    const put = JSON.parse(
      await etcdctl(['put', '/registry/configmaps/team/new', '{}', '-w', 'json'], etcd.endpoint),
    );
    expect(Number(put.header.revision)).toBe(head + 1);
  });

  describe('restoring a real etcd snapshot', () => {
    let source: RunningEtcd;
    let file: string;

    beforeAll(async () => {
      const member = await newMember('source');
      source = await startEtcd(join(dir, 'source-data'), member, join(dir, 'source.log'));
      running.push(source);
      const put = (key: string, value: string) => etcdctl(['put', key, '--', value], source.endpoint);
      await put(
        '/registry/namespaces/ops',
        JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops', uid: 'ns-ops' } }),
      );
      await put('/registry/configmaps/ops/a', configMap('ops', 'a', { v: '1' }));
      await put('/registry/configmaps/ops/b', configMap('ops', 'b', { v: '1' }));
      await put('/registry/configmaps/ops/a', configMap('ops', 'a', { v: '2' }));
      await etcdctl(['del', '/registry/configmaps/ops/b'], source.endpoint);
      await put('/registry/configmaps/ops/c', configMap('ops', 'c', { v: '3' }));
      // What kube-apiserver keeps beside /registry, and bytes that are not an object: neither becomes one.
      await put('compact_rev_key', '4');
      await put('/registry/widgets/ops/odd', 'not json, not protobuf');
      file = join(dir, 'real.db');
      await etcdctl(['snapshot', 'save', file], source.endpoint);
    });

    it('refuses what it cannot restore by default, naming the keys, with exit code 1 and nothing written', async () => {
      const refused = await cli(['snapshot', 'restore', file, '--format', 'etcd', '--branch', 'refused']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('2 key(s) in the snapshot cannot be restored as objects');
      expect(refused.stderr).toContain('compact_rev_key (outside /registry/: not Kubernetes state)');
      expect(refused.stderr).toContain('/registry/widgets/ops/odd');
      expect(refused.stderr).toContain('nothing was written');
      expect(await branches()).not.toContain('refused');
    });

    it('restores into a branch whose state, through kubectl, equals etcdctl get --prefix /registry', async () => {
      const out = await ok([
        'snapshot',
        'restore',
        file,
        '--format',
        'etcd',
        '--branch',
        'from-etcd',
        '--allow-unimported',
      ]);
      expect(out).toMatch(
        /^restored etcd snapshot at revision \d+ \(compacted at 0, sha256 verified\) as branch from-etcd: 7 events, 4 keys, head \d+$/m,
      );
      expect(out).toContain(
        '2 key(s) not restored as objects (values under /registry/ are kept as their raw bytes):',
      );
      expect(out).toMatch(/^ {2}compact_rev_key @\d+: outside \/registry\/: not Kubernetes state$/m);
      expect(out).toMatch(/^ {2}\/registry\/widgets\/ops\/odd @\d+: /m);

      const expected = (await getPrefix(source.endpoint, '/registry')).kvs.filter(
        (kv) => kv.key !== '/registry/widgets/ops/odd',
      );
      const onBranch = ['--server', `${server.url}/branches/from-etcd`];
      const listed = [
        ...JSON.parse(await kubectl([...onBranch, 'get', 'namespaces', '-o', 'json'])).items,
        ...JSON.parse(await kubectl([...onBranch, 'get', 'configmaps', '-A', '-o', 'json'])).items,
      ];
      const withoutRv = (o: any) => {
        const { resourceVersion: _rv, ...metadata } = o.metadata;
        return { ...o, metadata };
      };
      const keyOf = (o: any) =>
        o.kind === 'Namespace'
          ? `/registry/namespaces/${o.metadata.name}`
          : `/registry/configmaps/${o.metadata.namespace}/${o.metadata.name}`;
      expect(Object.fromEntries(listed.map((o) => [keyOf(o), withoutRv(o)]))).toEqual(
        Object.fromEntries(expected.map((kv) => [kv.key, JSON.parse(kv.value.toString())])),
      );
    });
  });

  it("refuses a truncated file with the reader's precise message, exit code 1, and writes nothing", async () => {
    const bytes = await readFile(ours.file);
    const truncated = join(dir, 'truncated.db');
    await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const result = await cli(['snapshot', 'restore', truncated, '--format', 'etcd', '--branch', 'truncated']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^kubetime: invalid snapshot: .+; nothing was written \(code -32006\)$/m);
    expect(await branches()).not.toContain('truncated');
  });

  it('restores with bumped, compacted revisions: a client-node informer holding an old resourceVersion gets 410 and re-lists', async () => {
    // main moves on after the backup, as the live cluster would have.
    await kubectl(['-n', 'team', 'create', 'configmap', 'after-backup']);
    const restored = JSON.parse(
      await ok([
        'snapshot',
        'restore',
        ours.file,
        '--format',
        'etcd',
        '--branch',
        'safe',
        '--bump-revision',
        '1000',
        '--mark-compacted',
        '-o',
        'json',
      ]),
    );
    const head = await mainHead();
    expect(restored.bumpedTo).toBe(head + 1000);
    expect(restored.revision).toBeGreaterThan(restored.bumpedTo);

    const { stdout } = await run(
      process.execPath,
      [join(__dirname, 'client-node/etcd-restore-safety.mjs'), kubeconfig, 'safe'],
      {
        timeout: 60_000,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
      },
    );
    const report = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(report.staleResourceVersion).toBeLessThan(restored.bumpedTo);
    // The watch from the stale resourceVersion is refused as too old, as the bumped etcd would.
    const gone =
      report.staleWatch.doneStatus === 410 ||
      report.staleWatch.seen.some((e: any) => e.phase === 'ERROR' && e.code === 410);
    expect(gone).toBe(true);
    // So the informer re-listed, from the branch, above the floor.
    expect(report.lists).toHaveLength(2);
    expect(report.lists[0]).toBe(report.staleResourceVersion);
    expect(report.lists[1]).toBeGreaterThan(restored.bumpedTo);
    expect(report.cachedAfterRelist).toEqual(report.branchNames);
    expect(report.branchNames).toEqual(expect.arrayContaining(['team/settings', 'team/big-3']));
    // What existed only after the backup left the cache with the re-list, instead of lingering.
    expect(report.deletedByRelist).toEqual(['team/after-backup']);
    expect(report.liveAdd).toBe(true);
  });
});
