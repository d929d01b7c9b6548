import { isIPv6 } from 'net';
import { isDeepStrictEqual } from 'util';
import { findResourceType, KubeObject, ResourceType, StatusError } from '@kubetime/api-machinery';
import { filter, mergeMap, Subscription } from 'rxjs';
import type { EventStore, StoredEvent } from '@kubetime/event-store';
import { RESOURCE_TYPES, storageKeyPrefix } from '@kubetime/api-machinery';
import type { RequestContext } from './context';
import type { ResourceStore } from './resource-store';

const APISERVER = { username: 'system:apiserver', groups: ['system:masters'] };
const NAMESPACE_CONTROLLER = {
  username: 'system:serviceaccount:kube-system:namespace-controller',
  groups: ['system:masters'],
};

/** Where clients reach this apiserver: an IP address (Endpoints hold no host names) and its port. */
export interface ApiserverEndpoint {
  address: string;
  port: number;
}

/**
 * What a fresh cluster has before anyone writes: the system namespaces, the kubernetes Service and
 * the Endpoints and EndpointSlice behind it.
 */
export async function bootstrapCluster(
  resources: ResourceStore,
  branch: string,
  apiserver: ApiserverEndpoint,
  now: () => Date,
): Promise<void> {
  const ctx: RequestContext = { user: APISERVER, branch, now: now() };
  const namespaces = findResourceType('', 'v1', 'namespaces')!;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (await resources.getStored(ctx, namespaces, undefined, name)) continue;
    await ignoreLostRace(() =>
      resources.create(
        ctx,
        namespaces,
        undefined,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        { dryRun: false },
      ),
    );
  }
  const services = findResourceType('', 'v1', 'services')!;
  const kubernetes: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: apiserver.port }],
    },
  };
  if (!(await resources.getStored(ctx, services, 'default', 'kubernetes')))
    await ignoreLostRace(() => resources.create(ctx, services, 'default', kubernetes, { dryRun: false }));
  await reconcileKubernetesEndpoints(resources, ctx, apiserver);
}

/**
 * The kubernetes Service has no selector, so no endpoints controller fills it: as upstream's
 * apiserver endpoint reconciler does, the apiserver writes the Endpoints (marked so no mirroring
 * controller copies it) and an EndpointSlice of the same name itself, and rewrites them when its
 * address or port changed since the last start.
 */
async function reconcileKubernetesEndpoints(
  resources: ResourceStore,
  ctx: RequestContext,
  apiserver: ApiserverEndpoint,
): Promise<void> {
  const port = { name: 'https', port: apiserver.port, protocol: 'TCP' };
  const endpoints: KubeObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: [{ addresses: [{ ip: apiserver.address }], ports: [port] }],
  };
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes' },
    },
    addressType: isIPv6(apiserver.address) ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [apiserver.address], conditions: { ready: true } }],
    ports: [port],
  };
  await ensureObject(resources, ctx, findResourceType('', 'v1', 'endpoints')!, endpoints, ['subsets']);
  // A slice's addressType cannot change: a server now on the other IP family replaces the slice.
  await ensureObject(
    resources,
    ctx,
    findResourceType('discovery.k8s.io', 'v1', 'endpointslices')!,
    slice,
    ['endpoints', 'ports'],
    'addressType',
  );
}

/**
 * Creates the object, or updates it when its labels or the given fields differ from what is stored;
 * a differing immutable field means deleting it and creating it anew.
 */
async function ensureObject(
  resources: ResourceStore,
  ctx: RequestContext,
  type: ResourceType,
  wanted: KubeObject,
  fields: string[],
  immutable?: string,
): Promise<void> {
  const { namespace, name } = wanted.metadata;
  const create = () =>
    ignoreLostRace(() => resources.create(ctx, type, namespace, wanted, { dryRun: false }));
  const stored = await resources.getStored(ctx, type, namespace, name!);
  if (!stored) return create();
  const current = stored.object;
  if (immutable && current[immutable] !== wanted[immutable]) {
    await ignoreGone(() => resources.delete(ctx, type, namespace, name!, { dryRun: false }));
    return create();
  }
  const same =
    isDeepStrictEqual(current.metadata.labels ?? {}, wanted.metadata.labels) &&
    fields.every((f) => isDeepStrictEqual(current[f], wanted[f]));
  if (same) return;
  await ignoreLostRace(() =>
    resources.update(
      ctx,
      type,
      namespace,
      name!,
      { ...wanted, metadata: { ...wanted.metadata, resourceVersion: String(stored.revision) } },
      { dryRun: false },
    ),
  );
}

/**
 * Another server on the same database may bootstrap at the same moment: losing that race (409,
 * AlreadyExists on a create or Conflict on an update) is fine, the other server wrote the same.
 */
async function ignoreLostRace(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!(error instanceof StatusError && error.code === 409)) throw error;
  }
}

/**
 * The namespace controller's finalizer: when a Namespace turns Terminating, delete everything in it,
 * then release the `kubernetes` finalizer so the Namespace itself goes. A projection over the event
 * stream, resuming from the head, so a Namespace left Terminating by a crash is finished on start.
 */
export function runNamespaceFinalizer(
  events: EventStore,
  resources: ResourceStore,
  branch: string,
  now: () => Date,
): Promise<Subscription> {
  const namespaces = findResourceType('', 'v1', 'namespaces')!;
  return events.branch(branch).then((head) => {
    const pending = head.list('/registry/namespaces/').filter((o) => o.object.metadata.deletionTimestamp);
    const finalize = async (ns: KubeObject, cause: number) => {
      const ctx: RequestContext = { user: NAMESPACE_CONTROLLER, branch, now: now(), cause };
      const name = ns.metadata.name!;
      for (const type of RESOURCE_TYPES) {
        if (
          !type.namespaced ||
          type.virtual ||
          type.storageVersion !== (type.group ? `${type.group}/${type.version}` : type.version)
        )
          continue;
        for (const item of head.list(storageKeyPrefix(type, name))) {
          await ignoreGone(() =>
            resources.delete(ctx, type, name, item.object.metadata.name!, {
              dryRun: false,
              propagationPolicy: 'Background',
            }),
          );
        }
      }
      const current = head.get(`/registry/namespaces/${name}`);
      // Released already: writing again would be seen as one more change to finalize, and a
      // finalizer someone else holds would keep that loop appending forever.
      if (!current?.object.spec?.finalizers?.includes('kubernetes')) return;
      const finalizers = (current.object.spec?.finalizers ?? []).filter((f: string) => f !== 'kubernetes');
      const finalized = { ...current.object, spec: { ...current.object.spec, finalizers } };
      await ignoreGone(() =>
        resources.appendWrite(
          ctx,
          namespaces,
          finalized,
          finalizers.length || current.object.metadata.finalizers?.length ? 'MODIFIED' : 'DELETED',
          current.revision,
          'update',
        ),
      );
    };
    const sub = events
      .watch(branch, head.revision)
      .pipe(
        filter(
          (e: StoredEvent) =>
            e.resource === 'namespaces' && e.type === 'MODIFIED' && !!e.object.metadata.deletionTimestamp,
        ),
        mergeMap((e) => finalize(e.object, e.revision), 1),
      )
      .subscribe({ error: () => undefined });
    for (const stored of pending) void finalize(stored.object, stored.revision).catch(() => undefined);
    return sub;
  });
}

async function ignoreGone(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof StatusError && (error.code === 404 || error.code === 409))) throw error;
  }
}
