import { gunzipSync, gzipSync } from 'zlib';
import { RpcClient } from '../apps/cli/src/client';
import { rpcFailure } from './support/cli';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';

const SECRET_VALUE = 'snapshot-secret-value-42';

describe('native snapshots over the time-travel API', () => {
  let server: TestServer & { database: TestDatabase };
  let rpc: RpcClient;
  let revision: number;
  let file: Buffer;

  beforeAll(async () => {
    server = await startServer();
    rpc = await RpcClient.connect({ server: server.url, token: server.token, caPem: server.caPem });
    for (const args of [
      ['create', 'namespace', 'shop'],
      ['-n', 'shop', 'create', 'deployment', 'cart', '--image=nginx:1.25', '--replicas=2'],
      ['-n', 'shop', 'create', 'configmap', 'settings', '--from-literal=mode=fast'],
      ['-n', 'shop', 'create', 'secret', 'generic', 'db', `--from-literal=password=${SECRET_VALUE}`],
      ['-n', 'shop', 'expose', 'deployment', 'cart', '--port=80'],
    ]) {
      const result = await server.kubectl(args);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
    }
    revision = (await rpc.call('history.head')).revision;
    // Later history that the snapshot at `revision` must not contain.
    await server.kubectl(['-n', 'shop', 'create', 'configmap', 'later']);
  });
  afterAll(async () => {
    rpc?.close();
    if (server) await stopServer(server);
  });

  async function save(
    params: Record<string, unknown>,
  ): Promise<{ file: Buffer; started: any; done: any; progress: any[] }> {
    const chunks: Buffer[] = [];
    const progress: any[] = [];
    const ref: { id?: string } = {};
    const offs = [
      rpc.on(
        'snapshot.chunk',
        (p) =>
          p.transfer === ref.id && chunks[p.seq] === undefined && chunks.push(Buffer.from(p.data, 'base64')),
      ),
      rpc.on('snapshot.progress', (p) => p.transfer === ref.id && progress.push(p)),
    ];
    const done = new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no snapshot.done')), 20_000);
      offs.push(rpc.on('snapshot.done', (p) => p.transfer === ref.id && (clearTimeout(timer), resolve(p))));
    });
    const started = await rpc.call('snapshot.save', params);
    ref.id = started.transfer;
    const finished = await done;
    offs.forEach((off) => off());
    return { file: Buffer.concat(chunks), started, done: finished, progress };
  }

  async function restore(branch: string, bytes: Buffer, chunkSize = 1000): Promise<any> {
    const { upload } = await rpc.call('snapshot.restore', { branch, format: 'native' });
    for (let i = 0, seq = 0; i < bytes.length; i += chunkSize, seq++) {
      await rpc.call('snapshot.upload', {
        upload,
        seq,
        data: bytes.subarray(i, i + chunkSize).toString('base64'),
      });
    }
    return rpc.call('snapshot.commit', { upload });
  }

  it('saves the state at a revision as a checksummed gzip stream, Secrets still sealed', async () => {
    const saved = await save({ branch: 'main', revision, chunkBytes: 1024 });
    file = saved.file;
    expect(saved.started.header).toMatchObject({
      format: 'kubetime-snapshot/v1',
      source: { branch: 'main', revision },
    });
    expect(saved.done.bytes).toBe(file.length);
    expect(saved.done.chunks).toBeGreaterThan(1);
    expect(saved.progress[saved.progress.length - 1]).toMatchObject({
      objects: saved.started.header.objects,
      bytes: file.length,
    });
    const lines = gunzipSync(file)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'header', objects: lines.length - 2 });
    expect(lines[lines.length - 1]).toMatchObject({
      type: 'trailer',
      objects: lines.length - 2,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const names = lines.slice(1, -1).map((l) => l.name);
    expect(names).toEqual(expect.arrayContaining(['shop', 'cart', 'settings', 'db']));
    expect(names).not.toContain('later');
    const secret = lines.find((l) => l.kind === 'Secret' && l.name === 'db');
    expect(secret.object).toBeUndefined();
    expect(Buffer.from(secret.sealed, 'base64').toString('latin1')).toMatch(/^k8s:enc:aesgcm:v1:[^:]+:/);
    const text = gunzipSync(file).toString('utf8');
    expect(text).not.toContain(SECRET_VALUE);
    expect(text).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
  });

  it('restores into a new branch whose state equals the source (an empty diff), recorded in history', async () => {
    const result = await restore('restored', file);
    expect(result).toMatchObject({
      branch: 'restored',
      source: { branch: 'main', revision },
      objects: gunzipSync(file).toString().trim().split('\n').length - 2,
    });
    const diff = await rpc.call('diff', {
      from: { branch: 'main', revision },
      to: { branch: 'restored' },
      ignore: ['resourceVersion', 'uid', 'timestamps', 'managedFields'],
    });
    expect({ added: diff.added, removed: diff.removed, changed: diff.changed }).toEqual({
      added: [],
      removed: [],
      changed: [],
    });
    // Nothing else differs either: uid, timestamps and managed fields were kept.
    const strict = await rpc.call('diff', {
      from: { branch: 'main', revision },
      to: { branch: 'restored' },
      ignore: ['resourceVersion'],
    });
    expect(strict.changed).toEqual([]);
    const actors = await rpc.call('history.events', { branch: 'restored', objects: false, limit: 1000 });
    expect(new Set(actors.items.map((e: any) => e.actor))).toEqual(new Set(['kubetime:snapshot-restore']));
    const password = await server.kubectl([
      '--server',
      `${server.url}/branches/restored`,
      '-n',
      'shop',
      'get',
      'secret',
      'db',
      '-o',
      'jsonpath={.data.password}',
    ]);
    expect(Buffer.from(password.stdout, 'base64').toString()).toBe(SECRET_VALUE);
  });

  it('refuses truncated and tampered files and writes nothing', async () => {
    const before = (await rpc.call('branch.list')).items.map((b: any) => b.name);
    const truncated = await rpcFailure(restore('truncated', file.subarray(0, Math.floor(file.length / 2))));
    expect(truncated.code).toBe(-32006);
    expect(truncated.message).toMatch(/truncated.*nothing was written/);

    const flipped = Buffer.from(file);
    flipped[Math.floor(flipped.length / 2)] ^= 0xff;
    expect((await rpcFailure(restore('flipped', flipped))).code).toBe(-32006);

    // A well-formed gzip whose content was edited: the checksum catches it.
    const edited = gzipSync(
      Buffer.from(gunzipSync(file).toString('utf8').replace('"mode":"fast"', '"mode":"slow"')),
    );
    const tampered = await rpcFailure(restore('edited', edited));
    expect(tampered.message).toMatch(/checksum mismatch.*nothing was written/);

    const garbage = await rpcFailure(restore('garbage', Buffer.from('not a snapshot at all')));
    expect(garbage.code).toBe(-32006);

    expect((await rpc.call('branch.list')).items.map((b: any) => b.name)).toEqual(before);
    for (const name of ['truncated', 'flipped', 'edited', 'garbage']) {
      expect((await rpcFailure(rpc.call('history.head', { branch: name }))).code).toBe(-32002);
    }
    // Restoring onto an existing branch name is refused too.
    expect((await rpcFailure(restore('restored', file))).code).toBe(-32004);
    expect((await rpcFailure(rpc.call('snapshot.save', { format: 'zip' }))).message).toMatch(
      /format must be "native" or "etcd"/,
    );
  });
});
