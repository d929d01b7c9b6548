import { mkdtemp, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { RpcClient } from '../apps/cli/src/client';
import { rpcFailure, runCli } from './support/cli';
import { startServer, stopServer, TestServer } from './support/server';
import type { TestDatabase } from './support/database';

/**
 * Branches as live clusters (issue 4): the incident drill with controllers on, a branch forked before
 * a bad rollout running forward on a virtual clock, re-execution, explain and retention.
 *
 * The bad rollout asks for more CPU than any simulated node has, so its pods stay Pending with
 * PodScheduled=False/Unschedulable: that is the failure the scheduler reproduces whatever the kubelet
 * does with the image, and the breakpoint stops on it.
 */
const UNSCHEDULABLE = '$.status.conditions[*].reason == "Unschedulable"';
const BAD_PATCH = JSON.stringify([
  { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:bad' },
  { op: 'add', path: '/spec/template/spec/containers/0/resources', value: { requests: { cpu: '64' } } },
]);

describe('time travel with per-branch controllers and virtual clocks', () => {
  let server: TestServer & { database: TestDatabase };
  let rpc: RpcClient;
  let good: number;
  let bad: number;
  let fixed: number;

  beforeAll(async () => {
    server = await startServer({ env: { KUBETIME_CONTROLLERS: 'on', KUBETIME_NODE_LEASE_INTERVAL_MS: '0' } });
    rpc = await RpcClient.connect({ server: server.url, token: server.token, caPem: server.caPem });
  }, 60_000);
  afterAll(async () => {
    rpc?.close();
    if (server) await stopServer(server);
  });

  async function ok(args: string[], input?: string): Promise<string> {
    const result = await server.kubectl(args, input);
    if (result.code !== 0)
      throw new Error(
        `kubectl ${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`,
      );
    return result.stdout;
  }

  /** The kubetime CLI against this server; its output, or the test fails with its stderr. */
  async function cli(args: string[]): Promise<string> {
    const result = await runCli(server.kubeconfig, args);
    if (result.code !== 0)
      throw new Error(`kubetime ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return result.stdout;
  }

  async function head(branch = 'main'): Promise<number> {
    return (await rpc.call('history.head', { branch })).revision;
  }

  /** Polls until the predicate holds on main's events after a revision (bounded). */
  async function waitForEvent(after: number, filter: Record<string, unknown>): Promise<any> {
    for (let i = 0; i < 300; i++) {
      const page = await rpc.call('history.events', { from: after + 1, filter, limit: 1, objects: false });
      if (page.items.length) return page.items[0];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no event matched ${JSON.stringify(filter)} after ${after}`);
  }

  /** Every event of a branch after a revision, without what two runs may differ in. */
  async function normalizedEvents(branch: string, after: number): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null | undefined;
    for (let page = 0; page < 50; page++) {
      const result = await rpc.call('history.events', { branch, from: after + 1, limit: 1000, cursor });
      for (const e of result.items)
        out.push(`${e.type} ${e.kind} ${e.namespace}/${e.name} ${e.actor} ${stable(e.object)}`);
      cursor = result.cursor;
      if (!cursor) break;
    }
    return out;
  }

  it('records the incident on main: a good rollout, a bad one stuck Unschedulable, the undo', async () => {
    await ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    good = await head();
    await ok(['patch', 'deployment', 'web', '--type=json', `-p=${BAD_PATCH}`]);
    bad = await head();
    await waitForEvent(bad, { kind: 'Pod', where: UNSCHEDULABLE });
    await ok(['rollout', 'undo', 'deployment/web']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    // The old pods the bad rollout left Pending are scaled away once the undo has converged.
    for (let i = 0; i < 100; i++) {
      const pods = await rpc.call('state.get', { filter: { kind: 'Pod', where: UNSCHEDULABLE } });
      if (!pods.items.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    fixed = await head();

    const diff = await rpc.call('diff', {
      from: { revision: good },
      to: { revision: bad },
      filter: { kind: 'Deployment' },
      ignore: ['resourceVersion', 'managedFields', 'timestamps', 'status'],
    });
    expect(diff.changed).toHaveLength(1);
    expect(diff.changed[0].patch).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:bad' },
        { op: 'add', path: '/spec/template/spec/containers/0/resources/requests', value: { cpu: '64' } },
      ]),
    );
  }, 120_000);

  it('stops a replay at the first unschedulable Pod', async () => {
    const first = await waitForEvent(good, { kind: 'Pod', where: UNSCHEDULABLE });
    const paused = new Promise<any>((resolve) => {
      const off = rpc.on('replay.paused', (p) => {
        off();
        resolve(p);
      });
    });
    const replay = await rpc.call('replay.start', {
      from: good,
      to: fixed,
      speed: 'max',
      filter: { kind: 'Deployment' },
      breakpoints: [{ kind: 'Pod', where: UNSCHEDULABLE }],
    });
    const hit = await paused;
    expect(hit).toMatchObject({
      subscription: replay.subscription,
      reason: 'breakpoint',
      position: first.revision,
    });
    expect(hit.event.object.status.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'PodScheduled', reason: 'Unschedulable' })]),
    );
    await rpc.call('replay.stop', { subscription: replay.subscription });
  });

  it('forks before the bad rollout, applies a different fix with kubectl, and converges on a virtual clock', async () => {
    const branch = await rpc.call('branch.create', {
      name: 'drill',
      from: { revision: good },
      clock: 'virtual',
    });
    expect(branch).toMatchObject({ name: 'drill', clock: 'virtual', forkRevision: good });
    const drill = ['--server', `${server.url}/branches/drill`];
    await rpc.call('clock.advance', { branch: 'drill', seconds: 0 });
    // The different fix: a new image and one more replica, within what the nodes can hold.
    await ok([...drill, 'set', 'image', 'deployment/web', 'nginx=nginx:1.26']);
    await ok([...drill, 'scale', 'deployment/web', '--replicas=3']);

    const started = Date.now();
    const advanced = await rpc.call('clock.advance', { branch: 'drill', seconds: 600 });
    const wallMs = Date.now() - started;
    expect(Date.parse(advanced.time) - Date.parse(advanced.from)).toBe(600_000);
    expect(advanced.events).toBeGreaterThan(10);
    expect(wallMs).toBeLessThan(5_000);

    const [deployment] = (
      await rpc.call('state.get', { branch: 'drill', filter: { kind: 'Deployment', name: 'web' } })
    ).items;
    expect(deployment.status).toMatchObject({
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    const pods = (await rpc.call('state.get', { branch: 'drill', filter: { kind: 'Pod' } })).items;
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod.spec.containers[0].image).toBe('nginx:1.26');
      expect(pod.status.phase).toBe('Running');
    }
    // main never saw any of it.
    const mainPods = (await rpc.call('state.get', { filter: { kind: 'Pod' } })).items;
    expect(mainPods.every((p: any) => p.spec.containers[0].image === 'nginx:1.25')).toBe(true);
    // The branch's past through the plain Kubernetes API.
    const past = await ok([
      '--server',
      `${server.url}/branches/drill/revisions/${good}`,
      'get',
      'pods',
      '-o',
      'name',
    ]);
    expect(past.trim().split('\n')).toHaveLength(2);
  }, 60_000);

  it('runs a virtual branch forward the same way twice', async () => {
    const runs: string[][] = [];
    for (let run = 0; run < 2; run++) {
      if (run === 0)
        await rpc.call('branch.create', { name: 'twice', from: { revision: good }, clock: 'virtual' });
      else await rpc.call('branch.reset', { name: 'twice', revision: good });
      await rpc.call('clock.advance', { branch: 'twice', seconds: 0 });
      await ok([
        '--server',
        `${server.url}/branches/twice`,
        'set',
        'image',
        'deployment/web',
        'nginx=nginx:1.27',
      ]);
      await rpc.call('clock.advance', { branch: 'twice', seconds: 300 });
      runs.push(await normalizedEvents('twice', good));
    }
    expect(runs[0].length).toBeGreaterThan(10);
    expect(runs[1]).toEqual(runs[0]);
  }, 60_000);

  it('runs until a predicate holds, or says it did not', async () => {
    await rpc.call('branch.create', { name: 'until', from: { revision: good }, clock: 'virtual' });
    await rpc.call('clock.advance', { branch: 'until', seconds: 0 });
    await ok(['--server', `${server.url}/branches/until`, 'scale', 'deployment/web', '--replicas=4']);
    const held = await rpc.call('clock.runUntil', {
      branch: 'until',
      predicate: { kind: 'Deployment', name: 'web', where: '$.status.availableReplicas == 4' },
      maxSeconds: 600,
    });
    expect(held).toMatchObject({ branch: 'until', held: true });
    expect(held.elapsedSeconds).toBeGreaterThan(0);
    expect(held.elapsedSeconds).toBeLessThan(600);
    expect(held.event.name).toBe('web');
    const notHeld = await rpc.call('clock.runUntil', {
      branch: 'until',
      predicate: '$.spec.replicas == 99',
      maxSeconds: 60,
    });
    expect(notHeld).toMatchObject({ held: false, elapsedSeconds: 60 });
    expect(notHeld.message).toContain('did not hold within 60 seconds');
    expect((await rpcFailure(rpc.call('clock.advance', { branch: 'main', seconds: 1 }))).code).toBe(-32007);
    expect((await rpcFailure(rpc.call('clock.advance', { branch: 'drill', seconds: -1 }))).code).toBe(-32602);
  }, 60_000);

  it('replays a bad image on a virtual branch to the first ErrImagePull, and breaks there', async () => {
    const pullFailed = '$.status.containerStatuses[*].state.waiting.reason == "ErrImagePull"';
    await rpc.call('branch.create', { name: 'pull', from: { revision: good }, clock: 'virtual' });
    await rpc.call('clock.advance', { branch: 'pull', seconds: 0 });
    const before = await head('pull');
    await ok([
      '--server',
      `${server.url}/branches/pull`,
      'set',
      'image',
      'deployment/web',
      'nginx=nginx:bad',
    ]);
    const held = await rpc.call('clock.runUntil', {
      branch: 'pull',
      predicate: { kind: 'Pod', where: pullFailed },
      maxSeconds: 300,
    });
    expect(held).toMatchObject({ held: true, event: { kind: 'Pod' } });

    const paused = new Promise<any>((resolve) => {
      const off = rpc.on('replay.paused', (p) => {
        off();
        resolve(p);
      });
    });
    const replay = await rpc.call('replay.start', {
      branch: 'pull',
      from: before,
      speed: 'max',
      filter: { kind: 'Deployment' },
      breakpoints: [{ kind: 'Pod', where: pullFailed }],
    });
    const hit = await paused;
    expect(hit).toMatchObject({
      subscription: replay.subscription,
      reason: 'breakpoint',
      position: held.revision,
    });
    expect(hit.event.object.spec.containers[0].image).toBe('nginx:bad');
    await rpc.call('replay.stop', { subscription: replay.subscription });
    await rpc.call('branch.delete', { name: 'pull' });
  });

  it('re-executes the recorded user writes twice with identical histories and reports divergence', async () => {
    const first = await rpc.call('replay.reexecute', { source: { from: good, to: fixed }, target: 're1' });
    const second = await rpc.call('replay.reexecute', { source: { from: good, to: fixed }, target: 're2' });
    expect(first.userWrites).toBe(2);
    expect(first.replayed).toBe(2);
    expect(first.skipped).toEqual([]);
    expect(first.target).toMatchObject({ name: 're1', clock: 'virtual', forkRevision: good });
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(await normalizedEvents('re2', good)).toEqual(await normalizedEvents('re1', good));
    // The user's own writes come back unchanged; what differs, if anything, is named per object.
    const deployment = first.divergences.find((d: any) => d.kind === 'Deployment' && d.name === 'web');
    if (deployment) expect(deployment.index).toBeGreaterThan(0);
    for (const d of first.divergences)
      expect(d).toEqual(expect.objectContaining({ key: expect.any(String), index: expect.any(Number) }));
    // Converged like the recording: the undo's image, two pods, nothing Unschedulable.
    const pods = (await rpc.call('state.get', { branch: 're1', filter: { kind: 'Pod' } })).items;
    expect(pods.map((p: any) => p.spec.containers[0].image)).toEqual(['nginx:1.25', 'nginx:1.25']);
  }, 120_000);

  it('explains a Pod: ReplicaSet controller <- Deployment controller <- the user, and the scheduler', async () => {
    const [pod] = (await rpc.call('state.get', { revision: fixed, filter: { kind: 'Pod' } })).items;
    const why = await rpc.call('explain', {
      revision: fixed,
      kind: 'Pod',
      namespace: 'default',
      name: pod.metadata.name,
    });
    const chain = why.createdBy.map((l: any) => [l.kind, l.actor, l.actorKind]);
    expect(chain[0]).toEqual([
      'Pod',
      'system:serviceaccount:kube-system:replicaset-controller',
      'controller',
    ]);
    expect(chain).toContainEqual([
      'ReplicaSet',
      'system:serviceaccount:kube-system:deployment-controller',
      'controller',
    ]);
    expect(chain[chain.length - 1]).toEqual(['Deployment', 'admin', 'user']);
    expect(why.scheduling.node).toMatch(/^node-/);
    expect(why.scheduling.boundAt.actor).toBe('system:kube-scheduler');
    expect(why.scheduling.events.map((e: any) => e.reason)).toContain('Scheduled');
    // The scheduler's per-node verdicts: every node passed its filters, and the chosen one has the top score.
    expect(why.scheduling.decision.node).toBe(why.scheduling.node);
    expect(why.scheduling.decision.nodes).toHaveLength(3);
    const chosen = why.scheduling.decision.nodes.find((n: any) => n.node === why.scheduling.node);
    expect(chosen.filters).toMatchObject({ NodeResourcesFit: 'Success', TaintToleration: 'Success' });
    expect(Math.max(...why.scheduling.decision.nodes.map((n: any) => n.total))).toBe(chosen.total);

    // Explained once the scheduler has also recorded why: its FailedScheduling Event follows the status write.
    const [failed] = (
      await rpc.call('history.events', {
        from: bad,
        filter: { kind: 'Event', where: '$.reason == "FailedScheduling"' },
        limit: 1,
      })
    ).items;
    const stuck = await rpc.call('explain', {
      revision: failed.revision,
      kind: 'Pod',
      namespace: 'default',
      name: failed.object.involvedObject.name,
    });
    expect(stuck.scheduling.node).toBeNull();
    expect(stuck.scheduling.condition).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect(stuck.scheduling.decision.node).toBeNull();
    for (const n of stuck.scheduling.decision.nodes) expect(n.filters.NodeResourcesFit).not.toBe('Success');
    expect(stuck.scheduling.events[0]).toMatchObject({
      reason: 'FailedScheduling',
      message: expect.stringMatching(/^0\/3 nodes are available/),
    });
  });

  it('runs controllers on a branch restored from a snapshot at once, without a server restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubetime-restore-'));
    try {
      for (const format of ['native', 'etcd']) {
        const file = join(dir, `${format}.snap`);
        const branch = `restored-${format}`;
        await cli(['snapshot', 'save', file, '--revision', String(good), '--format', format]);
        await cli(['snapshot', 'restore', file, '--branch', branch, '--format', format]);
        await ok([
          '--server',
          `${server.url}/branches/${branch}`,
          'create',
          'deployment',
          'after',
          '--image=nginx',
        ]);
        await ok([
          '--server',
          `${server.url}/branches/${branch}`,
          'rollout',
          'status',
          'deployment/after',
          '--timeout=60s',
        ]);
        await rpc.call('branch.delete', { name: branch });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('does the same from the CLI: a virtual branch, clock advance and run-until, explain, reexecute', async () => {
    expect(await cli(['branch', 'create', 'cli', '--from', String(good), '--clock', 'virtual'])).toContain(
      'clock virtual',
    );
    await ok(['--server', `${server.url}/branches/cli`, 'scale', 'deployment/web', '--replicas=3']);
    expect(
      await cli([
        'clock',
        'run-until',
        'cli',
        '--kind',
        'Deployment',
        '--where',
        '$.status.readyReplicas == 3',
      ]),
    ).toMatch(/^held after [\d.]+ s at revision \d+/);
    expect(await cli(['clock', 'advance', 'cli', '60'])).toMatch(/events, head \d+/);
    const [pod] = (await rpc.call('state.get', { branch: 'cli', filter: { kind: 'Pod' } })).items;
    const why = await cli(['explain', `pod/${pod.metadata.name}`, '--branch', 'cli']);
    expect(why).toContain('(controller)');
    expect(why).toMatch(/bound to node-\d/);
    expect(why).toMatch(/\* node-\d: score \d+/);
    const report = await cli([
      'reexecute',
      '--from',
      String(good),
      '--to',
      String(fixed),
      '--target',
      'cli-re',
    ]);
    expect(report).toMatch(/cli-re: 2\/2 user writes replayed/);
    expect(report).toMatch(/fingerprint [0-9a-f]{64}/);
    for (const name of ['cli', 'cli-re']) await rpc.call('branch.delete', { name });
  }, 60_000);

  it('deletes a branch with its controllers and compacts with a recorded trace', async () => {
    await rpc.call('branch.delete', { name: 'until' });
    await ok(['create', 'configmap', 'retained']);
    const leaf = await rpc.call('branch.create', { name: 'late', clock: 'wall' });
    await rpc.call('branch.delete', { name: 'late' });
    // Forks below the point still read that history: compacting below them is refused.
    expect((await rpcFailure(rpc.call('retention.compact', { revision: good + 1 }))).code).toBe(-32004);
    for (const name of ['drill', 'twice', 're1', 're2']) await rpc.call('branch.delete', { name });
    const compacted = await rpc.call('retention.compact', { revision: leaf.forkRevision });
    expect(compacted).toMatchObject({ branch: 'main', compactRevision: leaf.forkRevision });
    expect(compacted.deletedEvents).toBeGreaterThan(0);
    const gone = await rpcFailure(rpc.call('state.get', { revision: good }));
    expect(gone.code).toBe(-32005);
    expect(gone.message).toContain(`oldest available: ${leaf.forkRevision + 1}`);
    const trace = await rpc.call('retention.history', {});
    expect(trace.items[0]).toMatchObject({
      revision: leaf.forkRevision,
      actor: 'admin',
      deletedEvents: compacted.deletedEvents,
    });
  });
});

function stable(value: unknown): string {
  return JSON.stringify(strip(value));
}

/** Drops what two runs legitimately differ in: uids, resource versions, times and managed fields. */
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (
      ['uid', 'resourceVersion', 'managedFields', 'creationTimestamp', 'startTime', 'startedAt'].includes(key)
    )
      continue;
    if (/Time$|Timestamp$/.test(key)) continue;
    out[key] = strip((value as Record<string, unknown>)[key]);
  }
  return out;
}
