import { randomUUID } from 'crypto';
import {
  admitDefaultTolerationSeconds,
  applyDefaults,
  applyPatch,
  convert,
  deepClone,
  Errors,
  groupVersion,
  KubeObject,
  parseFieldSelector,
  parseLabelSelector,
  PatchType,
  ResourceType,
  rfc3339,
  serverSideApply,
  storageKey,
  storageKeyPrefix,
  storageTypeOf,
  StatusError,
  trackUpdate,
  validateObject,
} from '@kubetime/api-machinery';
import {
  EventStore,
  PreconditionFailed,
  RevisionCompacted,
  StoredObject,
  WriteIntent,
} from '@kubetime/event-store';
import type { RequestContext } from './context';
import { allocateServiceAddresses } from './service-allocation';

/** Kinds whose spec changes bump metadata.generation, as their upstream REST strategies do. */
const GENERATION_KINDS = new Set([
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'Ingress',
  'NetworkPolicy',
  'ReplicationController',
]);

/** Kinds whose create keeps the status the client sent (kubelets register Nodes with status). */
const STATUS_KEPT_ON_CREATE = new Set(['Node', 'Event', 'Lease', 'ControllerRevision']);

const CONFLICT_RETRIES = 5;

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continueToken?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

export interface ListResult {
  items: KubeObject[];
  revision: number;
  continueToken?: string;
  remainingItemCount?: number;
}

export interface WriteOptions {
  dryRun: boolean;
  fieldManager?: string;
  subresource?: string;
}

export interface DeleteOptions {
  dryRun: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

interface ContinueToken {
  rv: number;
  start: string;
}

/**
 * The generic registry behind every resource: Kubernetes object semantics (uid, generation,
 * status/spec separation, defaulting, validation, optimistic concurrency, finalizers) over the event
 * store. Plain TypeScript; the HTTP layer only decodes requests and encodes answers.
 */
export class ResourceStore {
  constructor(private readonly events: EventStore) {}

  key(type: ResourceType, namespace: string | undefined, name: string): string {
    return storageKey(storageTypeOf(type), namespace, name);
  }

  async getStored(
    ctx: Pick<RequestContext, 'branch'>,
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    revision?: number,
  ): Promise<StoredObject | undefined> {
    return translate(() => this.events.get(ctx.branch, this.key(type, namespace, name), revision));
  }

  async get(
    ctx: Pick<RequestContext, 'branch'>,
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    revision?: number,
  ): Promise<KubeObject> {
    const stored = await this.getStored(ctx, type, namespace, name, revision);
    if (!stored) throw Errors.notFound(type, name);
    if (stored.opaque) throw Errors.internal(stored.opaque.reason);
    // A copy: the stored object is the branch head's own, and a caller editing its answer in place
    // must not change the head (the update would then see no change).
    return structuredClone(view(type, stored.object));
  }

  async list(
    ctx: Pick<RequestContext, 'branch'>,
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions,
  ): Promise<ListResult> {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, type.kind);
    let revision: number | undefined;
    let start = '';
    if (options.continueToken) {
      const token = decodeContinue(options.continueToken);
      revision = token.rv;
      start = token.start;
    } else if (
      options.resourceVersion &&
      options.resourceVersion !== '0' &&
      options.resourceVersionMatch === 'Exact'
    ) {
      revision = parseRevision(options.resourceVersion);
    }
    const prefix = storageKeyPrefix(storageTypeOf(type), namespace);
    const listed = await translate(
      () => this.events.list(ctx.branch, prefix, revision),
      options.continueToken ? continueExpired : undefined,
    );
    if (
      options.resourceVersion &&
      options.resourceVersionMatch === 'NotOlderThan' &&
      parseRevision(options.resourceVersion) > listed.revision
    ) {
      throw Errors.gone(
        `Too large resource version: ${options.resourceVersion}, current: ${listed.revision}`,
      );
    }
    const matched: KubeObject[] = [];
    let lastKey = '';
    let remaining = 0;
    for (const stored of listed.items) {
      if (start && stored.key <= start) continue;
      // As kube-apiserver fails a list holding a value it cannot decrypt, rather than hide the item.
      if (stored.opaque) throw Errors.internal(stored.opaque.reason);
      const object = view(type, stored.object);
      if (!labels(object.metadata.labels) || !fields(object)) continue;
      if (options.limit && matched.length >= options.limit) {
        remaining++;
        continue;
      }
      matched.push(object);
      lastKey = stored.key;
    }
    const result: ListResult = { items: matched, revision: listed.revision };
    if (remaining > 0) {
      result.continueToken = Buffer.from(JSON.stringify({ rv: listed.revision, start: lastKey })).toString(
        'base64url',
      );
      result.remainingItemCount = remaining;
    }
    return result;
  }

  async create(
    ctx: RequestContext,
    type: ResourceType,
    namespace: string | undefined,
    body: KubeObject,
    options: WriteOptions,
  ): Promise<KubeObject> {
    const object = this.prepareCreate(ctx, type, namespace, body, options);
    // Upstream's admission runs before a name is generated, so its refusal names the prefix.
    const requested = body.metadata?.name || body.metadata?.generateName || object.metadata.name!;
    await this.requireNamespace(ctx, type, object.metadata.namespace, requested);
    const stored = await this.finishAndAppend(ctx, type, object, undefined, options, 'create');
    return stored;
  }

  /**
   * PUT: replaces the object; a resourceVersion in the body is a precondition, an empty one
   * means "whatever is there now" as upstream allows for built-in kinds.
   */
  async update(
    ctx: RequestContext,
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    options: WriteOptions,
  ): Promise<KubeObject> {
    checkIdentity(type, namespace, name, body);
    const current = await this.getStored(ctx, type, namespace, name);
    if (!current) throw Errors.notFound(type, name);
    const wanted = body.metadata.resourceVersion;
    if (wanted && wanted !== String(current.revision)) throw Errors.conflict(type, name);
    return this.replace(ctx, type, current, body, options, 'update');
  }

  async patch(
    ctx: RequestContext,
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    options: WriteOptions & { force: boolean },
  ): Promise<{ object: KubeObject; created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.getStored(ctx, type, namespace, name);
      try {
        if (patchType === 'application/apply-patch+yaml') {
          if (!options.fieldManager)
            throw Errors.badRequest(
              'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
            );
          const applied = asObject(patch);
          checkIdentity(type, namespace, name, applied);
          const merged = serverSideApply({
            current: current ? view(type, current.object) : undefined,
            applied: {
              ...applied,
              apiVersion: applied.apiVersion ?? groupVersion(type),
              kind: applied.kind ?? type.kind,
            },
            manager: options.fieldManager,
            force: options.force,
            now: ctx.now,
            subresource: options.subresource,
          });
          if (!current) {
            return {
              object: await this.create(ctx, type, namespace, merged, {
                ...options,
                fieldManager: undefined,
              }),
              created: true,
            };
          }
          return {
            object: await this.replace(
              ctx,
              type,
              current,
              merged,
              { ...options, fieldManager: undefined },
              'patch',
            ),
            created: false,
          };
        }
        if (!current) throw Errors.notFound(type, name);
        const base = view(type, current.object);
        const patched = applyPatch(type.kind, groupVersion(type), base, patchType, patch);
        const wanted = (patch as KubeObject)?.metadata?.resourceVersion;
        if (patchType !== 'application/json-patch+json' && wanted && wanted !== String(current.revision)) {
          throw Errors.conflict(type, name);
        }
        return { object: await this.replace(ctx, type, current, patched, options, 'patch'), created: false };
      } catch (error) {
        // A patch is relative to the object it was computed against: a concurrent write means
        // recomputing it, as GuaranteedUpdate does, not failing the client.
        if (error instanceof RaceLost && attempt < CONFLICT_RETRIES) continue;
        if (error instanceof RaceLost) throw Errors.conflict(type, name);
        throw error;
      }
    }
  }

  async delete(
    ctx: RequestContext,
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions,
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.getStored(ctx, type, namespace, name);
      if (!current) throw Errors.notFound(type, name);
      const object = view(type, current.object);
      const pre = options.preconditions ?? {};
      if (pre.uid && pre.uid !== object.metadata.uid) {
        throw Errors.conflict(
          type,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${object.metadata.uid}`,
        );
      }
      if (pre.resourceVersion && pre.resourceVersion !== String(current.revision)) {
        throw Errors.conflict(
          type,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.revision}`,
        );
      }
      try {
        return await this.deleteOnce(ctx, type, current, object, options);
      } catch (error) {
        if (error instanceof RaceLost && attempt < CONFLICT_RETRIES) continue;
        if (error instanceof RaceLost) throw Errors.conflict(type, name);
        throw error;
      }
    }
  }

  /**
   * Objects with finalizers, and Foreground/Orphan deletions, are only marked (deletionTimestamp);
   * whoever owns the finalizer removes it, and the update that removes the last one deletes.
   */
  private async deleteOnce(
    ctx: RequestContext,
    type: ResourceType,
    current: StoredObject,
    object: KubeObject,
    options: DeleteOptions,
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    const finalizers = [...(object.metadata.finalizers ?? [])];
    if (options.propagationPolicy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (options.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion'))
      finalizers.push('foregroundDeletion');
    const namespaceWithContent = type.kind === 'Namespace' && object.spec?.finalizers?.length;
    const grace = podGracePeriod(type, object, options);
    if (grace > 0) {
      // A Pod on a node is only marked: its kubelet stops the containers and then deletes it with
      // grace 0, as the pod registry's graceful deletion does. A shorter grace may cut an earlier one.
      const deadline = new Date(ctx.now.getTime() + grace * 1000);
      const markedUntil = object.metadata.deletionTimestamp;
      if (markedUntil && Date.parse(markedUntil) <= deadline.getTime()) return { object, deleted: false };
      const marked = deepClone(object);
      marked.metadata.deletionTimestamp = rfc3339(deadline);
      marked.metadata.deletionGracePeriodSeconds = grace;
      if (finalizers.length) marked.metadata.finalizers = finalizers;
      if (options.dryRun) return { object: marked, deleted: false };
      const event = await this.appendWrite(ctx, type, marked, 'MODIFIED', current.revision, 'delete');
      return { object: view(type, event), deleted: false };
    }
    if (finalizers.length || namespaceWithContent) {
      if (object.metadata.deletionTimestamp) return { object, deleted: false };
      const marked = deepClone(object);
      marked.metadata.deletionTimestamp = rfc3339(ctx.now);
      marked.metadata.deletionGracePeriodSeconds = 0;
      if (finalizers.length) marked.metadata.finalizers = finalizers;
      if (type.kind === 'Namespace') marked.status = { ...(marked.status ?? {}), phase: 'Terminating' };
      if (options.dryRun) return { object: marked, deleted: false };
      const event = await this.appendWrite(ctx, type, marked, 'MODIFIED', current.revision, 'delete');
      return { object: view(type, event), deleted: false };
    }
    if (options.dryRun) return { object, deleted: true };
    const event = await this.appendWrite(ctx, type, object, 'DELETED', current.revision, 'delete');
    return { object: view(type, event), deleted: true };
  }

  private prepareCreate(
    ctx: RequestContext,
    type: ResourceType,
    namespace: string | undefined,
    body: KubeObject,
    options: WriteOptions,
  ): KubeObject {
    // Only the top level and metadata are written here; finishAndAppend's defaulting deep-copies
    // the rest before anything below them changes, so the caller's body stays untouched. A
    // malformed metadata (not an object) takes the old full copy, so it fails as it always did.
    const meta0: unknown = body.metadata;
    const plainMeta = typeof meta0 === 'object' && meta0 !== null && !Array.isArray(meta0);
    const object: KubeObject = plainMeta ? { ...body, metadata: { ...body.metadata } } : deepClone(body);
    object.metadata = object.metadata ?? {};
    object.apiVersion = groupVersion(type);
    object.kind = type.kind;
    const meta = object.metadata;
    if (type.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw Errors.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = namespace ?? meta.namespace;
      if (!meta.namespace) throw Errors.badRequest('the namespace of the object is required');
    } else {
      delete meta.namespace;
    }
    if (meta.resourceVersion)
      throw Errors.badRequest('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (!meta.name) {
      throw Errors.invalid(type.kind, type.group, '', [
        {
          reason: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ]);
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(ctx.now);
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (GENERATION_KINDS.has(type.kind)) meta.generation = 1;
    else delete meta.generation;
    if (
      !STATUS_KEPT_ON_CREATE.has(type.kind) &&
      'status' in object &&
      type.subresources.some((s) => s.name === 'status')
    ) {
      delete object.status;
    }
    if (type.kind === 'Pod') object.status = { phase: 'Pending', qosClass: qosClass(object) };
    void options;
    return object;
  }

  /** Turns the wanted object into the next version of current and appends it. */
  private async replace(
    ctx: RequestContext,
    type: ResourceType,
    current: StoredObject,
    wanted: KubeObject,
    options: WriteOptions,
    verb: string,
  ): Promise<KubeObject> {
    const old = view(type, current.object);
    const next = deepClone(wanted);
    next.apiVersion = groupVersion(type);
    next.kind = type.kind;
    next.metadata = next.metadata ?? {};
    // Identity and system fields are the server's, whatever the client sent.
    for (const field of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'namespace',
      'name',
    ] as const) {
      if (old.metadata[field] === undefined) delete next.metadata[field];
      else next.metadata[field] = old.metadata[field] as never;
    }
    if (options.subresource === 'status') {
      const onlyStatus = deepClone(old);
      onlyStatus.status = next.status;
      return this.finishAndAppend(ctx, type, onlyStatus, current, options, verb);
    }
    if (type.subresources.some((s) => s.name === 'status')) {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
    if (GENERATION_KINDS.has(type.kind) && specOf(next) !== specOf(old)) {
      next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    }
    return this.finishAndAppend(ctx, type, next, current, options, verb);
  }

  private async finishAndAppend(
    ctx: RequestContext,
    type: ResourceType,
    candidate: KubeObject,
    current: StoredObject | undefined,
    options: WriteOptions,
    verb: string,
  ): Promise<KubeObject> {
    const old = current ? view(type, current.object) : undefined;
    let object = applyDefaults(type, candidate);
    if (type.kind === 'Pod' && !options.subresource) object = admitDefaultTolerationSeconds(object);
    if (type.kind === 'Service') {
      const services = await this.list(ctx, type, undefined, {});
      object = allocateServiceAddresses(object, services.items, old);
    }
    const causes = validateObject(type, object, old);
    if (causes.length) throw Errors.invalid(type.kind, type.group, object.metadata.name ?? '', causes);
    if (options.fieldManager) {
      object = trackUpdate({
        before: old,
        after: object,
        manager: options.fieldManager,
        now: ctx.now,
        subresource: options.subresource,
      });
    }
    if (old) {
      // A write that changes nothing is not an event: etcd's GuaranteedUpdate skips identical
      // bytes, and managedFields timestamps alone do not count as a change. The exception is a body
      // sealed with a rotated-out key: rewriting it is how Secrets are re-encrypted.
      const storage = storageTypeOf(type);
      if (
        sameIgnoringManagedFields(old, object) &&
        !this.events.isStale(storage.group, storage.resource, current!)
      )
        return old;
      // A Namespace also waits for its spec.finalizers (the namespace controller's), as upstream's
      // namespace registry does on update.
      if (
        object.metadata.deletionTimestamp &&
        !(object.metadata.finalizers ?? []).length &&
        (type.kind !== 'Namespace' || !(object.spec?.finalizers ?? []).length)
      ) {
        if (options.dryRun) return object;
        return view(type, await this.appendWrite(ctx, type, object, 'DELETED', current!.revision, verb));
      }
    }
    if (options.dryRun) return object;
    const event = await this.appendWrite(
      ctx,
      type,
      object,
      old ? 'MODIFIED' : 'ADDED',
      current?.revision ?? 0,
      verb,
    );
    return view(type, event);
  }

  async appendWrite(
    ctx: RequestContext,
    type: ResourceType,
    object: KubeObject,
    eventType: WriteIntent['type'],
    expectedRevision: number,
    verb: string,
  ): Promise<KubeObject> {
    const storage = storageTypeOf(type);
    const stored = storage === type ? object : convert(object, groupVersion(storage));
    const { resourceVersion: _rv, ...metadata } = stored.metadata;
    try {
      const event = await this.events.append(
        ctx.branch,
        {
          key: storageKey(storage, metadata.namespace, metadata.name ?? ''),
          type: eventType,
          object: { ...stored, metadata },
          group: storage.group,
          version: storage.version,
          resource: storage.resource,
          expectedRevision,
          actor: ctx.user.username,
          cause: ctx.cause,
          recordedAt: ctx.now,
          request: { verb, userAgent: ctx.userAgent, requestId: ctx.requestId },
        },
        ctx.onSequenced,
      );
      return event.object;
    } catch (error) {
      if (error instanceof PreconditionFailed) {
        if (eventType === 'ADDED') throw Errors.alreadyExists(type, object.metadata.name ?? '');
        throw new RaceLost();
      }
      throw error;
    }
  }

  private async requireNamespace(
    ctx: RequestContext,
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<void> {
    if (!type.namespaced || !namespace) return;
    const ns = await this.events.get(ctx.branch, `/registry/namespaces/${namespace}`);
    if (!ns) throw Errors.notFound({ group: '', resource: 'namespaces' }, namespace);
    if (ns.object.status?.phase === 'Terminating') {
      throw Errors.forbidden(
        `${type.resource}${type.group ? '.' + type.group : ''} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          name,
          ...(type.group ? { group: type.group } : {}),
          kind: type.resource,
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      );
    }
  }
}

/** A concurrent write won the race for the same key; the caller recomputes and retries. */
export class RaceLost extends Error {
  override readonly name = 'RaceLost';
}

/**
 * Seconds a Pod deletion waits for its kubelet: only Pods bound to a node and still running get one;
 * the request's gracePeriodSeconds wins over the Pod's terminationGracePeriodSeconds (default 30).
 */
function podGracePeriod(type: ResourceType, pod: KubeObject, options: DeleteOptions): number {
  if (type.kind !== 'Pod' || !pod.spec?.nodeName) return 0;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 0;
  const grace = options.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, Math.floor(grace));
}

/** The object as the requested API version shows it (HPA v1, events.k8s.io Events). */
export function view(type: ResourceType, stored: KubeObject): KubeObject {
  return groupVersion(type) === stored.apiVersion ? stored : convert(stored, groupVersion(type));
}

function specOf(object: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object;
  return JSON.stringify(rest);
}

function sameIgnoringManagedFields(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { managedFields: _mf, resourceVersion: _rv, ...metadata } = o.metadata;
    return JSON.stringify(canonical({ ...o, metadata }));
  };
  return strip(a) === strip(b);
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

function checkIdentity(
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  body: KubeObject,
): void {
  if (body.metadata?.name && body.metadata.name !== name) {
    throw Errors.badRequest(
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
    );
  }
  if (type.namespaced && body.metadata?.namespace && namespace && body.metadata.namespace !== namespace) {
    throw Errors.badRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
}

function asObject(value: unknown): KubeObject {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw Errors.badRequest('the request body must be a JSON or YAML object');
  const object = value as KubeObject;
  return { ...object, metadata: object.metadata ?? {} };
}

export function parseRevision(value: string): number {
  if (!/^\d+$/.test(value)) throw Errors.badRequest(`invalid resource version: ${value}`);
  return Number(value);
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof parsed.rv === 'number' && typeof parsed.start === 'string') return parsed;
  } catch {
    // fall through to the error below
  }
  throw Errors.badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

function continueExpired(error: RevisionCompacted): StatusError {
  return new StatusError(
    410,
    'Expired',
    `The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter. (oldest available revision: ${error.compacted + 1})`,
  );
}

/** Maps event-store errors onto the Status a client expects. */
export async function translate<T>(
  work: () => Promise<T>,
  compacted?: (e: RevisionCompacted) => StatusError,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RevisionCompacted) {
      if (compacted) throw compacted(error);
      // A retention rule compacted this resource only: name its own oldest readable revision.
      throw Errors.gone(
        error.keyPrefix
          ? `too old resource version: ${error.requested} (${error.compacted}): retention compacted ${error.keyPrefix} (oldest available revision: ${error.compacted})`
          : `too old resource version: ${error.requested} (${error.compacted + 1})`,
      );
    }
    if (error instanceof Error && error.name === 'FutureRevision') {
      throw new StatusError(504, 'Timeout', `Too large resource version: ${error.message}`);
    }
    throw error;
  }
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** generateName suffixes use the same consonant-heavy alphabet as kube-apiserver's. */
function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_ALPHABET[Math.floor(Math.random() * SUFFIX_ALPHABET.length)];
  return s;
}

/** QoS class by the kubelet's rules: requests default to limits; all equal and set = Guaranteed. */
export function qosClass(pod: KubeObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const limits = c.resources?.limits ?? {};
    const requests = { ...limits, ...(c.resources?.requests ?? {}) };
    if (Object.keys(requests).length || Object.keys(limits).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (!limits[r] || requests[r] !== limits[r]) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
