import { findResourceType, KubeObject } from '@kubetime/api-machinery';
import { bootstrapCluster, RequestContext, ResourceStore } from '@kubetime/apiserver';
import { createPool, EventStore, migrate, StoredEvent } from '@kubetime/event-store';
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
  await bootstrapCluster(resources, 'main', 6443, () => clock.now());
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
});
