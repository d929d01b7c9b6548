import { createHash } from 'crypto';
import { deepClone, KubeObject, rfc3339 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { TYPES } from '../runtime/types';
import { Condition, findCondition, namespacedKey, splitKey } from './objects';
import { isSimulated, nodeUser } from './nodes';

export interface KubeletOptions {
  /** From ContainerCreating to Running: the simulated pull and start. */
  startDelayMs: number;
  /** Upper bound on how long a terminating pod is kept, whatever its terminationGracePeriodSeconds. */
  maxGracePeriodMs: number;
}

export const DEFAULT_KUBELET: KubeletOptions = { startDelayMs: 1000, maxGracePeriodMs: 30_000 };

interface ContainerSpec {
  name: string;
  image: string;
  imagePullPolicy?: string;
  readinessProbe?: { initialDelaySeconds?: number };
}

/**
 * The kubelets of the simulated nodes: move each bound pod through the real lifecycle (Pending with
 * ContainerCreating, Running, Ready once its readiness probe's initial delay has passed), with pod
 * IPs from the node's podCIDR, the container statuses and conditions a real kubelet reports, and
 * the Pulling/Pulled/Created/Started events; stop the containers of a pod being deleted and then
 * delete it for good.
 */
export class KubeletController implements Controller {
  readonly name = 'kubelet';
  readonly user = nodeUser('kubelet');

  constructor(private readonly options: KubeletOptions) {}

  userFor(key: string, cache: ObjectCache) {
    const { namespace, name } = splitKey(key);
    return nodeUser(cache.object('pods', namespace, name)?.spec?.nodeName ?? 'unknown');
  }

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const pod of cache.list('pods'))
      if (isSimulated(cache, pod.spec?.nodeName)) yield namespacedKey(pod);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (
      change.resource === 'pods' &&
      change.type !== 'DELETED' &&
      isSimulated(cache, change.object.spec?.nodeName)
    ) {
      yield namespacedKey(change.object);
    }
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const pod = ctx.cache.object('pods', namespace, name);
    if (!pod || !isSimulated(ctx.cache, pod.spec?.nodeName)) return;
    if (pod.metadata.deletionTimestamp) return this.terminate(pod, ctx);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const containers: ContainerSpec[] = pod.spec?.containers ?? [];
    const statuses: { state?: { waiting?: unknown; running?: { startedAt: string } } }[] =
      pod.status?.containerStatuses ?? [];
    if (!pod.status?.startTime || !statuses.length) return this.createContainers(pod, containers, ctx);
    if (statuses.some((s) => s.state?.waiting)) {
      const due = Date.parse(pod.status.startTime) + this.options.startDelayMs - ctx.now.getTime();
      if (due > 0) return { requeueAfterMs: due };
      return this.startContainers(pod, containers, ctx);
    }
    return this.probeReadiness(pod, containers, ctx);
  }

  private async createContainers(
    pod: KubeObject,
    containers: ContainerSpec[],
    ctx: ReconcileContext,
  ): Promise<ReconcileResult> {
    const node = ctx.cache.object('nodes', undefined, pod.spec.nodeName)!;
    const hostIP = node.status?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.address;
    const now = rfc3339(ctx.now);
    const next = deepClone(pod);
    const unready = `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`;
    next.status = {
      ...pod.status,
      phase: 'Pending',
      conditions: conditions(pod, now, {
        PodReadyToStartContainers: ['False'],
        Initialized: ['True'],
        Ready: ['False', 'ContainersNotReady', unready],
        ContainersReady: ['False', 'ContainersNotReady', unready],
      }),
      hostIP,
      hostIPs: hostIP ? [{ ip: hostIP }] : undefined,
      startTime: now,
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
      })),
    };
    await ctx.api.updateStatus(TYPES.pods, next);
    const source = { component: 'kubelet', host: pod.spec.nodeName };
    const seconds = `${(this.options.startDelayMs / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
    for (const c of containers) {
      if (c.imagePullPolicy !== 'Always' && imagePresent(ctx.cache, pod, c.image)) {
        await ctx.api.event(
          pod,
          'Normal',
          'Pulled',
          `Container image "${c.image}" already present on machine`,
          source,
        );
      } else {
        await ctx.api.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`, source);
        await ctx.api.event(
          pod,
          'Normal',
          'Pulled',
          `Successfully pulled image "${c.image}" in ${seconds} (${seconds} including waiting)`,
          source,
        );
      }
    }
    return { requeueAfterMs: this.options.startDelayMs };
  }

  private async startContainers(
    pod: KubeObject,
    containers: ContainerSpec[],
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    const now = rfc3339(ctx.now);
    const ip = allocateIp(ctx.cache, pod);
    const ready = containers.every((c) => !c.readinessProbe);
    const unready = containers.filter((c) => c.readinessProbe).map((c) => c.name);
    const next = deepClone(pod);
    next.status = {
      ...pod.status,
      phase: 'Running',
      conditions: conditions(pod, now, {
        PodReadyToStartContainers: ['True'],
        Initialized: ['True'],
        Ready: ready
          ? ['True']
          : ['False', 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`],
        ContainersReady: ready
          ? ['True']
          : ['False', 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`],
      }),
      podIP: ip,
      podIPs: ip ? [{ ip }] : undefined,
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: imageId(c.image),
        containerID: `containerd://${ctx.random.string(64, '0123456789abcdef')}`,
        ready: !c.readinessProbe,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: now } },
        lastState: {},
      })),
    };
    await ctx.api.updateStatus(TYPES.pods, next);
    const source = { component: 'kubelet', host: pod.spec.nodeName };
    for (const c of containers) {
      await ctx.api.event(pod, 'Normal', 'Created', `Created container: ${c.name}`, source);
      await ctx.api.event(pod, 'Normal', 'Started', `Started container ${c.name}`, source);
    }
    return ready ? undefined : this.readinessDue(containers, ctx.now.getTime(), ctx.now.getTime());
  }

  /** A readiness probe succeeds once its initialDelaySeconds have passed since the container started. */
  private async probeReadiness(
    pod: KubeObject,
    containers: ContainerSpec[],
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    if (findCondition(pod, 'Ready')?.status === 'True') return;
    const statuses: { name: string; ready: boolean; state?: { running?: { startedAt: string } } }[] =
      pod.status.containerStatuses;
    const started = Math.max(...statuses.map((s) => Date.parse(s.state?.running?.startedAt ?? '') || 0));
    const due = this.readinessDue(containers, started, ctx.now.getTime());
    if (due) return due;
    const now = rfc3339(ctx.now);
    const next = deepClone(pod);
    next.status.containerStatuses = statuses.map((s) => ({ ...s, ready: true }));
    next.status.conditions = conditions(pod, now, { Ready: ['True'], ContainersReady: ['True'] });
    await ctx.api.updateStatus(TYPES.pods, next);
  }

  private readinessDue(
    containers: ContainerSpec[],
    startedAt: number,
    now: number,
  ): ReconcileResult | undefined {
    const delay = Math.max(0, ...containers.map((c) => (c.readinessProbe?.initialDelaySeconds ?? 0) * 1000));
    const left = startedAt + delay - now;
    return left > 0 ? { requeueAfterMs: left } : undefined;
  }

  /**
   * Graceful deletion: the containers get SIGTERM and stop (simulated containers stop at once), the
   * pod reports them terminated, and after the grace period (capped by maxGracePeriodMs) the kubelet
   * deletes the pod object with grace 0, which is what finally removes it.
   */
  private async terminate(pod: KubeObject, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const statuses: { name: string; state?: { terminated?: { finishedAt: string } } }[] =
      pod.status?.containerStatuses ?? [];
    const running = statuses.filter((s) => !s.state?.terminated);
    if (running.length) {
      const now = rfc3339(ctx.now);
      const next = deepClone(pod);
      next.status.containerStatuses = statuses.map((s) =>
        s.state?.terminated
          ? s
          : {
              ...s,
              ready: false,
              started: false,
              state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
            },
      );
      next.status.conditions = conditions(pod, now, {
        Ready: ['False', 'PodCompleted'],
        ContainersReady: ['False', 'PodCompleted'],
      });
      await ctx.api.updateStatus(TYPES.pods, next);
      for (const s of running) {
        await ctx.api.event(pod, 'Normal', 'Killing', `Stopping container ${s.name}`, {
          component: 'kubelet',
          host: pod.spec.nodeName,
        });
      }
    }
    const grace = Math.min(
      (pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
      this.options.maxGracePeriodMs,
    );
    const requested =
      Date.parse(pod.metadata.deletionTimestamp!) - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    const left = requested + grace - ctx.now.getTime();
    if (left > 0) return { requeueAfterMs: left };
    await ctx.api.delete(TYPES.pods, pod, { gracePeriodSeconds: 0 });
  }
}

/**
 * The pod's conditions with the given ones set: [status, reason?, message?] by type, in the order a
 * kubelet reports them. A condition whose status does not change keeps its transition time.
 */
function conditions(
  pod: KubeObject,
  now: string,
  wanted: Record<string, [string, string?, string?]>,
): Condition[] {
  const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];
  const byType = new Map<string, Condition>(
    (pod.status?.conditions ?? []).map((c: Condition) => [c.type, c]),
  );
  for (const [type, [status, reason, message]] of Object.entries(wanted)) {
    const current = byType.get(type);
    byType.set(type, {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: current?.status === status ? current.lastTransitionTime : now,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    });
  }
  return [...byType.values()].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}

/** A node has an image once a container using it has run there. */
function imagePresent(cache: ObjectCache, pod: KubeObject, image: string): boolean {
  return cache
    .podsOn(pod.spec.nodeName)
    .some(
      (p) =>
        p.metadata.uid !== pod.metadata.uid &&
        (p.status?.containerStatuses ?? []).some(
          (s: { image: string; imageID?: string }) => s.image === image && s.imageID,
        ),
    );
}

/** A digest that depends only on the image reference, so two clusters report the same one. */
function imageId(image: string): string {
  const name = image.split(/[:@]/)[0];
  const repository = name.includes('/') ? name : `library/${name}`;
  return `docker.io/${repository}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

/** The lowest free address of the node's podCIDR after the gateway (.1), as host-local IPAM hands them out. */
function allocateIp(cache: ObjectCache, pod: KubeObject): string | undefined {
  const node = cache.object('nodes', undefined, pod.spec.nodeName);
  const cidr: string | undefined = node?.spec?.podCIDR;
  if (!cidr) return undefined;
  const [base] = cidr.split('/');
  const prefix = base.split('.').slice(0, 3).join('.');
  const used = new Set(
    cache
      .podsOn(pod.spec.nodeName)
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .map((p) => p.status?.podIP),
  );
  for (let host = 2; host < 255; host++) if (!used.has(`${prefix}.${host}`)) return `${prefix}.${host}`;
  return undefined;
}
