import { deepClone, KubeObject, labelSelectorMatcher, rfc3339 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { fnv32a, NAME_SUFFIX_ALPHABET } from '../runtime/random';
import { TYPES } from '../runtime/types';
import {
  canonicalJson,
  Condition,
  controllerRef,
  findCondition,
  namespacedKey,
  ownerRefTo,
  splitKey,
} from './objects';

export const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Deployment annotations that describe the Deployment itself and are not copied to its ReplicaSets. */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);
const SOURCE = { component: 'deployment-controller' };

/**
 * Rolls a Deployment's pod template out through ReplicaSets: one `<name>-<pod-template-hash>` per
 * template, numbered by the `deployment.kubernetes.io/revision` annotation that `kubectl rollout
 * history/undo` read; scales the new one up and the old ones down within maxSurge/maxUnavailable
 * (or all down first for Recreate), keeps revisionHistoryLimit old ones, and reports status and the
 * Available/Progressing conditions that `kubectl rollout status` waits on.
 */
export class DeploymentController implements Controller {
  readonly name = 'deployment-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:deployment-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const d of cache.list('deployments')) yield namespacedKey(d);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    const object = change.object;
    const ns = object.metadata.namespace;
    if (change.resource === 'deployments') yield namespacedKey(object);
    else if (change.resource === 'replicasets') {
      const ref = controllerRef(object);
      if (ref?.kind === 'Deployment') yield `${ns}/${ref.name}`;
      else if (!ref) {
        for (const d of cache.list('deployments', ns))
          if (labelSelectorMatcher(d.spec?.selector)(object.metadata.labels)) yield namespacedKey(d);
      }
    } else if (change.resource === 'pods' && change.type === 'DELETED') {
      // Recreate waits for every old pod to be gone before it starts new ones.
      const rsRef = controllerRef(object);
      const rs = rsRef?.kind === 'ReplicaSet' ? cache.object('replicasets', ns, rsRef.name) : undefined;
      const dRef = rs && controllerRef(rs);
      if (dRef?.kind === 'Deployment') yield `${ns}/${dRef.name}`;
    }
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    let d = ctx.cache.object('deployments', namespace, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const all = await this.claimReplicaSets(d, ctx);
    const template = d.spec?.template ?? {};
    let newRS = all.find((rs) => sameTemplate(rs.spec?.template, template));
    const old = () => all.filter((rs) => rs !== newRS);
    const replicas = d.spec?.replicas ?? 1;
    const previous = d.status ?? {};
    let created = false;
    let scaled = false;

    if (!d.spec?.paused && !isScalingEvent(d, all)) {
      const maxOld = Math.max(0, ...old().map(revisionOf));
      if (!newRS) {
        const made = await this.createReplicaSet(d, maxOld + 1, all, ctx);
        if (!made) return;
        newRS = made;
        all.push(made);
        created = true;
      } else {
        newRS = await this.syncAnnotations(d, newRS, maxOld, ctx, all);
      }
      d = await this.setRevision(d, revisionOf(newRS), ctx);
      const strategy = d.spec?.strategy?.type ?? 'RollingUpdate';
      scaled =
        strategy === 'Recreate'
          ? await this.recreate(d, newRS, old(), all, ctx)
          : await this.rollingUpdate(d, newRS, old(), all, ctx);
    } else {
      // Pausing holds back only the rollout: no ReplicaSet for a changed template, but the existing
      // ones still follow spec.replicas, as upstream's sync does for a paused Deployment. A changed
      // spec.replicas is likewise spread over the ReplicaSets as they are before any rolling goes on.
      if (newRS) {
        newRS = await this.syncAnnotations(d, newRS, Math.max(0, ...old().map(revisionOf)), ctx, all);
        d = await this.setRevision(d, revisionOf(newRS), ctx);
      }
      scaled = await this.scaleReplicaSets(d, newRS, all, ctx);
    }

    const status = computeStatus(d, newRS, all);
    const complete =
      !!newRS &&
      status.updatedReplicas === replicas &&
      status.replicas === replicas &&
      status.availableReplicas === replicas;
    if (complete || d.spec?.paused) await this.cleanup(d, old(), ctx);
    const maxUnavailable = d.spec?.strategy?.type === 'Recreate' ? 0 : rollingParameters(d).maxUnavailable;
    const conditions = new Conditions(d.status?.conditions ?? [], rfc3339(ctx.now));
    if ((status.availableReplicas ?? 0) >= replicas - maxUnavailable) {
      conditions.set('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.');
    } else {
      conditions.set(
        'Available',
        'False',
        'MinimumReplicasUnavailable',
        'Deployment does not have minimum availability.',
      );
    }
    let requeueAfterMs: number | undefined;
    const deadline = d.spec?.progressDeadlineSeconds;
    const progressing = findCondition(d, 'Progressing');
    if (d.spec?.paused) conditions.set('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    else if (progressing?.reason === 'DeploymentPaused')
      conditions.set('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
    else if (newRS && complete) {
      conditions.set(
        'Progressing',
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${newRS.metadata.name}" has successfully progressed.`,
      );
    } else if (newRS && created) {
      conditions.set(
        'Progressing',
        'True',
        'NewReplicaSetCreated',
        `Created new replica set "${newRS.metadata.name}"`,
        true,
      );
    } else if (newRS && (scaled || madeProgress(previous, status) || !progressing)) {
      conditions.set(
        'Progressing',
        'True',
        'ReplicaSetUpdated',
        `ReplicaSet "${newRS.metadata.name}" is progressing.`,
        true,
      );
    } else if (newRS && progressing?.status === 'True' && deadline !== undefined) {
      const since = Date.parse(progressing.lastUpdateTime ?? '') || ctx.now.getTime();
      const left = since + deadline * 1000 - ctx.now.getTime();
      if (left <= 0) {
        conditions.set(
          'Progressing',
          'False',
          'ProgressDeadlineExceeded',
          `ReplicaSet "${newRS.metadata.name}" has timed out progressing.`,
        );
      } else requeueAfterMs = left;
    }
    const next: Record<string, unknown> = { ...status, conditions: conditions.list() };
    if (d.status?.collisionCount !== undefined) next.collisionCount = d.status.collisionCount;
    if (canonicalJson(next) !== canonicalJson(d.status ?? {})) {
      const updated = deepClone(d);
      updated.status = next;
      await ctx.api.updateStatus(TYPES.deployments, updated);
    }
    // A new Progressing condition restarts the deadline clock: look again when it would run out.
    const now = findConditionIn(next.conditions as Condition[], 'Progressing');
    if (
      requeueAfterMs === undefined &&
      deadline !== undefined &&
      now?.status === 'True' &&
      now.reason !== 'NewReplicaSetAvailable'
    ) {
      requeueAfterMs = deadline * 1000;
    }
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /** ReplicaSets this Deployment controls; matching orphans are adopted, as upstream does. */
  private async claimReplicaSets(d: KubeObject, ctx: ReconcileContext): Promise<KubeObject[]> {
    const matches = labelSelectorMatcher(d.spec?.selector);
    const owned: KubeObject[] = [];
    for (const rs of ctx.cache.list('replicasets', d.metadata.namespace)) {
      const ref = controllerRef(rs);
      if (ref?.uid === d.metadata.uid) owned.push(rs);
      else if (!ref && matches(rs.metadata.labels) && !rs.metadata.deletionTimestamp) {
        const adopted = deepClone(rs);
        adopted.metadata.ownerReferences = [...(rs.metadata.ownerReferences ?? []), ownerRefTo(d)];
        owned.push(await ctx.api.update(TYPES.replicasets, adopted));
      }
    }
    return owned;
  }

  private async createReplicaSet(
    d: KubeObject,
    revision: number,
    all: KubeObject[],
    ctx: ReconcileContext,
  ): Promise<KubeObject | undefined> {
    const collisionCount: number = d.status?.collisionCount ?? 0;
    const hash = podTemplateHash(d.spec.template, collisionCount);
    const name = `${d.metadata.name}-${hash}`;
    const existing = ctx.cache.object('replicasets', d.metadata.namespace, name);
    if (existing) {
      // Same name, different template: a hash collision. Count it, so the next hash differs.
      const bumped = deepClone(d);
      bumped.status = { ...(d.status ?? {}), collisionCount: collisionCount + 1 };
      await ctx.api.updateStatus(TYPES.deployments, bumped);
      return undefined;
    }
    const template = deepClone(d.spec.template);
    template.metadata = {
      ...(template.metadata ?? {}),
      labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
    };
    const replicas =
      d.spec.strategy?.type === 'Recreate' ? 0 : newReplicasForRollingUpdate(d, undefined, all);
    const selector = deepClone(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations: { ...copiedAnnotations(d), ...replicaAnnotations(d), [REVISION]: String(revision) },
        ownerReferences: [ownerRefTo(d)],
      },
      spec: { replicas, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
    };
    const made = await ctx.api.create(TYPES.replicasets, rs);
    if (replicas > 0) {
      await ctx.api.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${name} from 0 to ${replicas}`,
        SOURCE,
      );
    }
    return made;
  }

  /**
   * Keeps the new ReplicaSet's annotations in step with the Deployment; when an older ReplicaSet
   * becomes the new one again (a rollback), it takes the next revision number, and the numbers it
   * had are kept in revision-history.
   */
  private async syncAnnotations(
    d: KubeObject,
    rs: KubeObject,
    maxOld: number,
    ctx: ReconcileContext,
    all: KubeObject[],
  ): Promise<KubeObject> {
    const annotations: Record<string, string> = {
      ...(rs.metadata.annotations ?? {}),
      ...copiedAnnotations(d),
    };
    const current = revisionOf(rs);
    if (current <= maxOld) {
      annotations[REVISION] = String(maxOld + 1);
      const history = annotations[REVISION_HISTORY] ? annotations[REVISION_HISTORY].split(',') : [];
      if (current > 0) history.push(String(current));
      annotations[REVISION_HISTORY] = history.join(',');
    }
    if (canonicalJson(annotations) === canonicalJson(rs.metadata.annotations ?? {})) return rs;
    const next = deepClone(rs);
    next.metadata.annotations = annotations;
    const written = await ctx.api.update(TYPES.replicasets, next);
    all.splice(all.indexOf(rs), 1, written);
    return written;
  }

  private async setRevision(d: KubeObject, revision: number, ctx: ReconcileContext): Promise<KubeObject> {
    const wanted: Record<string, string> = {
      ...(d.metadata.annotations ?? {}),
      [REVISION]: String(revision),
    };
    const rs = ctx.cache
      .list('replicasets', d.metadata.namespace)
      .find((r) => controllerRef(r)?.uid === d.metadata.uid && revisionOf(r) === revision);
    const cause = rs?.metadata.annotations?.['kubernetes.io/change-cause'];
    // A rollback brings back the change-cause recorded with that revision.
    if (cause && !d.metadata.annotations?.['kubernetes.io/change-cause'])
      wanted['kubernetes.io/change-cause'] = cause;
    if (
      d.metadata.annotations?.[REVISION] === String(revision) &&
      canonicalJson(wanted) === canonicalJson(d.metadata.annotations)
    )
      return d;
    const next = deepClone(d);
    next.metadata.annotations = wanted;
    return ctx.api.update(TYPES.deployments, next);
  }

  /** Recreate: every old pod goes before any new one starts. */
  private async recreate(
    d: KubeObject,
    newRS: KubeObject,
    old: KubeObject[],
    all: KubeObject[],
    ctx: ReconcileContext,
  ): Promise<boolean> {
    let scaled = false;
    for (const rs of old)
      if ((rs.spec?.replicas ?? 0) > 0) scaled = (await this.scale(d, rs, 0, ctx, all)) || scaled;
    if (scaled) return true;
    const oldUids = new Set(old.map((rs) => rs.metadata.uid));
    const oldPodsLeft = ctx.cache.list('pods', d.metadata.namespace).some((p) => {
      const ref = controllerRef(p);
      return ref && oldUids.has(ref.uid) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
    });
    if (oldPodsLeft) return false;
    return this.scale(d, newRS, d.spec?.replicas ?? 1, ctx, all);
  }

  /**
   * RollingUpdate: scale the new ReplicaSet up as far as maxSurge allows, then scale old ones down
   * as far as maxUnavailable allows. Unhealthy old replicas go first, since removing them costs no
   * availability; then the oldest ReplicaSets, so the newest old version is the last to go.
   */
  private async rollingUpdate(
    d: KubeObject,
    newRS: KubeObject,
    old: KubeObject[],
    all: KubeObject[],
    ctx: ReconcileContext,
  ): Promise<boolean> {
    const replicas = d.spec?.replicas ?? 1;
    const target = newReplicasForRollingUpdate(d, newRS, all);
    let scaled = await this.scale(d, newRS, target, ctx, all);
    if (scaled) return true;
    const { maxUnavailable } = rollingParameters(d);
    const oldOnes = all.filter((rs) => rs.metadata.uid !== newRS.metadata.uid);
    if (!oldOnes.some((rs) => (rs.spec?.replicas ?? 0) > 0)) return false;
    const current = all.find((rs) => rs.metadata.uid === newRS.metadata.uid)!;
    const allPods = sum(all, (rs) => rs.spec?.replicas ?? 0);
    const minAvailable = replicas - maxUnavailable;
    const newUnavailable = (current.spec?.replicas ?? 0) - (current.status?.availableReplicas ?? 0);
    let budget = allPods - minAvailable - newUnavailable;
    if (budget <= 0) return false;
    const oldestFirst = [...oldOnes].sort(byAge);
    for (const rs of oldestFirst) {
      if (budget <= 0) break;
      const spec = rs.spec?.replicas ?? 0;
      const unhealthy = spec - (rs.status?.availableReplicas ?? 0);
      if (spec === 0 || unhealthy <= 0) continue;
      const down = Math.min(budget, unhealthy);
      budget -= down;
      scaled = (await this.scale(d, rs, spec - down, ctx, all)) || scaled;
    }
    const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    let scaleDown = Math.min(budget, available - minAvailable);
    for (const rs of oldestFirst) {
      if (scaleDown <= 0) break;
      const live = all.find((r) => r.metadata.uid === rs.metadata.uid)!;
      const spec = live.spec?.replicas ?? 0;
      if (spec === 0) continue;
      const down = Math.min(spec, scaleDown);
      scaleDown -= down;
      scaled = (await this.scale(d, live, spec - down, ctx, all)) || scaled;
    }
    return scaled;
  }

  /**
   * Brings the ReplicaSets to spec.replicas without rolling: a lone active (or, with none active,
   * the newest) ReplicaSet takes it all; a saturated new one lets the old ones go to zero; during a
   * RollingUpdate the difference is spread in proportion to each one's share of the size it was
   * scaled for (max-replicas), the rounding remainder going to the largest.
   */
  private async scaleReplicaSets(
    d: KubeObject,
    newRS: KubeObject | undefined,
    all: KubeObject[],
    ctx: ReconcileContext,
  ): Promise<boolean> {
    const replicas = d.spec?.replicas ?? 1;
    const size = (rs: KubeObject) => rs.spec?.replicas ?? 0;
    const active = all.filter((rs) => size(rs) > 0);
    const only =
      active.length === 1 ? active[0] : active.length ? undefined : (newRS ?? [...all].sort(byAge).at(-1));
    // Even at the right size its annotations move to the new spec.replicas: the scaling event is over.
    if (only) return this.scale(d, only, replicas, ctx, all);
    if (!active.length) return false;
    if (
      newRS &&
      size(newRS) === replicas &&
      newRS.metadata.annotations?.[DESIRED_REPLICAS] === String(replicas) &&
      (newRS.status?.availableReplicas ?? 0) === replicas
    ) {
      let scaled = false;
      for (const rs of active)
        if (rs.metadata.uid !== newRS.metadata.uid) scaled = (await this.scale(d, rs, 0, ctx, all)) || scaled;
      return scaled;
    }
    if (d.spec?.strategy?.type === 'Recreate') {
      // Nothing to spread: the annotations alone take the new size, so the recreate can go on.
      for (const rs of active) await this.scale(d, rs, size(rs), ctx, all);
      return false;
    }
    const allowed = replicas > 0 ? replicas + rollingParameters(d).maxSurge : 0;
    const toAdd = allowed - sum(active, size);
    // Growing favours the newer ReplicaSet among equals, shrinking the older one.
    const ordered = [...active].sort((a, b) => size(b) - size(a) || (toAdd > 0 ? -byAge(a, b) : byAge(a, b)));
    const targets = new Map<KubeObject, number>();
    let added = 0;
    for (const rs of ordered) {
      const share =
        toAdd > 0 ? Math.min(fraction(d, rs), toAdd - added) : Math.max(fraction(d, rs), toAdd - added);
      const step = added === toAdd ? 0 : share;
      targets.set(rs, size(rs) + step);
      added += step;
    }
    targets.set(ordered[0], Math.max(0, targets.get(ordered[0])! + toAdd - added));
    let scaled = false;
    for (const [rs, target] of targets) scaled = (await this.scale(d, rs, target, ctx, all)) || scaled;
    return scaled;
  }

  private async scale(
    d: KubeObject,
    rs: KubeObject,
    replicas: number,
    ctx: ReconcileContext,
    all: KubeObject[],
  ): Promise<boolean> {
    const from = rs.spec?.replicas ?? 0;
    const annotations = { ...(rs.metadata.annotations ?? {}), ...replicaAnnotations(d) };
    if (from === replicas && canonicalJson(annotations) === canonicalJson(rs.metadata.annotations ?? {}))
      return false;
    const next = deepClone(rs);
    next.spec.replicas = replicas;
    next.metadata.annotations = annotations;
    const written = await ctx.api.update(TYPES.replicasets, next);
    const index = all.findIndex((r) => r.metadata.uid === rs.metadata.uid);
    if (index >= 0) all[index] = written;
    if (from === replicas) return false;
    const verb = replicas > from ? 'up' : 'down';
    await ctx.api.event(
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${replicas}`,
      SOURCE,
    );
    return true;
  }

  /** Deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private async cleanup(d: KubeObject, old: KubeObject[], ctx: ReconcileContext): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = old
      .filter(
        (rs) =>
          !rs.metadata.deletionTimestamp &&
          (rs.spec?.replicas ?? 0) === 0 &&
          (rs.status?.replicas ?? 0) === 0,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit)))
      await ctx.api.delete(TYPES.replicasets, rs);
  }
}

/** spec.replicas differs from what an active ReplicaSet was last sized for. */
function isScalingEvent(d: KubeObject, all: KubeObject[]): boolean {
  const replicas = String(d.spec?.replicas ?? 1);
  return all.some((rs) => {
    const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
    return (rs.spec?.replicas ?? 0) > 0 && desired !== undefined && desired !== replicas;
  });
}

/** How many replicas a ReplicaSet gains (or loses) to keep its share of the size it was scaled for. */
function fraction(d: KubeObject, rs: KubeObject): number {
  const replicas = d.spec?.replicas ?? 1;
  const current = rs.spec?.replicas ?? 0;
  if (replicas === 0) return -current;
  const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? d.status?.replicas ?? 0);
  if (!annotated) return 0;
  return Math.round((current * (replicas + rollingParameters(d).maxSurge)) / annotated) - current;
}

function newReplicasForRollingUpdate(
  d: KubeObject,
  newRS: KubeObject | undefined,
  all: KubeObject[],
): number {
  const replicas = d.spec?.replicas ?? 1;
  const current = newRS?.spec?.replicas ?? 0;
  if (current >= replicas) return replicas;
  const { maxSurge } = rollingParameters(d);
  const total = sum(all, (rs) => rs.spec?.replicas ?? 0);
  const room = replicas + maxSurge - total;
  if (room <= 0) return current;
  return current + Math.min(room, replicas - current);
}

/** maxSurge rounds up and maxUnavailable down; both 0 would never progress, so unavailable becomes 1. */
export function rollingParameters(d: KubeObject): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  const rolling = d.spec?.strategy?.rollingUpdate ?? {};
  const maxSurge = resolve(rolling.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = resolve(rolling.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

function resolve(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const percent = Number(value.replace(/%$/, ''));
  const exact = (percent * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function computeStatus(
  d: KubeObject,
  newRS: KubeObject | undefined,
  all: KubeObject[],
): Record<string, number> {
  const replicas = sum(all, (rs) => rs.status?.replicas ?? 0);
  const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
  const status: Record<string, number> = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas,
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sum(all, (rs) => rs.spec?.replicas ?? 0) - available),
  };
  // The counts are omitempty in DeploymentStatus: zero is absent on the wire.
  for (const field of Object.keys(status))
    if (field !== 'observedGeneration' && !status[field]) delete status[field];
  return status;
}

function madeProgress(before: Record<string, number | undefined>, after: Record<string, number>): boolean {
  const n = (v: number | undefined) => v ?? 0;
  const oldBefore = n(before.replicas) - n(before.updatedReplicas);
  const oldAfter = n(after.replicas) - n(after.updatedReplicas);
  return (
    n(after.updatedReplicas) > n(before.updatedReplicas) ||
    n(after.readyReplicas) > n(before.readyReplicas) ||
    n(after.availableReplicas) > n(before.availableReplicas) ||
    oldAfter < oldBefore
  );
}

/** Conditions in a fixed order; the transition time moves only when the status does. */
class Conditions {
  private readonly byType = new Map<string, Condition>();

  constructor(
    existing: Condition[],
    private readonly now: string,
  ) {
    for (const c of existing) this.byType.set(c.type, { ...c });
  }

  set(type: string, status: string, reason: string, message: string, refresh = false): void {
    const current = this.byType.get(type);
    if (
      current &&
      current.status === status &&
      current.reason === reason &&
      current.message === message &&
      !refresh
    )
      return;
    this.byType.set(type, {
      type,
      status,
      lastUpdateTime: this.now,
      lastTransitionTime: current && current.status === status ? current.lastTransitionTime : this.now,
      reason,
      message,
    });
  }

  list(): Condition[] {
    const order = ['Available', 'Progressing', 'ReplicaFailure'];
    return [...this.byType.values()].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  }
}

function findConditionIn(conditions: Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

export function revisionOf(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
}

function copiedAnnotations(d: KubeObject): Record<string, string> {
  return Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED.has(k)));
}

function replicaAnnotations(d: KubeObject): Record<string, string> {
  const replicas = d.spec?.replicas ?? 1;
  const surge = d.spec?.strategy?.type === 'Recreate' ? 0 : rollingParameters(d).maxSurge;
  return { [DESIRED_REPLICAS]: String(replicas), [MAX_REPLICAS]: String(replicas + surge) };
}

function withoutHash(template: KubeObject | undefined): unknown {
  const copy: Record<string, any> = deepClone(template ?? {});
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
    if (!Object.keys(copy.metadata.labels).length) delete copy.metadata.labels;
  }
  return copy;
}

function sameTemplate(a: KubeObject | undefined, b: KubeObject | undefined): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}

/**
 * A stable name-safe hash of the pod template (and the collision count, so a collision yields a
 * different name): FNV-1a over the canonical JSON, its decimal digits spelled in the same
 * vowel-free alphabet generated names use.
 */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const digits = String(
    fnv32a(canonicalJson(withoutHash(template as KubeObject)) + (collisionCount ? `/${collisionCount}` : '')),
  );
  return [...digits].map((c) => NAME_SUFFIX_ALPHABET[c.charCodeAt(0) % NAME_SUFFIX_ALPHABET.length]).join('');
}

function sum<T>(items: T[], f: (item: T) => number): number {
  return items.reduce((n, item) => n + f(item), 0);
}

function byAge(a: KubeObject, b: KubeObject): number {
  const t = Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? '');
  return t || (a.metadata.name! < b.metadata.name! ? -1 : 1);
}
