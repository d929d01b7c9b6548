import { deepClone, KubeObject, labelSelectorMatcher } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext } from '../runtime/manager';
import { NAME_SUFFIX_ALPHABET } from '../runtime/random';
import { canonicalJson, namespacedKey, ownerRefTo, splitKey } from './objects';
import { isReady, isTerminating } from './pods';
import { WORKLOAD_TYPES } from './workload-types';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const MANAGED_BY = 'endpointslice-controller.k8s.io';
/**
 * Marks the Endpoints this controller writes (as upstream does from 1.33), so an Endpoints object
 * someone made by hand is never taken for one whose Service is gone.
 */
const ENDPOINTS_MANAGED_BY_LABEL = 'endpoints.kubernetes.io/managed-by';
const ENDPOINTS_MANAGED_BY = 'endpoint-controller';
/** Upstream's default --max-endpoints-per-slice. */
const MAX_PER_SLICE = 100;
const MAX_NAME_BASE = 57;

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  appProtocol?: string;
}

interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** One pod as the Service sees it: its address, its readiness and the ports its targetPorts resolve to. */
interface Member {
  pod: KubeObject;
  ip: string;
  ready: boolean;
  terminating: boolean;
  ports: EndpointPort[];
}

/**
 * Endpoints and EndpointSlices for every Service with a selector, following the readiness of the pods
 * it selects: ready pods under `addresses`, the others under `notReadyAddresses` (in the slice,
 * conditions ready/serving/terminating). Named targetPorts resolve per pod from its container ports,
 * so pods resolving to different ports land in different subsets and slices, as upstream.
 * Services without a selector are left alone: their Endpoints are the user's.
 */
export class EndpointsController implements Controller {
  readonly name = 'endpoint-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:endpoint-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const svc of cache.list('services')) yield namespacedKey(svc);
  }

  *keysFor(change: CacheChange, cache: ObjectCache): Iterable<string> {
    if (change.resource === 'services') {
      yield namespacedKey(change.object);
      return;
    }
    if (change.resource === 'endpointslices' || change.resource === 'endpoints') {
      // Someone else changed what this controller owns: look again, the level wins.
      const service =
        change.resource === 'endpoints'
          ? change.object.metadata.name
          : change.object.metadata.labels?.[SERVICE_NAME_LABEL];
      if (service) yield `${change.object.metadata.namespace}/${service}`;
      return;
    }
    if (change.resource !== 'pods') return;
    const namespace = change.object.metadata.namespace;
    for (const svc of cache.list('services', namespace)) {
      if (!hasSelector(svc)) continue;
      const matches = labelSelectorMatcher({ matchLabels: svc.spec.selector });
      if (matches(change.object.metadata.labels) || (change.old && matches(change.old.metadata.labels)))
        yield namespacedKey(svc);
    }
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = ctx.cache.object('services', namespace, name);
    if (!svc) {
      // The Service is gone: the Endpoints written for it go too (slices are owned and left to the GC).
      const endpoints = ctx.cache.object('endpoints', namespace, name);
      if (endpoints?.metadata.labels?.[ENDPOINTS_MANAGED_BY_LABEL] === ENDPOINTS_MANAGED_BY)
        await ctx.api.delete(WORKLOAD_TYPES.endpoints, endpoints);
      return;
    }
    if (!hasSelector(svc) || svc.metadata.deletionTimestamp) return;
    const members = this.members(svc, ctx.cache);
    await this.writeEndpoints(svc, members, ctx);
    await this.writeSlices(svc, members, ctx);
  }

  private members(svc: KubeObject, cache: ObjectCache): Member[] {
    const matches = labelSelectorMatcher({ matchLabels: svc.spec.selector });
    const publishNotReady = !!svc.spec.publishNotReadyAddresses;
    const members: Member[] = [];
    for (const pod of cache.list('pods', svc.metadata.namespace)) {
      if (!matches(pod.metadata.labels) || !pod.status?.podIP) continue;
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const ports: EndpointPort[] = [];
      for (const sp of (svc.spec.ports ?? []) as ServicePort[]) {
        const port = resolveTargetPort(sp, pod);
        if (port === undefined) continue;
        ports.push({
          ...(sp.name ? { name: sp.name } : {}),
          port,
          protocol: sp.protocol ?? 'TCP',
          ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
        });
      }
      members.push({
        pod,
        ip: pod.status.podIP,
        ready: publishNotReady || isReady(pod),
        terminating: isTerminating(pod),
        ports,
      });
    }
    return members.sort(
      (a, b) => compareIp(a.ip, b.ip) || (a.pod.metadata.uid! < b.pod.metadata.uid! ? -1 : 1),
    );
  }

  /**
   * Endpoints groups addresses into subsets by identical port lists. Terminating pods are left out
   * unless the Service publishes not-ready addresses, as upstream's endpoints controller does.
   */
  private async writeEndpoints(svc: KubeObject, members: Member[], ctx: ReconcileContext): Promise<void> {
    const publishNotReady = !!svc.spec.publishNotReadyAddresses;
    const subsets = new Map<
      string,
      { ports: EndpointPort[]; addresses: unknown[]; notReadyAddresses: unknown[] }
    >();
    for (const m of members) {
      if (m.terminating && !publishNotReady) continue;
      if (!m.ports.length && svc.spec.ports?.length) continue;
      const ports = [...m.ports].sort(
        (a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port,
      );
      const id = canonicalJson(ports);
      let subset = subsets.get(id);
      if (!subset) subsets.set(id, (subset = { ports, addresses: [], notReadyAddresses: [] }));
      const address = {
        ip: m.ip,
        ...(m.pod.spec?.nodeName ? { nodeName: m.pod.spec.nodeName } : {}),
        targetRef: targetRef(m.pod),
      };
      (m.ready ? subset.addresses : subset.notReadyAddresses).push(address);
    }
    const wanted = [...subsets.values()].map((s) => ({
      ...(s.addresses.length ? { addresses: s.addresses } : {}),
      ...(s.notReadyAddresses.length ? { notReadyAddresses: s.notReadyAddresses } : {}),
      ...(s.ports.length ? { ports: s.ports } : {}),
    }));
    const labels = { ...serviceLabels(svc), [ENDPOINTS_MANAGED_BY_LABEL]: ENDPOINTS_MANAGED_BY };
    const existing = ctx.cache.object('endpoints', svc.metadata.namespace, svc.metadata.name!);
    if (!existing) {
      await ctx.api.create(WORKLOAD_TYPES.endpoints, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace, labels },
        ...(wanted.length ? { subsets: wanted } : {}),
      });
      return;
    }
    if (
      canonicalJson(existing.subsets ?? []) === canonicalJson(wanted) &&
      canonicalJson(existing.metadata.labels ?? {}) === canonicalJson(labels)
    )
      return;
    const next = deepClone(existing);
    next.metadata.labels = labels;
    if (wanted.length) next.subsets = wanted;
    else delete next.subsets;
    await ctx.api.update(WORKLOAD_TYPES.endpoints, next);
  }

  /**
   * One EndpointSlice per distinct port list (split at 100 endpoints), reusing the existing slices
   * with the same ports before creating any; a Service with no endpoints keeps one empty slice.
   */
  private async writeSlices(svc: KubeObject, members: Member[], ctx: ReconcileContext): Promise<void> {
    const groups = new Map<string, { ports: EndpointPort[]; endpoints: unknown[] }>();
    for (const m of members) {
      const id = canonicalJson(m.ports);
      let group = groups.get(id);
      if (!group) groups.set(id, (group = { ports: m.ports, endpoints: [] }));
      group.endpoints.push({
        addresses: [m.ip],
        conditions: { ready: m.ready && !m.terminating, serving: m.ready, terminating: m.terminating },
        ...(m.pod.spec?.nodeName ? { nodeName: m.pod.spec.nodeName } : {}),
        targetRef: targetRef(m.pod),
      });
    }
    const wanted: { ports: EndpointPort[] | undefined; endpoints: unknown[] }[] = [];
    for (const group of groups.values()) {
      for (let i = 0; i < group.endpoints.length; i += MAX_PER_SLICE)
        wanted.push({ ports: group.ports, endpoints: group.endpoints.slice(i, i + MAX_PER_SLICE) });
    }
    if (!wanted.length) wanted.push({ ports: undefined, endpoints: [] });

    const owned = ctx.cache
      .list('endpointslices', svc.metadata.namespace)
      .filter(
        (s) =>
          s.metadata.labels?.[SERVICE_NAME_LABEL] === svc.metadata.name &&
          s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
          s.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid),
      )
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const labels = {
      ...serviceLabels(svc),
      [SERVICE_NAME_LABEL]: svc.metadata.name!,
      [MANAGED_BY_LABEL]: MANAGED_BY,
    };
    const unused = [...owned];
    const unplaced: typeof wanted = [];
    // First pass: a slice already carrying exactly these ports keeps them (fewest rewrites).
    for (const w of wanted) {
      const at = unused.findIndex((s) => canonicalJson(s.ports ?? null) === canonicalJson(w.ports ?? null));
      if (at < 0) unplaced.push(w);
      else await this.updateSlice(unused.splice(at, 1)[0], w, labels, ctx);
    }
    for (const w of unplaced) {
      const reuse = unused.shift();
      if (reuse) {
        await this.updateSlice(reuse, w, labels, ctx);
        continue;
      }
      const base = `${svc.metadata.name!.slice(0, MAX_NAME_BASE)}-`;
      let name = base + ctx.random.string(5, NAME_SUFFIX_ALPHABET);
      while (ctx.cache.object('endpointslices', svc.metadata.namespace, name))
        name = base + ctx.random.string(5, NAME_SUFFIX_ALPHABET);
      await ctx.api.create(WORKLOAD_TYPES.endpointslices, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name,
          generateName: base,
          namespace: svc.metadata.namespace,
          labels,
          ownerReferences: [ownerRefTo(svc)],
        },
        addressType: 'IPv4',
        endpoints: w.endpoints,
        ...(w.ports ? { ports: w.ports } : {}),
      });
    }
    for (const s of unused) await ctx.api.delete(WORKLOAD_TYPES.endpointslices, s);
  }

  private async updateSlice(
    slice: KubeObject,
    wanted: { ports: EndpointPort[] | undefined; endpoints: unknown[] },
    labels: Record<string, string>,
    ctx: ReconcileContext,
  ): Promise<void> {
    if (
      canonicalJson(slice.endpoints ?? []) === canonicalJson(wanted.endpoints) &&
      canonicalJson(slice.ports ?? null) === canonicalJson(wanted.ports ?? null) &&
      canonicalJson(slice.metadata.labels ?? {}) === canonicalJson(labels)
    )
      return;
    const next = deepClone(slice);
    next.metadata.labels = labels;
    next.endpoints = wanted.endpoints;
    if (wanted.ports) next.ports = wanted.ports;
    else delete next.ports;
    await ctx.api.update(WORKLOAD_TYPES.endpointslices, next);
  }
}

/** An empty selector is no selector (the wire drops empty maps): such Services' Endpoints are the user's. */
function hasSelector(svc: KubeObject): boolean {
  return Object.keys(svc.spec?.selector ?? {}).length > 0;
}

/** A numeric targetPort is used as is; a name is looked up among the pod's container ports. */
function resolveTargetPort(sp: ServicePort, pod: KubeObject): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^[0-9]+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) return p.containerPort;
    }
  }
  return undefined;
}

function targetRef(pod: KubeObject) {
  return { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
}

/** The Service's labels travel to its Endpoints and slices; headless Services are marked as upstream. */
function serviceLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (svc.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
  return labels;
}

function compareIp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
