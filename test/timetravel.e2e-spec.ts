import { RpcClient } from '../apps/cli/src/client';
import { rpcFailure } from './support/cli';
import { startServer, stopServer, TestServer } from './support/server';
import { call } from './support/http';
import type { TestDatabase } from './support/database';

const SECRET_VALUE = 'hunter2-very-secret';
const SECRET_B64 = Buffer.from(SECRET_VALUE).toString('base64');

describe('the time-travel API over wss://HOST:PORT/timetravel', () => {
  let server: TestServer & { database: TestDatabase };
  let rpc: RpcClient;

  beforeAll(async () => {
    server = await startServer();
    rpc = await connect();
  });
  afterAll(async () => {
    rpc?.close();
    if (server) await stopServer(server);
  });

  function connect(token = server.token): Promise<RpcClient> {
    return RpcClient.connect({ server: server.url, token, caPem: server.caPem });
  }

  async function ok(args: string[], input?: string): Promise<string> {
    const result = await server.kubectl(args, input);
    if (result.code !== 0)
      throw new Error(
        `kubectl ${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`,
      );
    return result.stdout;
  }

  async function head(branch = 'main'): Promise<number> {
    return (await rpc.call('history.head', { branch })).revision;
  }

  /** Collects notifications of one method for one subscription until a predicate holds (bounded). */
  function collect(
    method: string,
    subscription: () => string | undefined,
    until: (items: any[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<any[]> {
    const items: any[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out waiting for ${method}: got ${JSON.stringify(items).slice(0, 500)}`));
      }, timeoutMs);
      const off = rpc.on(method, (params) => {
        if (params.subscription !== subscription()) return;
        items.push({ ...params, receivedAt: Date.now() });
        if (until(items)) {
          clearTimeout(timer);
          off();
          resolve(items);
        }
      });
    });
  }

  let good: number;
  let bad: number;

  it('diffs two revisions of a rollout: exactly the template change', async () => {
    await ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3']);
    good = await head();
    await ok(['set', 'image', 'deployment/web', 'nginx=nginx:bad']);
    bad = await head();
    const diff = await rpc.call('diff', {
      from: { revision: good },
      to: { revision: bad },
      ignore: ['resourceVersion', 'managedFields', 'timestamps', 'generation'],
    });
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toHaveLength(1);
    expect(diff.changed[0]).toMatchObject({
      kind: 'Deployment',
      namespace: 'default',
      name: 'web',
      fromRevision: good,
      toRevision: bad,
    });
    expect(diff.changed[0].patch).toEqual([
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:bad' },
    ]);
    // Without ignores the bookkeeping shows too.
    const raw = await rpc.call('diff', { from: { revision: good }, to: { revision: bad } });
    expect(raw.changed[0].patch.map((op: any) => op.path)).toEqual(
      expect.arrayContaining(['/metadata/resourceVersion', '/metadata/generation']),
    );
  });

  it('pages through filtered history with a cursor', async () => {
    const headInfo = await rpc.call('history.head', {});
    expect(headInfo).toMatchObject({ branch: 'main', revision: bad, parent: null, clock: 'wall' });
    expect(Date.parse(headInfo.time)).toBeGreaterThan(Date.now() - 120_000);

    const deployments = await rpc.call('history.events', {
      filter: { kind: 'Deployment', namespace: 'default' },
    });
    expect(deployments.items.map((e: any) => [e.type, e.revision, e.actor, e.actorKind])).toEqual([
      ['ADDED', good, 'admin', 'user'],
      ['MODIFIED', bad, 'admin', 'user'],
    ]);
    expect(deployments.cursor).toBeNull();
    const modified = await rpc.call('history.events', {
      filter: {
        kind: 'deployments',
        type: 'MODIFIED',
        where: '$.spec.template.spec.containers[*].image == "nginx:bad"',
      },
    });
    expect(modified.items.map((e: any) => e.revision)).toEqual([bad]);
    const replicas = await rpc.call('history.events', {
      filter: {
        where: '$.spec.replicas > 2 && $.kind == "Deployment"',
        namePrefix: 'we',
        labelSelector: 'app=web',
      },
    });
    expect(replicas.items).toHaveLength(2);
    const system = await rpc.call('history.events', { filter: { actorKind: 'controller' }, objects: false });
    expect(system.items.length).toBeGreaterThan(0);
    expect(system.items.every((e: any) => e.actor !== 'admin' && e.object === undefined)).toBe(true);

    const seen: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const result = await rpc.call('history.events', {
        limit: 2,
        objects: false,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...result.items.map((e: any) => e.revision));
      if (!result.cursor) break;
      cursor = result.cursor;
    }
    expect(seen[0]).toBe(2);
    expect(seen).toEqual(Array.from({ length: bad - 1 }, (_, i) => i + 2));
  });

  it('lists every version of one object with its patch, and the state at a revision or a time', async () => {
    const history = await rpc.call('history.object', {
      kind: 'Deployment',
      namespace: 'default',
      name: 'web',
      ignore: ['resourceVersion', 'managedFields', 'generation'],
    });
    expect(history.versions.map((v: any) => [v.revision, v.type, v.actor])).toEqual([
      [good, 'ADDED', 'admin'],
      [bad, 'MODIFIED', 'admin'],
    ]);
    expect(history.versions[1].patch).toEqual([
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:bad' },
    ]);
    expect(history.versions[0].patch.length).toBeGreaterThan(3);

    const past = await rpc.call('state.get', { revision: good, filter: { kind: 'Deployment' } });
    expect(past.items.map((d: any) => d.spec.template.spec.containers[0].image)).toEqual(['nginx:1.25']);
    const atTime = await rpc.call('state.get', {
      time: history.versions[0].time,
      filter: { kind: 'Deployment', name: 'web' },
    });
    expect(atTime.revision).toBeGreaterThanOrEqual(good);
    expect(atTime.items[0].metadata.name).toBe('web');
    const namespaces = await rpc.call('state.get', { filter: { kind: 'Namespace' } });
    expect(namespaces.items.map((n: any) => n.metadata.name)).toEqual(
      expect.arrayContaining(['default', 'kube-system']),
    );
  });

  it('serves the past read-only through kubectl at /branches/main/revisions/R/', async () => {
    const past = await ok([
      '--server',
      `${server.url}/branches/main/revisions/${good}`,
      'get',
      'deploy',
      'web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(past).toBe('nginx:1.25');
    const write = await server.kubectl([
      '--server',
      `${server.url}/branches/main/revisions/${good}`,
      'create',
      'configmap',
      'nope',
    ]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/MethodNotAllowed|not allowed|read-only/i);
  });

  it('forks a branch, writes to it through kubectl, resets and deletes it', async () => {
    const created = await rpc.call('branch.create', { name: 'b1', from: { branch: 'main', revision: good } });
    expect(created).toMatchObject({ name: 'b1', parent: 'main', forkRevision: good, headRevision: good });
    await ok([
      '--server',
      `${server.url}/branches/b1`,
      'create',
      'configmap',
      'only-on-b1',
      '--from-literal=a=b',
    ]);
    const onBranch = await ok([
      '--server',
      `${server.url}/branches/b1`,
      'get',
      'configmap',
      'only-on-b1',
      '-o',
      'name',
    ]);
    expect(onBranch.trim()).toBe('configmap/only-on-b1');
    const onMain = await server.kubectl(['get', 'configmap', 'only-on-b1']);
    expect(onMain.code).not.toBe(0);
    // The branch forked before the bad rollout still runs the good image.
    expect(
      await ok([
        '--server',
        `${server.url}/branches/b1`,
        'get',
        'deploy',
        'web',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ]),
    ).toBe('nginx:1.25');

    const branchDiff = await rpc.call('diff', {
      from: { branch: 'main', revision: good },
      to: { branch: 'b1' },
      ignore: ['resourceVersion'],
    });
    expect(branchDiff.added.map((a: any) => a.name)).toEqual(['only-on-b1']);
    expect(branchDiff.changed).toEqual([]);

    const list = await rpc.call('branch.list', {});
    expect(list.items.map((b: any) => b.name)).toEqual(['main', 'b1']);

    const b1Head = await head('b1');
    expect(b1Head).toBe(good + 1);
    const reset = await rpc.call('branch.reset', { name: 'b1', revision: good });
    expect(reset).toMatchObject({ name: 'b1', headRevision: good, resetFrom: good + 1 });
    expect(
      (await server.kubectl(['--server', `${server.url}/branches/b1`, 'get', 'configmap', 'only-on-b1']))
        .code,
    ).not.toBe(0);
    expect((await rpc.call('branch.list', {})).items.map((b: any) => b.name)).toEqual(['main', 'b1']);
    // The reset branch is writable again, and the write lands after the reset point.
    await ok(['--server', `${server.url}/branches/b1`, 'create', 'configmap', 'after-reset']);
    expect(await head('b1')).toBe(good + 1);

    expect(await rpc.call('branch.delete', { name: 'b1' })).toEqual({ name: 'b1', deleted: true });
    expect((await rpcFailure(rpc.call('history.head', { branch: 'b1' }))).code).toBe(-32002);
    expect((await rpcFailure(rpc.call('branch.delete', { name: 'main' }))).code).toBe(-32003);
    expect(
      (await rpcFailure(rpc.call('branch.create', { name: 'Bad_Name', from: { revision: good } }))).code,
    ).toBe(-32602);
    // A virtual-clock branch is created either way; without controllers (this suite runs with
    // KUBETIME_CONTROLLERS=off) nothing moves it, and clock calls say why.
    expect(await rpc.call('branch.create', { name: 'v', clock: 'virtual' })).toMatchObject({
      name: 'v',
      clock: 'virtual',
    });
    const noControllers = await rpcFailure(rpc.call('clock.advance', { branch: 'v', seconds: 60 }));
    expect(noControllers.code).toBe(-32007);
    expect(noControllers.message).toContain('KUBETIME_CONTROLLERS=off');
    await rpc.call('branch.delete', { name: 'v' });
  });

  it('watches live events from any revision and stops on unsubscribe', async () => {
    const from = await head();
    const sub = await rpc.call('watch.subscribe', {
      from: good - 1,
      filter: { kind: 'ConfigMap', namePrefix: 'w-' },
    });
    const done = collect(
      'watch.event',
      () => sub.subscription,
      (items) => items.length >= 2,
    );
    await ok(['create', 'configmap', 'w-1']);
    await ok(['create', 'configmap', 'w-2']);
    const events = await done;
    expect(events.map((e) => e.event.name)).toEqual(['w-1', 'w-2']);
    expect(events[0].event.revision).toBeGreaterThan(from);

    // Resuming after the first one replays the second from history.
    const resumed = await rpc.call('watch.subscribe', {
      from: events[0].event.revision,
      filter: { kind: 'ConfigMap', namePrefix: 'w-' },
    });
    const again = await collect(
      'watch.event',
      () => resumed.subscription,
      (items) => items.length >= 1,
    );
    expect(again[0].event.name).toBe('w-2');
    expect(await rpc.call('watch.unsubscribe', { subscription: sub.subscription })).toEqual({
      subscription: sub.subscription,
      closed: true,
    });
    await rpc.call('watch.unsubscribe', { subscription: resumed.subscription });
    expect((await rpcFailure(rpc.call('watch.unsubscribe', { subscription: sub.subscription }))).code).toBe(
      -32602,
    );
  });

  it('replays with the recorded spacing scaled by speed, and at max speed', async () => {
    const start = (await head()) + 1;
    for (const name of ['r-1', 'r-2', 'r-3']) {
      await ok(['create', 'configmap', name]);
      await new Promise((r) => setTimeout(r, 400));
    }
    const end = await head();
    const recorded = (
      await rpc.call('history.events', { from: start, to: end, filter: { namePrefix: 'r-' }, objects: false })
    ).items;
    expect(recorded).toHaveLength(3);

    const idRef: { id?: string } = {};
    const arrivals = collect(
      'replay.event',
      () => idRef.id,
      (items) => items.length >= 3,
    );
    const finished = collect(
      'replay.done',
      () => idRef.id,
      () => true,
    );
    const replay = await rpc.call('replay.start', {
      from: start,
      to: end,
      speed: 2,
      filter: { namePrefix: 'r-' },
    });
    idRef.id = replay.subscription;
    const events = await arrivals;
    await finished;
    expect(events.map((e) => e.event.name)).toEqual(['r-1', 'r-2', 'r-3']);
    for (let i = 1; i < 3; i++) {
      const original = Date.parse(recorded[i].time) - Date.parse(recorded[i - 1].time);
      const replayed = events[i].receivedAt - events[i - 1].receivedAt;
      expect(replayed).toBeGreaterThan(original / 2 - 100);
      expect(replayed).toBeLessThan(original / 2 + 150);
    }
    await rpc.call('replay.stop', { subscription: idRef.id });

    const fastRef: { id?: string } = {};
    const all = collect(
      'replay.done',
      () => fastRef.id,
      () => true,
    );
    const seen: number[] = [];
    const off = rpc.on('replay.event', (p) => p.subscription === fastRef.id && seen.push(p.event.revision));
    fastRef.id = (await rpc.call('replay.start', { speed: 'max' })).subscription;
    await all;
    off();
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 2));
    expect(seen[seen.length - 1]).toBeGreaterThanOrEqual(end);
  });

  it('pauses on the first breakpoint hit, steps both ways, seeks and resumes', async () => {
    const r2 = (
      await rpc.call('history.events', { filter: { kind: 'ConfigMap', name: 'r-2' }, objects: false })
    ).items[0].revision;
    const idRef: { id?: string } = {};
    const paused = collect(
      'replay.paused',
      () => idRef.id,
      () => true,
    );
    const replay = await rpc.call('replay.start', {
      speed: 'max',
      breakpoints: [
        { kind: 'Deployment', where: '$.spec.template.spec.containers[0].image == "nginx:none"' },
        { kind: 'ConfigMap', name: 'r-2' },
      ],
    });
    idRef.id = replay.subscription;
    const [hit] = await paused;
    expect(hit).toMatchObject({
      reason: 'breakpoint',
      position: r2,
      breakpoint: { index: 1, kind: 'ConfigMap', name: 'r-2' },
    });
    expect(hit.event.name).toBe('r-2');
    expect((await rpc.call('replay.pause', { subscription: idRef.id })).state).toBe('paused');

    const stepped = await rpc.call('replay.step', { subscription: idRef.id, count: 1 });
    expect(stepped).toMatchObject({ state: 'paused', position: r2 + 1, moved: 1 });
    const rewound = collect(
      'replay.rewound',
      () => idRef.id,
      () => true,
    );
    const back = await rpc.call('replay.step', { subscription: idRef.id, count: -2 });
    expect(back).toMatchObject({ position: r2 - 1, moved: -2 });
    expect((await rewound)[0].undone.map((e: any) => e.revision)).toEqual([r2 + 1, r2]);

    expect((await rpc.call('replay.seek', { subscription: idRef.id, revision: good })).position).toBe(good);
    // Playing on from the seek point passes r-2 again, so the breakpoint hits again; then it runs out.
    const events: number[] = [];
    const off = rpc.on('replay.event', (p) => p.subscription === idRef.id && events.push(p.event.revision));
    const again = collect(
      'replay.paused',
      () => idRef.id,
      () => true,
    );
    await rpc.call('replay.resume', { subscription: idRef.id });
    expect((await again)[0].position).toBe(r2);
    const done = collect(
      'replay.done',
      () => idRef.id,
      () => true,
    );
    await rpc.call('replay.resume', { subscription: idRef.id });
    await done;
    off();
    expect(events[0]).toBe(good + 1);
    expect(events).toEqual(Array.from({ length: events.length }, (_, i) => good + 1 + i));
    await rpc.call('replay.stop', { subscription: idRef.id });
    expect((await rpcFailure(rpc.call('replay.resume', { subscription: idRef.id }))).code).toBe(-32602);
  });

  describe('Secrets', () => {
    let secretRevision: number;

    beforeAll(async () => {
      await ok(['create', 'secret', 'generic', 'db', `--from-literal=password=${SECRET_VALUE}`]);
      secretRevision = await head();
      await ok([
        'patch',
        'secret',
        'db',
        '-p',
        JSON.stringify({ data: { password: Buffer.from(SECRET_VALUE + '-2').toString('base64') } }),
      ]);
    });

    function expectNoPlaintext(value: unknown) {
      const text = JSON.stringify(value);
      expect(text).not.toContain(SECRET_VALUE);
      expect(text).not.toContain(SECRET_B64);
      expect(text).not.toContain(Buffer.from(SECRET_VALUE + '-2').toString('base64'));
    }

    it('are redacted by default in every method that returns bodies', async () => {
      const events = await rpc.call('history.events', { filter: { kind: 'Secret', name: 'db' } });
      expect(events.items).toHaveLength(2);
      expect(events.items[0].object.data.password).toMatch(/^<redacted hmac:[0-9a-f]{12} len:19>$/);
      expectNoPlaintext(events);
      const object = await rpc.call('history.object', { kind: 'Secret', namespace: 'default', name: 'db' });
      expectNoPlaintext(object);
      // The change shows as a changed marker, not a value.
      expect(object.versions[1].patch).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            op: 'replace',
            path: '/data/password',
            value: expect.stringMatching(/^<redacted hmac:[0-9a-f]{12} len:21>$/),
          }),
        ]),
      );
      expectNoPlaintext(
        await rpc.call('state.get', { revision: secretRevision, filter: { kind: 'Secret' } }),
      );
      expectNoPlaintext(await rpc.call('diff', { from: { revision: secretRevision - 1 }, to: {} }));
      // A predicate cannot be used as an oracle on the value.
      expect(
        (
          await rpc.call('history.events', {
            filter: { kind: 'Secret', where: `$.data.password == "${SECRET_B64}"` },
          })
        ).items,
      ).toEqual([]);

      const watchIdRef: { id?: string } = {};
      const watched = collect(
        'watch.event',
        () => watchIdRef.id,
        (items) => items.length >= 2,
      );
      watchIdRef.id = (
        await rpc.call('watch.subscribe', { from: secretRevision - 1, filter: { kind: 'Secret' } })
      ).subscription;
      expectNoPlaintext(await watched);
      await rpc.call('watch.unsubscribe', { subscription: watchIdRef.id });

      const replayIdRef: { id?: string } = {};
      const replayed = collect(
        'replay.event',
        () => replayIdRef.id,
        (items) => items.length >= 2,
      );
      replayIdRef.id = (
        await rpc.call('replay.start', { from: secretRevision, speed: 'max', filter: { kind: 'Secret' } })
      ).subscription;
      expectNoPlaintext(await replayed);
      await rpc.call('replay.stop', { subscription: replayIdRef.id });
    });

    it('are revealed only when asked and allowed', async () => {
      const revealed = await rpc.call('state.get', {
        revision: secretRevision,
        filter: { kind: 'Secret', name: 'db' },
        reveal: true,
      });
      expect(revealed.items[0].data.password).toBe(SECRET_B64);

      await ok(['create', 'serviceaccount', 'viewer']);
      await ok([
        'create',
        'clusterrole',
        'timetravel-viewer',
        '--verb=get',
        '--non-resource-url=/timetravel',
      ]);
      await ok([
        'create',
        'clusterrolebinding',
        'timetravel-viewer',
        '--clusterrole=timetravel-viewer',
        '--serviceaccount=default:viewer',
      ]);
      const token = (await ok(['create', 'token', 'viewer'])).trim();
      const viewer = await connect(token);
      try {
        const error = await rpcFailure(
          viewer.call('state.get', { filter: { kind: 'Secret' }, reveal: true }),
        );
        expect(error.code).toBe(-32003);
        expectNoPlaintext(await viewer.call('state.get', { filter: { kind: 'Secret' } }));
        expect((await rpcFailure(viewer.call('branch.create', { name: 'nope' }))).code).toBe(-32003);
        expect((await rpcFailure(viewer.call('node.stop', { name: 'node-1' }))).code).toBe(-32003);
      } finally {
        viewer.close();
      }
      // May change branches, may not patch nodes: stopping one is what `kubectl annotate` would need.
      await ok(['create', 'serviceaccount', 'brancher']);
      await ok([
        'create',
        'clusterrole',
        'timetravel-brancher',
        '--verb=get,post',
        '--non-resource-url=/timetravel',
      ]);
      await ok([
        'create',
        'clusterrolebinding',
        'timetravel-brancher',
        '--clusterrole=timetravel-brancher',
        '--serviceaccount=default:brancher',
      ]);
      const brancher = await connect((await ok(['create', 'token', 'brancher'])).trim());
      try {
        const refused = await rpcFailure(brancher.call('node.stop', { name: 'node-1' }));
        expect(refused.code).toBe(-32003);
        expect(refused.message).toContain('may not patch nodes "node-1" on branch "main"');
      } finally {
        brancher.close();
      }
      // A token without the /timetravel permission is refused at the upgrade.
      await ok(['create', 'serviceaccount', 'nobody']);
      const nobody = (await ok(['create', 'token', 'nobody'])).trim();
      await expect(connect(nobody)).rejects.toThrow(/403/);
    });
  });

  it('answers malformed, unknown, invalid and huge messages with errors and keeps the socket', async () => {
    const replies: any[] = [];
    const off = rpc.on('*response', (m) => replies.push(m));
    rpc.sendRaw('{not json');
    rpc.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 7 }));
    rpc.sendRaw('x'.repeat(5 * 1024 * 1024));
    for (let i = 0; i < 100 && replies.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    off();
    expect(replies.map((r) => r.error.code)).toEqual([-32700, -32600, -32001]);
    expect((await rpcFailure(rpc.call('no.such.method'))).code).toBe(-32601);
    expect((await rpcFailure(rpc.call('history.events', { limit: 'ten' }))).code).toBe(-32602);
    expect(
      (await rpcFailure(rpc.call('history.events', { filter: { where: '$.spec.replicas >' } }))).message,
    ).toMatch(/invalid predicate/);
    expect((await rpcFailure(rpc.call('state.get', { revision: 10_000_000 }))).code).toBe(-32602);
    expect((await rpcFailure(rpc.call('history.head', { branch: 'nope' }))).code).toBe(-32002);
    expect((await rpcFailure(rpc.call('node.stop', {}))).message).toBe('name is required (a string)');
    expect((await rpcFailure(rpc.call('node.start', { name: 'node-1', branch: 'nope' }))).code).toBe(-32002);
    expect((await rpcFailure(rpc.call('node.start', { name: 'node-1' }))).message).toBe(
      'nodes "node-1" not found',
    );
    expect((await rpc.call('history.head', {})).revision).toBeGreaterThan(good);
    expect((await rpc.call('rpc.methods')).methods).toEqual(
      expect.arrayContaining(['diff', 'replay.start', 'snapshot.save']),
    );
  });

  it('refuses an unauthenticated socket and accepts the bearer subprotocol', async () => {
    await expect(RpcClient.connect({ server: server.url, caPem: server.caPem })).rejects.toThrow(/401/);
    await expect(connect('wrong-token')).rejects.toThrow(/401/);
    const encoded = Buffer.from(server.token).toString('base64url');
    const viaProtocol = await RpcClient.connect(
      { server: server.url, token: server.token, caPem: server.caPem },
      {
        headerAuth: false,
        protocols: ['kubetime.timetravel.v1', `base64url.bearer.authorization.k8s.io.${encoded}`],
      },
    );
    expect(viaProtocol.ws.protocol).toBe('kubetime.timetravel.v1');
    expect((await viaProtocol.call('history.head')).branch).toBe('main');
    viaProtocol.close();
  });

  it('ends open connections cleanly when the server stops', async () => {
    const closed = new Promise<number>((resolve) => rpc.ws.once('close', (code) => resolve(code)));
    const started = Date.now();
    // Nest re-raises the signal after its shutdown hooks, so the exit is by SIGTERM, not a code.
    expect([0, null]).toContain(await server.stop());
    expect(server.process.signalCode ?? 'SIGTERM').toBe('SIGTERM');
    expect(await closed).toBe(1001);
    expect(Date.now() - started).toBeLessThan(10_000);
    // Back up, so the suite's teardown finds a running server to stop.
    await server.restart();
  });
});

describe('retention rules over the time-travel API and the Kubernetes API', () => {
  let server: TestServer & { database: TestDatabase };
  let rpc: RpcClient;
  const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';

  beforeAll(async () => {
    // Core Events older than a second are compacted on a one-second timer; Leases only on request.
    server = await startServer({
      env: { KUBETIME_RETENTION: 'events=1s', KUBETIME_RETENTION_INTERVAL: '1s' },
    });
    rpc = await RpcClient.connect({ server: server.url, token: server.token, caPem: server.caPem });
  });
  afterAll(async () => {
    rpc?.close();
    if (server) await stopServer(server);
  });

  async function ok(args: string[], input?: string): Promise<string> {
    const result = await server.kubectl(args, input);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${result.stderr}`);
    return result.stdout;
  }

  it.each([
    [{ rules: [] }, 'policy.rules must be a non-empty list'],
    [
      { rules: [{ resources: [], olderThanSeconds: 60 }] },
      'policy.rules[0].resources must list at least one',
    ],
    [{ rules: [{ resources: ['widgets'], olderThanSeconds: 60 }] }, 'unknown resource "widgets"'],
    [
      { rules: [{ resources: ['leases'], olderThanSeconds: -1 }] },
      'policy.rules[0].olderThanSeconds must be',
    ],
    [{ rules: [{ resources: ['leases'] }] }, 'policy.rules[0].olderThanSeconds is required'],
    [{ rules: ['leases'] }, 'policy.rules[0] must be an object'],
  ])('refuses policy %j with a clear error', async (policy, message) => {
    const error = await rpcFailure(rpc.call('retention.compact', { policy }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain(message);
  });

  it('refuses a revision and a policy together', async () => {
    const error = await rpcFailure(
      rpc.call('retention.compact', {
        revision: 2,
        policy: { rules: [{ resources: ['leases'], olderThanSeconds: 0 }] },
      }),
    );
    expect(error).toMatchObject({ code: -32602, message: 'give revision or policy, not both' });
  });

  it('compacts Leases only: 410 below the horizon for them, other kinds and whole-cluster reads still answer', async () => {
    await ok(['create', 'configmap', 'steady', '--from-literal=k=v']);
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: holder\nspec:\n  holderIdentity: a\n',
    );
    const old = (await rpc.call('history.head', {})).revision;
    for (const who of ['b', 'c', 'd'])
      await ok(['patch', 'lease', 'holder', '--type=merge', '-p', `{"spec":{"holderIdentity":"${who}"}}`]);

    const result = await rpc.call('retention.compact', {
      policy: { rules: [{ resources: ['coordination.k8s.io/leases'], olderThanSeconds: 0 }] },
    });
    const cutoff = result.rules[0].cutoff;
    expect(result.rules).toEqual([
      { resources: ['coordination.k8s.io/leases'], olderThanSeconds: 0, cutoff, deletedEvents: 3 },
    ]);
    expect(cutoff).toBeGreaterThan(old);

    const expired = await call(server, 'GET', `${LEASES}?resourceVersion=${old}&resourceVersionMatch=Exact`);
    expect(expired.status).toBe(410);
    expect(expired.json()).toMatchObject({ reason: 'Expired', code: 410 });
    expect(expired.json().message).toContain(`oldest available revision: ${cutoff}`);
    const watched = await call(server, 'GET', `${LEASES}?watch=1&resourceVersion=${old}&timeoutSeconds=2`);
    expect(JSON.parse(watched.body.trim().split('\n')[0])).toMatchObject({
      type: 'ERROR',
      object: { code: 410, reason: 'Expired' },
    });
    const current = await call(
      server,
      'GET',
      `${LEASES}?resourceVersion=${cutoff}&resourceVersionMatch=Exact`,
    );
    expect(current.json().items.map((l: any) => l.spec.holderIdentity)).toEqual(['d']);
    const configMaps = await call(
      server,
      'GET',
      `/api/v1/namespaces/default/configmaps?resourceVersion=${old}&resourceVersionMatch=Exact`,
    );
    expect(configMaps.status).toBe(200);
    expect(configMaps.json().items.map((c: any) => c.metadata.name)).toContain('steady');

    // Whole-cluster reads below the horizon leave Leases out and say so; a snapshot file is refused.
    const state = await rpc.call('state.get', { revision: old });
    expect(state.incomplete).toContainEqual({ resource: 'leases', oldestAvailable: cutoff });
    expect(state.items.some((o: any) => o.kind === 'Lease')).toBe(false);
    expect(state.items.some((o: any) => o.metadata.name === 'steady')).toBe(true);
    const diff = await rpc.call('diff', { from: { revision: old }, to: { revision: cutoff } });
    expect(diff.incomplete).toContainEqual({ resource: 'leases', oldestAvailable: cutoff });
    for (const format of ['native', 'etcd']) {
      const refused = await rpcFailure(rpc.call('snapshot.save', { revision: old, format }));
      expect(refused.code).toBe(-32005);
    }
    expect((await rpc.call('state.get', { revision: cutoff })).incomplete).toEqual([]);

    const trace = await rpc.call('retention.history', {});
    expect(trace.horizons).toContainEqual({ keyPrefix: '/registry/leases/', oldestAvailable: cutoff });
    expect(trace.items.find((i: any) => i.actor === 'admin')).toMatchObject({
      revision: cutoff,
      deletedEvents: 3,
      policy: { resources: ['coordination.k8s.io/leases'], olderThanSeconds: 0 },
    });
  });

  it('applies KUBETIME_RETENTION on its timer as system:kubetime:retention', async () => {
    const event = (reason: string) =>
      `apiVersion: v1\nkind: Event\nmetadata:\n  name: ping\ninvolvedObject:\n  kind: ConfigMap\n  name: steady\n  namespace: default\nreason: ${reason}\nmessage: m\ntype: Normal\n`;
    await ok(['apply', '-f', '-'], event('First'));
    await ok(['apply', '-f', '-'], event('Second'));
    let item: any;
    for (let i = 0; i < 100 && !item; i++) {
      await new Promise((r) => setTimeout(r, 100));
      item = (await rpc.call('retention.history', {})).items.find(
        (c: any) => c.actor === 'system:kubetime:retention' && c.deletedEvents > 0,
      );
    }
    expect(item).toMatchObject({ policy: { resources: ['events'], olderThanSeconds: 1 } });
    expect(item.deletedEvents).toBeGreaterThanOrEqual(1);
  });
});
