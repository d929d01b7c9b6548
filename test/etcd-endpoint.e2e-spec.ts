/**
 * The read-only etcd v3 endpoint, driven by the real etcdctl 3.4 and the etcd3 npm client against a
 * running kubetime server (writes through kubectl), the endpoint started here on the same database.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startEtcdEndpoint, EtcdEndpoint } from '@kubetime/etcd-compat';
import { loadEncryptionConfig } from '@kubetime/encryption';
import { createPool, EventStore } from '@kubetime/event-store';
import { Etcd3 } from 'etcd3';
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
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';

if (!HAVE_ETCD) console.warn(SKIP_ETCD_REASON);
const describeWithEtcd = HAVE_ETCD ? describe : describe.skip;

describeWithEtcd('etcd v3 endpoint (real etcdctl, real server, real PostgreSQL)', () => {
  let server: TestServer & { database: TestDatabase };
  let store: EventStore;
  let pool: ReturnType<typeof createPool>;
  let endpoint: EtcdEndpoint;
  let url: string;
  let dir: string;
  let cleanup: () => Promise<void>;
  const running: RunningEtcd[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    server = await startServer();
    pool = createPool(server.databaseUrl, { max: 4 });
    // The server's own encryption configuration, so this process can load Secrets it sealed.
    store = await EventStore.open({
      pool,
      url: server.databaseUrl,
      bodies: await loadEncryptionConfig({ dataDir: server.dataDir }),
    });
    endpoint = await startEtcdEndpoint({ store, host: '127.0.0.1', port: 0 });
    url = `127.0.0.1:${endpoint.port}`;
    expect((await server.kubectl(['run', 'first', '--image=nginx'])).code).toBe(0);
    expect(
      (await server.kubectl(['create', 'secret', 'generic', 's', '--from-literal=password=hunter2'])).code,
    ).toBe(0);
  });

  afterAll(async () => {
    for (const e of running.splice(0)) await e.stop();
    await endpoint?.close();
    await store?.close();
    await pool?.end();
    if (server) await stopServer(server);
    await cleanup?.();
  });

  it('answers endpoint health and status', async () => {
    // Its probe is a Get, then the alarm list; it exits non-zero when either fails.
    const [health] = JSON.parse(await etcdctl(['endpoint', 'health', '-w', 'json'], url));
    expect(health).toMatchObject({ endpoint: url, health: true });
    const [status] = JSON.parse(await etcdctl(['endpoint', 'status', '-w', 'json'], url));
    expect(status.Status.version).toMatch(/^3\.4\./);
    expect(status.Status.header.revision).toBe((await store.branch()).revision);
  });

  it('serves ranges: prefix, keys-only, limit, at a revision', async () => {
    const keys = (await etcdctl(['get', '/registry/pods', '--prefix', '--keys-only'], url))
      .split('\n')
      .filter(Boolean);
    expect(keys).toEqual(['/registry/pods/default/first']);
    const all = await getPrefix(url, '/registry');
    expect(all.revision).toBe((await store.branch()).revision);
    expect(all.kvs.map((kv) => kv.key)).toContain('/registry/namespaces/default');
    const secret = all.kvs.find((kv) => kv.key === '/registry/secrets/default/s')!;
    expect(secret.value.subarray(0, 18).toString()).toBe('k8s:enc:aesgcm:v1:');
    const limited = JSON.parse(
      await etcdctl(['get', '/registry', '--prefix', '--limit=2', '-w', 'json'], url),
    );
    expect(limited.kvs).toHaveLength(2);
    expect(limited.more).toBe(true);
    const pod = all.kvs.find((kv) => kv.key === '/registry/pods/default/first')!;
    const before = await getPrefix(url, '/registry/pods', [`--rev=${pod.modRevision - 1}`]);
    expect(before.kvs).toEqual([]);
  });

  it('refuses writes with PermissionDenied', async () => {
    const err = await etcdctl(['put', '/registry/pods/default/x', '{}'], url).catch((e) => e);
    expect(String(err.stderr ?? err.message)).toContain('permission denied');
    const del = await etcdctl(['del', '/registry/pods/default/first'], url).catch((e) => e);
    expect(String(del.stderr ?? del.message)).toContain('permission denied');
  });

  it('streams a pod created through kubectl to etcdctl watch --prefix', async () => {
    const child = spawn('etcdctl', ['--endpoints', url, 'watch', '--prefix', '/registry/pods'], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await new Promise((r) => setTimeout(r, 500)); // the watch is created before the write
      expect((await server.kubectl(['run', 'watched', '--image=nginx'])).code).toBe(0);
      const deadline = Date.now() + 20_000;
      while (!out.includes('/registry/pods/default/watched') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).toContain('PUT\n/registry/pods/default/watched');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('works with the etcd3 client: get prefix, count, watch with prev_kv', async () => {
    const client = new Etcd3({ hosts: `http://${url}` });
    try {
      // etcdctl 3.4 has no --count-only; the client's count() is a count-only Range.
      expect(await client.getAll().prefix('/registry/').count()).toBe(
        (await getPrefix(url, '/registry/')).kvs.length,
      );
      const pods = await client.getAll().prefix('/registry/pods/').keys();
      expect(pods.sort()).toEqual(['/registry/pods/default/first', '/registry/pods/default/watched']);
      const watcher = await client.watch().prefix('/registry/configmaps/').withPreviousKV().create();
      const seen = new Promise<{ key: string; prev?: string }>((resolve) =>
        watcher.on('delete', (kv, prev) => resolve({ key: kv.key.toString(), prev: prev?.value.toString() })),
      );
      expect((await server.kubectl(['create', 'configmap', 'c', '--from-literal=v=1'])).code).toBe(0);
      expect((await server.kubectl(['delete', 'configmap', 'c'])).code).toBe(0);
      const deleted = await seen;
      expect(deleted.key).toBe('/registry/configmaps/default/c');
      expect(JSON.parse(deleted.prev!).data).toEqual({ v: '1' });
      await watcher.cancel();
    } finally {
      client.close();
    }
  });

  it('takes etcdctl snapshot save, which a real etcd restores and serves', async () => {
    const file = join(dir, 'kubetime.db');
    await etcdctl(['snapshot', 'save', file], url);
    const served = await getPrefix(url, '/registry');
    const status = JSON.parse(await etcdctl(['snapshot', 'status', file, '-w', 'json']));
    expect(status.revision).toBe(served.revision);

    const member = await newMember('from-kubetime');
    const dataDir = join(dir, 'restored');
    await etcdctl([
      'snapshot',
      'restore',
      file,
      '--name',
      member.name,
      '--data-dir',
      dataDir,
      '--initial-cluster',
      `${member.name}=${member.peerUrl}`,
      '--initial-advertise-peer-urls',
      member.peerUrl,
    ]);
    const etcd = await startEtcd(dataDir, member, join(dir, 'restored.log'));
    running.push(etcd);
    const restored = await getPrefix(etcd.endpoint, '/registry');
    expect(restored.revision).toBe(served.revision);
    expect(restored.kvs).toEqual(served.kvs);
    expect(await etcdctl(['get', '/registry/pods', '--prefix', '--keys-only'], etcd.endpoint)).toContain(
      '/registry/pods/default/watched',
    );
  });

  it('answers "compacted" below a retention horizon for that resource only', async () => {
    expect((await server.kubectl(['create', 'configmap', 'kept', '--from-literal=v=1'])).code).toBe(0);
    for (let i = 0; i < 100 && !(await store.get('main', '/registry/configmaps/default/kept')); i++)
      await new Promise((r) => setTimeout(r, 20));
    const old = (await store.branch()).revision;
    expect((await server.kubectl(['label', 'configmap', 'kept', 'v=2'])).code).toBe(0);
    for (let i = 0; i < 100 && (await store.branch()).revision === old; i++)
      await new Promise((r) => setTimeout(r, 20));
    const cutoff = (await store.branch()).revision;
    await store.compactKeys('main', ['/registry/configmaps/'], cutoff, 'test', {});
    const refused = await etcdctl(['get', '/registry/configmaps', '--prefix', `--rev=${old}`], url).catch(
      (e) => e,
    );
    expect(String(refused.stderr ?? refused.message)).toContain('required revision has been compacted');
    const pods = await etcdctl(['get', '/registry/pods', '--prefix', '--keys-only', `--rev=${old}`], url);
    expect(pods).toContain('/registry/pods/default/first');
    const kept = await etcdctl(['get', '/registry/configmaps/default/kept', `--rev=${cutoff}`], url);
    expect(kept).toContain('/registry/configmaps/default/kept');
  });

  it('needs the token when one is set', async () => {
    const guarded = await startEtcdEndpoint({ store, port: 0, token: 'sesame' });
    const at = `127.0.0.1:${guarded.port}`;
    try {
      const denied = await etcdctl(['get', '/registry/pods', '--prefix', '--keys-only'], at).catch((e) => e);
      expect(String(denied.stderr ?? denied.message)).toContain('invalid auth token');
      const keys = await etcdctl(
        ['--user', 'kubetime:sesame', 'get', '/registry/pods', '--prefix', '--keys-only'],
        at,
      );
      expect(keys).toContain('/registry/pods/default/first');
    } finally {
      await guarded.close();
    }
  });
});
