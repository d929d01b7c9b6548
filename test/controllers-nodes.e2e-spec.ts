import { spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { findResourceType, KubeObject } from '@kubetime/api-machinery';
import { bootstrapCluster, RequestContext, ResourceStore } from '@kubetime/apiserver';
import { createPool, EventStore, migrate } from '@kubetime/event-store';
import { ControllerManager, startControllers, VirtualClock } from '../libs/controllers/src';
import { createTestDatabase, TestDatabase } from './support/database';
import { CliResult, runCli } from './support/cli';
import { startServer, stopServer, TestServer } from './support/server';

const pods = findResourceType('', 'v1', 'pods')!;
const nodes = findResourceType('', 'v1', 'nodes')!;
const events = findResourceType('', 'v1', 'events')!;
const deployments = findResourceType('apps', 'v1', 'deployments')!;

/**
 * Kubelet behaviour rules and node lifecycle on a virtual clock (minutes of cluster time in
 * milliseconds), then cordon and drain with the real kubectl against a spawned server.
 */
describe('kubelet behaviour and node lifecycle (real PostgreSQL, virtual clock)', () => {
  let db: TestDatabase;
  let pool: ReturnType<typeof createPool>;
  let store: EventStore;
  let resources: ResourceStore;
  let clock: VirtualClock;
  let controllers: ControllerManager;
  const errors: unknown[] = [];

  const admin = (): RequestContext => ({
    user: { username: 'admin', groups: ['system:masters'] },
    branch: 'main',
    now: clock.now(),
  });
  const settle = async (horizonMs: number) => {
    await controllers.settle({ horizonMs, timeoutMs: 20_000 });
    if (errors.length) throw errors[0];
  };
  const pod = (
    name: string,
    spec: Record<string, unknown>,
    annotations?: Record<string, string>,
  ): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', annotations },
    spec,
  });
  const create = (object: KubeObject) =>
    resources.create(admin(), pods, 'default', object, { dryRun: false });
  const get = (name: string) => resources.get(admin(), pods, 'default', name);
  const eventsOf = async (name: string) =>
    (await resources.list({ branch: 'main' }, events, 'default', {})).items.filter(
      (e) => e.involvedObject.name === name,
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    pool = createPool(db.url, { max: 4 });
    clock = new VirtualClock(new Date('2025-03-01T12:00:00Z'));
    store = await EventStore.open({ pool, url: db.url, clock });
    resources = new ResourceStore(store);
    await bootstrapCluster(resources, 'main', { address: '127.0.0.1', port: 6443 }, () => clock.now());
    controllers = await startControllers({
      events: store,
      resources,
      clock,
      seed: 'nodes-seed',
      kubelet: { startDelayMs: 2000, maxGracePeriodMs: 30_000 },
      onError: (_c, _k, error) => errors.push(error),
    });
    await settle(0);
  });

  afterAll(async () => {
    await controllers?.stop();
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  it('runs a plain nginx pod and makes it Ready', async () => {
    await create(pod('web', { containers: [{ name: 'nginx', image: 'nginx:1.25' }] }));
    await settle(5_000);
    const web = await get('web');
    expect(web.status.phase).toBe('Running');
    expect(web.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
    expect(web.status.containerStatuses[0]).toMatchObject({ ready: true, restartCount: 0, started: true });
  });

  it('crash-loops a container with restartCount and a doubling back-off on the clock', async () => {
    await create(
      pod(
        'crashy',
        { containers: [{ name: 'app', image: 'nginx:crashy' }] },
        { 'kubetime.io/crash-after': '5s' },
      ),
    );
    // pull 2 s, run 5 s, restart at once, run 5 s, back-off 10 s, run 5 s, back-off 20 s, ...
    await settle(60_000);
    const crashy = await get('crashy');
    const status = crashy.status.containerStatuses[0];
    expect(crashy.status.phase).toBe('Running');
    expect(status.restartCount).toBe(3);
    expect(status.state.waiting).toMatchObject({ reason: 'CrashLoopBackOff' });
    expect(status.state.waiting.message).toMatch(
      /^back-off 40s restarting failed container=app pod=crashy_default\(/,
    );
    expect(status.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    const backOff = (await eventsOf('crashy')).find((e) => e.reason === 'BackOff');
    expect(backOff).toMatchObject({ type: 'Warning', count: 3 });
    expect(backOff!.message).toMatch(/^Back-off restarting failed container app in pod crashy_default\(/);
    await settle(60_000);
    expect((await get('crashy')).status.containerStatuses[0].restartCount).toBe(4);
  });

  it('keeps a pod whose readiness probe fails NotReady, reporting Unhealthy', async () => {
    await create(
      pod(
        'unready',
        {
          containers: [
            {
              name: 'web',
              image: 'nginx:1.25',
              readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 },
            },
          ],
        },
        { 'kubetime.io/readiness': 'fail' },
      ),
    );
    await settle(30_000);
    const unready = await get('unready');
    expect(unready.status.phase).toBe('Running');
    expect(unready.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [web]',
    });
    const unhealthy = (await eventsOf('unready')).find((e) => e.reason === 'Unhealthy');
    expect(unhealthy!.message).toBe('Readiness probe failed: HTTP probe failed with statuscode: 500');
    expect(unhealthy!.count).toBeGreaterThan(3);
  });

  it('restarts a container whose liveness probe fails', async () => {
    await create(
      pod(
        'unlive',
        {
          containers: [
            {
              name: 'web',
              image: 'nginx:unlive',
              livenessProbe: {
                exec: { command: ['cat', '/tmp/healthy'] },
                initialDelaySeconds: 5,
                periodSeconds: 5,
              },
            },
          ],
        },
        { 'kubetime.io/liveness-fail-after': '30s' },
      ),
    );
    // started at 2 s, failing from 32 s: probes at 37, 42, 47 s fail, killed at 47 s, restarted at once.
    await settle(50_000);
    const status = (await get('unlive')).status.containerStatuses[0];
    expect(status.restartCount).toBe(1);
    expect(status.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    const reasons = (await eventsOf('unlive')).map((e) => [e.reason, e.message, e.count]);
    expect(reasons).toContainEqual([
      'Unhealthy',
      'Liveness probe failed: command "cat /tmp/healthy" exited with 1',
      1,
    ]);
    expect(reasons).toContainEqual(['Killing', 'Container web failed liveness probe, will be restarted', 1]);
  });

  it('reports ErrImagePull, then ImagePullBackOff, for a bad image', async () => {
    await create(pod('badimage', { containers: [{ name: 'app', image: 'nginx:bad' }] }));
    await settle(3_000);
    const waiting = (await get('badimage')).status.containerStatuses[0].state.waiting;
    expect(waiting.reason).toBe('ImagePullBackOff');
    const history = await store.events('main', 0, (await store.branch()).revision, 100_000);
    const reasons = history
      .filter((e) => e.resource === 'pods' && e.name === 'badimage')
      .map((e) => e.object.status?.containerStatuses?.[0]?.state?.waiting?.reason)
      .filter(Boolean);
    expect(reasons).toContain('ErrImagePull');
    expect(reasons.indexOf('ErrImagePull')).toBeLessThan(reasons.indexOf('ImagePullBackOff'));
    const messages = (await eventsOf('badimage')).map((e) => `${e.reason}: ${e.message}`);
    expect(messages).toContain('Failed: Error: ErrImagePull');
    expect(messages).toContain('Failed: Error: ImagePullBackOff');
    expect(messages).toContain('BackOff: Back-off pulling image "nginx:bad"');
  });

  it('runs init containers in order, and a busybox command to completion', async () => {
    await create(
      pod('job-like', {
        restartPolicy: 'Never',
        initContainers: [{ name: 'wait', image: 'busybox', command: ['sh', '-c', 'sleep 3'] }],
        containers: [{ name: 'work', image: 'busybox:1.36', command: ['sh', '-c', 'echo done; sleep 4'] }],
      }),
    );
    await settle(0);
    const pending = await get('job-like');
    expect(pending.status.phase).toBe('Pending');
    expect(pending.status.initContainerStatuses[0].state.waiting.reason).toBe('ContainerCreating');
    expect(pending.status.containerStatuses[0].state.waiting.reason).toBe('PodInitializing');
    expect(pending.status.conditions.find((c: { type: string }) => c.type === 'Initialized')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotInitialized',
    });
    await settle(30_000);
    const done = await get('job-like');
    expect(done.status.phase).toBe('Succeeded');
    expect(done.status.initContainerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    expect(done.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
  });

  it('deletes a pod promptly when its container exits on SIGTERM', async () => {
    const before = clock.now().getTime();
    await resources.delete(admin(), pods, 'default', 'web', { dryRun: false });
    await settle(0);
    await expect(get('web')).rejects.toMatchObject({ code: 404 });
    expect(clock.now().getTime()).toBe(before);
    const killing = (await eventsOf('web')).find((e) => e.reason === 'Killing');
    expect(killing!.message).toBe('Stopping container nginx');
  });

  it('keeps a container that ignores SIGTERM until the grace period ends, then kills it', async () => {
    await create(
      pod(
        'stubborn',
        { terminationGracePeriodSeconds: 20, containers: [{ name: 'app', image: 'nginx' }] },
        { 'kubetime.io/sigterm': 'ignore' },
      ),
    );
    await settle(5_000);
    await resources.delete(admin(), pods, 'default', 'stubborn', { dryRun: false });
    // settle moves the clock from timer to timer, so horizons are taken from the deletion.
    const deletedAt = clock.now().getTime();
    await settle(0);
    const terminating = await get('stubborn');
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    expect(terminating.status.containerStatuses[0].state.running).toBeDefined();
    await settle(deletedAt + 19_000 - clock.now().getTime());
    await expect(get('stubborn')).resolves.toBeDefined();
    await settle(deletedAt + 21_000 - clock.now().getTime());
    await expect(get('stubborn')).rejects.toMatchObject({ code: 404 });
    const history = await store.events('main', 0, (await store.branch()).revision, 100_000);
    const states = history
      .filter((e) => e.resource === 'pods' && e.name === 'stubborn')
      .map((e) => e.object.status?.containerStatuses?.[0]?.state?.terminated)
      .filter(Boolean);
    expect(states[0]).toMatchObject({ exitCode: 137, reason: 'Error' });
  });

  it('marks a stopped node Unknown, taints it, evicts its pods after 300 s and replaces them elsewhere', async () => {
    for (const name of ['crashy', 'unready', 'unlive', 'badimage', 'job-like'])
      await resources.delete(admin(), pods, 'default', name, { dryRun: false, gracePeriodSeconds: 0 });
    await resources.create(
      admin(),
      deployments,
      'default',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'spread', namespace: 'default' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'spread' } },
          template: {
            metadata: { labels: { app: 'spread' } },
            spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
          },
        },
      },
      { dryRun: false },
    );
    await settle(10_000);
    const placed = (await resources.list(admin(), pods, 'default', {})).items;
    const victim = placed[0].spec.nodeName as string;
    const evicted = placed.filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name!);
    // get hands out the store's own object: change a copy.
    const node = structuredClone(await resources.get(admin(), nodes, undefined, victim));
    node.metadata.annotations = { ...node.metadata.annotations, 'kubetime.io/simulated-state': 'stopped' };
    await resources.update(admin(), nodes, undefined, victim, node, { dryRun: false });
    const stoppedAt = clock.now().getTime();
    // A pod with its own, shorter toleration for the unreachable taint; admission adds only not-ready's.
    const quick = await resources.create(
      admin(),
      pods,
      'default',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'quick', namespace: 'default' },
        spec: {
          nodeName: victim,
          containers: [{ name: 'c', image: 'nginx' }],
          tolerations: [
            {
              key: 'node.kubernetes.io/unreachable',
              operator: 'Exists',
              effect: 'NoExecute',
              tolerationSeconds: 60,
            },
          ],
        },
      },
      { dryRun: false },
    );
    expect(
      quick.spec.tolerations.map((t: { key: string; tolerationSeconds: number }) => [
        t.key,
        t.tolerationSeconds,
      ]),
    ).toEqual([
      ['node.kubernetes.io/unreachable', 60],
      ['node.kubernetes.io/not-ready', 300],
    ]);

    await settle(45_000);
    const silent = await resources.get(admin(), nodes, undefined, victim);
    expect(silent.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
    });
    expect(silent.spec.taints.map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`)).toEqual([
      'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
    ]);
    expect((await get(evicted[0])).metadata.deletionTimestamp).toBeUndefined();
    // The nodes still running keep their Ready heartbeat fresh (every minute).
    for (const other of (await resources.list(admin(), nodes, undefined, {})).items.filter(
      (n) => n.metadata.name !== victim,
    )) {
      const heartbeat = other.status.conditions.find(
        (c: { type: string }) => c.type === 'Ready',
      ).lastHeartbeatTime;
      expect(clock.now().getTime() - Date.parse(heartbeat)).toBeLessThanOrEqual(60_000);
    }

    // The taint came at about 40 s: 60 s later the pod that tolerates it for 60 s goes, the others stay.
    await settle(stoppedAt + 120_000 - clock.now().getTime());
    expect((await get('quick')).metadata.deletionTimestamp).toBeDefined();
    expect((await get(evicted[0])).metadata.deletionTimestamp).toBeUndefined();

    await settle(stoppedAt + 360_000 - clock.now().getTime());
    const now = (await resources.list(admin(), pods, 'default', {})).items;
    for (const name of evicted) {
      const gone = now.find((p) => p.metadata.name === name)!;
      // The stopped kubelet cannot confirm the kill: the pod stays Terminating, as on a real cluster.
      expect(gone.metadata.deletionTimestamp).toBeDefined();
      expect(
        gone.status.conditions.find((c: { type: string }) => c.type === 'DisruptionTarget'),
      ).toMatchObject({
        reason: 'DeletionByTaintManager',
      });
    }
    const live = now.filter((p) => !p.metadata.deletionTimestamp);
    expect(live).toHaveLength(3);
    for (const p of live) {
      expect(p.spec.nodeName).not.toBe(victim);
      expect(p.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
    }
    expect((await eventsOf(evicted[0])).map((e) => e.reason)).toContain('TaintManagerEviction');

    const back = structuredClone(await resources.get(admin(), nodes, undefined, victim));
    back.metadata.annotations = { ...back.metadata.annotations, 'kubetime.io/simulated-state': 'running' };
    await resources.update(admin(), nodes, undefined, victim, back, { dryRun: false });
    await settle(5_000);
    const ready = await resources.get(admin(), nodes, undefined, victim);
    expect(ready.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
    expect(ready.spec.taints).toBeUndefined();
    const after = (await resources.list(admin(), pods, 'default', {})).items;
    expect(after.filter((p) => evicted.includes(p.metadata.name!))).toHaveLength(0);
  });

  it('scores PreferNoSchedule taints, preferred node affinity and pod anti-affinity, and records why', async () => {
    const label = async (name: string, change: (node: KubeObject) => void) => {
      const node = structuredClone(await resources.get(admin(), nodes, undefined, name));
      change(node);
      await resources.update(admin(), nodes, undefined, name, node, { dryRun: false });
    };
    await label('node-1', (n) => (n.metadata.labels = { ...n.metadata.labels, disk: 'ssd' }));
    await label('node-2', (n) => (n.metadata.labels = { ...n.metadata.labels, disk: 'ssd' }));
    await label(
      'node-2',
      (n) => (n.spec.taints = [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }]),
    );
    const preferSsd = {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 50,
            preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
          },
        ],
      },
    };
    await create(pod('picky', { affinity: preferSsd, containers: [{ name: 'app', image: 'nginx' }] }));
    await settle(0);
    const picky = await get('picky');
    expect(picky.spec.nodeName).toBe('node-1');
    const decision = JSON.parse(picky.metadata.annotations!['kubetime.io/scheduling-decision']);
    expect(decision.node).toBe('node-1');
    const byNode = Object.fromEntries(decision.nodes.map((n: { node: string }) => [n.node, n]));
    expect(byNode['node-1'].scores).toMatchObject({ NodeAffinity: 100, TaintToleration: 100 });
    expect(byNode['node-2'].scores).toMatchObject({ NodeAffinity: 100, TaintToleration: 0 });
    expect(byNode['node-3'].scores).toMatchObject({ NodeAffinity: 0, TaintToleration: 100 });
    expect(byNode['node-1'].filters).toEqual({
      NodeUnschedulable: 'Success',
      TaintToleration: 'Success',
      NodeAffinity: 'Success',
      NodeResourcesFit: 'Success',
      InterPodAffinity: 'Success',
    });

    const solo = (name: string): KubeObject => ({
      ...pod(name, {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'solo' } }, topologyKey: 'kubernetes.io/hostname' },
            ],
          },
        },
        containers: [{ name: 'app', image: 'nginx' }],
      }),
      metadata: { name, namespace: 'default', labels: { app: 'solo' } },
    });
    for (const name of ['solo-1', 'solo-2', 'solo-3', 'solo-4']) {
      await create(solo(name));
      await settle(0);
    }
    const placed = await Promise.all(
      ['solo-1', 'solo-2', 'solo-3'].map(async (n) => (await get(n)).spec.nodeName),
    );
    expect(new Set(placed).size).toBe(3);
    const fourth = await get('solo-4');
    expect(fourth.spec.nodeName).toBeUndefined();
    expect(fourth.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled').message).toBe(
      "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules." +
        ' preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
    );
    const refused = JSON.parse(fourth.metadata.annotations!['kubetime.io/scheduling-decision']);
    expect(refused.node).toBeNull();
    expect(refused.nodes[0].filters.InterPodAffinity).toBe("node(s) didn't match pod anti-affinity rules");

    // Required pod affinity by a zone-like key: only nodes carrying `disk` share a domain with a solo pod.
    await create(
      pod('follower', {
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: 'solo' } }, topologyKey: 'disk' },
            ],
          },
        },
        containers: [{ name: 'app', image: 'nginx' }],
      }),
    );
    await settle(0);
    const follower = await get('follower');
    expect(['node-1', 'node-2']).toContain(follower.spec.nodeName);
    const why = JSON.parse(follower.metadata.annotations!['kubetime.io/scheduling-decision']);
    expect(why.nodes.find((n: { node: string }) => n.node === 'node-3').filters.InterPodAffinity).toBe(
      "node(s) didn't match pod affinity rules",
    );

    // Freeing a node lets the waiting pod in.
    await resources.delete(admin(), pods, 'default', 'solo-1', { dryRun: false });
    await settle(5_000);
    expect((await get('solo-4')).spec.nodeName).toBe(placed[0]);
  });
});

const INCIDENTS = `apiVersion: v1
kind: Pod
metadata:
  name: crashloop
  annotations:
    kubetime.io/crash-after: 500ms
spec:
  nodeName: node-1
  containers:
  - name: app
    image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: bad-image
spec:
  nodeName: node-1
  containers:
  - name: app
    image: nginx:bad
---
apiVersion: v1
kind: Pod
metadata:
  name: initializing
spec:
  nodeName: node-1
  initContainers:
  - name: wait
    image: busybox
    command: ["sh", "-c", "until nslookup db; do sleep 2; done"]
  containers:
  - name: app
    image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: one-shot
spec:
  nodeName: node-1
  restartPolicy: Never
  containers:
  - name: job
    image: busybox
    command: ["sh", "-c", "echo done"]
`;

describe('cordon, uncordon and drain with the real kubectl (seed 003)', () => {
  let server: TestServer & { database: TestDatabase };

  const kubectl = async (...args: string[]) => {
    const r = await server.kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    server = await startServer({ env: { KUBETIME_CONTROLLERS: 'on' } });
  });

  afterAll(async () => {
    if (server) await stopServer(server);
  });

  it('cordons, uncordons and drains a node; its pods move elsewhere; kubectl shows staged incidents', async () => {
    // Incidents staged by manifest alone, pinned to node-1 so the drain of node-3 leaves them be.
    await server.kubectl(['apply', '-f', '-'], INCIDENTS);
    await kubectl('create', 'deployment', 'nginx', '--image=nginx', '--replicas=5');
    expect(await kubectl('rollout', 'status', 'deployment/nginx', '--timeout=20s')).toContain(
      'successfully rolled out',
    );
    await kubectl('create', 'poddisruptionbudget', 'nginx', '--selector=app=nginx', '--min-available=2');
    let budget = '';
    for (let i = 0; i < 25 && !/nginx\s+2\s+N\/A\s+3\s/.test(budget); i++) {
      await new Promise((r) => setTimeout(r, 200));
      budget = await kubectl('get', 'pdb', 'nginx', '--no-headers');
    }
    expect(budget).toMatch(/^nginx\s+2\s+N\/A\s+3\s/);

    expect(await kubectl('cordon', 'node-2')).toContain('node/node-2 cordoned');
    expect(await kubectl('get', 'nodes', '--no-headers')).toMatch(/node-2\s+Ready,SchedulingDisabled/);
    expect(await kubectl('uncordon', 'node-2')).toContain('node/node-2 uncordoned');
    expect(await kubectl('get', 'nodes', '--no-headers')).toMatch(/node-2\s+Ready\s/);

    const onNode3 = (
      await kubectl('get', 'pods', '--field-selector=spec.nodeName=node-3', '-o', 'name')
    ).trim();
    const drained = await server.kubectl(['drain', 'node-3', '--ignore-daemonsets', '--timeout=20s']);
    expect(drained.code).toBe(0);
    const output = drained.stdout + drained.stderr;
    expect(output).toContain('node/node-3 cordoned');
    for (const name of onNode3.split('\n').filter(Boolean)) expect(output).toContain(`${name} evicted`);
    expect(output).toContain('node/node-3 drained');
    expect(await kubectl('rollout', 'status', 'deployment/nginx', '--timeout=20s')).toContain(
      'successfully rolled out',
    );
    const wide = await kubectl('get', 'pods', '-o', 'wide', '--no-headers');
    expect(wide).not.toContain('node-3');
    expect(wide.split('\n').filter((l) => l.startsWith('nginx-'))).toHaveLength(5);

    const wanted = {
      crashloop: /CrashLoopBackOff/,
      'bad-image': /ErrImagePull|ImagePullBackOff/,
      initializing: /Init:0\/1/,
      'one-shot': /Completed/,
    };
    let table = '';
    for (let i = 0; i < 50; i++) {
      table = await kubectl('get', 'pods', '--no-headers');
      const rows = table.split('\n');
      if (
        Object.entries(wanted).every(([name, re]) => rows.some((r) => r.startsWith(`${name} `) && re.test(r)))
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const [name, re] of Object.entries(wanted))
      expect(table.split('\n').find((r) => r.startsWith(`${name} `))).toMatch(re);

    // A NoExecute taint (seed 001) moves the pods already there to the nodes left.
    expect(await kubectl('taint', 'nodes', 'node-2', 'dedicated=infra:NoExecute')).toContain(
      'node/node-2 tainted',
    );
    expect(await kubectl('rollout', 'status', 'deployment/nginx', '--timeout=20s')).toContain(
      'successfully rolled out',
    );
    for (
      let i = 0;
      i < 50 && (await kubectl('get', 'pods', '-o', 'wide', '--no-headers')).includes('node-2');
      i++
    )
      await new Promise((r) => setTimeout(r, 200));
    const nodesOfNginx = (
      await kubectl('get', 'pods', '-l', 'app=nginx', '-o', 'jsonpath={.items[*].spec.nodeName}')
    ).split(' ');
    expect(nodesOfNginx).toEqual(Array(5).fill('node-1'));
    expect(await kubectl('taint', 'nodes', 'node-2', 'dedicated=infra:NoExecute-')).toContain(
      'node/node-2 untainted',
    );
  });
});

describe('the server with controllers: kubetime node verbs, kube-root-ca.crt, the LoadBalancer pool', () => {
  let server: TestServer & { database: TestDatabase };

  const cli = (...args: string[]): Promise<CliResult> => runCli(server.kubeconfig, args);
  async function ok(...args: string[]): Promise<string> {
    const result = await cli(...args);
    if (result.code !== 0) throw new Error(`kubetime ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }
  const nodeList = async () =>
    JSON.parse(await ok('node', 'list', '--branch', 'drill', '-o', 'json')).items as {
      name: string;
      state: string;
      ready: string;
      reason: string;
      taints: string[];
    }[];

  beforeAll(async () => {
    server = await startServer({
      env: { KUBETIME_CONTROLLERS: 'on', KUBETIME_LOADBALANCER_POOL: '192.168.49.0/30' },
    });
  });

  afterAll(async () => {
    if (server) await stopServer(server);
  });

  it('publishes the server CA as kube-root-ca.crt and serves LoadBalancer addresses from the configured pool', async () => {
    await server.kubectl(['create', 'namespace', 'fresh']);
    await server.kubectl(['create', 'service', 'loadbalancer', 'edge', '--tcp=80:80']);
    let ca = '';
    let row = '';
    for (let i = 0; i < 50 && !(ca && row.includes('192.168.49.1')); i++) {
      await new Promise((r) => setTimeout(r, 100));
      ca = (
        await server.kubectl([
          'get',
          'configmap',
          'kube-root-ca.crt',
          '-n',
          'fresh',
          '-o',
          'jsonpath={.data.ca\\.crt}',
        ])
      ).stdout;
      row = (await server.kubectl(['get', 'svc', 'edge', '--no-headers'])).stdout;
    }
    expect(ca.trim()).toBe(server.caPem.trim());
    expect(row).toMatch(/^edge\s+LoadBalancer\s+\S+\s+192\.168\.49\.1\s/);
  });

  it('stops a node: it goes Unknown with the unreachable taints; started, it is Ready again', async () => {
    await ok('branch', 'create', 'drill', '--clock', 'virtual');
    await ok('clock', 'advance', 'drill', '0');
    expect(await ok('node', 'stop', 'node-2', '--branch', 'drill')).toMatch(
      /^node\/node-2 stopped on branch drill \(revision \d+\)/,
    );
    const stopped = JSON.parse(await ok('node', 'stop', 'node-2', '--branch', 'drill', '-o', 'json'));
    expect(stopped).toMatchObject({ branch: 'drill', name: 'node-2', state: 'stopped', changed: false });
    // Main is another cluster: its node-2 runs on.
    expect(
      (await server.kubectl(['get', 'node', 'node-2', '-o', 'jsonpath={.metadata.annotations}'])).stdout,
    ).not.toContain('simulated-state');
    // Past the 40 s grace period on the branch's own clock.
    await ok('clock', 'advance', 'drill', '60');
    const listed = await nodeList();
    const down = listed.find((n) => n.name === 'node-2')!;
    expect(down).toMatchObject({ state: 'stopped', ready: 'Unknown', reason: 'NodeStatusUnknown' });
    expect(down.taints).toEqual(
      expect.arrayContaining([
        'node.kubernetes.io/unreachable:NoSchedule',
        'node.kubernetes.io/unreachable:NoExecute',
      ]),
    );
    expect(listed.find((n) => n.name === 'node-1')).toMatchObject({
      state: 'running',
      ready: 'True',
    });
    const table = await ok('node', 'list', '--branch', 'drill');
    expect(table).toMatch(/^NAME\s+STATE\s+READY\s+REASON\s+TAINTS/);
    expect(table).toMatch(
      /\nnode-2\s+stopped\s+Unknown\s+NodeStatusUnknown\s+node\.kubernetes\.io\/unreachable/,
    );
    // The history says who stopped it.
    const history = JSON.parse(
      await ok(
        'history',
        '--branch',
        'drill',
        '--kind',
        'Node',
        '--name',
        'node-2',
        '--actor',
        'admin',
        '-o',
        'json',
      ),
    );
    expect(history.items).toHaveLength(1);

    expect(await ok('node', 'start', 'node-2', '--branch', 'drill')).toContain(
      'node/node-2 started on branch drill',
    );
    await ok('clock', 'advance', 'drill', '1');
    const up = (await nodeList()).find((n) => n.name === 'node-2')!;
    expect(up).toMatchObject({ state: 'running', ready: 'True', taints: [] });
  });

  it('answers not found, not simulated and usage errors', async () => {
    const missing = await cli('node', 'stop', 'node-9', '--branch', 'drill');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nodes "node-9" not found (code -32002)');
    const noBranch = await cli('node', 'start', 'node-1', '--branch', 'nowhere');
    expect(noBranch.code).toBe(1);
    expect(noBranch.stderr).toContain('(code -32002)');
    const manual = await server.kubectl(
      ['create', '-f', '-'],
      'apiVersion: v1\nkind: Node\nmetadata:\n  name: bare-metal\n',
    );
    expect(manual.code).toBe(0);
    const foreign = await cli('node', 'stop', 'bare-metal');
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('node "bare-metal" is not simulated by kubetime');
    expect(foreign.stderr).toContain('(code -32602)');
    const usage = await cli('node', 'stop');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('node stop needs a NAME');
  });
});

describe('determinism of kubelets, node lifecycle and scheduler', () => {
  /** One fresh cluster fed the same writes; returns its log with uids named by first appearance. */
  async function run(): Promise<string> {
    const db = await createTestDatabase();
    await migrate(db.url);
    const pool = createPool(db.url, { max: 4 });
    const clock = new VirtualClock(new Date('2025-03-01T12:00:00Z'));
    const store = await EventStore.open({ pool, url: db.url, clock });
    const resources = new ResourceStore(store);
    const errors: unknown[] = [];
    let controllers: ControllerManager | undefined;
    try {
      await bootstrapCluster(resources, 'main', { address: '127.0.0.1', port: 6443 }, () => clock.now());
      controllers = await startControllers({
        events: store,
        resources,
        clock,
        seed: 'same-seed',
        onError: (_c, _k, error) => errors.push(error),
      });
      const admin = {
        user: { username: 'admin', groups: ['system:masters'] },
        branch: 'main',
        now: clock.now(),
      };
      await controllers.settle({ horizonMs: 0 });
      const staged: [string, Record<string, string>, string][] = [
        ['crashy', { 'kubetime.io/crash-after': '3s' }, 'nginx'],
        ['unready', { 'kubetime.io/readiness': 'fail' }, 'nginx'],
        ['pull', {}, 'nginx:bad'],
      ];
      for (const [name, annotations, image] of staged)
        await resources.create(
          admin,
          pods,
          'default',
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name, namespace: 'default', annotations },
            spec: { containers: [{ name: 'c', image, readinessProbe: { tcpSocket: { port: 80 } } }] },
          },
          { dryRun: false },
        );
      await controllers.settle({ horizonMs: 30_000 });
      const node = structuredClone(await resources.get(admin, nodes, undefined, 'node-1'));
      node.metadata.annotations = { ...node.metadata.annotations, 'kubetime.io/simulated-state': 'stopped' };
      await resources.update({ ...admin, now: clock.now() }, nodes, undefined, 'node-1', node, {
        dryRun: false,
      });
      await controllers.settle({ horizonMs: 400_000 });
      if (errors.length) throw errors[0];
      const log = await store.events('main', 0, (await store.branch()).revision, 100_000);
      const names = new Map<string, string>();
      const text = JSON.stringify(
        log.map((e) => [e.type, e.resource, e.namespace, e.name, e.actor, e.object]),
      );
      return text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (uid) => {
        if (!names.has(uid)) names.set(uid, `uid-${names.size}`);
        return names.get(uid)!;
      });
    } finally {
      await controllers?.stop();
      await store.close();
      await pool.end();
      await db.drop();
    }
  }

  it('writes the same log on two fresh clusters, crash loops and a stopped node included', async () => {
    const first = await run();
    const second = await run();
    expect(first).toContain('TaintManagerEviction');
    expect(first).toContain('CrashLoopBackOff');
    expect(second).toBe(first);
  });
});

describe('the simulated nodes’ size, set by the environment', () => {
  it('registers nodes with the configured CPU, memory and pod capacity', async () => {
    const server = await startServer({
      env: {
        KUBETIME_CONTROLLERS: 'on',
        KUBETIME_NODES: '1',
        KUBETIME_NODE_CPU: '2500m',
        KUBETIME_NODE_MEMORY: '16Gi',
        KUBETIME_NODE_MAX_PODS: '250',
      },
    });
    try {
      let capacity = '';
      for (let i = 0; i < 50 && !capacity; i++) {
        capacity = (await server.kubectl(['get', 'node', 'node-1', '-o', 'jsonpath={.status.capacity}']))
          .stdout;
        if (!capacity) await new Promise((r) => setTimeout(r, 100));
      }
      const node = JSON.parse(
        (await server.kubectl(['get', 'node', 'node-1', '-o', 'json'])).stdout,
      ) as KubeObject;
      for (const field of ['capacity', 'allocatable'])
        expect(node.status[field]).toMatchObject({ cpu: '2500m', memory: '16Gi', pods: '250' });
    } finally {
      await stopServer(server);
    }
  });

  it('refuses to start on a bad value, naming the variable and what it accepts', async () => {
    const entry = join(__dirname, '../dist/apps/server/src/main.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'kubetime-config-'));
    try {
      const failed = await new Promise<{ code: number | null; stderr: string }>((done) => {
        // Nothing listens on port 1: should the settings pass, the start fails at the database
        // instead of serving on a default port.
        const child = spawn(process.execPath, [entry], {
          env: {
            ...process.env,
            PORT: '0',
            HOST: '127.0.0.1',
            DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
            KUBETIME_DATA_DIR: dataDir,
            KUBETIME_NODE_MEMORY: '8GB',
            KUBETIME_NODE_MAX_PODS: 'lots',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        let stderr = '';
        child.stderr!.on('data', (d) => (stderr += d));
        child.on('exit', (code) => {
          clearTimeout(timer);
          done({ code, stderr });
        });
      });
      expect(failed.stderr).toBe(
        'kubetime failed to start: invalid configuration:\n' +
          '  KUBETIME_NODE_MEMORY must be a positive whole number of bytes as a quantity such as 8Gi or 16G, got "8GB"\n' +
          '  KUBETIME_NODE_MAX_PODS must be an integer from 1 to 100000, got "lots"\n',
      );
      expect(failed.code).toBe(1);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
