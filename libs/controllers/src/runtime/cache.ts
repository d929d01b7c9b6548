import { Observable, Subject, filter } from 'rxjs';
import type { KubeObject } from '@kubetime/api-machinery';
import type { StoredEvent, StoredObject } from '@kubetime/event-store';

/** Where an object lives, enough to write it back through the API. */
export interface CachedRef {
  group: string;
  version: string;
  resource: string;
  namespace: string | undefined;
  name: string;
  object: KubeObject;
}

export interface CacheChange {
  type: StoredEvent['type'];
  revision: number;
  resource: string;
  /** The object after the change; for DELETED its last state. */
  object: KubeObject;
  /** The state before the change, when the cache had one. */
  old: KubeObject | undefined;
}

/**
 * The informer cache every controller reads: all live objects of the branch, folded from the event
 * stream strictly in revision order, with the indexes controllers need (by uid, by owner uid, pods by
 * node). Controllers read only this, never the store's head, so what they decide depends only on the
 * events they have seen. Objects handed out are the cache's own: controllers copy before changing.
 */
export class ObjectCache {
  private readonly objects = new Map<string, Map<string, CachedRef>>();
  private readonly uids = new Map<string, CachedRef>();
  private readonly owned = new Map<string, Set<CachedRef>>();
  private readonly onNode = new Map<string, Set<CachedRef>>();
  private readonly changes$ = new Subject<CacheChange>();
  revision = 0;

  /** The changes of one resource as a stream: the per-kind view of the log. */
  changes(resource: string): Observable<CacheChange> {
    return this.changes$.pipe(filter((c) => c.resource === resource));
  }

  load(
    revision: number,
    items: StoredObject[],
    describe: (key: string) => { group: string; version: string; resource: string } | undefined,
  ): void {
    for (const item of items) {
      const where = describe(item.key);
      if (where)
        this.put({
          ...where,
          namespace: item.object.metadata.namespace,
          name: item.object.metadata.name ?? '',
          object: item.object,
        });
    }
    this.revision = revision;
  }

  apply(event: StoredEvent): CacheChange {
    const old = this.get(event.resource, event.namespace ?? undefined, event.name)?.object;
    if (old) this.remove(event.resource, event.namespace ?? undefined, event.name);
    if (event.type !== 'DELETED') {
      this.put({
        group: event.group,
        version: event.version,
        resource: event.resource,
        namespace: event.namespace ?? undefined,
        name: event.name,
        object: event.object,
      });
    }
    this.revision = event.revision;
    const change: CacheChange = {
      type: event.type,
      revision: event.revision,
      resource: event.resource,
      object: event.object,
      old,
    };
    this.changes$.next(change);
    return change;
  }

  get(resource: string, namespace: string | undefined, name: string): CachedRef | undefined {
    return this.objects.get(resource)?.get(slot(namespace, name));
  }

  object(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.get(resource, namespace, name)?.object;
  }

  /** Objects of a resource (in one namespace when given), in the order they were first seen. */
  list(resource: string, namespace?: string): KubeObject[] {
    const found: KubeObject[] = [];
    for (const ref of this.objects.get(resource)?.values() ?? []) {
      if (namespace === undefined || ref.namespace === namespace) found.push(ref.object);
    }
    return found;
  }

  /** Every cached object, of every resource. */
  *all(): Iterable<CachedRef> {
    for (const bucket of this.objects.values()) yield* bucket.values();
  }

  byUid(uid: string): CachedRef | undefined {
    return this.uids.get(uid);
  }

  /** Objects naming uid in their ownerReferences. */
  dependents(uid: string): CachedRef[] {
    return [...(this.owned.get(uid) ?? [])];
  }

  /** Pods bound to a node. */
  podsOn(node: string): KubeObject[] {
    return [...(this.onNode.get(node) ?? [])].map((r) => r.object);
  }

  private put(ref: CachedRef): void {
    let bucket = this.objects.get(ref.resource);
    if (!bucket) this.objects.set(ref.resource, (bucket = new Map()));
    bucket.set(slot(ref.namespace, ref.name), ref);
    const meta = ref.object.metadata;
    if (meta.uid) this.uids.set(meta.uid, ref);
    for (const owner of meta.ownerReferences ?? []) addTo(this.owned, owner.uid, ref);
    if (ref.resource === 'pods' && ref.object.spec?.nodeName)
      addTo(this.onNode, ref.object.spec.nodeName, ref);
  }

  private remove(resource: string, namespace: string | undefined, name: string): void {
    const bucket = this.objects.get(resource);
    const ref = bucket?.get(slot(namespace, name));
    if (!ref) return;
    bucket!.delete(slot(namespace, name));
    const meta = ref.object.metadata;
    if (meta.uid && this.uids.get(meta.uid) === ref) this.uids.delete(meta.uid);
    for (const owner of meta.ownerReferences ?? []) removeFrom(this.owned, owner.uid, ref);
    if (ref.resource === 'pods' && ref.object.spec?.nodeName)
      removeFrom(this.onNode, ref.object.spec.nodeName, ref);
  }
}

function slot(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function addTo(index: Map<string, Set<CachedRef>>, key: string, ref: CachedRef): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(ref);
}

function removeFrom(index: Map<string, Set<CachedRef>>, key: string, ref: CachedRef): void {
  const set = index.get(key);
  set?.delete(ref);
  if (set && !set.size) index.delete(key);
}
