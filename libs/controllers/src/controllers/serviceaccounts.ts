import type { KubeObject } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext } from '../runtime/manager';
import { WORKLOAD_TYPES } from './workload-types';

const DEFAULT = 'default';

/**
 * Every namespace has a `default` ServiceAccount, as upstream's serviceaccounts-controller ensures:
 * created when the namespace appears (or on start for namespaces that predate the controller) and
 * again whenever someone deletes it. Keys are namespace names.
 */
export class ServiceAccountsController implements Controller {
  readonly name = 'service-account-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:service-account-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const ns of cache.list('namespaces')) yield ns.metadata.name!;
  }

  *keysFor(change: CacheChange): Iterable<string> {
    if (change.resource === 'namespaces' && change.type !== 'DELETED') yield change.object.metadata.name!;
    if (
      change.resource === 'serviceaccounts' &&
      change.type === 'DELETED' &&
      change.object.metadata.name === DEFAULT
    )
      yield change.object.metadata.namespace!;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const ns = ctx.cache.object('namespaces', undefined, key);
    // A namespace on its way out would refuse the create; its contents are being deleted anyway.
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') return;
    if (ctx.cache.object('serviceaccounts', key, DEFAULT)) return;
    const sa: KubeObject = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: DEFAULT, namespace: key },
    };
    await ctx.api.create(WORKLOAD_TYPES.serviceaccounts, sa);
  }
}
