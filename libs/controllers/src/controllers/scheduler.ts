import { deepClone, KubeObject, rfc3339 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext } from '../runtime/manager';
import { TYPES } from '../runtime/types';
import { findCondition, milliCpu, namespacedKey, quantity, splitKey } from './objects';
import { isActive, podRequests } from './pods';

const SCHEDULER = 'default-scheduler';
/** What scoring assumes a container without requests uses, so best-effort pods still spread. */
const DEFAULT_MILLI_CPU = 100;
const DEFAULT_MEMORY = 200 * 1024 * 1024;

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/**
 * The default scheduler's essentials: filter nodes (NodeUnschedulable, TaintToleration,
 * NodeAffinity with nodeSelector, NodeResourcesFit), score the rest by least allocated, bind. A pod
 * that fits nowhere gets PodScheduled=False/Unschedulable with upstream's "0/N nodes are available"
 * message and a FailedScheduling event, and is tried again when nodes or pods change.
 * Pods that name a node in spec.nodeName never reach a scheduler, as upstream.
 */
export class SchedulerController implements Controller {
  readonly name = SCHEDULER;
  readonly user = { username: 'system:kube-scheduler', groups: ['system:authenticated', 'system:masters'] };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const pod of cache.list('pods')) if (wantsScheduling(pod)) yield namespacedKey(pod);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (change.resource === 'pods') {
      if (change.type !== 'DELETED' && wantsScheduling(change.object)) yield namespacedKey(change.object);
      // Capacity freed: pods that fit nowhere may fit now.
      if (change.type === 'DELETED' && change.object.spec?.nodeName) yield* unschedulable(cache);
    } else if (change.resource === 'nodes' && change.type !== 'DELETED') {
      yield* unschedulable(cache);
    }
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = ctx.cache.object('pods', namespace, name);
    if (!pod || !wantsScheduling(pod)) return;
    const nodes = [...ctx.cache.list('nodes')].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const reasons = new Map<string, number>();
    const feasible: { node: KubeObject; score: number }[] = [];
    for (const node of nodes) {
      const failed = filterNode(pod, node, ctx.cache);
      if (failed.length) for (const r of failed) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      else feasible.push({ node, score: leastAllocated(pod, node, ctx.cache) });
    }
    if (!feasible.length) return this.markUnschedulable(pod, nodes.length, reasons, ctx);
    const best = Math.max(...feasible.map((f) => f.score));
    const top = feasible.filter((f) => f.score === best);
    // Upstream picks among equal best scores at random; here the seeded stream does.
    const chosen = top[ctx.random.int(top.length)].node;
    await ctx.api.bind(pod, chosen.metadata.name!);
    await ctx.api.event(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${namespace}/${name} to ${chosen.metadata.name}`,
      { component: SCHEDULER },
    );
  }

  private async markUnschedulable(
    pod: KubeObject,
    total: number,
    reasons: Map<string, number>,
    ctx: ReconcileContext,
  ): Promise<void> {
    const histogram = [...reasons].map(([reason, count]) => `${count} ${reason}`).sort();
    const message =
      `0/${total} nodes are available${histogram.length ? ': ' + histogram.join(', ') : ''}.` +
      ` preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
    const current = findCondition(pod, 'PodScheduled');
    if (current?.status === 'False' && current.message === message) return;
    const next = deepClone(pod);
    next.status = { ...(pod.status ?? {}) };
    next.status.conditions = [
      ...(pod.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled'),
      {
        type: 'PodScheduled',
        status: 'False',
        lastProbeTime: null,
        lastTransitionTime: rfc3339(ctx.now),
        reason: 'Unschedulable',
        message,
      },
    ];
    await ctx.api.updateStatus(TYPES.pods, next);
    await ctx.api.event(pod, 'Warning', 'FailedScheduling', message, { component: SCHEDULER });
  }
}

function wantsScheduling(pod: KubeObject): boolean {
  return (
    !pod.spec?.nodeName &&
    !pod.metadata.deletionTimestamp &&
    (pod.spec?.schedulerName ?? SCHEDULER) === SCHEDULER &&
    isActive(pod)
  );
}

function* unschedulable(cache: ObjectCache): Iterable<string> {
  for (const pod of cache.list('pods'))
    if (wantsScheduling(pod) && findCondition(pod, 'PodScheduled')?.status === 'False')
      yield namespacedKey(pod);
}

/** The reasons a node cannot take the pod, in filter-plugin order; empty when it can. */
export function filterNode(pod: KubeObject, node: KubeObject, cache: ObjectCache): string[] {
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  if (
    node.spec?.unschedulable &&
    !tolerations.some((t) => tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }))
  ) {
    return ['node(s) were unschedulable'];
  }
  const untolerated = (node.spec?.taints ?? []).find(
    (taint: Taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') &&
      !tolerations.some((t) => tolerates(t, taint)),
  );
  if (untolerated) return [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`];
  if (!matchesNodeSelector(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  const pods = cache.podsOn(node.metadata.name!).filter(isActive);
  const allocatable = node.status?.allocatable ?? {};
  const used = pods
    .map(podRequests)
    .reduce((a, r) => ({ milliCpu: a.milliCpu + r.milliCpu, memory: a.memory + r.memory }), {
      milliCpu: 0,
      memory: 0,
    });
  const wanted = podRequests(pod);
  const reasons: string[] = [];
  if (pods.length + 1 > quantity(allocatable.pods ?? '110')) reasons.push('Too many pods');
  if (wanted.milliCpu && used.milliCpu + wanted.milliCpu > milliCpu(allocatable.cpu))
    reasons.push('Insufficient cpu');
  if (wanted.memory && used.memory + wanted.memory > quantity(allocatable.memory))
    reasons.push('Insufficient memory');
  return reasons;
}

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution: both must hold. */
function matchesNodeSelector(pod: KubeObject, node: KubeObject): boolean {
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries<string>(pod.spec?.nodeSelector ?? {}))
    if (labels[k] !== v) return false;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return true;
  // Terms are ORed; the expressions within one term are ANDed.
  return terms.some((term: { matchExpressions?: Requirement[]; matchFields?: Requirement[] }) => {
    const expressions = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (!expressions.length && !fields.length) return false;
    return (
      expressions.every((r) => requirementHolds(r, labels)) &&
      fields.every((r) => requirementHolds(r, { 'metadata.name': node.metadata.name! }))
    );
  });
}

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

function requirementHolds(r: Requirement, labels: Record<string, string>): boolean {
  const has = r.key in labels;
  const value = labels[r.key];
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(value);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
      return has && Number(value) > Number(r.values?.[0]);
    case 'Lt':
      return has && Number(value) < Number(r.values?.[0]);
    default:
      return false;
  }
}

/** NodeResourcesFit's LeastAllocated: the mean free fraction of cpu and memory after placing the pod, 0-100. */
function leastAllocated(pod: KubeObject, node: KubeObject, cache: ObjectCache): number {
  const allocatable = node.status?.allocatable ?? {};
  const cpu = milliCpu(allocatable.cpu);
  const memory = quantity(allocatable.memory);
  const nonZero = (p: KubeObject) => {
    const r = podRequests(p);
    return { milliCpu: r.milliCpu || DEFAULT_MILLI_CPU, memory: r.memory || DEFAULT_MEMORY };
  };
  let usedCpu = 0;
  let usedMemory = 0;
  for (const p of [...cache.podsOn(node.metadata.name!).filter(isActive), pod]) {
    const r = nonZero(p);
    usedCpu += r.milliCpu;
    usedMemory += r.memory;
  }
  const free = (used: number, total: number) =>
    total <= 0 || used > total ? 0 : ((total - used) * 100) / total;
  return Math.floor((free(usedCpu, cpu) + free(usedMemory, memory)) / 2);
}
