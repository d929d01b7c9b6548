import {
  deepClone,
  findResourceType,
  KubeObject,
  labelSelectorMatcher,
  rfc3339,
} from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext } from '../runtime/manager';
import { canonicalJson, Condition, controllerRef, findCondition, namespacedKey, splitKey } from './objects';
import { isReady } from './pods';

const PDBS = findResourceType('policy', 'v1', 'poddisruptionbudgets')!;

/**
 * kube-controller-manager's disruption controller: keeps each PodDisruptionBudget's status
 * (expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed, the DisruptionAllowed
 * condition) in step with the pods it selects, so `kubectl get pdb` shows ALLOWED DISRUPTIONS and
 * the eviction subresource can refuse a disruption the budget cannot afford.
 */
export class DisruptionController implements Controller {
  readonly name = 'disruption-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:disruption-controller',
    groups: [
      'system:serviceaccounts',
      'system:serviceaccounts:kube-system',
      'system:authenticated',
      'system:masters',
    ],
  };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const pdb of cache.list('poddisruptionbudgets')) yield namespacedKey(pdb);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (change.resource === 'poddisruptionbudgets' && change.type !== 'DELETED')
      yield namespacedKey(change.object);
    if (change.resource !== 'pods') return;
    const namespace = change.object.metadata.namespace;
    for (const pdb of cache.list('poddisruptionbudgets', namespace)) {
      const selects = labelSelectorMatcher(pdb.spec?.selector);
      if (selects(change.object.metadata.labels) || selects(change.old?.metadata.labels))
        yield namespacedKey(pdb);
    }
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pdb = ctx.cache.object('poddisruptionbudgets', namespace, name);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const selects = labelSelectorMatcher(pdb.spec?.selector);
    const pods = ctx.cache
      .list('pods', namespace)
      .filter(
        (p) =>
          selects(p.metadata.labels) &&
          !p.metadata.deletionTimestamp &&
          p.status?.phase !== 'Succeeded' &&
          p.status?.phase !== 'Failed',
      );
    const expected = expectedPods(pods, ctx.cache);
    const healthy = pods.filter(isReady).length;
    const desired = desiredHealthy(pdb, expected);
    const allowed = Math.max(0, healthy - desired);
    const current = findCondition(pdb, 'DisruptionAllowed');
    const status = allowed > 0 ? 'True' : 'False';
    const condition: Condition & { observedGeneration?: number } = {
      type: 'DisruptionAllowed',
      status,
      reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
      message: '',
      observedGeneration: pdb.metadata.generation,
      lastTransitionTime: current?.status === status ? current.lastTransitionTime : rfc3339(ctx.now),
    };
    const next = deepClone(pdb);
    next.status = {
      ...(pdb.status ?? {}),
      observedGeneration: pdb.metadata.generation,
      expectedPods: expected,
      currentHealthy: healthy,
      desiredHealthy: desired,
      disruptionsAllowed: allowed,
      conditions: [condition],
    };
    if (canonicalJson(next.status) === canonicalJson(pdb.status)) return;
    await ctx.api.updateStatus(PDBS, next);
  }
}

/**
 * How many pods there should be: the replicas of the controllers that own the selected pods, as
 * upstream reads their scale; the selected pods themselves when some have no known controller.
 */
function expectedPods(pods: KubeObject[], cache: ObjectCache): number {
  const owners = new Map<string, number>();
  for (const pod of pods) {
    const ref = controllerRef(pod);
    const replicas = ref && cache.byUid(ref.uid)?.object.spec?.replicas;
    if (!ref || typeof replicas !== 'number') return pods.length;
    owners.set(ref.uid, replicas);
  }
  return [...owners.values()].reduce((a, b) => a + b, 0);
}

/** minAvailable, or expected minus maxUnavailable; percentages of the expected pods, rounded up. */
function desiredHealthy(pdb: KubeObject, expected: number): number {
  const value = (v: unknown) =>
    typeof v === 'string' && v.endsWith('%')
      ? Math.ceil((Number(v.slice(0, -1)) * expected) / 100)
      : Number(v) || 0;
  if (pdb.spec?.minAvailable !== undefined) return value(pdb.spec.minAvailable);
  if (pdb.spec?.maxUnavailable !== undefined) return Math.max(0, expected - value(pdb.spec.maxUnavailable));
  return 0;
}
