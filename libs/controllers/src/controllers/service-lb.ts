import { deepClone, formatIPv4, KubeObject, parseIPv4 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext } from '../runtime/manager';
import { namespacedKey, splitKey } from './objects';
import { WORKLOAD_TYPES } from './workload-types';

/** An inclusive range of IPv4 addresses that LoadBalancer Services are given addresses from. */
export interface LoadBalancerPool {
  first: string;
  last: string;
}

interface Ingress {
  ip?: string;
  hostname?: string;
  ipMode?: string;
}

const SOURCE = { component: 'service-controller' };

/**
 * What a cloud's service controller (or MetalLB on bare metal) does for `type: LoadBalancer`:
 * each such Service gets `status.loadBalancer.ingress: [{ip, ipMode: VIP}]`, the lowest free address
 * of the pool, or `spec.loadBalancerIP` when that is in the pool and free. An address is free when
 * no other Service's status holds it, so deleting a Service or changing its type releases it (the
 * status goes with it), and the Services still waiting are looked at again. A Service that cannot
 * be given an address stays pending with a Warning Event (one per reason, not one per look). Services naming a `loadBalancerClass`
 * belong to another implementation and are left alone. Keys are `namespace/name`.
 */
export class ServiceLoadBalancerController implements Controller {
  readonly name = 'service-lb-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:service-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };
  private readonly first: number;
  private readonly last: number;

  constructor(private readonly pool: LoadBalancerPool) {
    const first = parseIPv4(pool.first);
    const last = parseIPv4(pool.last);
    if (first === undefined || last === undefined || first > last)
      throw new Error(`load balancer pool ${pool.first}-${pool.last} is not a range of IPv4 addresses`);
    this.first = first;
    this.last = last;
  }

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const svc of cache.list('services')) yield namespacedKey(svc);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (change.resource !== 'services') return;
    yield namespacedKey(change.object);
    const held = (o: KubeObject | undefined) => this.heldAddress(o);
    const released = change.type === 'DELETED' ? held(change.object) : held(change.old);
    if (released === undefined || (change.type !== 'DELETED' && held(change.object) === released)) return;
    // An address went back to the pool: the Services waiting for one get another look, oldest first.
    for (const svc of cache.list('services'))
      if (this.manages(svc) && held(svc) === undefined) yield namespacedKey(svc);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = ctx.cache.object('services', namespace, name);
    if (!svc || svc.metadata.deletionTimestamp) return;
    const ingress: Ingress[] = svc.status?.loadBalancer?.ingress ?? [];
    if (!this.manages(svc)) {
      // No longer a LoadBalancer (or handed to another class): the address this pool gave it goes back.
      if (this.heldAddress(svc) !== undefined) await this.writeIngress(svc, [], ctx);
      return;
    }
    const taken = new Set<number>();
    for (const other of ctx.cache.list('services')) {
      if (other.metadata.uid === svc.metadata.uid) continue;
      const address = this.heldAddress(other);
      if (address !== undefined) taken.add(address);
    }
    const requested: string | undefined = svc.spec?.loadBalancerIP || undefined;
    const current = this.heldAddress(svc);
    if (
      current !== undefined &&
      !taken.has(current) &&
      (requested === undefined || parseIPv4(requested) === current)
    ) {
      const wanted = [{ ip: formatIPv4(current), ipMode: 'VIP' }];
      if (JSON.stringify(ingress) !== JSON.stringify(wanted)) await this.writeIngress(svc, wanted, ctx);
      return;
    }
    const chosen = this.choose(requested, taken);
    if (typeof chosen === 'string') {
      const message = `Error syncing load balancer: failed to ensure load balancer: ${chosen}`;
      // Once per Service and reason: a pending Service is looked at again whenever any address is
      // released or the controllers restart, and neither is news about this one.
      const reported = ctx.cache
        .list('events', namespace)
        .some((e) => e.involvedObject?.uid === svc.metadata.uid && e.message === message);
      if (!reported) await ctx.api.event(svc, 'Warning', 'SyncLoadBalancerFailed', message, SOURCE);
      if (current !== undefined) await this.writeIngress(svc, [], ctx);
      return;
    }
    await ctx.api.event(svc, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer', SOURCE);
    const written = await this.writeIngress(svc, [{ ip: formatIPv4(chosen), ipMode: 'VIP' }], ctx);
    await ctx.api.event(written, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer', SOURCE);
  }

  /** The requested address if it is usable, else the lowest free one; a reason when there is none. */
  private choose(requested: string | undefined, taken: Set<number>): number | string {
    const range = `${this.pool.first}-${this.pool.last}`;
    if (requested !== undefined) {
      const wanted = parseIPv4(requested);
      if (wanted === undefined || wanted < this.first || wanted > this.last)
        return `loadBalancerIP ${requested} is not in the pool ${range}`;
      if (taken.has(wanted)) return `loadBalancerIP ${requested} is already in use by another Service`;
      return wanted;
    }
    for (let address = this.first; address <= this.last; address++) if (!taken.has(address)) return address;
    return `no address left in the pool ${range}`;
  }

  private manages(svc: KubeObject): boolean {
    return (
      svc.spec?.type === 'LoadBalancer' && !svc.spec?.loadBalancerClass && !svc.metadata.deletionTimestamp
    );
  }

  /** The pool address a Service's status holds, if any: what it keeps others from taking. */
  private heldAddress(svc: KubeObject | undefined): number | undefined {
    for (const entry of (svc?.status?.loadBalancer?.ingress ?? []) as Ingress[]) {
      const address = entry.ip === undefined ? undefined : parseIPv4(entry.ip);
      if (address !== undefined && address >= this.first && address <= this.last) return address;
    }
    return undefined;
  }

  private writeIngress(svc: KubeObject, ingress: Ingress[], ctx: ReconcileContext): Promise<KubeObject> {
    const next = deepClone(svc);
    next.status = { ...(next.status ?? {}), loadBalancer: ingress.length ? { ingress } : {} };
    return ctx.api.updateStatus(WORKLOAD_TYPES.services, next);
  }
}
