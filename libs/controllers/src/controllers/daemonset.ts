import { deepClone, KubeObject, labelSelectorMatcher } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { NAME_SUFFIX_ALPHABET } from '../runtime/random';
import { TYPES } from '../runtime/types';
import { canonicalJson, controllerRef, namespacedKey, ownerRefTo, splitKey } from './objects';
import { availability, isReady } from './pods';
import { REVISION_HASH_LABEL, revisionHash, syncRevisions, templateOf, trimRevisions } from './revisions';
import { WORKLOAD_TYPES } from './workload-types';

const SOURCE = { component: 'daemonset-controller' };
const GENERATION_LABEL = 'pod-template-generation';
const MAX_NAME_BASE = 58;

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/**
 * What a daemon pod tolerates besides its template's tolerations, as upstream adds to every daemon
 * pod: node conditions and cordons must not stop a node agent.
 */
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/**
 * One pod per eligible node (the template's nodeSelector matches, its NoSchedule/NoExecute taints
 * are tolerated), pinned there through required node affinity on `metadata.name` so the scheduler
 * binds it, as upstream. Pods on nodes that stopped being eligible go; a template change is a new
 * ControllerRevision rolled out within maxUnavailable.
 */
export class DaemonSetController implements Controller {
  readonly name = 'daemonset-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:daemon-set-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const ds of cache.list('daemonsets')) yield namespacedKey(ds);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (change.resource === 'daemonsets') yield namespacedKey(change.object);
    if (change.resource === 'nodes') {
      // Any node change may make it (in)eligible for every DaemonSet.
      for (const ds of cache.list('daemonsets')) yield namespacedKey(ds);
      return;
    }
    if (change.resource !== 'pods' && change.resource !== 'controllerrevisions') return;
    const ref = controllerRef(change.object);
    if (ref?.kind === 'DaemonSet') yield `${change.object.metadata.namespace}/${ref.name}`;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const ds = ctx.cache.object('daemonsets', namespace, name);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const revisions = await syncRevisions(ds, ctx);
    const hash = revisionHash(revisions.update);
    const template = templateOf(revisions.update);

    const byNode = new Map<string, KubeObject[]>();
    for (const pod of ctx.cache.list('pods', namespace)) {
      if (controllerRef(pod)?.uid !== ds.metadata.uid) continue;
      const node = targetNode(pod);
      if (!node) continue;
      if (!byNode.has(node)) byNode.set(node, []);
      byNode.get(node)!.push(pod);
    }
    const nodes = ctx.cache.list('nodes').sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const eligible = new Set(
      nodes.filter((n) => fits(template, n, 'NoSchedule')).map((n) => n.metadata.name!),
    );
    const keepRunning = new Set(
      nodes.filter((n) => fits(template, n, 'NoExecute')).map((n) => n.metadata.name!),
    );

    const running = new Map<string, KubeObject>();
    for (const node of nodes.map((n) => n.metadata.name!)) {
      const pods = byNode.get(node) ?? [];
      const live = pods
        .filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Failed')
        .sort(
          (a, b) =>
            Date.parse(a.metadata.creationTimestamp!) - Date.parse(b.metadata.creationTimestamp!) ||
            (a.metadata.name! < b.metadata.name! ? -1 : 1),
        );
      for (const failed of pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Failed'))
        await this.deletePod(ds, failed, ctx);
      // A pod already there stays through a NoSchedule taint; a NoExecute one or a selector change evicts it.
      const wanted = eligible.has(node) || (live.length > 0 && keepRunning.has(node));
      if (!wanted) {
        for (const pod of live) await this.deletePod(ds, pod, ctx);
        continue;
      }
      for (const extra of live.slice(1)) await this.deletePod(ds, extra, ctx);
      if (live.length) running.set(node, live[0]);
      else if (eligible.has(node) && !pods.some((p) => p.metadata.deletionTimestamp))
        await this.createPod(ds, node, template, hash, ctx);
    }

    const minReady: number = ds.spec?.minReadySeconds ?? 0;
    let soonest: number | undefined;
    const available = (pod: KubeObject) => {
      const a = availability(pod, minReady, ctx.now);
      if (!a.available && a.inMs !== undefined) soonest = Math.min(soonest ?? a.inMs, a.inMs);
      return a.available;
    };
    const desired = [...eligible].length;
    if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const budget = maxUnavailable(ds, desired);
      let unavailable = [...eligible].filter((n) => !running.get(n) || !available(running.get(n)!)).length;
      const old = [...running.values()].filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
      // Old pods that are down anyway go first: replacing them costs no availability.
      for (const pod of old.filter((p) => !available(p))) {
        await this.deletePod(ds, pod, ctx);
        running.delete(targetNode(pod)!);
      }
      for (const pod of old.filter((p) => available(p))) {
        if (unavailable >= budget) break;
        await this.deletePod(ds, pod, ctx);
        running.delete(targetNode(pod)!);
        unavailable++;
      }
    }

    const inUse = new Set([revisions.update.metadata.name!]);
    for (const pod of running.values()) {
      const used = revisions.all.find((r) => revisionHash(r) === pod.metadata.labels?.[REVISION_HASH_LABEL]);
      if (used) inUse.add(used.metadata.name!);
    }
    await trimRevisions(ds, revisions.all, inUse, ctx);

    const scheduled = [...running.entries()].filter(([n]) => eligible.has(n)).map(([, p]) => p);
    const numberAvailable = scheduled.filter(available).length;
    const status: Record<string, unknown> = {
      currentNumberScheduled: scheduled.length,
      numberMisscheduled: [...running.keys()].filter((n) => !eligible.has(n)).length,
      desiredNumberScheduled: desired,
      numberReady: scheduled.filter(isReady).length,
      observedGeneration: ds.metadata.generation,
      updatedNumberScheduled: scheduled.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash)
        .length,
      numberAvailable,
      numberUnavailable: desired - numberAvailable,
      ...(revisions.collisionCount ? { collisionCount: revisions.collisionCount } : {}),
    };
    // omitempty on the wire: zero updated/available/unavailable counts are not shown.
    for (const field of ['updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'])
      if (!status[field]) delete status[field];
    if (canonicalJson(status) !== canonicalJson(ds.status ?? {})) {
      const next = deepClone(ds);
      next.status = status;
      await ctx.api.updateStatus(WORKLOAD_TYPES.daemonsets, next);
    }
    return soonest === undefined ? undefined : { requeueAfterMs: soonest };
  }

  private async createPod(
    ds: KubeObject,
    node: string,
    template: KubeObject,
    hash: string,
    ctx: ReconcileContext,
  ): Promise<void> {
    const base = `${ds.metadata.name!.slice(0, MAX_NAME_BASE)}-`;
    let podName = base + ctx.random.string(5, NAME_SUFFIX_ALPHABET);
    while (ctx.cache.object('pods', ds.metadata.namespace, podName))
      podName = base + ctx.random.string(5, NAME_SUFFIX_ALPHABET);
    const spec = deepClone(template.spec ?? {});
    spec.affinity = {
      ...(spec.affinity ?? {}),
      nodeAffinity: {
        ...(spec.affinity?.nodeAffinity ?? {}),
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
        },
      },
    };
    const tolerations: Toleration[] = [...(spec.tolerations ?? [])];
    for (const t of DAEMON_TOLERATIONS)
      if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push(t);
    spec.tolerations = tolerations;
    await ctx.api.create(TYPES.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        generateName: base,
        namespace: ds.metadata.namespace,
        labels: {
          ...(template.metadata?.labels ?? {}),
          [REVISION_HASH_LABEL]: hash,
          [GENERATION_LABEL]: String(ds.metadata.generation ?? 1),
        },
        ...(template.metadata?.annotations ? { annotations: deepClone(template.metadata.annotations) } : {}),
        ownerReferences: [ownerRefTo(ds)],
      },
      spec,
    });
    await ctx.api.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${podName}`, SOURCE);
  }

  private async deletePod(ds: KubeObject, pod: KubeObject, ctx: ReconcileContext): Promise<void> {
    await ctx.api.delete(TYPES.pods, pod);
    await ctx.api.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, SOURCE);
  }
}

/** The node a daemon pod is bound to, or pinned to by its node affinity while not yet bound. */
function targetNode(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms)
    for (const f of term.matchFields ?? [])
      if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.[0];
  return undefined;
}

/**
 * Whether the template may run on the node: its nodeSelector matches the node's labels and every
 * taint with the given effect (NoExecute always counts) is tolerated.
 */
function fits(template: KubeObject, node: KubeObject, effect: 'NoSchedule' | 'NoExecute'): boolean {
  const selector = template.spec?.nodeSelector;
  if (selector && !labelSelectorMatcher({ matchLabels: selector })(node.metadata.labels)) return false;
  const tolerations: Toleration[] = [...(template.spec?.tolerations ?? []), ...DAEMON_TOLERATIONS];
  const taints: Taint[] = node.spec?.taints ?? [];
  const blocking = taints.filter((t) => t.effect === 'NoExecute' || t.effect === effect);
  return blocking.every((t) => tolerations.some((tol) => tolerates(tol, t)));
}

function tolerates(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (!tol.key) return tol.operator === 'Exists';
  if (tol.key !== taint.key) return false;
  return tol.operator === 'Exists' || (tol.value ?? '') === (taint.value ?? '');
}

/** maxUnavailable as a count of the desired pods: an integer, or a percentage rounded up (at least 1). */
function maxUnavailable(ds: KubeObject, desired: number): number {
  const value = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  if (typeof value === 'string' && value.endsWith('%'))
    return Math.max(1, Math.ceil((Number(value.slice(0, -1)) / 100) * desired));
  return Math.max(1, Number(value));
}
