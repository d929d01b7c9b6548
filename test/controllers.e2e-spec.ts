import { findResourceType, KubeObject } from '@kubetime/api-machinery';
import { bootstrapCluster, RequestContext, ResourceStore } from '@kubetime/apiserver';
import { ControllerProgressStore, createPool, EventStore, migrate, StoredEvent } from '@kubetime/event-store';
import { BranchControllers } from '@kubetime/time-travel';
import { ControllerManager, startControllers, VirtualClock } from '../libs/controllers/src';
import { createTestDatabase, TestDatabase } from './support/database';

const deployments = findResourceType('apps', 'v1', 'deployments')!;
const replicasets = findResourceType('apps', 'v1', 'replicasets')!;
const pods = findResourceType('', 'v1', 'pods')!;
const nodes = findResourceType('', 'v1', 'nodes')!;
const events = findResourceType('', 'v1', 'events')!;

/** A cluster in this process: a fresh database, the real write path, controllers on a virtual clock. */
interface Cluster {
  db: TestDatabase;
  store: EventStore;
  resources: ResourceStore;
  clock: VirtualClock;
  controllers: ControllerManager;
  pool: ReturnType<typeof createPool>;
  user(): RequestContext;
  settle(horizonMs?: number): Promise<void>;
  restartControllers(): Promise<void>;
  close(): Promise<void>;
}

const START = new Date('2025-03-01T12:00:00Z');

async function cluster(): Promise<Cluster> {
  const db = await createTestDatabase();
  await migrate(db.url);
  const pool = createPool(db.url, { max: 4 });
  const clock = new VirtualClock(START);
  const store = await EventStore.open({ pool, url: db.url, clock });
  const resources = new ResourceStore(store);
  await bootstrapCluster(resources, 'main', { address: '127.0.0.1', port: 6443 }, () => clock.now());
  const errors: unknown[] = [];
  const start = () =>
    startControllers({
      events: store,
      resources,
      clock,
      seed: 'test-seed',
      nodes: { leaseRenewIntervalMs: 0 },
      kubelet: { startDelayMs: 2000, maxGracePeriodMs: 1000 },
      onError: (_c, _k, error) => errors.push(error),
    });
  const c: Cluster = {
    db,
    store,
    resources,
    clock,
    pool,
    controllers: await start(),
    user: () => ({
      user: { username: 'admin', groups: ['system:masters'] },
      branch: 'main',
      now: clock.now(),
    }),
    async settle(horizonMs = 120_000) {
      await c.controllers.settle({ horizonMs });
      if (errors.length) throw errors[0];
    },
    async restartControllers() {
      await c.controllers.stop();
      c.controllers = await start();
    },
    async close() {
      await c.controllers.stop();
      await store.close();
      await pool.end();
      await db.drop();
    },
  };
  return c;
}

function deployment(name: string, replicas: number, image = 'nginx:1.25'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'nginx', image, ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

async function list(c: Cluster, type = pods): Promise<KubeObject[]> {
  return (await c.resources.list({ branch: 'main' }, type, 'default', {})).items;
}

async function controllerWrites(c: Cluster, after = 0): Promise<StoredEvent[]> {
  const head = (await c.store.branch()).revision;
  return (await c.store.events('main', after, head, 100_000)).filter(
    (e) => e.actor !== 'admin' && e.actor !== 'system:apiserver',
  );
}

describe('controllers (real PostgreSQL, virtual clock)', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await cluster();
    await c.settle();
  });

  afterAll(async () => {
    await c?.close();
  });

  it('registers the simulated node pool', async () => {
    const items = (await c.resources.list({ branch: 'main' }, nodes, undefined, {})).items;
    expect(items.map((n) => n.metadata.name)).toEqual(['node-1', 'node-2', 'node-3']);
    expect(items[0].status.allocatable).toMatchObject({ cpu: '4', memory: '8Gi', pods: '110' });
    expect(items[1].spec.podCIDR).toBe('10.244.1.0/24');
  });

  it('rolls a Deployment out to Running, Ready pods with the real event chain', async () => {
    await c.resources.create(c.user(), deployments, 'default', deployment('web', 3), { dryRun: false });
    await c.settle();
    const d = await c.resources.get({ branch: 'main' }, deployments, 'default', 'web');
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    const rs = await list(c, replicasets);
    expect(rs).toHaveLength(1);
    const running = await list(c);
    expect(running).toHaveLength(3);
    for (const pod of running) {
      expect(pod.metadata.name).toMatch(
        new RegExp(`^${rs[0].metadata.name}-[bcdfghjklmnpqrstvwxz2456789]{5}$`),
      );
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.podIP).toMatch(/^10\.244\.\d\.\d+$/);
    }
    const reasons = (await list(c, events)).map((e) => e.reason);
    for (const r of [
      'ScalingReplicaSet',
      'SuccessfulCreate',
      'Scheduled',
      'Pulling',
      'Pulled',
      'Created',
      'Started',
    ])
      expect(reasons).toContain(r);
  });

  it('rolls a new template out, then back to the first revision, reusing its ReplicaSet', async () => {
    const first = (await list(c, replicasets))[0];
    const d = await c.resources.get({ branch: 'main' }, deployments, 'default', 'web');
    await c.resources.patch(
      c.user(),
      deployments,
      'default',
      'web',
      'application/strategic-merge-patch+json',
      {
        spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] } } },
      },
      { dryRun: false, force: false },
    );
    await c.settle();
    const sets = await list(c, replicasets);
    expect(sets).toHaveLength(2);
    const second = sets.find((rs) => rs.metadata.uid !== first.metadata.uid)!;
    expect(second.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(second.spec.replicas).toBe(3);
    expect(
      (await list(c, replicasets)).find((rs) => rs.metadata.uid === first.metadata.uid)!.spec.replicas,
    ).toBe(0);
    const live = await list(c);
    expect(
      live.every((p) => p.spec.containers[0].image === 'nginx:1.26' && p.status.phase === 'Running'),
    ).toBe(true);

    // What `kubectl rollout undo --to-revision=1` sends: the old template without its hash label.
    const template = structuredClone(first.spec.template);
    delete template.metadata.labels['pod-template-hash'];
    await c.resources.patch(
      c.user(),
      deployments,
      'default',
      'web',
      'application/json-patch+json',
      [
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/metadata/annotations', value: d.metadata.annotations },
      ],
      { dryRun: false, force: false },
    );
    await c.settle();
    const after = await list(c, replicasets);
    expect(after).toHaveLength(2);
    const restored = after.find((rs) => rs.metadata.uid === first.metadata.uid)!;
    expect(restored.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '3',
      'deployment.kubernetes.io/revision-history': '1',
    });
    expect(restored.spec.replicas).toBe(3);
    const rolledBack = await c.resources.get({ branch: 'main' }, deployments, 'default', 'web');
    expect(rolledBack.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(
      rolledBack.status.conditions.map((x: { type: string; reason: string }) => `${x.type}=${x.reason}`),
    ).toEqual(['Available=MinimumReplicasAvailable', 'Progressing=NewReplicaSetAvailable']);
  });

  it('scales up and down, deleting the least useful pods', async () => {
    await c.resources.patch(
      c.user(),
      deployments,
      'default',
      'web',
      'application/merge-patch+json',
      { spec: { replicas: 5 } },
      { dryRun: false, force: false },
    );
    await c.settle();
    expect((await list(c)).filter((p) => p.status.phase === 'Running')).toHaveLength(5);
    await c.resources.patch(
      c.user(),
      deployments,
      'default',
      'web',
      'application/merge-patch+json',
      { spec: { replicas: 2 } },
      { dryRun: false, force: false },
    );
    await c.settle();
    expect(await list(c)).toHaveLength(2);
    const d = await c.resources.get({ branch: 'main' }, deployments, 'default', 'web');
    expect(d.status).toMatchObject({ replicas: 2, availableReplicas: 2, updatedReplicas: 2 });
  });

  it('gives every pod on a node its own address, also pods started in one batch', async () => {
    await c.resources.create(c.user(), deployments, 'default', deployment('many', 12), { dryRun: false });
    await c.settle();
    const many = (await list(c)).filter((p) => p.metadata.labels?.app === 'many');
    expect(many).toHaveLength(12);
    const ips = many.map((p) => p.status.podIP);
    for (const pod of many) {
      const subnet = Number(pod.spec.nodeName.split('-')[1]) - 1;
      expect(pod.status.podIP).toMatch(new RegExp(`^10\\.244\\.${subnet}\\.\\d+$`));
    }
    expect(new Set(ips).size).toBe(12);
    await c.resources.delete(c.user(), deployments, 'default', 'many', { dryRun: false });
    await c.settle();
  });

  it('tells why a pod fits nowhere, in the scheduler message form', async () => {
    await c.resources.create(
      c.user(),
      pods,
      'default',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'huge' },
        spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '8' } } }] },
      },
      { dryRun: false },
    );
    await c.settle();
    const pod = await c.resources.get({ branch: 'main' }, pods, 'default', 'huge');
    const scheduled = pod.status.conditions.find((x: { type: string }) => x.type === 'PodScheduled');
    expect(scheduled).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect(scheduled.message).toBe(
      '0/3 nodes are available: 3 Insufficient cpu.' +
        ' preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
    );
    const failed = (await list(c, events)).filter(
      (e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'huge',
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ type: 'Warning', source: { component: 'default-scheduler' } });
    await c.resources.delete(c.user(), pods, 'default', 'huge', { dryRun: false });
    await c.settle();
  });

  it('abandons a start whose leader term ended, before it writes anything', async () => {
    const before = (await c.store.branch()).revision;
    const term = new AbortController();
    term.abort();
    await expect(
      startControllers({ events: c.store, resources: c.resources, clock: c.clock, signal: term.signal }),
    ).rejects.toMatchObject({ name: 'StartAborted' });
    expect((await c.store.branch()).revision).toBe(before);
  });

  it("abandons a branch's start whose leader term ended, before it writes anything", async () => {
    const head = (await c.store.branch()).revision;
    await c.store.branches.fork('term-ended', 'main', head, 'virtual');
    // The term ends while the branch's start is under way (it is looking for recorded progress).
    let term = new AbortController();
    const branches = new BranchControllers({
      events: c.store,
      resources: c.resources,
      leading: false,
      progress: new ControllerProgressStore(c.pool),
      onNotice: () => term.abort(),
    });
    try {
      await expect(branches.lead(term.signal)).rejects.toMatchObject({ name: 'StartAborted' });
      expect(branches.get('term-ended')).toBeUndefined();
      await branches.standby();
      // A term over before the branches are looked at starts none of them.
      term = new AbortController();
      term.abort();
      await expect(branches.lead(term.signal)).rejects.toMatchObject({ name: 'StartAborted' });
      expect(branches.get('term-ended')).toBeUndefined();
      expect((await c.store.branch('term-ended')).revision).toBe(head);
    } finally {
      await branches.standby();
      await c.store.branches.delete('term-ended');
    }
  });

  it('resumes after a restart without repeating a write', async () => {
    const before = (await c.store.branch()).revision;
    await c.restartControllers();
    await c.settle();
    expect((await c.store.branch()).revision).toBe(before);
  });

  it("deletes a Deployment's ReplicaSets and pods in the background", async () => {
    await c.resources.delete(c.user(), deployments, 'default', 'web', {
      dryRun: false,
      propagationPolicy: 'Background',
    });
    await c.settle();
    expect(await list(c, replicasets)).toHaveLength(0);
    expect(await list(c)).toHaveLength(0);
  });

  it('writes the same events on two fresh clusters fed the same writes', async () => {
    const runs: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const fresh = await cluster();
      try {
        await fresh.settle();
        await fresh.resources.create(fresh.user(), deployments, 'default', deployment('app', 3), {
          dryRun: false,
        });
        await fresh.settle();
        await fresh.resources.patch(
          fresh.user(),
          deployments,
          'default',
          'app',
          'application/strategic-merge-patch+json',
          {
            spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] } } },
          },
          { dryRun: false, force: false },
        );
        await fresh.settle();
        runs.push(normalise(await controllerWrites(fresh)));
      } finally {
        await fresh.close();
      }
    }
    expect(runs[0].length).toBeGreaterThan(50);
    expect(runs[1]).toEqual(runs[0]);
  });
});

/**
 * The log as comparable text: uids come from the apiserver (random), so each is replaced by the
 * order it first appeared in; everything else (names, timestamps on the virtual clock, IPs) must match.
 */
function normalise(log: StoredEvent[]): string[] {
  const uids = new Map<string, string>();
  const text = log
    .map((e) => `${e.revision} ${e.type} ${e.key} ${e.actor} cause=${e.cause} ${JSON.stringify(e.object)}`)
    .join('\n');
  const replaced = text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (uid) => {
    if (!uids.has(uid)) uids.set(uid, `uid-${uids.size}`);
    return uids.get(uid)!;
  });
  return replaced.split('\n');
}

describe('the bootstrap of the kubernetes Service', () => {
  it('writes nothing on a second start, and follows the apiserver to a new address', async () => {
    const db = await createTestDatabase();
    await migrate(db.url);
    const pool = createPool(db.url, { max: 2 });
    const store = await EventStore.open({ pool, url: db.url });
    const resources = new ResourceStore(store);
    const endpoints = findResourceType('', 'v1', 'endpoints')!;
    const slices = findResourceType('discovery.k8s.io', 'v1', 'endpointslices')!;
    const start = (address: string) =>
      bootstrapCluster(resources, 'main', { address, port: 6443 }, () => new Date());
    const read = async () => ({
      endpoints: await resources.get({ branch: 'main' }, endpoints, 'default', 'kubernetes'),
      slice: await resources.get({ branch: 'main' }, slices, 'default', 'kubernetes'),
    });
    try {
      await start('127.0.0.1');
      const head = (await store.branch()).revision;
      await start('127.0.0.1');
      expect((await store.branch()).revision).toBe(head);

      await start('10.0.0.7');
      let now = await read();
      expect(now.endpoints.subsets[0].addresses).toEqual([{ ip: '10.0.0.7' }]);
      expect(now.slice.endpoints[0].addresses).toEqual(['10.0.0.7']);

      await start('fd00::7');
      now = await read();
      expect(now.endpoints.subsets[0].addresses).toEqual([{ ip: 'fd00::7' }]);
      expect(now.slice).toMatchObject({ addressType: 'IPv6', endpoints: [{ addresses: ['fd00::7'] }] });
    } finally {
      await store.close();
      await pool.end();
      await db.drop();
    }
  });
});
