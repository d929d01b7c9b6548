import { deepClone, KubeObject } from '@kubetime/api-machinery';
import type { ReconcileContext } from '../runtime/manager';
import { podTemplateHash } from './deployment';
import { canonicalJson, controllerRef, ownerRefTo } from './objects';
import { WORKLOAD_TYPES } from './workload-types';

export const REVISION_HASH_LABEL = 'controller-revision-hash';
/** Names tried past the first before giving up on a hash collision in one reconcile. */
const MAX_COLLISIONS = 10;

/**
 * What `kubectl rollout undo` patches back for StatefulSets and DaemonSets: the whole template,
 * replacing rather than merging.
 */
export function revisionData(owner: KubeObject): Record<string, unknown> {
  return { spec: { template: { ...deepClone(owner.spec?.template ?? {}), $patch: 'replace' } } };
}

export interface Revisions {
  /** The revision of the current template, created or brought to the newest number. */
  update: KubeObject;
  /** All revisions of the owner, the update one included, oldest number first. */
  all: KubeObject[];
  collisionCount: number;
}

/**
 * The owner's ControllerRevisions, with one for its current template: an equal older one is reused
 * and renumbered to the newest (a rollback), otherwise `<owner>-<hash>` is created with the next
 * number. A name taken by different data bumps the collision count, as upstream.
 */
export async function syncRevisions(owner: KubeObject, ctx: ReconcileContext): Promise<Revisions> {
  const all = ctx.cache
    .list('controllerrevisions', owner.metadata.namespace)
    .filter((r) => controllerRef(r)?.uid === owner.metadata.uid)
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  const data = revisionData(owner);
  const newest = all.length ? (all[all.length - 1].revision ?? 0) : 0;
  let collisionCount: number = owner.status?.collisionCount ?? 0;
  const equal = all.filter((r) => canonicalJson(r.data) === canonicalJson(data));
  if (equal.length) {
    const found = equal[equal.length - 1];
    if (found.revision === newest) return { update: found, all, collisionCount };
    const renumbered = deepClone(found);
    renumbered.revision = newest + 1;
    const update = await ctx.api.update(WORKLOAD_TYPES.controllerrevisions, renumbered);
    return { update, all: [...all.filter((r) => r !== found), update], collisionCount };
  }
  for (let i = 0; i <= MAX_COLLISIONS; i++, collisionCount++) {
    const hash = podTemplateHash(owner.spec?.template, collisionCount);
    const name = `${owner.metadata.name}-${hash}`;
    if (ctx.cache.object('controllerrevisions', owner.metadata.namespace, name)) continue;
    const update = await ctx.api.create(WORKLOAD_TYPES.controllerrevisions, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { ...(owner.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
        ownerReferences: [ownerRefTo(owner)],
      },
      data,
      revision: newest + 1,
    });
    return { update, all: [...all, update], collisionCount };
  }
  throw new Error(
    `no free ControllerRevision name for ${owner.metadata.name} after ${MAX_COLLISIONS} collisions`,
  );
}

/** Revisions beyond revisionHistoryLimit that no pod runs and that are neither current nor update go. */
export async function trimRevisions(
  owner: KubeObject,
  revisions: KubeObject[],
  inUse: Set<string>,
  ctx: ReconcileContext,
): Promise<void> {
  const limit: number = owner.spec?.revisionHistoryLimit ?? 10;
  const spare = revisions.filter((r) => !inUse.has(r.metadata.name!));
  for (const r of spare.slice(0, Math.max(0, spare.length - limit)))
    await ctx.api.delete(WORKLOAD_TYPES.controllerrevisions, r);
}

/** The hash a revision's pods carry in their controller-revision-hash label. */
export function revisionHash(revision: KubeObject): string {
  return revision.metadata.labels?.[REVISION_HASH_LABEL] ?? revision.metadata.name!;
}

/** A pod built from the template of a revision (what the revision recorded, not the live spec). */
export function templateOf(revision: KubeObject): KubeObject {
  const template = deepClone((revision.data as { spec: { template: KubeObject } }).spec.template);
  delete (template as Record<string, unknown>).$patch;
  return template;
}
