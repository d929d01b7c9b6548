import { deepClone, KubeObject } from '@kubetime/api-machinery';
import type { CachedRef, CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext } from '../runtime/manager';
import { typeOfStored } from '../runtime/types';

/**
 * The garbage collector: an object whose owners (by uid) are all gone is deleted, in the background
 * as upstream's default; owners that are gone are dropped from an object that still has others.
 * Deletions marked `orphan` release their dependents first; `foregroundDeletion` deletes them first.
 * Keys are `<resource>|<namespace>/<name>`, since dependents may be of any kind.
 */
export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  readonly user = {
    username: 'system:serviceaccount:kube-system:generic-garbage-collector',
    groups: ['system:serviceaccounts', 'system:masters'],
  };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const ref of cache.all()) {
      if (ref.object.metadata.ownerReferences?.length || deleting(ref.object))
        yield keyOf(ref.resource, ref.object);
    }
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    const object = change.object;
    if (change.type === 'DELETED') {
      for (const dependent of cache.dependents(object.metadata.uid!))
        yield keyOf(dependent.resource, dependent.object);
      // An owner deleting in the foreground waits for this one: it may be the last it waited for.
      for (const ownerRef of object.metadata.ownerReferences ?? []) {
        const owner = cache.byUid(ownerRef.uid);
        if (owner && deleting(owner.object)) yield keyOf(owner.resource, owner.object);
      }
      return;
    }
    if (deleting(object)) yield keyOf(change.resource, object);
    if ((object.metadata.ownerReferences ?? []).some((r) => !cache.byUid(r.uid)))
      yield keyOf(change.resource, object);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const [resource, rest] = key.split('|');
    const slash = rest.indexOf('/');
    const ref =
      slash < 0
        ? ctx.cache.get(resource, undefined, rest)
        : ctx.cache.get(resource, rest.slice(0, slash), rest.slice(slash + 1));
    if (!ref) return;
    const object = ref.object;
    const finalizers = object.metadata.finalizers ?? [];
    if (object.metadata.deletionTimestamp && finalizers.includes('orphan')) return this.orphan(ref, ctx);
    if (object.metadata.deletionTimestamp && finalizers.includes('foregroundDeletion'))
      return this.foreground(ref, ctx);
    const owners = object.metadata.ownerReferences ?? [];
    if (!owners.length) return;
    const gone = owners.filter((r) => !ctx.cache.byUid(r.uid));
    if (!gone.length) return;
    const type = typeOf(ref);
    if (gone.length === owners.length) {
      if (!object.metadata.deletionTimestamp)
        await ctx.api.delete(type, object, { propagationPolicy: 'Background' });
      return;
    }
    const next = deepClone(object);
    next.metadata.ownerReferences = owners.filter((r) => ctx.cache.byUid(r.uid));
    await ctx.api.update(type, next);
  }

  private async orphan(owner: CachedRef, ctx: ReconcileContext): Promise<void> {
    const uid = owner.object.metadata.uid!;
    for (const dependent of ctx.cache.dependents(uid)) {
      const next = deepClone(dependent.object);
      const kept = (next.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      // An empty list is omitted on the wire, as upstream's omitempty field leaves it.
      if (kept.length) next.metadata.ownerReferences = kept;
      else delete next.metadata.ownerReferences;
      await ctx.api.update(typeOf(dependent), next);
    }
    await this.removeFinalizer(owner, 'orphan', ctx);
  }

  private async foreground(owner: CachedRef, ctx: ReconcileContext): Promise<void> {
    const dependents = ctx.cache.dependents(owner.object.metadata.uid!);
    // Upstream goes on in the foreground only below dependents that have dependents of their own;
    // a leaf (a pod) is deleted in the background and carries no foregroundDeletion finalizer.
    for (const dependent of dependents) {
      if (dependent.object.metadata.deletionTimestamp) continue;
      const hasDependents = ctx.cache.dependents(dependent.object.metadata.uid!).length > 0;
      await ctx.api.delete(typeOf(dependent), dependent.object, {
        propagationPolicy: hasDependents ? 'Foreground' : 'Background',
      });
    }
    // The owner goes once its dependents have: their DELETED events bring this key back.
    if (!dependents.length) await this.removeFinalizer(owner, 'foregroundDeletion', ctx);
  }

  private async removeFinalizer(ref: CachedRef, finalizer: string, ctx: ReconcileContext): Promise<void> {
    const next = deepClone(ref.object);
    next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await ctx.api.update(typeOf(ref), next);
  }
}

function deleting(object: KubeObject): boolean {
  const finalizers = object.metadata.finalizers ?? [];
  return (
    !!object.metadata.deletionTimestamp &&
    (finalizers.includes('orphan') || finalizers.includes('foregroundDeletion'))
  );
}

function keyOf(resource: string, object: KubeObject): string {
  return `${resource}|${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

function typeOf(ref: CachedRef) {
  const type = typeOfStored(ref.group, ref.version, ref.resource);
  if (!type) throw new Error(`no API type for ${ref.group}/${ref.version}/${ref.resource}`);
  return type;
}
