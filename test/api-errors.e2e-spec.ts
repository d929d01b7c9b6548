import { Client } from 'pg';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';
import { call } from './support/http';

describe('bad input gets a Kubernetes Status and writes nothing', () => {
  let server: TestServer & { database: TestDatabase };
  let db: Client;
  const cms = '/api/v1/namespaces/default/configmaps';

  beforeAll(async () => {
    server = await startServer();
    db = new Client({ connectionString: server.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    if (server) await stopServer(server);
  });

  const events = async () => (await db.query('SELECT count(*)::int AS n FROM events')).rows[0].n as number;

  function expectStatus(res: { status: number; json(): any }, code: number, reason: string) {
    expect(res.status).toBe(code);
    const status = res.json();
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
    expect(typeof status.message).toBe('string');
  }

  it.each([
    ['malformed JSON', 'application/json', '{"apiVersion": "v1", "kind": ', 400, 'BadRequest'],
    [
      'malformed YAML',
      'application/yaml',
      'apiVersion: v1\nkind: [ConfigMap\n  metadata: {',
      400,
      'BadRequest',
    ],
    ['several YAML documents', 'application/yaml', 'a: 1\n---\nb: 2\n', 400, 'BadRequest'],
    ['a JSON array', 'application/json', '[1,2,3]', 400, 'BadRequest'],
    [
      'kind not matching the URL',
      'application/json',
      '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}',
      400,
      'BadRequest',
    ],
    [
      'apiVersion not matching the URL',
      'application/json',
      '{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}',
      400,
      'BadRequest',
    ],
    ['an unsupported media type', 'text/plain', 'hello', 415, 'UnsupportedMediaType'],
    [
      'garbage protobuf',
      'application/vnd.kubernetes.protobuf',
      'k8s\u0000\u00ff\u00ff\u00ff',
      400,
      'BadRequest',
    ],
    [
      'an invalid object',
      'application/json',
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}',
      422,
      'Invalid',
    ],
  ])('%s', async (_name, contentType, body, code, reason) => {
    const before = await events();
    expectStatus(await call(server, 'POST', cms, { body, contentType }), code, reason);
    expect(await events()).toBe(before);
  });

  it('refuses bodies over 3 MiB with 413', async () => {
    const before = await events();
    const big = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'big' },
      data: { x: 'y'.repeat(3 * 1024 * 1024) },
    });
    expectStatus(
      await call(server, 'POST', cms, { body: big, contentType: 'application/json' }),
      413,
      'RequestEntityTooLarge',
    );
    expect(await events()).toBe(before);
  });

  it('answers unknown resources, missing namespaces and missing objects with 404', async () => {
    expectStatus(await call(server, 'GET', '/api/v1/namespaces/default/foos'), 404, 'NotFound');
    expectStatus(await call(server, 'GET', '/apis/nope.example.com/v1/things'), 404, 'NotFound');
    const res = await call(server, 'POST', '/api/v1/namespaces/missing/configmaps', {
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}',
      contentType: 'application/json',
    });
    expectStatus(res, 404, 'NotFound');
    expect(res.json().message).toBe('namespaces "missing" not found');
    expectStatus(await call(server, 'GET', `${cms}/absent`), 404, 'NotFound');
  });

  /**
   * A namespace left Terminating by a finalizer nobody releases, once the namespace controller has
   * released its own.
   */
  async function terminatingNamespace(name: string): Promise<void> {
    const ns = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, finalizers: ['kubetime.test/hold'] },
    };
    const created = await call(server, 'POST', '/api/v1/namespaces', {
      body: JSON.stringify(ns),
      contentType: 'application/json',
    });
    expect(created.status).toBe(201);
    expect((await call(server, 'DELETE', `/api/v1/namespaces/${name}`)).status).toBe(200);
    for (let i = 0; ; i++) {
      const current = (await call(server, 'GET', `/api/v1/namespaces/${name}`)).json();
      if (!current.spec?.finalizers?.length) return;
      if (i === 100) throw new Error('the namespace controller never released its finalizer');
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  it('finalizes a namespace once, however long another finalizer holds it', async () => {
    await terminatingNamespace('held');
    const before = await events();
    await new Promise((done) => setTimeout(done, 500));
    expect(await events()).toBe(before);
    const ns = (await call(server, 'GET', '/api/v1/namespaces/held')).json();
    expect(ns.status.phase).toBe('Terminating');
    const released = await call(server, 'PATCH', '/api/v1/namespaces/held', {
      body: '{"metadata":{"finalizers":null}}',
      contentType: 'application/merge-patch+json',
    });
    expect(released.status).toBe(200);
    expect((await call(server, 'GET', '/api/v1/namespaces/held')).status).toBe(404);
  });

  it('refuses creates in a terminating namespace, naming the object (or its generateName prefix)', async () => {
    await terminatingNamespace('closing');
    const create = (metadata: Record<string, string>) =>
      call(server, 'POST', '/api/v1/namespaces/closing/configmaps', {
        body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata }),
        contentType: 'application/json',
      });
    const before = await events();
    const named = await create({ name: 'late' });
    expectStatus(named, 403, 'Forbidden');
    expect(named.json().message).toBe(
      'configmaps "late" is forbidden: unable to create new content in namespace closing because it is being terminated',
    );
    expect(named.json().details).toEqual({
      name: 'late',
      kind: 'configmaps',
      causes: [
        {
          reason: 'NamespaceTerminating',
          message: 'namespace closing is being terminated',
          field: 'metadata.namespace',
        },
      ],
    });
    const generated = await create({ generateName: 'late-' });
    expectStatus(generated, 403, 'Forbidden');
    expect(generated.json().message).toBe(
      'configmaps "late-" is forbidden: unable to create new content in namespace closing because it is being terminated',
    );
    expect(await events()).toBe(before);
  });

  it('answers 401 without a valid token, and keeps health endpoints public', async () => {
    expectStatus(await call(server, 'GET', '/api/v1/namespaces', { token: null }), 401, 'Unauthorized');
    expectStatus(await call(server, 'GET', '/api/v1/namespaces', { token: 'wrong' }), 401, 'Unauthorized');
    for (const path of ['/healthz', '/livez', '/readyz', '/version'])
      expect((await call(server, 'GET', path, { token: null })).status).toBe(200);
  });

  it('answers conflicts with 409', async () => {
    const body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"occ"},"data":{"a":"1"}}';
    const created = (await call(server, 'POST', cms, { body, contentType: 'application/json' })).json();
    expectStatus(
      await call(server, 'POST', cms, { body, contentType: 'application/json' }),
      409,
      'AlreadyExists',
    );
    const update = (rv: string, value: string) =>
      call(server, 'PUT', `${cms}/occ`, {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'occ', resourceVersion: rv },
          data: { a: value },
        }),
        contentType: 'application/json',
      });
    expect((await update(created.metadata.resourceVersion, '2')).status).toBe(200);
    const before = await events();
    const stale = await update(created.metadata.resourceVersion, '3');
    expectStatus(stale, 409, 'Conflict');
    expect(stale.json().message).toContain('the object has been modified');
    expect(await events()).toBe(before);
  });

  it('stores what jsonb cannot hold (U+0000, an unpaired surrogate) as a real apiserver does, and reads it back', async () => {
    const body =
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nul"},"data":{"x":"a\\u0000b","y":"\\ud800"}}';
    const created = await call(server, 'POST', cms, { body, contentType: 'application/json' });
    expect(created.status).toBe(201);
    const expected = { x: 'a\u0000b', y: '\ud800' };
    expect(created.json().data).toEqual(expected);
    await call(server, 'PATCH', `${cms}/nul`, {
      body: '{"metadata":{"labels":{"then":"patched"}}}',
      contentType: 'application/merge-patch+json',
    });
    const now = (await call(server, 'GET', `${cms}/nul`)).json();
    expect(now.data).toEqual(expected);
    expect(now.metadata.labels).toEqual({ then: 'patched' });
    // From the database, not the in-memory head: the version before the patch.
    const then = (
      await call(
        server,
        'GET',
        `${cms}/nul?resourceVersion=${created.json().metadata.resourceVersion}&resourceVersionMatch=Exact`,
      )
    ).json();
    expect(then.data).toEqual(expected);
    expect(then.metadata.labels).toBeUndefined();
  });

  it('reads a past revision exactly, and stays up after all of the above', async () => {
    const first = (
      await call(server, 'POST', cms, {
        body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"past"},"data":{"v":"1"}}',
        contentType: 'application/json',
      })
    ).json();
    await call(server, 'PATCH', `${cms}/past`, {
      body: '{"data":{"v":"2"}}',
      contentType: 'application/merge-patch+json',
    });
    const then = (
      await call(
        server,
        'GET',
        `${cms}/past?resourceVersion=${first.metadata.resourceVersion}&resourceVersionMatch=Exact`,
      )
    ).json();
    expect(then.data.v).toBe('1');
    const list = (
      await call(
        server,
        'GET',
        `${cms}?resourceVersion=${first.metadata.resourceVersion}&resourceVersionMatch=Exact`,
      )
    ).json();
    expect(list.items.find((i: any) => i.metadata.name === 'past').data.v).toBe('1');
    expect((await call(server, 'GET', '/readyz', { token: null })).body).toBe('ok');
  });

  it('pages a list consistently at one revision', async () => {
    for (let i = 0; i < 5; i++) {
      await call(server, 'POST', '/api/v1/namespaces/default/secrets', {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `page-${i}` },
          stringData: { k: `v${i}` },
        }),
        contentType: 'application/json',
      });
    }
    const first = (await call(server, 'GET', '/api/v1/namespaces/default/secrets?limit=2')).json();
    expect(first.items).toHaveLength(2);
    await call(server, 'DELETE', '/api/v1/namespaces/default/secrets/page-4');
    const names = first.items.map((i: any) => i.metadata.name);
    let token = first.metadata.continue;
    while (token) {
      const page = (
        await call(
          server,
          'GET',
          `/api/v1/namespaces/default/secrets?limit=2&continue=${encodeURIComponent(token)}`,
        )
      ).json();
      names.push(...page.items.map((i: any) => i.metadata.name));
      token = page.metadata.continue;
    }
    expect(names).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expectStatus(
      await call(server, 'GET', '/api/v1/namespaces/default/secrets?limit=2&continue=garbage'),
      400,
      'BadRequest',
    );
  });
});

describe('compacted revisions answer 410 Gone', () => {
  let server: TestServer & { database: TestDatabase };

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    if (server) await stopServer(server);
  });

  it('on lists, gets and watches, as reflectors expect', async () => {
    const { createPool, EventStore } = await import('@kubetime/event-store');
    const cms = '/api/v1/namespaces/default/configmaps';
    const first = (
      await call(server, 'POST', cms, {
        body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"old"}}',
        contentType: 'application/json',
      })
    ).json();
    await call(server, 'PATCH', `${cms}/old`, {
      body: '{"data":{"a":"b"}}',
      contentType: 'application/merge-patch+json',
    });
    const head = Number((await call(server, 'GET', cms)).json().metadata.resourceVersion);

    const pool = createPool(server.databaseUrl, { max: 2 });
    const other = await EventStore.open({ pool, url: server.databaseUrl });
    try {
      await other.compact('main', head, 'test');
    } finally {
      await other.close();
      await pool.end();
    }
    const rv = first.metadata.resourceVersion;
    let list = await call(server, 'GET', `${cms}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    for (let i = 0; i < 50 && list.status !== 410; i++) {
      await new Promise((r) => setTimeout(r, 100));
      list = await call(server, 'GET', `${cms}?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    }
    expect(list.status).toBe(410);
    expect(list.json()).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
    const watch = await call(server, 'GET', `${cms}?watch=true&resourceVersion=${rv}`);
    expect(watch.status).toBe(200);
    const lines = watch.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', reason: 'Expired', code: 410 },
    });
    expect(
      (await call(server, 'GET', `${cms}/old?resourceVersion=${head}&resourceVersionMatch=Exact`)).json()
        .data,
    ).toEqual({ a: 'b' });
  });

  it('ends a watch after timeoutSeconds with a bookmark when asked', async () => {
    const started = Date.now();
    const watch = await call(
      server,
      'GET',
      '/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&allowWatchBookmarks=true&resourceVersion=0',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const lines = watch.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[lines.length - 1]).toMatchObject({ type: 'BOOKMARK', object: { kind: 'ConfigMap' } });
    expect(lines.slice(0, -1).every((l) => l.type === 'ADDED')).toBe(true);
  });

  it('writes nothing on dryRun=All and deletes collections by selector', async () => {
    const cms = '/api/v1/namespaces/default/configmaps';
    const dry = await call(server, 'POST', `${cms}?dryRun=All`, {
      body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"}}',
      contentType: 'application/json',
    });
    expect(dry.status).toBe(201);
    expect((await call(server, 'GET', `${cms}/dry`)).status).toBe(404);
    for (const name of ['c1', 'c2', 'c3']) {
      await call(server, 'POST', cms, {
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, labels: { sweep: name === 'c3' ? 'no' : 'yes' } },
        }),
        contentType: 'application/json',
      });
    }
    expect((await call(server, 'DELETE', `${cms}?labelSelector=sweep%3Dyes`)).status).toBe(200);
    const left = (await call(server, 'GET', `${cms}?labelSelector=sweep`))
      .json()
      .items.map((i: any) => i.metadata.name);
    expect(left).toEqual(['c3']);
  });
});

describe('the eviction subresource honours PodDisruptionBudgets', () => {
  let server: TestServer & { database: TestDatabase };

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    if (server) await stopServer(server);
  });

  it('answers 429 TooManyRequests while the budget has no pod to spare, 201 once it has', async () => {
    const pods = '/api/v1/namespaces/default/pods';
    const pod = (name: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'db' } },
        spec: { containers: [{ name: 'c', image: 'postgres' }] },
      });
    const makeReady = async (name: string) => {
      const current = (await call(server, 'GET', `${pods}/${name}`)).json();
      current.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
      expect(
        (
          await call(server, 'PUT', `${pods}/${name}/status`, {
            body: JSON.stringify(current),
            contentType: 'application/json',
          })
        ).status,
      ).toBe(200);
    };
    await call(server, 'POST', pods, { body: pod('db-0'), contentType: 'application/json' });
    await makeReady('db-0');
    await call(server, 'POST', '/apis/policy/v1/namespaces/default/poddisruptionbudgets', {
      body: JSON.stringify({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'db' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'db' } } },
      }),
      contentType: 'application/json',
    });
    const eviction = JSON.stringify({
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'db-0', namespace: 'default' },
    });
    const refused = await call(server, 'POST', `${pods}/db-0/eviction`, {
      body: eviction,
      contentType: 'application/json',
    });
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({
      reason: 'TooManyRequests',
      details: { causes: [{ reason: 'DisruptionBudget' }] },
    });
    expect((await call(server, 'GET', `${pods}/db-0`)).status).toBe(200);

    await call(server, 'POST', pods, { body: pod('db-1'), contentType: 'application/json' });
    await makeReady('db-1');
    expect(
      (
        await call(server, 'POST', `${pods}/db-0/eviction`, {
          body: eviction,
          contentType: 'application/json',
        })
      ).status,
    ).toBe(201);
    expect((await call(server, 'GET', `${pods}/db-0`)).status).toBe(404);
  });
});
