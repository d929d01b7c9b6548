import { findResourceType, KubeObject } from '@kubetime/api-machinery';
import { bootstrapCluster, RequestContext, ResourceStore } from '@kubetime/apiserver';
import { createPool, EventStore, migrate } from '@kubetime/event-store';
import { ControllerManager, startControllers, VirtualClock } from '../libs/controllers/src';
import { createTestDatabase, TestDatabase } from './support/database';
import { startServer, stopServer, TestServer } from './support/server';

const T = {
  namespaces: findResourceType('', 'v1', 'namespaces')!,
  serviceaccounts: findResourceType('', 'v1', 'serviceaccounts')!,
  services: findResourceType('', 'v1', 'services')!,
  endpoints: findResourceType('', 'v1', 'endpoints')!,
  endpointslices: findResourceType('discovery.k8s.io', 'v1', 'endpointslices')!,
  pods: findResourceType('', 'v1', 'pods')!,
  events: findResourceType('', 'v1', 'events')!,
  jobs: findResourceType('batch', 'v1', 'jobs')!,
  cronjobs: findResourceType('batch', 'v1', 'cronjobs')!,
  statefulsets: findResourceType('apps', 'v1', 'statefulsets')!,
  daemonsets: findResourceType('apps', 'v1', 'daemonsets')!,
  controllerrevisions: findResourceType('apps', 'v1', 'controllerrevisions')!,
  persistentvolumeclaims: findResourceType('', 'v1', 'persistentvolumeclaims')!,
  nodes: findResourceType('', 'v1', 'nodes')!,
  configmaps: findResourceType('', 'v1', 'configmaps')!,
};

/** Stands in for the server's CA: the publisher copies whatever PEM it is given. */
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBkubetime\n-----END CERTIFICATE-----\n';
/** Two addresses, so the third LoadBalancer Service finds the pool exhausted. */
const LB_POOL = { first: '192.168.49.10', last: '192.168.49.11' };

const START = new Date('2025-03-01T12:00:00Z');

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

/** A fresh database, the real write path, all controllers on a virtual clock (as controllers.e2e). */
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
      seed: 'workloads',
      nodes: { leaseRenewIntervalMs: 0 },
      kubelet: { startDelayMs: 2000, maxGracePeriodMs: 1000 },
      caPem: CA_PEM,
      loadBalancerPool: LB_POOL,
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

describe('workload controllers (real PostgreSQL, virtual clock)', () => {
  let c: Cluster;
  // A copy: what the store hands out is its own head state, which a test must not change in place.
  const get = async (type: (typeof T)[keyof typeof T], namespace: string | undefined, name: string) =>
    structuredClone(await c.resources.get({ branch: 'main' }, type, namespace, name));
  const list = async (type: (typeof T)[keyof typeof T], namespace = 'default') =>
    (await c.resources.list({ branch: 'main' }, type, namespace, {})).items;
  const create = (type: (typeof T)[keyof typeof T], object: KubeObject) =>
    c.resources.create(c.user(), type, object.metadata.namespace, object, { dryRun: false });

  beforeAll(async () => {
    c = await cluster();
    await c.settle();
  });

  afterAll(async () => {
    await c?.close();
  });

  describe('ServiceAccounts', () => {
    it('gives every namespace, existing and new, a default ServiceAccount, and recreates it', async () => {
      for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
        expect((await get(T.serviceaccounts, ns, 'default')).metadata.name).toBe('default');
      await create(T.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
      await c.settle();
      const first = await get(T.serviceaccounts, 'team-a', 'default');
      await c.resources.delete(c.user(), T.serviceaccounts, 'team-a', 'default', { dryRun: false });
      await c.settle();
      const again = await get(T.serviceaccounts, 'team-a', 'default');
      expect(again.metadata.uid).not.toBe(first.metadata.uid);
    });
  });

  describe('Endpoints and EndpointSlices', () => {
    // The apiserver's own slice for the kubernetes Service lives in the same namespace.
    const readinessSlices = async () =>
      (await list(T.endpointslices)).filter(
        (s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'svc-readiness',
      );

    const pod = (name: string, readinessDelay?: number): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels: { app: 'readiness' } },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: 'app',
            image: 'kubetm/app',
            ports: [{ name: 'http', containerPort: 8080 }],
            ...(readinessDelay
              ? { readinessProbe: { exec: { command: ['true'] }, initialDelaySeconds: readinessDelay } }
              : {}),
          },
        ],
      },
    });

    it('lists ready pods under addresses and not-ready ones under notReadyAddresses, following readiness', async () => {
      await create(T.services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'svc-readiness', namespace: 'default', labels: { tier: 'web' } },
        spec: { selector: { app: 'readiness' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
      });
      await create(T.pods, pod('pod1'));
      await create(T.pods, pod('pod-readiness', 60));
      await c.settle(10_000);
      const p1 = await get(T.pods, 'default', 'pod1');
      const pr = await get(T.pods, 'default', 'pod-readiness');
      let ep = await get(T.endpoints, 'default', 'svc-readiness');
      expect(ep.metadata.labels).toEqual({
        tier: 'web',
        'endpoints.kubernetes.io/managed-by': 'endpoint-controller',
      });
      expect(ep.subsets).toEqual([
        {
          addresses: [
            {
              ip: p1.status.podIP,
              nodeName: p1.spec.nodeName,
              targetRef: { kind: 'Pod', namespace: 'default', name: 'pod1', uid: p1.metadata.uid },
            },
          ],
          notReadyAddresses: [
            {
              ip: pr.status.podIP,
              nodeName: pr.spec.nodeName,
              targetRef: { kind: 'Pod', namespace: 'default', name: 'pod-readiness', uid: pr.metadata.uid },
            },
          ],
          ports: [{ name: 'web', port: 8080, protocol: 'TCP' }],
        },
      ]);
      let slices = await readinessSlices();
      expect(slices).toHaveLength(1);
      expect(slices[0].metadata.name).toMatch(/^svc-readiness-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(slices[0].metadata.labels).toMatchObject({
        'kubernetes.io/service-name': 'svc-readiness',
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      });
      expect(slices[0].metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'Service',
        name: 'svc-readiness',
      });
      expect(slices[0].addressType).toBe('IPv4');
      expect(slices[0].ports).toEqual([{ name: 'web', port: 8080, protocol: 'TCP' }]);
      const byName = (s: KubeObject, name: string) =>
        s.endpoints.find((e: { targetRef: { name: string } }) => e.targetRef.name === name);
      expect(byName(slices[0], 'pod-readiness').conditions).toEqual({
        ready: false,
        serving: false,
        terminating: false,
      });
      expect(byName(slices[0], 'pod1')).toMatchObject({
        addresses: [p1.status.podIP],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: p1.spec.nodeName,
      });

      await c.settle(120_000);
      ep = await get(T.endpoints, 'default', 'svc-readiness');
      expect(ep.subsets).toHaveLength(1);
      expect(
        ep.subsets[0].addresses.map((a: { targetRef: { name: string } }) => a.targetRef.name).sort(),
      ).toEqual(['pod-readiness', 'pod1']);
      expect(ep.subsets[0].notReadyAddresses).toBeUndefined();
      slices = await readinessSlices();
      expect(byName(slices[0], 'pod-readiness').conditions.ready).toBe(true);
    });

    it('drops deleted pods, keeps an empty slice, and goes with the Service', async () => {
      for (const name of ['pod1', 'pod-readiness'])
        await c.resources.delete(c.user(), T.pods, 'default', name, { dryRun: false });
      await c.settle();
      const ep = await get(T.endpoints, 'default', 'svc-readiness');
      expect(ep.subsets).toBeUndefined();
      const slices = await readinessSlices();
      expect(slices).toHaveLength(1);
      expect(slices[0].endpoints).toEqual([]);
      await c.resources.delete(c.user(), T.services, 'default', 'svc-readiness', { dryRun: false });
      await c.settle();
      expect((await list(T.endpoints)).map((e) => e.metadata.name)).not.toContain('svc-readiness');
      expect(await readinessSlices()).toHaveLength(0);

      // Endpoints someone wrote by hand, with no Service, are theirs: the controller leaves them.
      await create(T.endpoints, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'external', namespace: 'default' },
        subsets: [{ addresses: [{ ip: '185.199.110.153' }], ports: [{ port: 80 }] }],
      });
      await c.settle();
      expect((await list(T.endpoints)).map((e) => e.metadata.name)).toContain('external');
    });
  });

  describe('Jobs', () => {
    /** busybox runs its script as the kubelet's behaviour rules read it: `sleep 10; exit 1` fails after 10 s. */
    const job = (name: string, script: string, spec: Record<string, unknown>): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: 'default' },
      spec: {
        ...spec,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'work', image: 'busybox', command: ['sh', '-c', script] }],
          },
        },
      },
    });
    const podsOf = async (name: string) =>
      (await list(T.pods)).filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === name);
    const conditionsOf = (j: KubeObject) =>
      j.status.conditions.map((x: { type: string; reason: string }) => [x.type, x.reason]);

    it('runs parallelism pods at a time until completions succeed, then Completes', async () => {
      const started = c.clock.now();
      await create(T.jobs, job('pi', 'sleep 10', { completions: 3, parallelism: 2 }));
      await c.settle(1000);
      let pods = await podsOf('pi');
      expect(pods).toHaveLength(2);
      for (const p of pods) {
        expect(p.metadata.name).toMatch(/^pi-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
        expect(p.metadata.finalizers).toEqual(['batch.kubernetes.io/job-tracking']);
        expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Job', name: 'pi', controller: true });
      }
      let j = await get(T.jobs, 'default', 'pi');
      expect(j.status).toMatchObject({ active: 2, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
      expect(Date.parse(j.status.startTime)).toBe(Math.floor(started.getTime() / 1000) * 1000);

      await c.settle(120_000);
      pods = await podsOf('pi');
      expect(pods).toHaveLength(3);
      expect(pods.every((p) => p.status.phase === 'Succeeded' && !p.metadata.finalizers)).toBe(true);
      j = await get(T.jobs, 'default', 'pi');
      expect(j.status).toMatchObject({ succeeded: 3, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
      expect(j.status.active).toBeUndefined();
      expect(j.status.completionTime).toBeDefined();
      expect(conditionsOf(j)).toEqual([
        ['SuccessCriteriaMet', 'CompletionsReached'],
        ['Complete', 'CompletionsReached'],
      ]);
      const reasons = (await list(T.events))
        .filter((e) => e.involvedObject.name === 'pi')
        .map((e) => e.reason);
      expect(reasons.filter((r) => r === 'SuccessfulCreate')).toHaveLength(3);
      expect(reasons).toContain('Completed');
    });

    it('replaces failed pods up to backoffLimit, then fails the Job', async () => {
      await create(T.jobs, job('flaky', 'sleep 5; exit 1', { backoffLimit: 1 }));
      await c.settle(120_000);
      const j = await get(T.jobs, 'default', 'flaky');
      expect(j.status.failed).toBe(2);
      expect(j.status.succeeded).toBeUndefined();
      expect(conditionsOf(j)).toEqual([
        ['FailureTarget', 'BackoffLimitExceeded'],
        ['Failed', 'BackoffLimitExceeded'],
      ]);
      const pods = (await podsOf('flaky')).sort(
        (a, b) => Date.parse(a.metadata.creationTimestamp!) - Date.parse(b.metadata.creationTimestamp!),
      );
      expect(pods).toHaveLength(2);
      expect(pods.every((p) => p.status.phase === 'Failed')).toBe(true);
      // The replacement waits out the 10 s pod backoff after the first failure.
      const firstFailed = Date.parse(pods[0].status.containerStatuses[0].state.terminated.finishedAt);
      expect(Date.parse(pods[1].metadata.creationTimestamp!)).toBeGreaterThanOrEqual(firstFailed + 10_000);
      expect((await list(T.events)).some((e) => e.reason === 'BackoffLimitExceeded')).toBe(true);
    });

    it('holds a suspended Job without pods or a start time, and runs it once resumed', async () => {
      await create(T.jobs, job('held', 'sleep 5', { suspend: true }));
      await c.settle(60_000);
      let j = await get(T.jobs, 'default', 'held');
      expect(await podsOf('held')).toHaveLength(0);
      expect(j.status.startTime).toBeUndefined();
      expect(j.status.conditions).toEqual([
        expect.objectContaining({
          type: 'Suspended',
          status: 'True',
          reason: 'JobSuspended',
          message: 'Job suspended',
        }),
      ]);
      await c.resources.patch(
        c.user(),
        T.jobs,
        'default',
        'held',
        'application/merge-patch+json',
        { spec: { suspend: false } },
        { dryRun: false, force: false },
      );
      const resumed = c.clock.now();
      await c.settle(60_000);
      j = await get(T.jobs, 'default', 'held');
      expect(Date.parse(j.status.startTime)).toBe(Math.floor(resumed.getTime() / 1000) * 1000);
      expect(conditionsOf(j)).toEqual([
        ['Suspended', 'JobResumed'],
        ['SuccessCriteriaMet', 'CompletionsReached'],
        ['Complete', 'CompletionsReached'],
      ]);
      expect(j.status.succeeded).toBe(1);
    });

    it('fails a Job that outlives activeDeadlineSeconds, deleting its pods without counting them', async () => {
      await create(T.jobs, job('slow', 'sleep 600', { activeDeadlineSeconds: 30 }));
      await c.settle(120_000);
      const j = await get(T.jobs, 'default', 'slow');
      expect(conditionsOf(j)).toEqual([
        ['FailureTarget', 'DeadlineExceeded'],
        ['Failed', 'DeadlineExceeded'],
      ]);
      expect(j.status.failed).toBeUndefined();
      expect(j.status.active).toBeUndefined();
      expect(await podsOf('slow')).toHaveLength(0);
    });
  });

  describe('CronJobs', () => {
    const cronjob = (name: string, script: string, spec: Record<string, unknown>): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name, namespace: 'default' },
      spec: {
        schedule: '*/1 * * * *',
        ...spec,
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'tick', image: 'busybox', command: ['sh', '-c', script] }],
              },
            },
          },
        },
      },
    });
    const jobsOf = async (name: string) =>
      (await list(T.jobs)).filter((j) => j.metadata.ownerReferences?.[0]?.name === name);
    /** Moves the virtual clock to just past the next whole minute, so schedules line up with the test. */
    const toNextMinute = async () => {
      const now = c.clock.now().getTime();
      await c.settle(Math.ceil((now + 1) / 60_000) * 60_000 - now + 1000);
    };

    it('starts a Job named by its scheduled minute every minute, keeps the history limit, stops when suspended', async () => {
      await toNextMinute();
      await create(T.cronjobs, cronjob('tick', 'sleep 5', { successfulJobsHistoryLimit: 2 }));
      const created = c.clock.now().getTime();
      await c.settle(3 * 60_000 + 30_000);
      const jobs = await jobsOf('tick');
      const minutes = [1, 2, 3].map((i) => Math.floor(created / 60_000) + i);
      expect(jobs.map((j) => j.metadata.name).sort()).toEqual(minutes.slice(1).map((m) => `tick-${m}`));
      expect(jobs[0].metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBeDefined();
      expect(
        jobs.every((j) => j.status.conditions?.some((x: { type: string }) => x.type === 'Complete')),
      ).toBe(true);
      let cj = await get(T.cronjobs, 'default', 'tick');
      expect(Date.parse(cj.status.lastScheduleTime)).toBe(minutes[2] * 60_000);
      expect(Date.parse(cj.status.lastSuccessfulTime)).toBeGreaterThan(minutes[2] * 60_000);
      expect(cj.status.active).toBeUndefined();
      const reasons = (await list(T.events))
        .filter((e) => e.involvedObject.name === 'tick')
        .map((e) => e.reason);
      expect(reasons).toEqual(
        expect.arrayContaining(['SuccessfulCreate', 'SawCompletedJob', 'SuccessfulDelete']),
      );

      cj.spec.suspend = true;
      await c.resources.update(c.user(), T.cronjobs, 'default', 'tick', cj, { dryRun: false });
      await c.settle(3 * 60_000);
      cj = await get(T.cronjobs, 'default', 'tick');
      expect(Date.parse(cj.status.lastScheduleTime)).toBe(minutes[2] * 60_000);
      expect((await jobsOf('tick')).map((j) => j.metadata.name).sort()).toEqual(
        minutes.slice(1).map((m) => `tick-${m}`),
      );
      await c.resources.delete(c.user(), T.cronjobs, 'default', 'tick', { dryRun: false });
    });

    it('Forbid skips runs while one is active; Replace swaps the running Job for the new one', async () => {
      await toNextMinute();
      await create(T.cronjobs, cronjob('forbid', 'sleep 600', { concurrencyPolicy: 'Forbid' }));
      await create(T.cronjobs, cronjob('replace', 'sleep 600', { concurrencyPolicy: 'Replace' }));
      const created = c.clock.now().getTime();
      await c.settle(3 * 60_000 + 30_000);
      const last = Math.floor(created / 60_000) + 3;

      const forbidden = await jobsOf('forbid');
      expect(forbidden.map((j) => j.metadata.name)).toEqual([`forbid-${last - 2}`]);
      const forbid = await get(T.cronjobs, 'default', 'forbid');
      expect(forbid.status.active.map((r: { name: string }) => r.name)).toEqual([`forbid-${last - 2}`]);
      expect(
        (await list(T.events)).some(
          (e) => e.involvedObject.name === 'forbid' && e.reason === 'JobAlreadyActive',
        ),
      ).toBe(true);

      const replaced = (await jobsOf('replace')).filter((j) => !j.metadata.deletionTimestamp);
      expect(replaced.map((j) => j.metadata.name)).toEqual([`replace-${last}`]);
      const replace = await get(T.cronjobs, 'default', 'replace');
      expect(replace.status.active.map((r: { name: string }) => r.name)).toEqual([`replace-${last}`]);
      expect(Date.parse(replace.status.lastScheduleTime)).toBe(last * 60_000);
      for (const name of ['forbid', 'replace'])
        await c.resources.delete(c.user(), T.cronjobs, 'default', name, { dryRun: false });
      await c.settle(5000);
    });
  });

  describe('StatefulSets', () => {
    const sts = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: 'default' },
      spec: {
        replicas: 3,
        serviceName: name,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'db', image: 'postgres:16' }] },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
        ...extra,
      },
    });
    const podsOf = async (name: string) =>
      (await list(T.pods))
        .filter(
          (p) =>
            p.metadata.ownerReferences?.[0]?.name === name &&
            p.metadata.ownerReferences[0].kind === 'StatefulSet',
        )
        .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));

    it('creates ordinals one at a time, each after the previous is Ready, with their claims', async () => {
      await create(T.statefulsets, sts('db'));
      await c.settle(1000);
      expect((await podsOf('db')).map((p) => p.metadata.name)).toEqual(['db-0']);
      await c.settle(120_000);
      const pods = await podsOf('db');
      expect(pods.map((p) => p.metadata.name)).toEqual(['db-0', 'db-1', 'db-2']);
      const started = pods.map((p) => Date.parse(p.metadata.creationTimestamp!));
      expect(started[0]).toBeLessThan(started[1]);
      expect(started[1]).toBeLessThan(started[2]);
      const set = await get(T.statefulsets, 'default', 'db');
      const revisions = (await list(T.controllerrevisions)).filter(
        (r) => r.metadata.ownerReferences?.[0]?.name === 'db',
      );
      expect(revisions).toHaveLength(1);
      expect(revisions[0].revision).toBe(1);
      expect(revisions[0].metadata.name).toMatch(/^db-[a-z0-9]+$/);
      expect(revisions[0].metadata.labels).toMatchObject({
        app: 'db',
        'controller-revision-hash': expect.any(String),
      });
      expect(revisions[0].data.spec.template.$patch).toBe('replace');
      for (const [i, p] of pods.entries()) {
        expect(p.metadata.labels).toMatchObject({
          app: 'db',
          'controller-revision-hash': revisions[0].metadata.name,
          'statefulset.kubernetes.io/pod-name': `db-${i}`,
          'apps.kubernetes.io/pod-index': String(i),
        });
        expect(p.spec).toMatchObject({ hostname: `db-${i}`, subdomain: 'db' });
        expect(p.spec.volumes).toContainEqual({
          name: 'data',
          persistentVolumeClaim: { claimName: `data-db-${i}` },
        });
        expect(p.status.phase).toBe('Running');
      }
      expect((await list(T.persistentvolumeclaims)).map((c) => c.metadata.name).sort()).toEqual([
        'data-db-0',
        'data-db-1',
        'data-db-2',
      ]);
      expect(set.status).toMatchObject({
        observedGeneration: 1,
        replicas: 3,
        readyReplicas: 3,
        currentReplicas: 3,
        updatedReplicas: 3,
        availableReplicas: 3,
        currentRevision: revisions[0].metadata.name,
        updateRevision: revisions[0].metadata.name,
        collisionCount: 0,
      });
    });

    it('rolls a new template from the highest ordinal down, honouring the partition', async () => {
      const set = await get(T.statefulsets, 'default', 'db');
      set.spec.template.spec.containers[0].image = 'postgres:17';
      set.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
      await c.resources.update(c.user(), T.statefulsets, 'default', 'db', set, { dryRun: false });
      await c.settle(120_000);
      let pods = await podsOf('db');
      expect(pods.map((p) => p.spec.containers[0].image)).toEqual([
        'postgres:16',
        'postgres:16',
        'postgres:17',
      ]);
      let status = (await get(T.statefulsets, 'default', 'db')).status;
      expect(status.updatedReplicas).toBe(1);
      expect(status.currentRevision).not.toBe(status.updateRevision);

      const again = await get(T.statefulsets, 'default', 'db');
      again.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
      await c.resources.update(c.user(), T.statefulsets, 'default', 'db', again, { dryRun: false });
      await c.settle(120_000);
      pods = await podsOf('db');
      expect(pods.map((p) => p.spec.containers[0].image)).toEqual([
        'postgres:17',
        'postgres:17',
        'postgres:17',
      ]);
      status = (await get(T.statefulsets, 'default', 'db')).status;
      expect(status).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 3 });
      expect(status.currentRevision).toBe(status.updateRevision);
      const revisions = (await list(T.controllerrevisions)).filter(
        (r) => r.metadata.ownerReferences?.[0]?.name === 'db',
      );
      expect(revisions.map((r) => r.revision).sort()).toEqual([1, 2]);
      const deletes = (await list(T.events))
        .filter((e) => e.involvedObject.name === 'db' && e.reason === 'SuccessfulDelete')
        .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
        .map((e) => e.message);
      expect(deletes).toEqual([
        'delete Pod db-2 in StatefulSet db successful',
        'delete Pod db-1 in StatefulSet db successful',
        'delete Pod db-0 in StatefulSet db successful',
      ]);
    });

    it('scales down from the highest ordinal and keeps the claims', async () => {
      await c.resources.patch(
        c.user(),
        T.statefulsets,
        'default',
        'db',
        'application/merge-patch+json',
        { spec: { replicas: 1 } },
        { dryRun: false, force: false },
      );
      await c.settle(120_000);
      expect((await podsOf('db')).map((p) => p.metadata.name)).toEqual(['db-0']);
      expect(await list(T.persistentvolumeclaims)).toHaveLength(3);
      expect((await get(T.statefulsets, 'default', 'db')).status).toMatchObject({
        replicas: 1,
        readyReplicas: 1,
      });
    });
  });

  describe('DaemonSets', () => {
    const podsOf = async (name: string) =>
      (await list(T.pods, 'kube-system')).filter(
        (p) => p.metadata.ownerReferences?.[0]?.name === name && !p.metadata.deletionTimestamp,
      );
    const statusOf = async () => (await get(T.daemonsets, 'kube-system', 'agent')).status;

    it('runs one pod on every node, pinned by node affinity, with the full status', async () => {
      await create(T.daemonsets, {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'agent', namespace: 'kube-system' },
        spec: {
          selector: { matchLabels: { app: 'agent' } },
          template: {
            metadata: { labels: { app: 'agent' } },
            spec: { containers: [{ name: 'agent', image: 'fluentd:1.16' }] },
          },
        },
      });
      await c.settle(120_000);
      const pods = await podsOf('agent');
      expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(['node-1', 'node-2', 'node-3']);
      const revisions = (await list(T.controllerrevisions, 'kube-system')).filter(
        (r) => r.metadata.ownerReferences?.[0]?.name === 'agent',
      );
      expect(revisions).toHaveLength(1);
      for (const p of pods) {
        expect(p.metadata.name).toMatch(/^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
        expect(p.metadata.labels).toMatchObject({
          app: 'agent',
          'controller-revision-hash': revisions[0].metadata.labels?.['controller-revision-hash'],
          'pod-template-generation': '1',
        });
        expect(
          p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
        ).toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec.nodeName] }] }]);
        expect(p.spec.tolerations).toContainEqual({
          key: 'node.kubernetes.io/unschedulable',
          operator: 'Exists',
          effect: 'NoSchedule',
        });
        expect(p.status.phase).toBe('Running');
      }
      expect(await statusOf()).toEqual({
        currentNumberScheduled: 3,
        numberMisscheduled: 0,
        desiredNumberScheduled: 3,
        numberReady: 3,
        observedGeneration: 1,
        updatedNumberScheduled: 3,
        numberAvailable: 3,
      });
    });

    it('rolls a new template out node by node within maxUnavailable', async () => {
      await c.resources.patch(
        c.user(),
        T.daemonsets,
        'kube-system',
        'agent',
        'application/strategic-merge-patch+json',
        { spec: { template: { spec: { containers: [{ name: 'agent', image: 'fluentd:1.17' }] } } } },
        { dryRun: false, force: false },
      );
      await c.settle(120_000);
      const pods = await podsOf('agent');
      expect(pods).toHaveLength(3);
      expect(
        pods.every(
          (p) =>
            p.spec.containers[0].image === 'fluentd:1.17' &&
            p.metadata.labels?.['pod-template-generation'] === '2',
        ),
      ).toBe(true);
      expect(await statusOf()).toMatchObject({
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberAvailable: 3,
        observedGeneration: 2,
      });
      const revisions = (await list(T.controllerrevisions, 'kube-system')).filter(
        (r) => r.metadata.ownerReferences?.[0]?.name === 'agent',
      );
      expect(revisions.map((r) => r.revision).sort()).toEqual([1, 2]);
      // maxUnavailable 1: never more than one node without a running agent. Each delete is followed by its replacement's create.
      const reasons = (await list(T.events, 'kube-system'))
        .filter((e) => e.involvedObject.name === 'agent' && e.reason.startsWith('Successful'))
        .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
        .map((e) => e.reason)
        .slice(3);
      expect(reasons).toEqual([
        'SuccessfulDelete',
        'SuccessfulCreate',
        'SuccessfulDelete',
        'SuccessfulCreate',
        'SuccessfulDelete',
        'SuccessfulCreate',
      ]);
    });

    it('leaves nodes whose taints it does not tolerate, and goes when the node selector stops matching', async () => {
      const node = await get(T.nodes, undefined, 'node-3');
      node.spec.taints = [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }];
      await c.resources.update(c.user(), T.nodes, undefined, 'node-3', node, { dryRun: false });
      await c.settle(120_000);
      expect((await podsOf('agent')).map((p) => p.spec.nodeName).sort()).toEqual(['node-1', 'node-2']);
      expect(await statusOf()).toMatchObject({
        desiredNumberScheduled: 2,
        currentNumberScheduled: 2,
        numberMisscheduled: 0,
      });

      await c.resources.patch(
        c.user(),
        T.daemonsets,
        'kube-system',
        'agent',
        'application/strategic-merge-patch+json',
        { spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': 'node-1' } } } } },
        { dryRun: false, force: false },
      );
      await c.settle(120_000);
      expect((await podsOf('agent')).map((p) => p.spec.nodeName)).toEqual(['node-1']);
      expect(await statusOf()).toMatchObject({
        desiredNumberScheduled: 1,
        currentNumberScheduled: 1,
        numberReady: 1,
      });
    });
  });

  describe('kube-root-ca.crt', () => {
    it('is published in every namespace, recreated when deleted and restored when edited', async () => {
      for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
        const cm = await get(T.configmaps, ns, 'kube-root-ca.crt');
        expect(cm.data).toEqual({ 'ca.crt': CA_PEM });
        expect(cm.metadata.annotations!['kubernetes.io/description']).toContain('verify the kube-apiserver');
      }
      await create(T.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-ca' } });
      await c.settle();
      const first = await get(T.configmaps, 'team-ca', 'kube-root-ca.crt');
      expect(first.data).toEqual({ 'ca.crt': CA_PEM });

      const edited = structuredClone(first);
      edited.data = { 'ca.crt': 'not a CA', extra: 'x' };
      edited.metadata.annotations = { mine: 'kept' };
      edited.metadata.labels = { team: 'ca' };
      await c.resources.update(c.user(), T.configmaps, 'team-ca', 'kube-root-ca.crt', edited, {
        dryRun: false,
      });
      await c.settle();
      const restored = await get(T.configmaps, 'team-ca', 'kube-root-ca.crt');
      expect(restored.data).toEqual({ 'ca.crt': CA_PEM });
      expect(restored.metadata.annotations!.mine).toBe('kept');
      expect(restored.metadata.annotations!['kubernetes.io/description']).toContain(
        'verify the kube-apiserver',
      );
      expect(restored.metadata.labels).toEqual({ team: 'ca' });

      await c.resources.delete(c.user(), T.configmaps, 'team-ca', 'kube-root-ca.crt', { dryRun: false });
      await c.settle();
      const again = await get(T.configmaps, 'team-ca', 'kube-root-ca.crt');
      expect(again.metadata.uid).not.toBe(first.metadata.uid);
      expect(again.data).toEqual({ 'ca.crt': CA_PEM });
    });
  });

  describe('LoadBalancer Services', () => {
    const lb = (name: string, spec: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80 }], ...spec },
    });
    const ingress = async (name: string) =>
      (await get(T.services, 'default', name)).status?.loadBalancer ?? {};
    const warnings = async (name: string) =>
      (await list(T.events))
        .filter((e) => e.involvedObject.name === name && e.type === 'Warning')
        .map((e) => `${e.reason}: ${e.message}`);

    it('gives addresses from the pool, honours loadBalancerIP, waits when exhausted, releases on delete and type change', async () => {
      await create(T.services, lb('lb-a'));
      await c.settle();
      expect(await ingress('lb-a')).toEqual({ ingress: [{ ip: '192.168.49.10', ipMode: 'VIP' }] });
      const a = await get(T.services, 'default', 'lb-a');
      expect(a.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);

      // A requested address outside the pool or taken is refused with a Warning; the Service waits.
      await create(T.services, lb('lb-out', { loadBalancerIP: '10.1.2.3' }));
      await create(T.services, lb('lb-taken', { loadBalancerIP: '192.168.49.10' }));
      await c.settle();
      expect(await ingress('lb-out')).toEqual({});
      expect(await warnings('lb-out')).toEqual([
        'SyncLoadBalancerFailed: Error syncing load balancer: failed to ensure load balancer: loadBalancerIP 10.1.2.3 is not in the pool 192.168.49.10-192.168.49.11',
      ]);
      expect(await ingress('lb-taken')).toEqual({});
      expect((await warnings('lb-taken'))[0]).toContain('192.168.49.10 is already in use by another Service');

      await create(T.services, lb('lb-b', { loadBalancerIP: '192.168.49.11' }));
      await create(T.services, lb('lb-c'));
      await c.settle();
      expect(await ingress('lb-b')).toEqual({ ingress: [{ ip: '192.168.49.11', ipMode: 'VIP' }] });
      expect(await ingress('lb-c')).toEqual({});
      expect(await warnings('lb-c')).toEqual([
        'SyncLoadBalancerFailed: Error syncing load balancer: failed to ensure load balancer: no address left in the pool 192.168.49.10-192.168.49.11',
      ]);

      // lb-a turning ClusterIP releases .10: lb-taken asked for exactly that one and gets it first.
      const clusterIp = await get(T.services, 'default', 'lb-a');
      clusterIp.spec.type = 'ClusterIP';
      // As against a real apiserver, the fields only LoadBalancer Services may carry go with the type.
      delete clusterIp.spec.externalTrafficPolicy;
      delete clusterIp.spec.allocateLoadBalancerNodePorts;
      await c.resources.update(c.user(), T.services, 'default', 'lb-a', clusterIp, { dryRun: false });
      await c.settle();
      expect(await ingress('lb-a')).toEqual({});
      expect(await ingress('lb-taken')).toEqual({ ingress: [{ ip: '192.168.49.10', ipMode: 'VIP' }] });
      expect(await ingress('lb-c')).toEqual({});

      await c.resources.delete(c.user(), T.services, 'default', 'lb-b', { dryRun: false });
      await c.settle();
      expect(await ingress('lb-c')).toEqual({ ingress: [{ ip: '192.168.49.11', ipMode: 'VIP' }] });
      // A list is in key order, and Event names end in a random suffix: the write order is the
      // resourceVersion's.
      const reasons = (await list(T.events))
        .filter((e) => e.involvedObject.name === 'lb-c' && e.type === 'Normal')
        .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
        .map((e) => e.reason);
      expect(reasons).toEqual(['EnsuringLoadBalancer', 'EnsuredLoadBalancer']);

      // Another implementation's class is not ours to serve.
      await create(T.services, lb('lb-other', { loadBalancerClass: 'example.com/other' }));
      await c.settle();
      expect(await ingress('lb-other')).toEqual({});
      for (const name of ['lb-a', 'lb-out', 'lb-taken', 'lb-c', 'lb-other'])
        await c.resources.delete(c.user(), T.services, 'default', name, { dryRun: false });
      await c.settle();
    });
  });

  describe('restart', () => {
    it('resumes after a restart without repeating a write', async () => {
      await create(T.services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db', namespace: 'default' },
        spec: { selector: { app: 'db' }, ports: [{ port: 5432 }] },
      });
      await c.settle();
      const head = (await c.store.branch()).revision;
      await c.restartControllers();
      await c.settle(60_000);
      const mine = /controller$/;
      const writes = (await c.store.events('main', head, (await c.store.branch()).revision, 10_000)).filter(
        (e) => mine.test(e.actor.split(':').pop()!),
      );
      expect(writes.map((e) => `${e.actor} ${e.type} ${e.resource} ${e.name}`)).toEqual([]);
    });
  });
});

/** A workload of every kind, fed to a fresh cluster; returns the controllers' writes as comparable text. */
async function workloadRun(): Promise<string[]> {
  const c = await cluster();
  try {
    await c.settle();
    // Each write is folded before the next, so both clusters see the same interleaving of inputs.
    const create = async (type: (typeof T)[keyof typeof T], object: KubeObject) => {
      await c.resources.create(c.user(), type, object.metadata.namespace, object, { dryRun: false });
      await c.settle(0);
    };
    const template = (app: string, image: string, command?: string[]) => ({
      metadata: { labels: { app } },
      spec: { containers: [{ name: app, image, ...(command ? { command } : {}) }] },
    });
    await create(T.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    await create(T.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-lb', namespace: 'default' },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    await create(T.statefulsets, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2,
        serviceName: 'web',
        selector: { matchLabels: { app: 'web' } },
        template: template('web', 'nginx'),
      },
    });
    await create(T.daemonsets, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent', 'fluentd') },
    });
    const job = template('batch', 'busybox', ['sh', '-c', 'sleep 3']);
    await create(T.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'batch', namespace: 'default' },
      spec: { completions: 2, template: { ...job, spec: { ...job.spec, restartPolicy: 'Never' } } },
    });
    await create(T.cronjobs, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tick', namespace: 'default' },
      spec: {
        schedule: '*/1 * * * *',
        jobTemplate: { spec: { template: { ...job, spec: { ...job.spec, restartPolicy: 'Never' } } } },
      },
    });
    await c.settle(150_000);
    const head = (await c.store.branch()).revision;
    const log = (await c.store.events('main', 0, head, 100_000)).filter(
      (e) => e.actor !== 'admin' && e.actor !== 'system:apiserver',
    );
    // uids are the apiserver's own randomness: name each by the order it first shows up.
    const seen = new Map<string, number>();
    return log.map((e) =>
      `${e.revision} ${e.actor} ${e.type} ${e.resource} ${e.key} ${e.cause} ${JSON.stringify(e.object)}`.replace(
        /[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}/g,
        (uid) => `uid#${seen.get(uid) ?? seen.set(uid, seen.size).get(uid)}`,
      ),
    );
  } finally {
    await c.close();
  }
}

describe('workload controllers are deterministic', () => {
  it('write the same events on two fresh clusters fed the same writes', async () => {
    const first = await workloadRun();
    const second = await workloadRun();
    const kinds = new Set(first.map((line) => line.split(' ')[3]));
    for (const kind of [
      'endpoints',
      'endpointslices',
      'statefulsets',
      'daemonsets',
      'jobs',
      'cronjobs',
      'controllerrevisions',
    ])
      expect(kinds).toContain(kind);
    expect(second).toEqual(first);
  });
});

/**
 * The real kubectl against a spawned server, the controllers running beside it on the same database
 * (wall clock), as test/controllers-kubectl.e2e-spec.ts does.
 */
describe('workload controllers with the real kubectl', () => {
  let server: TestServer & { database: TestDatabase };
  let store: EventStore;
  let pool: ReturnType<typeof createPool>;
  let controllers: ControllerManager;

  const kubectl = async (...args: string[]) => {
    const r = await server.kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const apply = async (manifest: string) => {
    const r = await server.kubectl(['apply', '-f', '-'], manifest);
    if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
  };

  beforeAll(async () => {
    server = await startServer();
    pool = createPool(server.databaseUrl, { max: 4 });
    store = await EventStore.open({ pool, url: server.databaseUrl });
    controllers = await startControllers({
      events: store,
      resources: new ResourceStore(store),
      nodes: { leaseRenewIntervalMs: 0 },
      kubelet: { startDelayMs: 100, maxGracePeriodMs: 200 },
      loadBalancerPool: LB_POOL,
    });
  });

  afterAll(async () => {
    await controllers?.stop();
    await store?.close();
    await pool?.end();
    if (server) await stopServer(server);
  });

  it('get svc shows the EXTERNAL-IP a LoadBalancer Service was given from the pool', async () => {
    await kubectl('create', 'service', 'loadbalancer', 'edge', '--tcp=80:8080');
    let row = '';
    for (let i = 0; i < 50 && !row.includes('192.168.49.'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      row = await kubectl('get', 'svc', 'edge', '--no-headers');
    }
    expect(row).toMatch(/^edge\s+LoadBalancer\s+10\.96\.\d+\.\d+\s+192\.168\.49\.10\s+80:3\d{4}\/TCP/);
    await kubectl('delete', 'service', 'edge');
  });

  it('get endpoints follows readiness (seed 002)', async () => {
    await apply(`apiVersion: v1
kind: Service
metadata:
  name: svc-readiness
spec:
  selector:
    app: readiness
  ports:
  - port: 8080
    targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: pod-readiness-exec1
  labels:
    app: readiness
spec:
  containers:
  - name: readiness
    image: kubetm/app
    ports:
    - containerPort: 8080
    readinessProbe:
      exec:
        command: ["cat", "/readiness/ready.txt"]
      initialDelaySeconds: 3
  terminationGracePeriodSeconds: 0
`);
    await kubectl(
      'wait',
      '--for=jsonpath={.status.phase}=Running',
      'pod/pod-readiness-exec1',
      '--timeout=20s',
    );
    const before = await kubectl(
      'get',
      'endpoints',
      'svc-readiness',
      '-o',
      'jsonpath={.subsets[0].notReadyAddresses[0].ip}',
    );
    expect(before).toMatch(/^10\.244\.\d+\.\d+$/);
    await kubectl('wait', '--for=condition=Ready', 'pod/pod-readiness-exec1', '--timeout=20s');
    for (let i = 0; i < 50; i++) {
      if ((await kubectl('get', 'endpoints', 'svc-readiness', '--no-headers')).includes(`${before}:8080`))
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await kubectl('get', 'endpoints', 'svc-readiness', '--no-headers')).toMatch(
      new RegExp(`^svc-readiness\\s+${before.replace(/\./g, '\\.')}:8080\\s`),
    );
  });

  it('rollout status, history and undo for a StatefulSet; rollout status for a DaemonSet', async () => {
    const sts = (image: string) => `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 2
  serviceName: web
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: ${image}
`;
    await apply(sts('nginx:1.25'));
    expect(await kubectl('rollout', 'status', 'sts/web', '--timeout=30s')).toContain(
      'partitioned roll out complete: 2 new pods have been updated...',
    );
    await kubectl('set', 'image', 'sts/web', 'nginx=nginx:1.26');
    expect(await kubectl('rollout', 'status', 'sts/web', '--timeout=30s')).toContain(
      'partitioned roll out complete',
    );
    expect(await kubectl('rollout', 'history', 'sts/web')).toMatch(
      /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/,
    );
    expect(await kubectl('rollout', 'undo', 'sts/web', '--to-revision=1')).toContain('rolled back');
    expect(await kubectl('rollout', 'status', 'sts/web', '--timeout=30s')).toContain(
      'partitioned roll out complete',
    );
    expect(
      await kubectl('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.containers[0].image}'),
    ).toBe('nginx:1.25 nginx:1.25');
    expect(await kubectl('rollout', 'history', 'sts/web')).toMatch(/\n2\s+<none>\n3\s+<none>/);

    await apply(`apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      containers:
      - name: agent
        image: fluentd:1.16
`);
    expect(await kubectl('rollout', 'status', 'ds/agent', '--timeout=30s')).toContain(
      'daemon set "agent" successfully rolled out',
    );
    expect(await kubectl('get', 'ds', 'agent', '--no-headers')).toMatch(/^agent\s+3\s+3\s+3\s+3\s+3\s/);
  });
});
