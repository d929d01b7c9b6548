import { createHash } from 'crypto';
import { deepClone, KubeObject, rfc3339 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import type { Random } from '../runtime/random';
import { TYPES } from '../runtime/types';
import {
  behaviourOf,
  ContainerBehaviour,
  ContainerSpec,
  fullImageName,
  probeFailure,
  probeTiming,
} from './behaviour';
import { canonicalJson, Condition, namespacedKey, splitKey } from './objects';
import { isRunningNode, isSimulated, nodeUser } from './nodes';

export interface KubeletOptions {
  /** The default image pull time (`kubetime.io/pull-time` overrides it per pod or container). */
  startDelayMs: number;
  /** Upper bound on how long a container that ignores SIGTERM keeps a deleted pod, whatever its grace period. */
  maxGracePeriodMs: number;
}

export const DEFAULT_KUBELET: KubeletOptions = { startDelayMs: 1000, maxGracePeriodMs: 30_000 };

/** CrashLoopBackOff and ImagePullBackOff: 10 s, doubling, capped at 5 min, as the kubelet's backoff. */
const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
/** Transitions one reconcile may replay when the clock moved past several of them at once. */
const MAX_STEPS = 64;

interface State {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: {
    exitCode: number;
    reason: string;
    startedAt?: string;
    finishedAt: string;
    containerID?: string;
    message?: string;
  };
}

interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  restartCount: number;
  started: boolean;
  state: State;
  lastState: State;
}

interface Emit {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The next thing that happens to one container, and when. `pause` ends the reconcile after it. */
interface Step {
  at: number;
  status: ContainerStatus;
  events: Emit[];
  pause?: boolean;
}

/** Everything a container's next step depends on besides its own status. */
interface Env {
  pod: KubeObject;
  spec: ContainerSpec;
  behaviour: ContainerBehaviour;
  /** When the container may begin (pod start, or the previous init container's success). */
  since: number | undefined;
  restarts: (exitCode: number) => boolean;
  imagePresent: boolean;
  cache: ObjectCache;
  now: number;
  random: Random;
}

/**
 * The kubelets of the simulated nodes. For each bound pod they derive, from its status, its
 * behaviour rules (behaviour.ts) and the clock, every container transition due by now (pull, start,
 * exit, liveness kill, restart after CrashLoopBackOff, init containers in order), write the status a
 * real kubelet would report with the upstream Events, and ask to be woken at the next transition.
 * Nodes whose simulated state is `stopped` do nothing. A deleted pod's containers get SIGTERM and the
 * kubelet removes the pod as soon as they have stopped.
 */
export class KubeletController implements Controller {
  readonly name = 'kubelet';
  readonly user = nodeUser('kubelet');
  /** Status writes of many pods (a node's, or many nodes') are sequenced and committed together. */
  readonly batchSize = 128;

  /**
   * Pod IPs handed out whose status write the cache has not shown yet, by node and pod key. Status
   * writes of a batch commit together, so without them two pods started in one batch on one node
   * would both get its lowest free address. An entry goes when an allocation on its node finds the
   * cache showing the pod's address, or the pod gone.
   */
  private readonly assignedIps = new Map<string, Map<string, string>>();

  constructor(private readonly options: KubeletOptions) {}

  /**
   * The lowest free address of the node's podCIDR after the gateway (.1), as host-local IPAM hands
   * them out: free of the pods the cache shows on the node and of addresses assigned but not shown yet.
   */
  private allocateIp(cache: ObjectCache, pod: KubeObject): string | undefined {
    const nodeName: string = pod.spec.nodeName;
    const cidr: string | undefined = cache.object('nodes', undefined, nodeName)?.spec?.podCIDR;
    if (!cidr) return undefined;
    let assigned = this.assignedIps.get(nodeName);
    if (!assigned) this.assignedIps.set(nodeName, (assigned = new Map()));
    const podKey = namespacedKey(pod);
    const mine = assigned.get(podKey);
    if (mine) return mine;
    const used = new Set<string | undefined>();
    for (const p of cache.podsOn(nodeName))
      if (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') used.add(p.status?.podIP);
    for (const [key, ip] of assigned) {
      const { namespace, name } = splitKey(key);
      const current = cache.object('pods', namespace, name);
      // Shown by the cache now, or gone: the cache speaks for it from here on.
      if (current && current.status?.podIP === undefined) used.add(ip);
      else assigned.delete(key);
    }
    const prefix = cidr.split('/')[0].split('.').slice(0, 3).join('.');
    for (let host = 2; host < 255; host++) {
      const ip = `${prefix}.${host}`;
      if (!used.has(ip)) {
        assigned.set(podKey, ip);
        return ip;
      }
    }
    return undefined;
  }

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
    // A node started again: its kubelet catches up with everything that happened meanwhile.
    if (
      change.resource === 'nodes' &&
      change.type === 'MODIFIED' &&
      isRunningNode(cache, change.object.metadata.name)
    ) {
      const was = change.old?.metadata.annotations?.['kubetime.io/simulated-state'];
      if (was === 'stopped')
        for (const pod of cache.podsOn(change.object.metadata.name!)) yield namespacedKey(pod);
    }
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const pod = ctx.cache.object('pods', namespace, name);
    if (!pod || !isRunningNode(ctx.cache, pod.spec?.nodeName)) return;
    if (pod.metadata.deletionTimestamp) return this.terminate(pod, ctx);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    return this.sync(pod, ctx);
  }

  private async sync(pod: KubeObject, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const now = ctx.now.getTime();
    const inits: ContainerSpec[] = pod.spec?.initContainers ?? [];
    const mains: ContainerSpec[] = pod.spec?.containers ?? [];
    const policy: string = pod.spec?.restartPolicy ?? 'Always';
    const fresh = !pod.status?.startTime;
    const startTime = fresh ? now : Date.parse(pod.status.startTime);
    const initStatuses: ContainerStatus[] = fresh
      ? inits.map((c) => waitingStatus(c, 'PodInitializing'))
      : deepClone(pod.status.initContainerStatuses ?? []);
    const statuses: ContainerStatus[] = fresh
      ? mains.map((c) => waitingStatus(c, 'PodInitializing'))
      : deepClone(pod.status.containerStatuses ?? []);
    const events: Emit[] = [];
    const env = (spec: ContainerSpec, since: number | undefined, init: boolean): Env => ({
      pod,
      spec,
      behaviour: behaviourOf(pod, spec, this.options.startDelayMs),
      since,
      restarts: init
        ? (code) => code !== 0 && policy !== 'Never'
        : (code) => policy === 'Always' || (policy === 'OnFailure' && code !== 0),
      imagePresent: spec.imagePullPolicy !== 'Always' && imagePresent(ctx.cache, pod, spec.image),
      cache: ctx.cache,
      now,
      random: ctx.random,
    });
    let due: number | undefined;
    for (let i = 0; i < MAX_STEPS; i++) {
      const candidates: { step: Step; apply: (s: ContainerStatus) => void }[] = [];
      let since: number | undefined = startTime;
      inits.forEach((spec, index) => {
        const step = nextStep(initStatuses[index], env(spec, since, true));
        if (step) candidates.push({ step, apply: (s) => (initStatuses[index] = s) });
        const t = initStatuses[index].state.terminated;
        since = t && t.exitCode === 0 ? Date.parse(t.finishedAt) : undefined;
      });
      const mainSince = since;
      mains.forEach((spec, index) => {
        const step = nextStep(statuses[index], env(spec, mainSince, false));
        if (step) candidates.push({ step, apply: (s) => (statuses[index] = s) });
      });
      const next = candidates.reduce<(typeof candidates)[number] | undefined>(
        (best, c) => (!best || c.step.at < best.step.at ? c : best),
        undefined,
      );
      if (!next) break;
      if (next.step.at > now) {
        due = next.step.at;
        break;
      }
      next.apply(next.step.status);
      events.push(...next.step.events);
      if (next.step.pause) {
        due = now;
        break;
      }
    }

    const initialized = initStatuses.every((s) => s.state.terminated?.exitCode === 0);
    /** Exited for good: terminated and its restart policy does not bring it back. */
    const done = (s: ContainerStatus, init: boolean) =>
      s.state.terminated !== undefined &&
      !env(
        (init ? inits : mains).find((c) => c.name === s.name)!,
        0,
        init,
      ).restarts(s.state.terminated.exitCode);
    let phase = 'Pending';
    if (initStatuses.some((s) => s.state.terminated && s.state.terminated.exitCode !== 0 && done(s, true)))
      phase = 'Failed';
    else if (initialized && statuses.length && statuses.every((s) => done(s, false)))
      phase = statuses.every((s) => s.state.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
    else if (
      initialized &&
      statuses.some((s) => s.state.running || s.state.terminated || s.lastState.terminated)
    )
      phase = 'Running';

    for (const [index, s] of statuses.entries()) {
      const spec = mains[index];
      const timing = probeTiming(spec.readinessProbe);
      const behaviour = behaviourOf(pod, spec, this.options.startDelayMs);
      if (!s.state.running) {
        s.ready = false;
        continue;
      }
      const startedAt = Date.parse(s.state.running.startedAt);
      if (!timing) {
        s.ready = true;
        continue;
      }
      const firstProbe = startedAt + timing.initialDelayMs;
      if (behaviour.readiness === 'pass') {
        // Ready after successThreshold passing probes in a row, the first at initialDelaySeconds.
        const readyAt = firstProbe + (timing.successThreshold - 1) * timing.periodMs;
        s.ready = now >= readyAt;
        if (!s.ready) due = Math.min(due ?? readyAt, readyAt);
        continue;
      }
      s.ready = false;
      if (now < firstProbe) {
        due = Math.min(due ?? firstProbe, firstProbe);
        continue;
      }
      // A failing readiness probe reports Unhealthy at every period; the Event aggregates them.
      const probes = Math.floor((now - firstProbe) / timing.periodMs);
      const lastProbe = firstProbe + probes * timing.periodMs;
      const message = `Readiness probe failed: ${probeFailure(spec.readinessProbe!, pod.status?.podIP)}`;
      const seen = lastEvent(ctx.cache, pod, 'Unhealthy', message);
      if (!seen || seen.at < Math.floor(lastProbe / 1000) * 1000)
        events.push({ type: 'Warning', reason: 'Unhealthy', message });
      const nextProbe = lastProbe + timing.periodMs;
      due = Math.min(due ?? nextProbe, nextProbe);
    }

    const at = rfc3339(ctx.now);
    const node = ctx.cache.object('nodes', undefined, pod.spec.nodeName)!;
    const hostIP = node.status?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.address;
    const podIP = pod.status?.podIP ?? this.allocateIp(ctx.cache, pod);
    const finished = phase === 'Succeeded' || phase === 'Failed';
    const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
    const incomplete = initStatuses.filter((s) => s.state.terminated?.exitCode !== 0).map((s) => s.name);
    const readiness: [string, string?, string?] = finished
      ? ['False', 'PodCompleted']
      : unready.length
        ? ['False', 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`]
        : ['True'];
    const next = deepClone(pod);
    next.status = {
      ...pod.status,
      phase,
      conditions: conditions(pod, at, {
        PodReadyToStartContainers: [finished ? 'False' : 'True'],
        Initialized: incomplete.length
          ? [
              'False',
              'ContainersNotInitialized',
              `containers with incomplete status: [${incomplete.join(' ')}]`,
            ]
          : ['True'],
        Ready: readiness,
        ContainersReady: readiness,
      }),
      hostIP,
      hostIPs: hostIP ? [{ ip: hostIP }] : undefined,
      podIP,
      podIPs: podIP ? [{ ip: podIP }] : undefined,
      startTime: rfc3339(new Date(startTime)),
      ...(inits.length ? { initContainerStatuses: initStatuses } : {}),
      containerStatuses: statuses,
    };
    if (canonicalJson(next.status) !== canonicalJson(pod.status))
      ctx.defer(ctx.api.updateStatus(TYPES.pods, next));
    const source = { component: 'kubelet', host: pod.spec.nodeName };
    // Recorded as things happen, not after the status sync, as the kubelet's recorder does.
    for (const e of events) ctx.defer(ctx.api.event(pod, e.type, e.reason, e.message, source));
    if (finished || due === undefined) return;
    return { requeueAfterMs: Math.max(0, due - now) };
  }

  /**
   * Graceful deletion: every running container gets SIGTERM (Killing). One that exits on SIGTERM
   * (the default rule) stops at once; one that ignores it is killed when the grace period ends
   * (capped by maxGracePeriodMs). Once nothing runs, the kubelet deletes the pod with grace 0, which
   * is what finally removes it: `kubectl delete pod` returns in about a second, as on a real node.
   */
  private async terminate(pod: KubeObject, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const now = ctx.now.getTime();
    const statuses: ContainerStatus[] = pod.status?.containerStatuses ?? [];
    const specs: ContainerSpec[] = pod.spec?.containers ?? [];
    const grace = Math.min(
      (pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
      this.options.maxGracePeriodMs,
    );
    const requested =
      Date.parse(pod.metadata.deletionTimestamp!) - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    const killAt = requested + grace;
    const source = { component: 'kubelet', host: pod.spec.nodeName };
    let changed = false;
    let stillRunning = false;
    const next = deepClone(pod);
    next.status = { ...(pod.status ?? {}) };
    next.status.containerStatuses = statuses.map((s) => {
      if (!s.state?.running) return s;
      const spec = specs.find((c) => c.name === s.name);
      const ignores = spec && !behaviourOf(pod, spec, this.options.startDelayMs).exitsOnSigterm;
      if (ignores && now < killAt) {
        stillRunning = true;
        return s;
      }
      changed = true;
      const at = rfc3339(ctx.now);
      return {
        ...s,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode: ignores ? 137 : 0,
            reason: ignores ? 'Error' : 'Completed',
            startedAt: s.state.running.startedAt,
            finishedAt: at,
            containerID: s.containerID,
          },
        },
      };
    });
    for (const s of statuses.filter((s) => s.state?.running)) {
      const message = `Stopping container ${s.name}`;
      if (!lastEvent(ctx.cache, pod, 'Killing', message))
        await ctx.api.event(pod, 'Normal', 'Killing', message, source);
    }
    if (changed) {
      next.status.conditions = conditions(pod, rfc3339(ctx.now), {
        Ready: ['False', 'PodCompleted'],
        ContainersReady: ['False', 'PodCompleted'],
      });
      await ctx.api.updateStatus(TYPES.pods, next);
    }
    if (stillRunning) return { requeueAfterMs: killAt - now };
    await ctx.api.delete(TYPES.pods, pod, { gracePeriodSeconds: 0 });
  }
}

function waitingStatus(c: ContainerSpec, reason: string): ContainerStatus {
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    ready: false,
    restartCount: 0,
    started: false,
    state: { waiting: { reason } },
    lastState: {},
  };
}

/** The delay before restart number `restartCount + 1`: at once the first time, then 10 s doubling to 5 min. */
function restartDelay(restartCount: number): number {
  return restartCount === 0 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** (restartCount - 1));
}

function podRef(pod: KubeObject): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

function running(s: ContainerStatus, env: Env, at: number, restart: boolean): Step {
  const started = rfc3339(new Date(at));
  const seconds = goDuration(env.behaviour.pullMs);
  const events: Emit[] = [];
  if (restart || env.imagePresent)
    events.push({
      type: 'Normal',
      reason: 'Pulled',
      message: `Container image "${env.spec.image}" already present on machine`,
    });
  else
    events.push({
      type: 'Normal',
      reason: 'Pulled',
      message: `Successfully pulled image "${env.spec.image}" in ${seconds} (${seconds} including waiting)`,
    });
  events.push({ type: 'Normal', reason: 'Created', message: `Created container: ${env.spec.name}` });
  events.push({ type: 'Normal', reason: 'Started', message: `Started container ${env.spec.name}` });
  return {
    at,
    events,
    status: {
      ...s,
      imageID: imageId(env.spec.image),
      containerID: `containerd://${env.random.string(64, '0123456789abcdef')}`,
      ready: false,
      started: true,
      restartCount: restart ? s.restartCount + 1 : s.restartCount,
      state: { running: { startedAt: started } },
      lastState: restart ? s.lastState : {},
    },
  };
}

/** The container's next transition by its behaviour, or undefined when nothing more will happen. */
function nextStep(s: ContainerStatus, env: Env): Step | undefined {
  const { spec, behaviour, pod } = env;
  const waiting = s.state.waiting?.reason;
  if (waiting === 'PodInitializing') {
    if (env.since === undefined) return undefined;
    const pulling = !env.imagePresent;
    return {
      at: env.since,
      status: { ...s, state: { waiting: { reason: 'ContainerCreating' } } },
      events: [
        pulling
          ? { type: 'Normal', reason: 'Pulling', message: `Pulling image "${spec.image}"` }
          : {
              type: 'Normal',
              reason: 'Pulled',
              message: `Container image "${spec.image}" already present on machine`,
            },
      ],
    };
  }
  if (waiting === 'ContainerCreating') {
    const at = (env.since ?? env.now) + (env.imagePresent ? 0 : behaviour.pullMs);
    if (!behaviour.pullError) {
      const step = running(s, env, at, false);
      if (env.imagePresent) step.events.shift();
      return step;
    }
    return pullFailure(s, env, at);
  }
  if (waiting === 'ErrImagePull') {
    const failed = lastEvent(env.cache, pod, 'Failed', 'Error: ErrImagePull');
    return {
      at: failed?.at ?? env.now,
      pause: true,
      status: {
        ...s,
        state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${spec.image}"` } },
      },
      events: [
        { type: 'Normal', reason: 'BackOff', message: `Back-off pulling image "${spec.image}"` },
        { type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff' },
      ],
    };
  }
  if (waiting === 'ImagePullBackOff') {
    const failed = lastEvent(env.cache, pod, 'Failed', 'Error: ErrImagePull');
    const at =
      (failed?.at ?? env.now) +
      Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** ((failed?.count ?? 1) - 1));
    const step = pullFailure(s, env, at);
    step.events.unshift({ type: 'Normal', reason: 'Pulling', message: `Pulling image "${spec.image}"` });
    return step;
  }
  if (s.state.running) {
    const startedAt = Date.parse(s.state.running.startedAt);
    const exitAt = behaviour.runMs === undefined ? Infinity : startedAt + behaviour.runMs;
    const killAt = livenessKill(env, startedAt);
    if (exitAt === Infinity && killAt === Infinity) return undefined;
    const killed = killAt < exitAt;
    const at = Math.min(exitAt, killAt);
    const exitCode = killed ? 137 : behaviour.exitCode;
    const events: Emit[] = [];
    if (killed) {
      const message = `Liveness probe failed: ${probeFailure(spec.livenessProbe!, pod.status?.podIP)}`;
      // One Event for the failureThreshold failed probes: a repeat in the same reconcile would not
      // find the first one in the cache yet to aggregate into.
      events.push({ type: 'Warning', reason: 'Unhealthy', message });
      events.push({
        type: 'Normal',
        reason: 'Killing',
        message: `Container ${spec.name} failed liveness probe, will be restarted`,
      });
    }
    return {
      at,
      events,
      status: {
        ...s,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? 'Completed' : 'Error',
            startedAt: s.state.running.startedAt,
            finishedAt: rfc3339(new Date(at)),
            containerID: s.containerID,
          },
        },
      },
    };
  }
  const exited = s.state.terminated ?? (waiting === 'CrashLoopBackOff' ? s.lastState.terminated : undefined);
  if (!exited || !env.restarts(exited.exitCode)) return undefined;
  const finishedAt = Date.parse(exited.finishedAt);
  const delay = restartDelay(s.restartCount);
  const last: ContainerStatus = { ...s, lastState: { terminated: exited } };
  if (s.state.terminated && delay > 0) {
    return {
      at: finishedAt,
      status: {
        ...last,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${goDuration(delay)} restarting failed container=${spec.name} pod=${podRef(pod)}`,
          },
        },
      },
      events: [
        {
          type: 'Warning',
          reason: 'BackOff',
          message: `Back-off restarting failed container ${spec.name} in pod ${podRef(pod)}`,
        },
      ],
    };
  }
  return running(last, env, finishedAt + delay, true);
}

function pullFailure(s: ContainerStatus, env: Env, at: number): Step {
  const { spec, behaviour } = env;
  return {
    at,
    pause: true,
    status: { ...s, state: { waiting: { reason: 'ErrImagePull', message: behaviour.pullError } } },
    events: [
      {
        type: 'Warning',
        reason: 'Failed',
        message: `Failed to pull image "${spec.image}": ${behaviour.pullError}`,
      },
      { type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull' },
    ],
  };
}

/** When failureThreshold consecutive liveness probes will have failed; Infinity when they never do. */
function livenessKill(env: Env, startedAt: number): number {
  const timing = probeTiming(env.spec.livenessProbe);
  const failsAfter = env.behaviour.livenessFailsAfterMs;
  if (!timing || failsAfter === undefined) return Infinity;
  const firstProbe = startedAt + timing.initialDelayMs;
  const failingFrom = startedAt + failsAfter;
  const firstFailure =
    failingFrom <= firstProbe
      ? firstProbe
      : firstProbe + Math.ceil((failingFrom - firstProbe) / timing.periodMs) * timing.periodMs;
  return firstFailure + (timing.failureThreshold - 1) * timing.periodMs;
}

/** The kubelet's own earlier Event about the pod with this reason and message, when it sent one. */
function lastEvent(
  cache: ObjectCache,
  pod: KubeObject,
  reason: string,
  message: string,
): { at: number; count: number } | undefined {
  for (const e of cache.list('events', pod.metadata.namespace)) {
    if (e.involvedObject?.uid === pod.metadata.uid && e.reason === reason && e.message === message)
      return { at: Date.parse(e.lastTimestamp), count: e.count ?? 1 };
  }
  return undefined;
}

/** Go's time.Duration formatting for whole seconds and up (`10s`, `2m40s`, `5m0s`), as kubelet messages print it. */
function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Number((seconds - minutes * 60).toFixed(3));
  return minutes < 60 ? `${minutes}m${rest}s` : `${Math.floor(minutes / 60)}h${minutes % 60}m${rest}s`;
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
  const name = fullImageName(image).replace(/:[^:/]+$/, '');
  return `${name}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}
