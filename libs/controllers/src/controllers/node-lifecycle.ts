import {
  deepClone,
  KubeObject,
  NODE_NOT_READY_TAINT,
  NODE_UNREACHABLE_TAINT,
  rfc3339,
} from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { TYPES } from '../runtime/types';
import { Condition, findCondition, namespacedKey, splitKey } from './objects';
import { NODE_LEASE_NAMESPACE } from './nodes';
import { Taint, Toleration, tolerates } from './scheduler';

export interface NodeLifecycleOptions {
  /** How long a node may stay silent (no Lease renewal, no status) before it is marked Unknown. */
  nodeMonitorGracePeriodMs: number;
}

export const DEFAULT_NODE_LIFECYCLE: NodeLifecycleOptions = { nodeMonitorGracePeriodMs: 40_000 };

export const UNREACHABLE = NODE_UNREACHABLE_TAINT;
export const NOT_READY = NODE_NOT_READY_TAINT;

const NODE_CONTROLLER = {
  username: 'system:serviceaccount:kube-system:node-controller',
  groups: [
    'system:serviceaccounts',
    'system:serviceaccounts:kube-system',
    'system:authenticated',
    'system:masters',
  ],
};

function readyStatus(node: KubeObject): string | undefined {
  return findCondition(node, 'Ready')?.status;
}

/** The taints a node's Ready condition calls for, as TaintNodesByCondition and the NoExecute manager set them. */
function conditionTaints(ready: string | undefined): { key: string; effect: string }[] {
  const key = ready === 'Unknown' ? UNREACHABLE : ready === 'False' ? NOT_READY : undefined;
  return key
    ? [
        { key, effect: 'NoSchedule' },
        { key, effect: 'NoExecute' },
      ]
    : [];
}

/**
 * kube-controller-manager's node lifecycle controller: a node whose Lease and Ready heartbeat are
 * both older than the grace period gets every condition set to Unknown ("Kubelet stopped posting
 * node status."), and each node carries the `unreachable`/`not-ready` NoSchedule and NoExecute
 * taints its Ready condition calls for (removed again when it is Ready).
 */
export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle-controller';
  readonly user = NODE_CONTROLLER;

  constructor(private readonly options: NodeLifecycleOptions) {}

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const node of cache.list('nodes')) yield node.metadata.name!;
  }

  *keysFor(change: CacheChange): Iterable<string> {
    if (change.resource === 'nodes' && change.type !== 'DELETED') yield change.object.metadata.name!;
    if (change.resource === 'leases' && change.object.metadata.namespace === NODE_LEASE_NAMESPACE)
      yield change.object.metadata.name!;
  }

  async reconcile(name: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    let node = ctx.cache.object('nodes', undefined, name);
    if (!node) return;
    const now = ctx.now.getTime();
    let due: number | undefined;
    if (readyStatus(node) !== 'Unknown') {
      const lease = ctx.cache.object('leases', NODE_LEASE_NAMESPACE, name);
      const seen = Math.max(
        Date.parse(lease?.spec?.renewTime ?? '') || 0,
        Date.parse(
          (findCondition(node, 'Ready') as { lastHeartbeatTime?: string } | undefined)?.lastHeartbeatTime ??
            '',
        ) || 0,
        Date.parse(node.metadata.creationTimestamp ?? '') || 0,
      );
      const silentFor = now - seen;
      if (silentFor >= this.options.nodeMonitorGracePeriodMs) node = await this.markUnknown(node, ctx);
      else due = this.options.nodeMonitorGracePeriodMs - silentFor;
    }
    await this.taint(node, ctx);
    return due === undefined ? undefined : { requeueAfterMs: due };
  }

  private async markUnknown(node: KubeObject, ctx: ReconcileContext): Promise<KubeObject> {
    const at = rfc3339(ctx.now);
    const next = deepClone(node);
    next.status.conditions = (node.status?.conditions ?? []).map((c: Condition) => ({
      ...c,
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastTransitionTime: c.status === 'Unknown' ? c.lastTransitionTime : at,
    }));
    const written = await ctx.api.updateStatus(TYPES.nodes, next);
    await ctx.api.event(
      node,
      'Normal',
      'NodeNotReady',
      `Node ${node.metadata.name} status is now: NodeNotReady`,
      {
        component: 'node-controller',
      },
    );
    return written;
  }

  private async taint(node: KubeObject, ctx: ReconcileContext): Promise<void> {
    const current: Taint[] = node.spec?.taints ?? [];
    const managed = (t: Taint) => t.key === UNREACHABLE || t.key === NOT_READY;
    const wanted = conditionTaints(readyStatus(node));
    const kept = current.filter(
      (t) => !managed(t) || wanted.some((w) => w.key === t.key && w.effect === t.effect),
    );
    const added = wanted
      .filter((w) => !current.some((t) => t.key === w.key && t.effect === w.effect))
      .map((w) => (w.effect === 'NoExecute' ? { ...w, timeAdded: rfc3339(ctx.now) } : w));
    if (kept.length === current.length && !added.length) return;
    const next = deepClone(node);
    next.spec = { ...(node.spec ?? {}), taints: [...kept, ...added] };
    if (!next.spec.taints.length) delete next.spec.taints;
    await ctx.api.update(TYPES.nodes, next);
  }
}

/**
 * The taint eviction controller (NoExecute taint manager): a pod on a node with a NoExecute taint it
 * does not tolerate is deleted at once; one it tolerates for tolerationSeconds is deleted when they
 * have passed since the taint's timeAdded. The 300 s pods get for `not-ready`/`unreachable` are
 * the tolerations DefaultTolerationSeconds admission wrote into them, read like any other.
 */
export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction-controller';
  readonly user = NODE_CONTROLLER;

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const pod of cache.list('pods')) if (pod.spec?.nodeName) yield namespacedKey(pod);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (change.resource === 'pods' && change.type !== 'DELETED' && change.object.spec?.nodeName)
      yield namespacedKey(change.object);
    if (change.resource === 'nodes' && change.type === 'MODIFIED') {
      const noExecute = (o: KubeObject | undefined) =>
        JSON.stringify((o?.spec?.taints ?? []).filter((t: Taint) => t.effect === 'NoExecute'));
      if (noExecute(change.old) !== noExecute(change.object))
        for (const pod of cache.podsOn(change.object.metadata.name!)) yield namespacedKey(pod);
    }
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const pod = ctx.cache.object('pods', namespace, name);
    if (!pod?.spec?.nodeName || pod.metadata.deletionTimestamp) return;
    const node = ctx.cache.object('nodes', undefined, pod.spec.nodeName);
    const taints: (Taint & { timeAdded?: string })[] = (node?.spec?.taints ?? []).filter(
      (t: Taint) => t.effect === 'NoExecute',
    );
    if (!taints.length) return;
    const tolerations: (Toleration & { tolerationSeconds?: number })[] = pod.spec.tolerations ?? [];
    let evictAt = Infinity;
    for (const taint of taints) {
      const matching = tolerations.filter((t) => tolerates(t, taint));
      if (!matching.length) {
        evictAt = -Infinity;
        break;
      }
      // Several matching tolerations: the shortest tolerationSeconds wins; none set means forever.
      const seconds = Math.min(
        ...matching.map((t) =>
          typeof t.tolerationSeconds === 'number' ? Math.max(0, t.tolerationSeconds) : Infinity,
        ),
      );
      const added = Date.parse(taint.timeAdded ?? '') || ctx.now.getTime();
      evictAt = Math.min(evictAt, added + seconds * 1000);
    }
    if (evictAt === Infinity) return;
    const left = evictAt - ctx.now.getTime();
    if (left > 0) return { requeueAfterMs: left };
    const next = deepClone(pod);
    next.status = { ...(pod.status ?? {}) };
    next.status.conditions = [
      ...(pod.status?.conditions ?? []).filter((c: Condition) => c.type !== 'DisruptionTarget'),
      {
        type: 'DisruptionTarget',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: rfc3339(ctx.now),
        reason: 'DeletionByTaintManager',
        message: 'Taint manager: deleting due to NoExecute taint',
      },
    ];
    const written = await ctx.api.updateStatus(TYPES.pods, next);
    await ctx.api.event(
      pod,
      'Normal',
      'TaintManagerEviction',
      `Marking for deletion Pod ${namespace}/${name}`,
      {
        component: 'taint-eviction-controller',
      },
    );
    await ctx.api.delete(TYPES.pods, written);
  }
}
