/**
 * etcd-format snapshots of the event log, both directions, checked with the real etcd 3.4 and etcdctl:
 * our files through `snapshot status/restore` and a real etcd, and a real etcd's `snapshot save` back
 * into a branch. Every etcd listens on loopback and is stopped by its own process.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeKubernetesProtobuf, KubeObject } from '@kubetime/api-machinery';
import { loadEncryptionConfig } from '@kubetime/encryption';
import { SnapshotFormatError, writeEtcdSnapshot } from '@kubetime/etcd-snapshot';
import { restoreEtcdSnapshot, RestoreRefused, RESTORE_ACTOR, saveEtcdSnapshot } from '@kubetime/etcd-compat';
import { storageJson } from '../libs/etcd-compat/src/rows';
import { createPool, EventStore, migrate, RevisionCompacted, WriteIntent } from '@kubetime/event-store';
import { firstValueFrom } from 'rxjs';
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
import { createTestDatabase, TestDatabase } from './support/database';

if (!HAVE_ETCD) console.warn(SKIP_ETCD_REASON);
const describeWithEtcd = HAVE_ETCD ? describe : describe.skip;

function write(
  type: WriteIntent['type'],
  resource: string,
  kind: string,
  name: string,
  body: Record<string, unknown>,
  expectedRevision?: number,
): WriteIntent {
  const namespaced = kind !== 'Namespace';
  return {
    key: namespaced ? `/registry/${resource}/default/${name}` : `/registry/${resource}/${name}`,
    type,
    group: '',
    version: 'v1',
    resource,
    object: {
      apiVersion: 'v1',
      kind,
      metadata: { name, ...(namespaced ? { namespace: 'default' } : {}), uid: `uid-${name}` },
      ...body,
    },
    expectedRevision,
    actor: 'test',
  };
}

describeWithEtcd('etcd snapshots of the event log (real etcd 3.4, real PostgreSQL)', () => {
  let db: TestDatabase;
  let store: EventStore;
  let pool: ReturnType<typeof createPool>;
  let dir: string;
  let cleanup: () => Promise<void>;
  const running: RunningEtcd[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    db = await createTestDatabase();
    await migrate(db.url);
    pool = createPool(db.url, { max: 4 });
    // The server's default configuration: Secrets sealed with a generated aesgcm key.
    const bodies = await loadEncryptionConfig({ dataDir: dir });
    store = await EventStore.open({ pool, url: db.url, bodies });
    await store.append('main', write('ADDED', 'namespaces', 'Namespace', 'default', {}));
    const a = await store.append(
      'main',
      write('ADDED', 'configmaps', 'ConfigMap', 'a', { data: { v: '1' } }),
    );
    const b = await store.append(
      'main',
      write('ADDED', 'configmaps', 'ConfigMap', 'b', { data: { v: '1' } }),
    );
    await store.append(
      'main',
      write('ADDED', 'secrets', 'Secret', 's', { data: { password: 'aHVudGVyMg==' } }),
    );
    await store.append(
      'main',
      write('MODIFIED', 'configmaps', 'ConfigMap', 'a', { data: { v: '2' } }, a.revision),
    );
    await store.append(
      'main',
      write('DELETED', 'configmaps', 'ConfigMap', 'b', { data: { v: '1' } }, b.revision),
    );
  });

  afterAll(async () => {
    for (const e of running.splice(0)) await e.stop();
    await store?.close();
    await pool?.end();
    await db?.drop();
    await cleanup?.();
  });

  async function restoreAndStart(file: string, name: string): Promise<RunningEtcd> {
    const member = await newMember(name);
    const dataDir = join(dir, `${name}-data`);
    // No --skip-hash-check: the file's sha256 trailer must be right.
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
    const etcd = await startEtcd(dataDir, member, join(dir, `${name}.log`));
    running.push(etcd);
    return etcd;
  }

  /** What the store holds, as etcd's get would show it. */
  async function storeState(revision?: number) {
    const { rows } = await store.pool.query(
      `SELECT DISTINCT ON (key) key, type, revision, create_revision, version, object, sealed FROM events
        WHERE branch_id = 1 AND revision <= $1 ORDER BY key, revision DESC`,
      [revision ?? (await store.branch()).revision],
    );
    return asEtcdKvs(rows);
  }

  /** The newest version of each key, as etcd's get shows it (deleted keys absent). */
  function asEtcdKvs(rows: any[]) {
    return rows
      .filter((r) => r.type !== 'DELETED')
      .map((r) => ({
        key: r.key as string,
        value: (r.sealed as Buffer | null) ?? Buffer.from(JSON.stringify(r.object)),
        createRevision: Number(r.create_revision),
        modRevision: Number(r.revision),
        version: Number(r.version),
      }));
  }

  it('exports the state at the head that etcdctl reads, restores without --skip-hash-check, and a real etcd serves', async () => {
    const head = (await store.branch()).revision;
    const file = join(dir, 'state.db');
    const saved = await saveEtcdSnapshot(store, { path: file });
    // The 3 live keys, and the tombstone of b: the head revision is a delete.
    expect(saved).toMatchObject({ branch: 'main', revision: head, compactRevision: head, keys: 4 });

    const status = JSON.parse(await etcdctl(['snapshot', 'status', file, '-w', 'json']));
    expect(status.revision).toBe(head);
    // etcdctl counts every bucket entry: the 4 revisions, then consistent_index and the two compact revisions.
    expect(status.totalKey).toBe(saved.keys + 3);

    const etcd = await restoreAndStart(file, 'state');
    const served = await getPrefix(etcd.endpoint, '/registry');
    expect(served.revision).toBe(head);
    expect(served.kvs).toEqual(await storeState());
    const secret = served.kvs.find((kv) => kv.key === '/registry/secrets/default/s')!;
    expect(secret.value.subarray(0, 18).toString()).toBe('k8s:enc:aesgcm:v1:');
    expect(secret.value.includes(Buffer.from('aHVudGVyMg=='))).toBe(false);

    const put = JSON.parse(
      await etcdctl(['put', '/registry/configmaps/default/new', '{}', '-w', 'json'], etcd.endpoint),
    );
    expect(Number(put.header.revision)).toBe(head + 1);
  });

  it('exports the head of a forked branch: its own rows and the ones it inherits from main', async () => {
    const forkAt = (await store.branch()).revision;
    const { id } = await store.branches.fork('forked', 'main', forkAt, 'wall');
    const a = await store.get('forked', '/registry/configmaps/default/a');
    await store.append(
      'forked',
      write('MODIFIED', 'configmaps', 'ConfigMap', 'a', { data: { v: 'fork' } }, a!.revision),
    );
    await store.append('forked', write('ADDED', 'configmaps', 'ConfigMap', 'c', { data: { v: '1' } }));
    const file = join(dir, 'forked.db');
    const saved = await saveEtcdSnapshot(store, { path: file, branch: 'forked' });
    expect(saved).toMatchObject({ branch: 'forked', revision: forkAt + 2, keys: 4 });

    const etcd = await restoreAndStart(file, 'forked');
    const { rows } = await store.pool.query(
      `SELECT DISTINCT ON (key) key, type, revision, create_revision, version, object, sealed FROM events
        WHERE (branch_id = 1 AND revision <= $1) OR branch_id = $2 ORDER BY key, revision DESC`,
      [forkAt, id],
    );
    const expected = asEtcdKvs(rows);
    expect((await getPrefix(etcd.endpoint, '/registry')).kvs).toEqual(expected);
    expect(expected.map((kv) => kv.modRevision).filter((r) => r > forkAt)).toHaveLength(2);
  });

  it("exports each body byte for byte as the write path encoded it, from jsonb's text without parsing it", async () => {
    // Values chosen to hit every way jsonb's text and JSON.stringify could differ: separators inside
    // strings, escapes, control and non-ASCII characters, index-like keys, long and tiny numbers.
    const pieces = [
      'a',
      'Z',
      '7',
      ':',
      ',',
      ' ',
      ', ',
      ': ',
      '"',
      '\\',
      '\\"',
      '/',
      '\n',
      '\u0001',
      '\u007f',
      'é',
      '😀',
      '\u2028',
    ];
    const numbers = [0, -1, 1.5, 0.1 + 0.2, 1e21, 1e20, 1.5e-7, 1e-6, 123456789012345680, -2.5e-3, 42];
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const text = () =>
      Array.from({ length: Math.floor(next() * 6) }, () => pieces[Math.floor(next() * pieces.length)]).join(
        '',
      );
    const value = (depth: number): unknown => {
      const r = next();
      if (depth > 3 || r < 0.35) return text();
      if (r < 0.5) return numbers[Math.floor(next() * numbers.length)];
      if (r < 0.55) return r < 0.52 ? null : true;
      if (r < 0.75) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 5); i > 0; i--)
        o[next() < 0.15 ? String(Math.floor(next() * 20)) : text()] = value(depth + 1);
      return o;
    };
    const objects = Array.from({ length: 3000 }, () => ({
      kind: 'ConfigMap',
      data: value(0),
      [text()]: value(1),
    }));
    const { rows } = await store.pool.query<{ printed: string; parsed: unknown }>(
      'SELECT o::jsonb::text AS printed, o::jsonb AS parsed FROM unnest($1::text[]) o',
      [objects.map((o) => JSON.stringify(o))],
    );
    expect(rows).toHaveLength(objects.length);
    for (const row of rows)
      expect(storageJson(Buffer.from(row.printed, 'utf8')).toString('utf8')).toBe(JSON.stringify(row.parsed));
  });

  it('exports a past revision with the history above the compaction point', async () => {
    const at = (await store.branch()).revision - 1; // before the delete of b
    const file = join(dir, 'history.db');
    const saved = await saveEtcdSnapshot(store, { path: file, revision: at, history: true });
    expect(saved.compactRevision).toBe(1);
    const etcd = await restoreAndStart(file, 'history');
    const served = await getPrefix(etcd.endpoint, '/registry');
    expect(served.revision).toBe(at);
    expect(served.kvs).toEqual(await storeState(at));
    // Older revisions are served from the history in the file.
    const early = await getPrefix(etcd.endpoint, '/registry/configmaps', [`--rev=${at - 2}`]);
    expect(early.kvs.map((kv) => JSON.parse(kv.value.toString()).data.v)).toEqual(['1', '1']);
  });

  it('rolls back a restore whose file turns out damaged after batches were written', async () => {
    // Without a sha256 trailer (a raw member/snap/db) a damaged value is only found when the read
    // reaches it: here in a leaf past the first 2,000-change batch.
    const changes = 2_500;
    const file = join(dir, 'midway.db');
    await writeEtcdSnapshot(
      file,
      Array.from({ length: changes }, (_, i) => {
        const name = `cm-${i}`;
        const value = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace: 'default', uid: name },
        };
        return {
          key: Buffer.from(`/registry/configmaps/default/${name}`),
          revision: i + 2,
          type: 'put' as const,
          value: Buffer.from(JSON.stringify(value)),
          createRevision: i + 2,
          version: 1,
        };
      }),
      { revision: changes + 1 },
    );
    const { readFile } = await import('node:fs/promises');
    const bytes = (await readFile(file)).subarray(0, -32);
    let seen = 0;
    let damaged = -1;
    for (let page = 2; damaged < 0; page++) {
      const at = page * 4096;
      if (bytes.readUInt16LE(at + 8) !== 0x02) continue;
      seen += bytes.readUInt16LE(at + 10);
      if (seen > 2_200) damaged = page;
    }
    // The first element's value: an unknown protobuf wire type (7) as its first tag.
    const element = damaged * 4096 + 16;
    bytes[element + bytes.readUInt32LE(element + 4) + bytes.readUInt32LE(element + 8)] = 0x07;
    await writeFile(file, bytes);

    const progress: number[] = [];
    const err = await restoreEtcdSnapshot(store, {
      path: file,
      branch: 'midway',
      onProgress: (p) => void progress.push(p.events),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(SnapshotFormatError);
    expect(err.message).toMatch('bad mvccpb.KeyValue: unknown protobuf wire type 7');
    expect(progress.length).toBeGreaterThan(0);
    expect((await store.branches.list()).map((b) => b.name)).not.toContain('midway');
    const { rows } = await store.pool.query(
      `SELECT count(*)::int AS n FROM events WHERE request->>'requestId' LIKE 'midway.db@%'`,
    );
    expect(rows[0].n).toBe(0);
  });

  describe('restoring a real etcd snapshot', () => {
    let source: RunningEtcd;
    let file: string;
    const unknownValue = Buffer.from([0x0a, 0x0b, 0xff, 0x00, 0x42]);

    beforeAll(async () => {
      const member = await newMember('source');
      source = await startEtcd(join(dir, 'source-data'), member, join(dir, 'source.log'));
      running.push(source);
      const put = (key: string, value: Buffer | string) =>
        etcdctl(['put', key, '--', value.toString('latin1')], source.endpoint);
      // etcdctl takes values as arguments; binary values go through a file and `put` reading stdin is
      // not available in 3.4, so those use the etcd gRPC API through the etcd3 client.
      const { Etcd3 } = await import('etcd3');
      const client = new Etcd3({ hosts: source.endpoint });
      try {
        await put(
          '/registry/namespaces/default',
          JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', uid: 'n1' } }),
        );
        await put(
          '/registry/configmaps/default/old',
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'old', namespace: 'default', uid: 'c0' },
            data: { v: '0' },
          }),
        );
        await client.delete().key('/registry/configmaps/default/old');
        await put(
          '/registry/configmaps/default/cm',
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'cm', namespace: 'default', uid: 'c1' },
            data: { v: '1' },
          }),
        );
        const compactAt = Number(
          JSON.parse(await etcdctl(['get', 'x', '-w', 'json'], source.endpoint)).header.revision,
        );
        await etcdctl(['compaction', String(compactAt)], source.endpoint);
        await put(
          '/registry/configmaps/default/cm',
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'cm', namespace: 'default', uid: 'c1' },
            data: { v: '2' },
          }),
        );
        // Built-ins as a real kube-apiserver stores them: the k8s\0 protobuf envelope.
        await client.put('/registry/pods/default/web').value(
          encodeKubernetesProtobuf({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'web', namespace: 'default', uid: 'p1' },
            spec: { containers: [{ name: 'c', image: 'nginx' }] },
          }),
        );
        // A Secret sealed with the key this store is configured with (AAD = the etcd key).
        const secretKey = '/registry/secrets/default/s';
        const plain = Buffer.from(
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 's', namespace: 'default', uid: 's1' },
            data: { k: 'dg==' },
          }),
        );
        await client.put(secretKey).value(store.bodies.seal('secrets', plain, secretKey));
        await client.put('/registry/widgets.example.com/widgets/default/w').value(
          JSON.stringify({
            apiVersion: 'example.com/v1',
            kind: 'Widget',
            metadata: { name: 'w', namespace: 'default', uid: 'w1' },
          }),
        );
        await client
          .put('/registry/secrets/default/foreign')
          .value(Buffer.from('k8s:enc:aescbc:v1:otherkey:\x01\x02\x03'));
        await client.put('/registry/things/default/odd').value(unknownValue);
        await client.put('compact_rev_key').value('5');
      } finally {
        client.close();
      }
      file = join(dir, 'real.db');
      await etcdctl(['snapshot', 'save', file], source.endpoint);
    });

    it('refuses a snapshot with values it cannot restore, names them, and writes nothing', async () => {
      const err = await restoreEtcdSnapshot(store, { path: file, branch: 'refused' }).catch((e) => e);
      expect(err).toBeInstanceOf(RestoreRefused);
      expect((err as RestoreRefused).unimported.map((u) => u.key).sort()).toEqual([
        '/registry/secrets/default/foreign',
        '/registry/things/default/odd',
        'compact_rev_key',
      ]);
      expect(err.message).toContain('encrypted (k8s:enc:aescbc:v1:otherkey)');
      expect((await store.branches.list()).map((b) => b.name)).not.toContain('refused');
    });

    it('restores what etcdctl get --prefix /registry shows, history included, keeping what it cannot decode as bytes', async () => {
      const result = await restoreEtcdSnapshot(store, {
        path: file,
        branch: 'from-etcd',
        allowUnimported: true,
      });
      expect(result.unimported.count).toBe(3);
      const expected = (await getPrefix(source.endpoint, '/registry')).kvs;
      const { items } = await store.list('from-etcd', '/registry/');
      expect(items.map((o) => o.key)).toEqual(expected.map((kv) => kv.key));
      const opaque = ['/registry/secrets/default/foreign', '/registry/things/default/odd'];
      for (const [i, kv] of expected.entries()) {
        const { resourceVersion: _rv, ...metadata } = items[i].object.metadata;
        const object: KubeObject = { ...items[i].object, metadata };
        if (opaque.includes(kv.key)) {
          // Kept byte for byte (a sealed value still sealed under its own key), and marked unreadable.
          expect(items[i].opaque?.reason).toBeTruthy();
          const { rows } = await store.pool.query(
            `SELECT coalesce(raw, sealed) AS bytes FROM events WHERE key = $1 AND branch_id = (SELECT id FROM branches WHERE name = 'from-etcd') ORDER BY revision DESC LIMIT 1`,
            [kv.key],
          );
          expect(Buffer.compare(rows[0].bytes, kv.value)).toBe(0);
        } else if (kv.key === '/registry/pods/default/web')
          expect(object.spec.containers[0].image).toBe('nginx');
        else if (kv.key === '/registry/secrets/default/s') expect(object.data).toEqual({ k: 'dg==' });
        else expect(object).toEqual(JSON.parse(kv.value.toString()));
      }
      // The file's history above its compaction point became events, each recorded as the restore.
      const events = await store.events('from-etcd', 1, result.revision, 100);
      expect(events.every((e) => e.actor === RESTORE_ACTOR)).toBe(true);
      expect(
        events.filter((e) => e.key === '/registry/configmaps/default/cm').map((e) => e.object.data.v),
      ).toEqual(['1', '2']);
      // Secrets are sealed again under this store's key before they reach the log.
      const { rows } = await store.pool.query(
        `SELECT sealed FROM events WHERE key = '/registry/secrets/default/s' AND branch_id = (SELECT id FROM branches WHERE name = 'from-etcd')`,
      );
      expect(rows[0].sealed.subarray(0, 18).toString()).toBe('k8s:enc:aesgcm:v1:');
    });

    it('bumps revisions past anything a watcher saw and marks them compacted, so stale watches get 410', async () => {
      const mainHead = (await store.branch()).revision;
      const result = await restoreEtcdSnapshot(store, {
        path: file,
        branch: 'bumped',
        allowUnimported: true,
        bumpRevision: 1000,
        markCompacted: true,
      });
      expect(result.bumpedTo).toBeGreaterThanOrEqual(mainHead + 1000);
      expect(result.revision).toBeGreaterThan(result.bumpedTo!);
      const stale = await firstValueFrom(store.watch('bumped', mainHead)).catch((e) => e);
      expect(stale).toBeInstanceOf(RevisionCompacted);
      const { items } = await store.list('bumped', '/registry/');
      expect(items.every((o) => o.revision > result.bumpedTo!)).toBe(true);
    });
  });

  it('restores values with tabs, newlines, backslashes, unicode and binary bytes exactly, and saves them back byte for byte', async () => {
    const member = await newMember('special');
    const source = await startEtcd(join(dir, 'special-data'), member, join(dir, 'special.log'));
    running.push(source);
    // Every character the COPY text format escapes or gives a meaning to, in keys, bodies and bytes.
    const texts = [
      'tab\there',
      'line\nbreak',
      'cr\r\n',
      'back\\slash\\',
      '\\N',
      '\\.',
      'ünï 中文 😀 \u2028',
      '\u0001"q"',
    ];
    const names = ['plain', 'tab\tname', 'back\\slash', '\\N', 'ünï-😀'];
    // The value kube-apiserver stores is JSON.stringify of the object as jsonb hands it back: ask it.
    const stored = async (object: object) =>
      JSON.stringify((await pool.query('SELECT $1::jsonb AS o', [JSON.stringify(object)])).rows[0].o);
    const binaries = [
      Buffer.from([0x00, 0x09, 0x0a, 0x0d, 0x5c, 0x4e, 0x5c, 0x2e, 0xff, 0xfe]),
      Buffer.from('\\N', 'latin1'),
      Buffer.from('k8s:enc:aescbc:v1:otherkey:\t\n\\\r\x00', 'latin1'),
    ];
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: source.endpoint });
    try {
      for (const [i, name] of names.entries()) {
        const object = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace: 'default', uid: `u${i}`, labels: { l: texts[i] } },
          data: Object.fromEntries(texts.map((t, j) => [`k${j}${t}`, t])),
        };
        await client.put(`/registry/configmaps/default/${name}`).value(await stored(object));
      }
      for (const [i, bytes] of binaries.entries())
        await client.put(`/registry/things/default/bin${i}\t${i}`).value(bytes);
    } finally {
      client.close();
    }
    // The file's name ends up in every event's request metadata (jsonb).
    const file = join(dir, 'special\t\\N 😀.db');
    await etcdctl(['snapshot', 'save', file], source.endpoint);

    const result = await restoreEtcdSnapshot(store, { path: file, branch: 'special', allowUnimported: true });
    expect(result.unimported.count).toBe(binaries.length);
    const { rows } = await store.pool.query<{ key: string; request: { requestId: string } }>(
      `SELECT key, request FROM events WHERE branch_id = (SELECT id FROM branches WHERE name = 'special')`,
    );
    expect(rows).toHaveLength(names.length + binaries.length);
    for (const row of rows) expect(row.request.requestId).toMatch(/^special\t\\N 😀\.db@\d+$/);
    for (const name of names) {
      const object = await store.get('special', `/registry/configmaps/default/${name}`);
      expect(object?.object.data).toEqual(Object.fromEntries(texts.map((t, j) => [`k${j}${t}`, t])));
    }

    const saved = join(dir, 'special-saved.db');
    await saveEtcdSnapshot(store, { path: saved, branch: 'special' });
    const copy = await restoreAndStart(saved, 'special-copy');
    const original = (await getPrefix(source.endpoint, '/registry')).kvs;
    const roundTripped = (await getPrefix(copy.endpoint, '/registry')).kvs;
    expect(roundTripped.map((kv) => kv.key)).toEqual(original.map((kv) => kv.key));
    for (const [i, kv] of original.entries()) expect(roundTripped[i].value.equals(kv.value)).toBe(true);
  });

  it('refuses truncated, corrupted and non-etcd files with a precise message and writes nothing', async () => {
    const good = join(dir, 'state.db');
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(good);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated.db', bytes.subarray(0, 4096 * 2 + 100), /./],
      [
        'flipped.db',
        Buffer.concat([bytes.subarray(0, 5000), Buffer.from([bytes[5000] ^ 0xff]), bytes.subarray(5001)]),
        /sha256/,
      ],
      ['text.db', Buffer.from('not a snapshot at all\n'.repeat(500)), /./],
    ];
    for (const [name, content, message] of cases) {
      const path = join(dir, name);
      await writeFile(path, content);
      const err = await restoreEtcdSnapshot(store, { path, branch: `bad-${name.replace('.db', '')}` }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(SnapshotFormatError);
      expect(err.message).toMatch(message);
    }
    const names = (await store.branches.list()).map((b) => b.name);
    expect(names.filter((n) => n.startsWith('bad-'))).toEqual([]);
  });
});
