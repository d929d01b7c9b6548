import { firstValueFrom, filter, take, toArray } from 'rxjs';
import {
  createPool,
  EventStore,
  IMPORT_BATCH,
  ImportChange,
  migrate,
  PreconditionFailed,
  StoredEvent,
  WriteIntent,
} from '@kubetime/event-store';
import { createTestDatabase, TestDatabase } from './support/database';

function configMap(name: string, value: string, ns = 'default'): WriteIntent {
  return {
    key: `/registry/configmaps/${ns}/${name}`,
    type: 'ADDED',
    group: '',
    version: 'v1',
    resource: 'configmaps',
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, uid: `uid-${name}` },
      data: { value },
    },
    expectedRevision: 0,
    actor: 'test',
  };
}

/**
 * Runs `race` while a fork sits uncommitted in another transaction; `race` must not settle before
 * the fork commits, because it has to see the fork to be right.
 */
async function withForkInProgress<T>(
  store: EventStore,
  fork: { name: string; from: string; revision: number },
  race: () => Promise<T>,
  holdMs = 300,
): Promise<PromiseSettledResult<T>> {
  const client = await store.pool.connect();
  try {
    await client.query('BEGIN');
    await store.branches.fork(fork.name, fork.from, fork.revision, 'wall', client);
    let settled = false;
    const racing = race().finally(() => (settled = true));
    const outcome = Promise.allSettled([racing]).then(([result]) => result);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    expect(settled).toBe(holdMs > 2_000);
    await client.query('COMMIT');
    return await outcome;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

describe('event store (real PostgreSQL)', () => {
  let db: TestDatabase;
  let store: EventStore;
  const pools: ReturnType<typeof createPool>[] = [];

  async function openStore(checkpointInterval = 5000): Promise<EventStore> {
    const pool = createPool(db.url, { max: 4 });
    pools.push(pool);
    return EventStore.open({ pool, url: db.url, checkpointInterval });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    store = await openStore(50);
  });

  afterAll(async () => {
    await store.close();
    for (const p of pools) await p.end();
    await db.drop();
  });

  it('fails only the write PostgreSQL refuses, not the others that shared its statement', async () => {
    const before = (await store.branch()).revision;
    const outcomes = await Promise.allSettled(
      ['nul-a', 'nul-b', 'nul-bad', 'nul-c', 'nul-d'].map((name) =>
        // jsonb cannot hold U+0000 anywhere: a body keeps it as bytes, an actor's column cannot.
        store.append('main', {
          ...configMap(name, 'fine'),
          ...(name === 'nul-bad' && { actor: 'a\u0000b' }),
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const revisions = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.revision] : []));
    expect([...revisions].sort((a, b) => a - b)).toEqual([before + 1, before + 2, before + 3, before + 4]);
    const { rows } = await store.pool.query(
      `SELECT name FROM events WHERE branch_id = 1 AND revision > $1 ORDER BY revision`,
      [before],
    );
    expect(rows.map((r) => r.name).sort()).toEqual(['nul-a', 'nul-b', 'nul-c', 'nul-d']);
    // The store goes on batching afterwards.
    expect((await store.append('main', configMap('nul-after', 'x'))).revision).toBe(before + 5);
  });

  it('gives concurrent writers gapless revisions that every watcher sees in table order', async () => {
    const startHead = (await store.branch()).revision;
    const writers = 16;
    const writesEach = 60;
    const total = writers * writesEach;
    const watchers = [0, 0, 0, 0].map(() =>
      firstValueFrom(store.watch('main', startHead).pipe(take(total), toArray())),
    );
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < writesEach; i++) {
          const created = await store.append('main', configMap(`w${w}-${i}`, 'v'));
          // Half of the writes modify what they just made, so batches mix creates and updates of one key.
          if (i % 2 === 0) {
            await store.append('main', {
              ...configMap(`w${w}-${i}`, 'v2'),
              type: 'DELETED',
              expectedRevision: created.revision,
            });
            await store.append('main', configMap(`w${w}-${i}`, 'v3'));
          }
        }
      }),
    );
    const { rows } = await store.pool.query<{ revision: string }>(
      'SELECT revision FROM events WHERE branch_id = 1 AND revision > $1 ORDER BY revision',
      [startHead],
    );
    const tableOrder = rows.map((r) => Number(r.revision));
    expect(tableOrder.length).toBe(total * 2);
    tableOrder.forEach((rev, i) => expect(rev).toBe(startHead + i + 1));
    for (const seen of await Promise.all(watchers)) {
      expect(seen.map((e) => e.revision)).toEqual(tableOrder.slice(0, total));
    }
    // A watcher started late from the same revision replays the same sequence from the database.
    const replay = await firstValueFrom(store.watch('main', startHead).pipe(take(total * 2), toArray()));
    expect(replay.map((e) => e.revision)).toEqual(tableOrder);
  });

  it('refuses stale writes as an etcd compare would', async () => {
    const first = await store.append('main', configMap('occ', 'a'));
    await store.append('main', {
      ...configMap('occ', 'b'),
      type: 'MODIFIED',
      expectedRevision: first.revision,
    });
    await expect(
      store.append('main', { ...configMap('occ', 'c'), type: 'MODIFIED', expectedRevision: first.revision }),
    ).rejects.toBeInstanceOf(PreconditionFailed);
    await expect(store.append('main', configMap('occ', 'dup'))).rejects.toBeInstanceOf(PreconditionFailed);
  });

  it('writes checkpoints less often as the live set grows, so their references stay bounded per event', async () => {
    // A database of its own: the live set starts empty, so the intervals below are known.
    const own = await createTestDatabase();
    const pool = createPool(own.url, { max: 4 });
    const eager = await (async () => {
      await migrate(own.url);
      return EventStore.open({ pool, url: own.url, checkpointInterval: 1 });
    })();
    try {
      const appended = 400;
      for (let i = 0; i < appended; i++) await eager.append('main', configMap(`grow-${i}`, 'x', 'grow'));
      const head = await eager.branch();
      const written = async () =>
        (
          await pool.query<{ n: number; refs: number; newest: string }>(
            `SELECT count(*)::int AS n, coalesce(sum(cardinality(ref_revisions)), 0)::int AS refs,
                    max(revision) AS newest FROM checkpoints`,
          )
        ).rows[0];
      // Checkpoints are written after their batch commits, without holding it up.
      let found = await written();
      for (let i = 0; i < 50 && Number(found.newest) < head.lastCheckpoint; i++) {
        await new Promise((r) => setTimeout(r, 20));
        found = await written();
      }
      // The configured interval of 1 holds while the live set is small, then the interval grows.
      expect(found.n).toBeGreaterThan(4);
      expect(found.n).toBeLessThan(appended / 10);
      expect(found.refs).toBeLessThanOrEqual(4 * appended);
      const past = await eager.list('main', '/registry/configmaps/grow/', head.revision - 1);
      expect(past.items).toHaveLength(appended - 1);
    } finally {
      await eager.close();
      await pool.end();
      await own.drop();
    }
  });

  it('reads any past revision, through checkpoints, as it was', async () => {
    const before = (await store.branch()).revision;
    const a = await store.append('main', configMap('pit', 'one', 'pit'));
    const b = await store.append('main', {
      ...configMap('pit', 'two', 'pit'),
      type: 'MODIFIED',
      expectedRevision: a.revision,
    });
    for (let i = 0; i < 120; i++) await store.append('main', configMap(`filler-${i}`, 'x', 'pit'));
    await store.append('main', {
      ...configMap('pit', 'gone', 'pit'),
      type: 'DELETED',
      expectedRevision: b.revision,
    });
    const { rows } = await store.pool.query('SELECT count(*)::int AS n FROM checkpoints');
    expect(rows[0].n).toBeGreaterThan(0);

    expect((await store.get('main', '/registry/configmaps/pit/pit', a.revision))?.object.data).toEqual({
      value: 'one',
    });
    expect((await store.get('main', '/registry/configmaps/pit/pit', b.revision))?.object.data).toEqual({
      value: 'two',
    });
    expect(await store.get('main', '/registry/configmaps/pit/pit')).toBeUndefined();
    expect(await store.get('main', '/registry/configmaps/pit/pit', before)).toBeUndefined();
    const atB = await store.list('main', '/registry/configmaps/pit/', b.revision + 10);
    expect(atB.items.map((o) => o.object.metadata.name)).toEqual(
      [
        'filler-0',
        'filler-1',
        'filler-2',
        'filler-3',
        'filler-4',
        'filler-5',
        'filler-6',
        'filler-7',
        'filler-8',
        'filler-9',
        'pit',
      ].sort(),
    );
    const atHead = await store.list('main', '/registry/configmaps/pit/');
    const rebuilt = await store.history.stateAt(
      (await store.branch()).lineage,
      atHead.revision,
      '/registry/configmaps/pit/',
    );
    expect(rebuilt.map((e) => e.object)).toEqual(atHead.items.map((o) => o.object));
  });

  it('keeps events append-only in the database itself', async () => {
    await expect(store.pool.query(`UPDATE events SET actor = 'x'`)).rejects.toThrow(/append-only/);
    await expect(store.pool.query(`DELETE FROM events`)).rejects.toThrow(/append-only/);
    await expect(store.pool.query(`TRUNCATE events CASCADE`)).rejects.toThrow(/append-only/);
  });

  it('stores text exactly, keeping NULL apart from the empty string, for every event of a batch', async () => {
    const odd = `é 日本 🚀 "quoted" back\\slash {a,b} NULL 'single' \t tab`;
    const writes: WriteIntent[] = [0, 1, 2, 3].map((i) => ({
      key: `/registry/widgets.ex.io/${odd}-${i}`,
      type: 'ADDED',
      group: i % 2 ? 'ex.io' : '',
      version: 'v1',
      resource: 'widgets',
      object: {
        apiVersion: i % 2 ? 'ex.io/v1' : 'v1',
        kind: 'Widget',
        // A cluster-scoped object has no namespace (NULL); an empty one must stay ''.
        metadata: { name: `${odd}-${i}`, uid: `uid-${i}`, ...(i === 2 ? { namespace: '' } : {}) },
        data: { odd },
      },
      expectedRevision: 0,
      actor: i === 3 ? '' : `${odd} actor`,
      request: i === 1 ? undefined : { userAgent: odd, requestId: `${i}` },
      recordedAt: new Date(Date.UTC(2026, 11, 4, 12, 0, 0, 123 + i)),
    }));
    // Appended together, so they share one INSERT.
    const events = await Promise.all(writes.map((w) => store.append('main', w)));
    expect(new Set(events.map((e) => e.revision)).size).toBe(writes.length);
    const { rows } = await store.pool.query(
      `SELECT revision, key, api_group, namespace, name, actor, cause, request, recorded_at, object
         FROM events WHERE branch_id = 1 AND revision = ANY($1::bigint[]) ORDER BY revision`,
      [events.map((e) => e.revision)],
    );
    const byRevision = events.map((e, i) => ({ e, i })).sort((a, b) => a.e.revision - b.e.revision);
    expect(rows).toEqual(
      byRevision.map(({ e, i }) => ({
        revision: String(e.revision),
        key: writes[i].key,
        api_group: writes[i].group,
        namespace: i === 2 ? '' : null,
        name: `${odd}-${i}`,
        actor: writes[i].actor,
        cause: null,
        request: writes[i].request ?? null,
        recorded_at: writes[i].recordedAt,
        object: writes[i].object,
      })),
    );
  });

  it('lets two processes on one database write gaplessly and see each other promptly', async () => {
    const other = await openStore();
    const seenByOther = firstValueFrom(
      other.watch('main', (await other.branch()).revision).pipe(
        filter((e: StoredEvent) => e.key.endsWith('/from-first')),
        take(1),
      ),
    );
    // Rounds of writes from both at once: each finds the head moved by the other, either when it
    // moves the head or when the other has inserted the same revisions first, and writes again.
    for (let round = 0; round < 4; round++) {
      await Promise.all([
        ...Array.from({ length: 60 }, (_, i) =>
          store.append('main', configMap(`p1-${round}-${i}`, 'x', 'multi')),
        ),
        ...Array.from({ length: 60 }, (_, i) =>
          other.append('main', configMap(`p2-${round}-${i}`, 'x', 'multi')),
        ),
      ]);
    }
    await store.append('main', configMap('from-first', 'x', 'multi'));
    expect((await seenByOther).key).toBe('/registry/configmaps/multi/from-first');
    const { rows } = await store.pool.query<{ n: number; lo: string; hi: string }>(
      `SELECT count(*)::int AS n, min(revision) AS lo, max(revision) AS hi FROM events WHERE branch_id = 1`,
    );
    expect(Number(rows[0].hi) - Number(rows[0].lo) + 1).toBe(rows[0].n);
    await other.close();
  });

  it('listens again after its LISTEN connection is cut, and catches up on what it missed', async () => {
    const other = await openStore();
    await other.branch();
    const { rowCount } = await store.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
    );
    expect(rowCount).toBeGreaterThanOrEqual(2);
    // Written while no LISTEN connection is open: no notification will ever say so.
    const missed = await store.append('main', configMap('while-deaf', 'x', 'multi'));
    let seen = (await other.branch()).revision;
    for (let i = 0; i < 100 && seen < missed.revision; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = (await other.branch()).revision;
    }
    expect(seen).toBeGreaterThanOrEqual(missed.revision);
    // Listening again: the next commit arrives by notification.
    const next = firstValueFrom(
      other.watch('main', seen).pipe(
        filter((e: StoredEvent) => e.key.endsWith('/after-reconnect')),
        take(1),
      ),
    );
    await store.append('main', configMap('after-reconnect', 'x', 'multi'));
    expect((await next).key).toBe('/registry/configmaps/multi/after-reconnect');
    await other.close();
  });
});

describe('compaction (real PostgreSQL)', () => {
  let db: TestDatabase;
  let store: EventStore;
  let pool: ReturnType<typeof createPool>;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    pool = createPool(db.url, { max: 4 });
    store = await EventStore.open({ pool, url: db.url, checkpointInterval: 10 });
  });
  afterAll(async () => {
    await store.close();
    await pool.end();
    await db.drop();
  });

  it('keeps the state at the compaction point, forgets what is below it, and records itself', async () => {
    const a = await store.append('main', configMap('kept', 'v1'));
    const b = await store.append('main', {
      ...configMap('kept', 'v2'),
      type: 'MODIFIED',
      expectedRevision: a.revision,
    });
    const gone = await store.append('main', configMap('gone', 'x'));
    await store.append('main', {
      ...configMap('gone', 'x'),
      type: 'DELETED',
      expectedRevision: gone.revision,
    });
    for (let i = 0; i < 25; i++) await store.append('main', configMap(`filler-${i}`, 'x'));
    const point = (await store.branch()).revision;
    const after = await store.append('main', {
      ...configMap('kept', 'v3'),
      type: 'MODIFIED',
      expectedRevision: b.revision,
    });

    const { deletedEvents } = await store.compact('main', point, 'test', { keep: 'latest' });
    expect(deletedEvents).toBe(3);
    expect((await store.get('main', '/registry/configmaps/default/kept', point))?.object.data).toEqual({
      value: 'v2',
    });
    expect((await store.get('main', '/registry/configmaps/default/kept'))?.object.data).toEqual({
      value: 'v3',
    });
    await expect(store.get('main', '/registry/configmaps/default/kept', a.revision)).rejects.toMatchObject({
      name: 'RevisionCompacted',
    });
    const atPoint = await store.list('main', '/registry/configmaps/default/', point);
    expect(atPoint.items.map((o) => o.object.metadata.name)).not.toContain('gone');
    expect(atPoint.items).toHaveLength(26);
    const replay = await firstValueFrom(store.watch('main', point).pipe(take(1), toArray()));
    expect(replay[0].revision).toBe(after.revision);
    await expect(firstValueFrom(store.watch('main', a.revision))).rejects.toMatchObject({
      name: 'RevisionCompacted',
    });
    const { rows } = await store.pool.query('SELECT revision, actor, deleted_events FROM compactions');
    expect(rows).toEqual([{ revision: String(point), actor: 'test', deleted_events: '3' }]);
  });

  it('refuses reads below the point on branches forked above it, which read the compacted history', async () => {
    const first = await store.append('main', configMap('lineage', 'v1'));
    const second = await store.append('main', {
      ...configMap('lineage', 'v2'),
      type: 'MODIFIED',
      expectedRevision: first.revision,
    });
    const point = second.revision;
    const fork = (await store.append('main', configMap('lineage-filler', 'x'))).revision;
    await store.branches.fork('child', 'main', fork, 'wall');
    await store.append('child', configMap('child-own', 'x'));
    const childHead = (await store.branch('child')).revision;
    await store.branches.fork('grandchild', 'child', childHead, 'wall');
    await store.branch('grandchild');
    const key = '/registry/configmaps/default/lineage';
    expect((await store.get('child', key, first.revision))?.object.data).toEqual({ value: 'v1' });

    await store.compact('main', point, 'test');
    for (const branch of ['child', 'grandchild']) {
      await expect(store.get(branch, key, first.revision)).rejects.toMatchObject({
        name: 'RevisionCompacted',
      });
      expect((await store.get(branch, key, point))?.object.data).toEqual({ value: 'v2' });
      expect((await store.branches.get(branch)).compactRevision).toBe(point);
    }
  });

  it('waits for a fork being created and then refuses to delete the history it reads', async () => {
    for (const earlier of ['grandchild', 'child']) await store.deleteBranch(earlier);
    for (let i = 0; i < 3; i++) await store.append('main', configMap(`race-${i}`, 'x'));
    const fork = (await store.branch()).revision;
    await store.append('main', configMap('race-after', 'x'));
    const compaction = await withForkInProgress(store, { name: 'racer', from: 'main', revision: fork }, () =>
      store.compact('main', fork + 1, 'test'),
    );
    expect(compaction).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringContaining(`branch "racer" was forked at revision ${fork}`) },
    });
    expect((await store.list('racer', '/registry/configmaps/default/race-', fork)).items).toHaveLength(3);
    await store.deleteBranch('racer');
  });

  it('holds a compaction further up while a grandchild is being forked: the grandchild gets the raised bounds', async () => {
    const base = (await store.append('main', configMap('upper-race', 'x'))).revision;
    await store.append('main', configMap('upper-race-2', 'x'));
    const fork = (await store.branch()).revision;
    await store.branches.fork('upper-kid', 'main', fork, 'wall');
    await store.append('upper-kid', configMap('upper-kid-own', 'x'));
    const kidHead = (await store.branch('upper-kid')).revision;
    const compaction = await withForkInProgress(
      store,
      { name: 'upper-grandkid', from: 'upper-kid', revision: kidHead },
      () => store.compact('main', base + 1, 'test'),
    );
    expect(compaction.status).toBe('fulfilled');
    expect((await store.branches.get('upper-grandkid')).compactRevision).toBe(base + 1);
    await expect(
      store.get('upper-grandkid', '/registry/configmaps/default/upper-race', base),
    ).rejects.toMatchObject({ name: 'RevisionCompacted' });
    for (const name of ['upper-grandkid', 'upper-kid']) await store.deleteBranch(name);
  });

  it('gives up a compaction after a bounded wait for a long fork or restore, and forks queue no longer', async () => {
    await store.append('main', configMap('long-fork', 'x'));
    const fork = (await store.branch()).revision;
    const compaction = await withForkInProgress(
      store,
      { name: 'long-fork', from: 'main', revision: fork },
      async () => {
        const attempt = Promise.allSettled([store.compact('main', fork, 'test')]);
        // A fork started while the compaction queues is not held up behind it for good.
        await new Promise((resolve) => setTimeout(resolve, 200));
        await store.branches.fork('during-wait', 'main', fork, 'wall');
        const [outcome] = await attempt;
        if (outcome.status === 'rejected') throw outcome.reason;
        return outcome.value;
      },
      2_500,
    );
    expect(compaction).toMatchObject({ status: 'rejected', reason: { name: 'BranchHistoryBusy' } });
    expect((await store.branch()).compactRevision).toBeLessThan(fork);
    for (const name of ['long-fork', 'during-wait']) await store.deleteBranch(name);
  });
});

describe('bulk import into a new branch (real PostgreSQL)', () => {
  let db: TestDatabase;
  let store: EventStore;
  const pools: ReturnType<typeof createPool>[] = [];

  async function openStore(): Promise<EventStore> {
    const pool = createPool(db.url, { max: 4 });
    pools.push(pool);
    return EventStore.open({ pool, url: db.url });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    store = await openStore();
  });
  afterAll(async () => {
    await store.close();
    for (const p of pools) await p.end();
    await db.drop();
  });

  function put(name: string, value: string): ImportChange {
    const { key, object, group, version, resource } = configMap(name, value, 'bulk');
    return {
      type: 'put',
      key,
      object,
      group,
      version,
      resource,
      actor: 'importer',
      request: { requestId: name },
    };
  }
  function del(name: string): ImportChange {
    return { type: 'delete', key: `/registry/configmaps/bulk/${name}`, actor: 'importer' };
  }

  async function* stream(changes: ImportChange[], failAfter?: number): AsyncGenerator<ImportChange> {
    for (const [i, change] of changes.entries()) {
      if (i === failAfter) throw new Error('the source broke');
      yield change;
    }
  }

  async function eventCount(): Promise<number> {
    const { rows } = await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    return rows[0].n;
  }

  it('numbers a stream gaplessly across batches, with each key versioned as single writes would', async () => {
    // Over two batches: every key is put early, changed again in a later batch, some deleted in a
    // later batch and re-created, and one delete names a key that never existed (nothing to write).
    const n = Math.floor(IMPORT_BATCH * 1.5);
    const changes: ImportChange[] = [];
    for (let i = 0; i < n; i++) changes.push(put(`k${i}`, 'v1'));
    for (let i = 0; i < n; i += 3) changes.push(put(`k${i}`, 'v2'));
    for (let i = 0; i < n; i += 5) changes.push(del(`k${i}`));
    changes.push(del('never-existed'));
    for (let i = 0; i < n; i += 10) changes.push(put(`k${i}`, 'v3'));
    const progress: number[] = [];
    const other = await openStore();
    const result = await store.importBranch(
      { name: 'bulk', onProgress: (events) => void progress.push(events) },
      stream(changes),
    );

    // What single appends would have written, key by key.
    const expected = new Map<string, { revision: number; create: number; version: number; type: string }[]>();
    let revision = 1;
    for (const change of changes) {
      const history = expected.get(change.key) ?? [];
      const last = history[history.length - 1];
      const live = last && last.type !== 'DELETED' ? last : undefined;
      if (change.type === 'delete' && !live) continue;
      revision += 1;
      const type = change.type === 'delete' ? 'DELETED' : live ? 'MODIFIED' : 'ADDED';
      history.push({
        revision,
        create: live ? live.create : revision,
        version: live ? live.version + 1 : 1,
        type,
      });
      expected.set(change.key, history);
    }
    expect(result).toEqual({
      branch: 'bulk',
      revision,
      events: revision - 1,
      keys: [...expected.values()].filter((h) => h[h.length - 1].type !== 'DELETED').length,
    });
    expect(progress).toHaveLength(Math.ceil(changes.length / IMPORT_BATCH));
    expect(progress[progress.length - 1]).toBe(result.events);

    const branchId = (await store.branches.get('bulk')).id;
    const { rows } = await store.pool.query<{
      revision: string;
      key: string;
      type: string;
      prev_revision: string;
      create_revision: string;
      version: number;
      actor: string;
      request: { requestId?: string } | null;
      object: { data?: { value: string } } | null;
    }>(
      `SELECT revision, key, type, prev_revision, create_revision, version, actor, request, object
         FROM events WHERE branch_id = $1 ORDER BY revision`,
      [branchId],
    );
    expect(rows.map((r) => Number(r.revision))).toEqual(
      Array.from({ length: revision - 1 }, (_, i) => i + 2),
    );
    for (const row of rows) {
      const history = expected.get(row.key)!;
      const at = history.findIndex((h) => h.revision === Number(row.revision));
      expect(at).toBeGreaterThanOrEqual(0);
      const previous = at > 0 && history[at - 1].type !== 'DELETED' ? history[at - 1].revision : 0;
      expect({
        type: row.type,
        prev: Number(row.prev_revision),
        create: Number(row.create_revision),
        version: row.version,
        actor: row.actor,
      }).toEqual({
        type: history[at].type,
        prev: previous,
        create: history[at].create,
        version: history[at].version,
        actor: 'importer',
      });
      // A delete carries the key's last state, as a single delete does.
      if (row.type === 'DELETED') expect(row.object?.data?.value).toMatch(/^v[12]$/);
      else expect(row.request?.requestId).toBe(row.key.split('/').pop());
    }
    expect((await store.branches.get('bulk')).headRevision).toBe(revision);
    // COPY is an INSERT to the append-only trigger: the rows it wrote are as unchangeable as any.
    await expect(
      store.pool.query('UPDATE events SET actor = actor WHERE branch_id = $1', [branchId]),
    ).rejects.toThrow(/append-only/);

    // Not loaded by the import; another process loads it from the database when first asked.
    const k0 = await other.get('bulk', '/registry/configmaps/bulk/k0');
    expect(k0?.object.data).toEqual({ value: 'v3' });
    expect(k0?.keyVersion).toBe(1);
    expect(await other.get('bulk', '/registry/configmaps/bulk/k5')).toBeUndefined();
    const replayed = await firstValueFrom(other.watch('bulk', 1).pipe(take(result.events), toArray()));
    expect(replayed.map((e) => e.revision)).toEqual(rows.map((r) => Number(r.revision)));
    expect((await other.list('bulk', '/registry/configmaps/bulk/')).items).toHaveLength(result.keys);
    await other.close();
  });

  it('leaves appends to other branches gapless and unaffected while it runs', async () => {
    const mainHead = (await store.branch()).revision;
    const changes = Array.from({ length: IMPORT_BATCH * 2 }, (_, i) => put(`c${i}`, 'v'));
    const [imported, appended] = await Promise.all([
      store.importBranch({ name: 'bulk-concurrent' }, stream(changes)),
      Promise.all(Array.from({ length: 200 }, (_, i) => store.append('main', configMap(`during-${i}`, 'x')))),
    ]);
    expect(imported.events).toBe(changes.length);
    expect(appended.map((e) => e.revision).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => mainHead + 1 + i),
    );
    expect((await store.branch()).revision).toBe(mainHead + 200);
    expect((await store.get('bulk-concurrent', changes[0].key))?.revision).toBe(2);
  });

  it('writes nothing when the stream fails mid-import, or the branch exists, or its name is invalid', async () => {
    const before = await eventCount();
    const branchesBefore = (await store.branches.list()).map((b) => b.name);
    const changes = Array.from({ length: IMPORT_BATCH * 2 }, (_, i) => put(`f${i}`, 'v'));
    await expect(
      store.importBranch({ name: 'bulk-failed' }, stream(changes, Math.floor(IMPORT_BATCH * 1.5))),
    ).rejects.toThrow('the source broke');
    // A row PostgreSQL refuses in the middle of a COPY (text cannot hold U+0000), after a batch went in.
    const refused = [...changes];
    refused[Math.floor(IMPORT_BATCH * 1.5)] = put('f\u0000nul', 'v');
    await expect(store.importBranch({ name: 'bulk-refused' }, stream(refused))).rejects.toThrow(/0x00/);
    await expect(store.importBranch({ name: 'bulk' }, stream(changes))).rejects.toMatchObject({
      name: 'BranchExists',
    });
    await expect(store.importBranch({ name: 'Not_Valid' }, stream(changes))).rejects.toMatchObject({
      name: 'InvalidBranchName',
    });
    expect(await eventCount()).toBe(before);
    expect((await store.branches.list()).map((b) => b.name)).toEqual(branchesBefore);
    await expect(store.branch('bulk-failed')).rejects.toMatchObject({ name: 'UnknownBranch' });
    await expect(store.branch('bulk-refused')).rejects.toMatchObject({ name: 'UnknownBranch' });
    // The name was never taken: a later import under it succeeds.
    const retried = await store.importBranch({ name: 'bulk-failed' }, stream(changes.slice(0, 10)));
    expect(retried).toMatchObject({ revision: 11, events: 10, keys: 10 });
  });

  it('starts above a bumped revision and records the compaction there', async () => {
    const result = await store.importBranch(
      {
        name: 'bulk-bumped',
        startRevision: 1000,
        compaction: { actor: 'importer', policy: { why: 'test' } },
      },
      stream([put('b1', 'v'), put('b1', 'v2')]),
    );
    expect(result).toMatchObject({ revision: 1002, events: 2, keys: 1 });
    const info = await store.branches.get('bulk-bumped');
    expect(info).toMatchObject({ headRevision: 1002, compactRevision: 1000 });
    const b1 = await store.get('bulk-bumped', '/registry/configmaps/bulk/b1');
    expect(b1).toMatchObject({ revision: 1002, createRevision: 1001, keyVersion: 2 });
    await expect(store.get('bulk-bumped', b1!.key, 999)).rejects.toMatchObject({ name: 'RevisionCompacted' });
    const { rows } = await store.pool.query(
      'SELECT revision, actor, policy FROM compactions WHERE branch_id = $1',
      [info.id],
    );
    expect(rows).toEqual([{ revision: '1000', actor: 'importer', policy: { why: 'test' } }]);
  });
});

function lease(
  name: string,
  renewTime: string,
  expectedRevision: number,
  ns = 'kube-node-lease',
): WriteIntent {
  return {
    key: `/registry/leases/${ns}/${name}`,
    type: expectedRevision ? 'MODIFIED' : 'ADDED',
    group: 'coordination.k8s.io',
    version: 'v1',
    resource: 'leases',
    object: {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: ns, uid: `uid-${name}` },
      spec: { holderIdentity: name, renewTime },
    },
    expectedRevision,
    actor: 'system:node:test',
  };
}

describe('retention rules: per-resource compaction (real PostgreSQL)', () => {
  const LEASES = '/registry/leases/';
  let db: TestDatabase;
  let store: EventStore;
  let other: EventStore;
  const pools: ReturnType<typeof createPool>[] = [];

  async function open(): Promise<EventStore> {
    const pool = createPool(db.url, { max: 4 });
    pools.push(pool);
    // Checkpoints every few revisions, so the reads below go through checkpoints naming deleted versions.
    return EventStore.open({ pool, url: db.url, checkpointInterval: 4 });
  }

  /** Renews a lease n times; returns the revision of the last renewal. */
  async function renew(name: string, n: number): Promise<number> {
    let revision = (await store.get('main', `${LEASES}kube-node-lease/${name}`))?.revision ?? 0;
    for (let i = 0; i < n; i++)
      revision = (await store.append('main', lease(name, `t${revision}-${i}`, revision))).revision;
    return revision;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    store = await open();
    other = await open();
  });
  afterAll(async () => {
    await store.close();
    await other.close();
    for (const p of pools) await p.end();
    await db.drop();
  });

  it('forgets superseded lease versions only, keeps every read at or above the cutoff exact, and records itself', async () => {
    const cm = await store.append('main', configMap('app', 'v1'));
    await renew('node-a', 6);
    const cm2 = await store.append('main', {
      ...configMap('app', 'v2'),
      type: 'MODIFIED',
      expectedRevision: cm.revision,
    });
    const gone = await renew('node-gone', 2);
    await store.append('main', {
      ...lease('node-gone', 'x', gone),
      type: 'DELETED',
    });
    await renew('node-a', 3);
    const cutoff = (await store.branch()).revision;
    await renew('node-a', 2);
    await renew('node-b', 2);
    const head = (await store.branch()).revision;
    // What every revision from the cutoff on reads, before the compaction.
    const before = new Map<number, unknown>();
    for (let r = cutoff; r <= head; r++) before.set(r, await store.list('main', '/registry/', r));

    const result = await store.compactKeys('main', [LEASES], cutoff, 'tester', { rule: 'leases' });
    // node-a: 9 versions at or below the cutoff, 8 superseded; node-gone: 2 versions and its tombstone.
    expect(result).toEqual({ cutoff, deletedEvents: 11, compacted: [LEASES] });
    for (let r = cutoff; r <= head; r++)
      expect(await store.list('main', '/registry/', r)).toEqual(before.get(r));

    // The ConfigMap's history is whole, below the cutoff too.
    expect((await store.get('main', '/registry/configmaps/default/app', cm.revision))?.object.data).toEqual({
      value: 'v1',
    });
    expect((await store.list('main', '/registry/configmaps/', cm2.revision - 1)).items).toHaveLength(1);
    // Leases below the cutoff are refused by get, list and watch, naming the oldest readable revision.
    const refused = { name: 'RevisionCompacted', compacted: cutoff, keyPrefix: LEASES };
    await expect(store.list('main', `${LEASES}kube-node-lease/`, cutoff - 1)).rejects.toMatchObject(refused);
    await expect(store.get('main', `${LEASES}kube-node-lease/node-a`, cm2.revision)).rejects.toMatchObject(
      refused,
    );
    await expect(firstValueFrom(store.watch('main', cutoff - 1, LEASES))).rejects.toMatchObject(refused);
    const resumed = await firstValueFrom(store.watch('main', cutoff, LEASES).pipe(take(4), toArray()));
    expect(resumed.map((e) => e.revision)).toEqual([cutoff + 1, cutoff + 2, cutoff + 3, cutoff + 4]);
    // A whole-cluster read below the cutoff leaves leases out and says so.
    const wide = await store.list('main', '/registry/', cm2.revision);
    expect(wide.incomplete).toEqual([{ keyPrefix: LEASES, oldestAvailable: cutoff }]);
    expect(wide.items.map((o) => o.key)).toEqual(['/registry/configmaps/default/app']);

    const { rows } = await store.pool.query(
      `SELECT revision, actor, deleted_events, policy FROM compactions ORDER BY id DESC LIMIT 1`,
    );
    expect(rows[0]).toEqual({
      revision: String(cutoff),
      actor: 'tester',
      deleted_events: '11',
      policy: { rule: 'leases', keyPrefixes: [LEASES] },
    });
    // The other process learned the horizon from the notification; a new one loads it.
    for (let i = 0; i < 100 && (await other.branch()).horizons.get(LEASES) !== cutoff; i++)
      await new Promise((r) => setTimeout(r, 20));
    await expect(other.list('main', LEASES, cutoff - 1)).rejects.toMatchObject(refused);
    const third = await open();
    await expect(third.list('main', LEASES, cutoff - 1)).rejects.toMatchObject(refused);
    await third.close();
    // Compacting at or below the horizon again changes and records nothing.
    expect(await store.compactKeys('main', [LEASES], cutoff - 1, 'tester', {})).toMatchObject({
      deletedEvents: 0,
      compacted: [],
    });
  });

  it('caps the cutoff at a child branch fork point, and children inherit the horizon', async () => {
    await renew('node-c', 3);
    const fork = (await store.branch()).revision;
    await store.branches.fork('kid', 'main', fork, 'wall');
    await renew('node-c', 3);
    const head = (await store.branch()).revision;
    const result = await store.compactKeys('main', [LEASES], head, 'tester', {});
    expect(result.cutoff).toBe(fork);
    // The child reads main's history below its fork, so the horizon is its too.
    await expect(store.list('kid', LEASES, fork - 1)).rejects.toMatchObject({ keyPrefix: LEASES });
    expect((await store.get('kid', `${LEASES}kube-node-lease/node-c`, fork))?.revision).toBe(fork);
    // Forking below a horizon would give the child a wrong state of the compacted resource.
    await expect(store.branches.fork('too-old', 'main', fork - 1, 'wall')).rejects.toMatchObject({
      name: 'RevisionCompacted',
      keyPrefix: LEASES,
    });
    await store.deleteBranch('kid');
  });

  it('caps the cutoff at the fork point of a child being created while it starts', async () => {
    await renew('node-race', 3);
    const fork = (await store.branch()).revision;
    await renew('node-race', 3);
    const head = (await store.branch()).revision;
    const compaction = await withForkInProgress(
      store,
      { name: 'late-kid', from: 'main', revision: fork },
      () => store.compactKeys('main', [LEASES], head, 'tester', {}),
    );
    expect(compaction).toMatchObject({ status: 'fulfilled', value: { cutoff: fork } });
    expect((await store.get('late-kid', `${LEASES}kube-node-lease/node-race`, fork))?.revision).toBe(fork);
    await store.deleteBranch('late-kid');
  });

  it('leaves nothing half-done when the compaction fails', async () => {
    await renew('node-d', 4);
    const cutoff = (await store.branch()).revision;
    const count = async (table: string) =>
      Number((await store.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    const counts = [await count('events'), await count('compactions'), await count('key_horizons')];
    const horizon = (await store.branch()).horizons.get(LEASES);
    await store.pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused for the test'; END $$`);
    await store.pool.query(
      `CREATE TRIGGER refuse BEFORE UPDATE ON key_horizons FOR EACH ROW EXECUTE FUNCTION refuse()`,
    );
    try {
      await expect(store.compactKeys('main', [LEASES], cutoff, 'tester', {})).rejects.toThrow(
        'refused for the test',
      );
    } finally {
      await store.pool.query(`DROP TRIGGER refuse ON key_horizons; DROP FUNCTION refuse()`);
    }
    expect([await count('events'), await count('compactions'), await count('key_horizons')]).toEqual(counts);
    expect((await store.branch()).horizons.get(LEASES)).toBe(horizon);
  });

  it('keeps a tombstone on a branch when it hides an object the parent still has', async () => {
    await store.append('main', configMap('shared', 'v1'));
    const fork = (await store.branch()).revision;
    await store.branches.fork('hider', 'main', fork, 'wall');
    const stored = await store.get('hider', '/registry/configmaps/default/shared');
    await store.append('hider', {
      ...configMap('shared', 'v1'),
      type: 'DELETED',
      expectedRevision: stored!.revision,
    });
    await store.append('hider', configMap('other', 'x'));
    const point = (await store.branch('hider')).revision;
    await store.append('hider', configMap('later', 'x'));
    await store.compact('hider', point, 'tester');
    expect(await store.get('hider', '/registry/configmaps/default/shared', point)).toBeUndefined();
  });
});
