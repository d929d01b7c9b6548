import { deepClone, KubeObject, labelSelectorMatcher } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Clock } from '../runtime/clock';
import { Expectations } from '../runtime/expectations';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { NAME_SUFFIX_ALPHABET } from '../runtime/random';
import { TYPES } from '../runtime/types';
import { canonicalJson, controllerRef, findCondition, namespacedKey, ownerRefTo, splitKey } from './objects';
import { availability, isActive, isReady, isTerminating } from './pods';

const SOURCE = { component: 'replicaset-controller' };
/** One reconcile creates or deletes at most this many pods, as upstream's burstReplicas. */
const BURST = 500;
/** Generated names keep 5 characters for the suffix within the 63 a name may have. */
const MAX_NAME_BASE = 58;

/**
 * Keeps `spec.replicas` pods matching a ReplicaSet's selector alive: creates them from the template
 * (named `<rs>-<5 random>` from seeded randomness), deletes the least useful first, adopts orphans
 * that match and releases pods that stopped matching, and reports what it sees in status.
 */
export class ReplicaSetController implements Controller {
  readonly name = 'replicaset-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:replicaset-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };
  private readonly expectations: Expectations;

  constructor(clock: Clock) {
    this.expectations = new Expectations(clock);
  }

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const rs of cache.list('replicasets')) yield namespacedKey(rs);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (change.resource === 'replicasets') {
      yield namespacedKey(change.object);
      return;
    }
    if (change.resource !== 'pods') return;
    const pod = change.object;
    const keys = new Set<string>();
    for (const version of [change.old, pod]) {
      const ref = version && controllerRef(version);
      if (ref?.kind === 'ReplicaSet') keys.add(`${pod.metadata.namespace}/${ref.name}`);
    }
    const ref = controllerRef(pod);
    if (ref?.kind === 'ReplicaSet') {
      const owner = `${pod.metadata.namespace}/${ref.name}`;
      if (change.type === 'ADDED') this.expectations.observeAdd(owner, pod.metadata.name!);
      if (change.type === 'DELETED') this.expectations.observeDelete(owner, pod.metadata.name!);
    }
    // An orphan may be adopted by any ReplicaSet whose selector it matches.
    if (!ref && change.type !== 'DELETED') {
      for (const rs of cache.list('replicasets', pod.metadata.namespace)) {
        if (labelSelectorMatcher(rs.spec?.selector)(pod.metadata.labels)) keys.add(namespacedKey(rs));
      }
    }
    yield* keys;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const rs = ctx.cache.object('replicasets', namespace, name);
    if (!rs) {
      this.expectations.clear(key);
      return;
    }
    // Creates or deletes not yet seen: the cache is behind what this controller already did.
    if (!this.expectations.satisfied(key)) return;
    const owned = await this.claimPods(rs, ctx);
    const active = owned.filter(isActive);
    const wanted = rs.spec?.replicas ?? 1;
    if (!rs.metadata.deletionTimestamp) {
      if (active.length < wanted)
        await this.createPods(key, rs, Math.min(wanted - active.length, BURST), ctx);
      else if (active.length > wanted)
        await this.deletePods(key, rs, active, Math.min(active.length - wanted, BURST), ctx);
    }
    return this.writeStatus(rs, active, ctx);
  }

  /**
   * The pods this ReplicaSet controls: those naming it as controller that still match its selector.
   * Matching orphans are adopted and non-matching pods released, as upstream's ControllerRefManager.
   */
  private async claimPods(rs: KubeObject, ctx: ReconcileContext): Promise<KubeObject[]> {
    const matches = labelSelectorMatcher(rs.spec?.selector);
    const owned: KubeObject[] = [];
    for (const pod of ctx.cache.list('pods', rs.metadata.namespace)) {
      const ref = controllerRef(pod);
      const matching = matches(pod.metadata.labels);
      if (ref?.uid === rs.metadata.uid) {
        if (matching || isTerminating(pod)) owned.push(pod);
        else {
          const released = deepClone(pod);
          released.metadata.ownerReferences = pod.metadata.ownerReferences!.filter(
            (r) => r.uid !== rs.metadata.uid,
          );
          await ctx.api.update(TYPES.pods, released);
        }
      } else if (!ref && matching && !isTerminating(pod) && !rs.metadata.deletionTimestamp) {
        const adopted = deepClone(pod);
        adopted.metadata.ownerReferences = [...(pod.metadata.ownerReferences ?? []), ownerRefTo(rs)];
        owned.push(await ctx.api.update(TYPES.pods, adopted));
      }
    }
    return owned;
  }

  /**
   * Slow start, as upstream's slowStartBatch: batches of 1, 2, 4, ... creates, each batch issued at
   * once and awaited together, stopping at the first batch with a failure (a quota or admission
   * refusal then costs one write, not `count`). A batch's Events are issued once its creates succeeded
   * and awaited with the rest of the reconcile.
   */
  private async createPods(key: string, rs: KubeObject, count: number, ctx: ReconcileContext): Promise<void> {
    const base = `${rs.metadata.name!.slice(0, MAX_NAME_BASE)}-`;
    const template = rs.spec?.template ?? {};
    const names = new Set<string>();
    for (let done = 0, size = 1; done < count; done += size, size *= 2) {
      const batch: string[] = [];
      for (let i = 0; i < Math.min(size, count - done); i++) {
        let podName = base + ctx.random.string(5, NAME_SUFFIX_ALPHABET);
        while (names.has(podName) || ctx.cache.object('pods', rs.metadata.namespace, podName))
          podName = base + ctx.random.string(5, NAME_SUFFIX_ALPHABET);
        names.add(podName);
        batch.push(podName);
      }
      const created = await Promise.allSettled(
        batch.map((podName) => {
          this.expectations.expectAdd(key, podName);
          return ctx.api.create(TYPES.pods, podFor(rs, podName, base, template)).catch((error: unknown) => {
            this.expectations.forget(key, podName);
            throw error;
          });
        }),
      );
      for (const [i, outcome] of created.entries())
        if (outcome.status === 'fulfilled')
          ctx.defer(ctx.api.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${batch[i]}`, SOURCE));
      const failed = created.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  private async deletePods(
    key: string,
    rs: KubeObject,
    active: KubeObject[],
    count: number,
    ctx: ReconcileContext,
  ): Promise<void> {
    const victims = rankForDeletion(active).slice(0, count);
    for (const pod of victims) {
      this.expectations.expectDelete(key, pod.metadata.name!);
      try {
        await ctx.api.delete(TYPES.pods, pod);
      } catch (error) {
        this.expectations.forget(key, pod.metadata.name!);
        throw error;
      }
      await ctx.api.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, SOURCE);
    }
  }

  private async writeStatus(
    rs: KubeObject,
    active: KubeObject[],
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
    const minReady = rs.spec?.minReadySeconds ?? 0;
    let available = 0;
    let soonest: number | undefined;
    for (const pod of active) {
      const a = availability(pod, minReady, ctx.now);
      if (a.available) available++;
      else if (a.inMs !== undefined) soonest = Math.min(soonest ?? a.inMs, a.inMs);
    }
    const status: Record<string, unknown> = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) =>
        Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v),
      ).length,
      readyReplicas: active.filter(isReady).length,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    };
    // Zero counts are omitted on the wire (omitempty), so a scaled-down set shows only replicas: 0.
    for (const field of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'])
      if (!status[field]) delete status[field];
    if (rs.status?.conditions?.length) status.conditions = rs.status.conditions;
    if (canonicalJson(status) !== canonicalJson(rs.status ?? {})) {
      const next = deepClone(rs);
      next.status = status;
      await ctx.api.updateStatus(TYPES.replicasets, next);
    }
    return soonest === undefined ? undefined : { requeueAfterMs: soonest };
  }
}

function podFor(rs: KubeObject, name: string, base: string, template: KubeObject): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: base,
      namespace: rs.metadata.namespace,
      labels: deepClone(template.metadata?.labels ?? {}),
      ...(template.metadata?.annotations ? { annotations: deepClone(template.metadata.annotations) } : {}),
      ...(template.metadata?.finalizers?.length ? { finalizers: [...template.metadata.finalizers] } : {}),
      ownerReferences: [ownerRefTo(rs)],
    },
    spec: deepClone(template.spec ?? {}),
  };
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * The least useful pods first, in upstream's order of concerns: not yet on a node, earlier in the
 * lifecycle, not ready, sharing a node with more of their siblings, ready for less time, restarted
 * more, created later. Name breaks remaining ties so the choice is deterministic.
 */
export function rankForDeletion(pods: KubeObject[]): KubeObject[] {
  const perNode = new Map<string, number>();
  for (const p of pods)
    if (p.spec?.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  const readySince = (p: KubeObject) => Date.parse(findCondition(p, 'Ready')?.lastTransitionTime ?? '') || 0;
  const restarts = (p: KubeObject) =>
    (p.status?.containerStatuses ?? []).reduce(
      (n: number, c: { restartCount?: number }) => n + (c.restartCount ?? 0),
      0,
    );
  const compare = (a: KubeObject, b: KubeObject): number => {
    if (!!a.spec?.nodeName !== !!b.spec?.nodeName) return a.spec?.nodeName ? 1 : -1;
    const phase = (PHASE_RANK[a.status?.phase] ?? 0) - (PHASE_RANK[b.status?.phase] ?? 0);
    if (phase) return phase;
    if (isReady(a) !== isReady(b)) return isReady(a) ? 1 : -1;
    const crowd = (perNode.get(b.spec?.nodeName) ?? 0) - (perNode.get(a.spec?.nodeName) ?? 0);
    if (crowd) return crowd;
    if (isReady(a) && readySince(a) !== readySince(b)) return readySince(b) - readySince(a);
    if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
    const created =
      Date.parse(b.metadata.creationTimestamp ?? '') - Date.parse(a.metadata.creationTimestamp ?? '');
    if (created) return created;
    return a.metadata.name! < b.metadata.name! ? -1 : 1;
  };
  return [...pods].sort(compare);
}
