import { deepClone, KubeObject } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { TYPES } from '../runtime/types';
import { canonicalJson, controllerRef, namespacedKey, ownerRefTo, splitKey } from './objects';
import { availability, isReady } from './pods';
import { REVISION_HASH_LABEL, syncRevisions, templateOf, trimRevisions } from './revisions';
import { WORKLOAD_TYPES } from './workload-types';

const SOURCE = { component: 'statefulset-controller' };
const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/**
 * Pods `<sts>-<ordinal>` with stable identity (hostname, subdomain) and their claims
 * `<claim>-<sts>-<ordinal>` from volumeClaimTemplates. OrderedReady creates one ordinal at a time,
 * each waiting for the one before to be Running and Ready, and removes from the highest ordinal
 * down; Parallel does all at once. A template change is a new ControllerRevision; RollingUpdate
 * replaces pods from the highest ordinal down to the partition, one ready pod at a time.
 */
export class StatefulSetController implements Controller {
  readonly name = 'statefulset-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:statefulset-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const sts of cache.list('statefulsets')) yield namespacedKey(sts);
  }

  *keysFor(change: CacheChange): Iterable<string> {
    if (change.resource === 'statefulsets') yield namespacedKey(change.object);
    if (change.resource !== 'pods' && change.resource !== 'controllerrevisions') return;
    const ref = controllerRef(change.object);
    if (ref?.kind === 'StatefulSet') yield `${change.object.metadata.namespace}/${ref.name}`;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const sts = ctx.cache.object('statefulsets', namespace, name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const revisions = await syncRevisions(sts, ctx);
    const update = revisions.update;
    const current = revisions.all.find((r) => r.metadata.name === sts.status?.currentRevision) ?? update;
    const replicas: number = sts.spec?.replicas ?? 1;
    const parallel = sts.spec?.podManagementPolicy === 'Parallel';
    const rolling = (sts.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition: number = rolling ? (sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;

    const byOrdinal = new Map<number, KubeObject>();
    for (const pod of ctx.cache.list('pods', namespace)) {
      if (controllerRef(pod)?.uid !== sts.metadata.uid) continue;
      const ordinal = ordinalOf(sts, pod);
      if (ordinal !== undefined) byOrdinal.set(ordinal, pod);
    }
    const healthy = (pod: KubeObject | undefined) =>
      !!pod && pod.status?.phase === 'Running' && isReady(pod) && !pod.metadata.deletionTimestamp;

    // Each pass stops at the first step OrderedReady must wait on; the pod's next event resumes it.
    await (async () => {
      for (let ordinal = 0; ordinal < replicas; ordinal++) {
        const pod = byOrdinal.get(ordinal);
        if (pod?.status?.phase === 'Failed' && !pod.metadata.deletionTimestamp) {
          await this.deletePod(sts, pod, ctx);
          if (!parallel) return;
          continue;
        }
        if (!pod) {
          const revision = ordinal < partition ? current : update;
          await this.createPod(sts, ordinal, revision, ctx);
          if (!parallel) return;
          continue;
        }
        if (!parallel && !healthy(pod)) return;
      }
      const extra = [...byOrdinal.keys()].filter((o) => o >= replicas).sort((a, b) => b - a);
      for (const ordinal of extra) {
        const pod = byOrdinal.get(ordinal)!;
        if (pod.metadata.deletionTimestamp) {
          if (!parallel) return;
          continue;
        }
        await this.deletePod(sts, pod, ctx);
        if (!parallel) return;
      }
      if (!rolling) return;
      // One pod at a time from the top, and only while every pod is Running and Ready.
      for (let ordinal = 0; ordinal < replicas; ordinal++) if (!healthy(byOrdinal.get(ordinal))) return;
      for (let ordinal = replicas - 1; ordinal >= partition; ordinal--) {
        const pod = byOrdinal.get(ordinal)!;
        if (pod.metadata.labels?.[REVISION_HASH_LABEL] !== update.metadata.name) {
          await this.deletePod(sts, pod, ctx);
          return;
        }
      }
    })();

    const inUse = new Set<string>([update.metadata.name!, current.metadata.name!]);
    for (const pod of byOrdinal.values()) {
      const revision = pod.metadata.labels?.[REVISION_HASH_LABEL];
      if (revision) inUse.add(revision);
    }
    await trimRevisions(sts, revisions.all, inUse, ctx);
    return this.writeStatus(sts, [...byOrdinal.values()], current, update, revisions.collisionCount, ctx);
  }

  private async createPod(
    sts: KubeObject,
    ordinal: number,
    revision: KubeObject,
    ctx: ReconcileContext,
  ): Promise<void> {
    const podName = `${sts.metadata.name}-${ordinal}`;
    const template = templateOf(revision);
    const spec = deepClone(template.spec ?? {});
    for (const claim of sts.spec?.volumeClaimTemplates ?? []) {
      const claimName = `${claim.metadata.name}-${sts.metadata.name}-${ordinal}`;
      if (!ctx.cache.object('persistentvolumeclaims', sts.metadata.namespace, claimName)) {
        await ctx.api.create(WORKLOAD_TYPES.persistentvolumeclaims, {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: {
            name: claimName,
            namespace: sts.metadata.namespace,
            labels: { ...(sts.spec?.selector?.matchLabels ?? {}), ...(claim.metadata.labels ?? {}) },
          },
          spec: deepClone(claim.spec ?? {}),
        });
        await ctx.api.event(
          sts,
          'Normal',
          'SuccessfulCreate',
          `create Claim ${claimName} Pod ${podName} in StatefulSet ${sts.metadata.name} success`,
          SOURCE,
        );
      }
      spec.volumes = [
        ...(spec.volumes ?? []).filter((v: { name: string }) => v.name !== claim.metadata.name),
        { name: claim.metadata.name, persistentVolumeClaim: { claimName } },
      ];
    }
    spec.hostname = podName;
    if (sts.spec?.serviceName) spec.subdomain = sts.spec.serviceName;
    await ctx.api.create(TYPES.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace: sts.metadata.namespace,
        labels: {
          ...(template.metadata?.labels ?? {}),
          [REVISION_HASH_LABEL]: revision.metadata.name!,
          [POD_NAME_LABEL]: podName,
          [POD_INDEX_LABEL]: String(ordinal),
        },
        ...(template.metadata?.annotations ? { annotations: deepClone(template.metadata.annotations) } : {}),
        ownerReferences: [ownerRefTo(sts)],
      },
      spec,
    });
    await ctx.api.event(
      sts,
      'Normal',
      'SuccessfulCreate',
      `create Pod ${podName} in StatefulSet ${sts.metadata.name} successful`,
      SOURCE,
    );
  }

  private async deletePod(sts: KubeObject, pod: KubeObject, ctx: ReconcileContext): Promise<void> {
    await ctx.api.delete(TYPES.pods, pod);
    await ctx.api.event(
      sts,
      'Normal',
      'SuccessfulDelete',
      `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`,
      SOURCE,
    );
  }

  private async writeStatus(
    sts: KubeObject,
    pods: KubeObject[],
    current: KubeObject,
    update: KubeObject,
    collisionCount: number,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    const minReady: number = sts.spec?.minReadySeconds ?? 0;
    let available = 0;
    let soonest: number | undefined;
    for (const pod of live) {
      const a = availability(pod, minReady, ctx.now);
      if (a.available) available++;
      else if (a.inMs !== undefined) soonest = Math.min(soonest ?? a.inMs, a.inMs);
    }
    const replicas: number = sts.spec?.replicas ?? 1;
    const updated = live.filter(
      (p) => p.metadata.labels?.[REVISION_HASH_LABEL] === update.metadata.name,
    ).length;
    // The update is the current revision once every wanted pod runs it and is ready.
    const done = updated === replicas && live.length === replicas && live.every(isReady);
    const currentName = done ? update.metadata.name! : current.metadata.name!;
    const status: Record<string, unknown> = {
      observedGeneration: sts.metadata.generation,
      replicas: live.length,
      readyReplicas: live.filter(isReady).length,
      currentReplicas: live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === currentName).length,
      updatedReplicas: updated,
      availableReplicas: available,
      currentRevision: currentName,
      updateRevision: update.metadata.name,
      collisionCount,
    };
    // Zero counts are omitted on the wire (omitempty), except availableReplicas which always shows.
    for (const field of ['readyReplicas', 'currentReplicas', 'updatedReplicas'])
      if (!status[field]) delete status[field];
    if (canonicalJson(status) !== canonicalJson(sts.status ?? {})) {
      const next = deepClone(sts);
      next.status = status;
      await ctx.api.updateStatus(WORKLOAD_TYPES.statefulsets, next);
    }
    return soonest === undefined ? undefined : { requeueAfterMs: soonest };
  }
}

function ordinalOf(sts: KubeObject, pod: KubeObject): number | undefined {
  const prefix = `${sts.metadata.name}-`;
  const name = pod.metadata.name!;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}
