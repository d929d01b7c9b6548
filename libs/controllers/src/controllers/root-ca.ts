import { deepClone, KubeObject } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext } from '../runtime/manager';
import { WORKLOAD_TYPES } from './workload-types';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
/** The text upstream's publisher sets, so pods and tools that read it see what a real cluster says. */
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

/**
 * The root CA publisher: every namespace holds a ConfigMap `kube-root-ca.crt` whose `ca.crt` is the
 * CA that signed the apiserver's serving certificate, which is how in-cluster clients (and projected
 * service-account volumes) verify the apiserver. Recreated when deleted; edited, its `data` is put
 * back to exactly that one key and its description annotation restored, while labels and other
 * annotations someone added stay, as upstream. Keys are namespace names.
 */
export class RootCaPublisher implements Controller {
  readonly name = 'root-ca-cert-publisher';
  readonly user = {
    username: 'system:serviceaccount:kube-system:root-ca-cert-publisher',
    groups: ['system:serviceaccounts', 'system:masters'],
  };

  constructor(private readonly caPem: string) {}

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const ns of cache.list('namespaces')) yield ns.metadata.name!;
  }

  *keysFor(change: CacheChange): Iterable<string> {
    if (change.resource === 'namespaces' && change.type !== 'DELETED') yield change.object.metadata.name!;
    if (change.resource === 'configmaps' && change.object.metadata.name === ROOT_CA_CONFIGMAP)
      yield change.object.metadata.namespace!;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const ns = ctx.cache.object('namespaces', undefined, key);
    // A namespace on its way out would refuse the create; its contents are being deleted anyway.
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') return;
    const data = { 'ca.crt': this.caPem };
    const existing = ctx.cache.object('configmaps', key, ROOT_CA_CONFIGMAP);
    if (!existing) {
      await ctx.api.create(WORKLOAD_TYPES.configmaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: ROOT_CA_CONFIGMAP,
          namespace: key,
          annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION },
        },
        data,
      });
      return;
    }
    if (existing.metadata.deletionTimestamp) return;
    const sameData =
      Object.keys(existing.data ?? {}).length === 1 && existing.data?.['ca.crt'] === this.caPem;
    if (sameData && existing.metadata.annotations?.[DESCRIPTION_ANNOTATION]) return;
    const next: KubeObject = deepClone(existing);
    next.data = data;
    next.metadata.annotations = {
      ...(next.metadata.annotations ?? {}),
      [DESCRIPTION_ANNOTATION]: DESCRIPTION,
    };
    await ctx.api.update(WORKLOAD_TYPES.configmaps, next);
  }
}
