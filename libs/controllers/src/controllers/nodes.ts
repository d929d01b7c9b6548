import { deepClone, KubeObject, rfc3339 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { TYPES } from '../runtime/types';

export interface NodePoolOptions {
  /** Nodes created on first start: `<prefix>1` .. `<prefix>N`. */
  count: number;
  prefix: string;
  capacity: { cpu: string; memory: string; pods: string };
  /**
   * How often each node renews its Lease in kube-node-lease; 0 creates the Lease and never renews
   * it, and the node then posts no status heartbeats either (a quiet pool for tests).
   */
  leaseRenewIntervalMs: number;
  /** How often a node re-posts its conditions' lastHeartbeatTime when nothing changed. */
  statusReportIntervalMs: number;
}

export const DEFAULT_NODE_POOL: NodePoolOptions = {
  count: 3,
  prefix: 'node-',
  capacity: { cpu: '4', memory: '8Gi', pods: '110' },
  leaseRenewIntervalMs: 10_000,
  statusReportIntervalMs: 60_000,
};

/** `kubetime.io/simulated-state: stopped` on a Node stops its simulated kubelet; anything else runs it. */
export const SIMULATED_STATE = 'kubetime.io/simulated-state';

const LEASE_DURATION_SECONDS = 40;
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export function nodeUser(node: string) {
  return {
    username: `system:node:${node}`,
    groups: ['system:nodes', 'system:authenticated', 'system:masters'],
  };
}

/**
 * The simulated nodes' own agents: each node registers its Node object (capacity, podCIDR, Ready)
 * when it is missing, keeps its Lease in kube-node-lease renewed and its Ready condition's heartbeat
 * fresh, as a kubelet does. A node whose simulated state is `stopped` does none of it, so the node
 * lifecycle controller sees it go silent; started again, it posts Ready at once.
 */
export class NodePoolController implements Controller {
  readonly name = 'node-pool';
  readonly urgent = true;
  /** A thousand nodes renew a Lease every 10 s: their heartbeats are sequenced and committed together. */
  readonly batchSize = 128;
  readonly user = nodeUser('pool');
  readonly names: string[];

  constructor(private readonly options: NodePoolOptions) {
    this.names = Array.from({ length: options.count }, (_, i) => `${options.prefix}${i + 1}`);
  }

  userFor(key: string) {
    return nodeUser(key);
  }

  startKeys(): Iterable<string> {
    return this.names;
  }

  *keysFor(change: CacheChange): Iterable<string> {
    const name = change.object.metadata.name!;
    if (change.resource === 'nodes' && change.type === 'MODIFIED' && this.names.includes(name)) {
      const state = (o: KubeObject | undefined) => o?.metadata.annotations?.[SIMULATED_STATE];
      const ready = (o: KubeObject | undefined) =>
        o?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status;
      // Started or stopped, or someone else (the node lifecycle controller) changed its Ready condition.
      if (state(change.old) !== state(change.object) || ready(change.old) !== ready(change.object))
        yield name;
    }
    if (change.type !== 'DELETED') return;
    if (change.resource === 'nodes' && this.names.includes(name)) yield name;
    if (
      change.resource === 'leases' &&
      change.object.metadata.namespace === NODE_LEASE_NAMESPACE &&
      this.names.includes(name)
    )
      yield name;
  }

  async reconcile(name: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const index = this.names.indexOf(name);
    let node = ctx.cache.object('nodes', undefined, name);
    if (!node) node = await ctx.api.create(TYPES.nodes, this.nodeObject(name, index, ctx.now));
    if (node.metadata.annotations?.[SIMULATED_STATE] === 'stopped') return;
    const lease = ctx.cache.object('leases', NODE_LEASE_NAMESPACE, name);
    const interval = this.options.leaseRenewIntervalMs;
    if (!lease) {
      ctx.defer(
        ctx.api.create(TYPES.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name,
            namespace: NODE_LEASE_NAMESPACE,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid! }],
          },
          spec: {
            holderIdentity: name,
            leaseDurationSeconds: LEASE_DURATION_SECONDS,
            renewTime: microTime(ctx.now),
          },
        }),
      );
      return interval ? { requeueAfterMs: interval } : undefined;
    }
    const statusDue = this.postStatus(node, ctx);
    if (!interval) return;
    let due = Date.parse(lease.spec?.renewTime ?? '') + interval - ctx.now.getTime();
    if (due <= 0) {
      ctx.defer(
        ctx.api.update(TYPES.leases, {
          ...lease,
          spec: { ...lease.spec, renewTime: microTime(ctx.now) },
        }),
      );
      due = interval;
    }
    return { requeueAfterMs: Math.min(due, statusDue ?? due) };
  }

  /**
   * Ready condition heartbeat: re-posted every statusReportIntervalMs (only while the Lease is being
   * renewed), and at once when the node's conditions say anything but Ready (it was stopped and the
   * node lifecycle controller marked it Unknown). Returns when the next heartbeat is due.
   */
  private postStatus(node: KubeObject, ctx: ReconcileContext): number | undefined {
    const conditions: { type: string; status: string; lastHeartbeatTime?: string }[] =
      node.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    const healthy =
      ready?.status === 'True' && conditions.every((c) => c.type === 'Ready' || c.status === 'False');
    const every = this.options.leaseRenewIntervalMs ? this.options.statusReportIntervalMs : 0;
    const left = every ? Date.parse(ready?.lastHeartbeatTime ?? '') + every - ctx.now.getTime() : Infinity;
    if (healthy && left > 0) return Number.isFinite(left) ? left : undefined;
    const at = rfc3339(ctx.now);
    const next = deepClone(node);
    const fresh = this.nodeObject(node.metadata.name!, this.names.indexOf(node.metadata.name!), ctx.now);
    next.status.conditions = fresh.status.conditions.map((c: { type: string; status: string }) => {
      const current = conditions.find((o) => o.type === c.type);
      return {
        ...c,
        lastTransitionTime:
          current?.status === c.status ? (current as { lastTransitionTime?: string }).lastTransitionTime : at,
      };
    });
    ctx.defer(ctx.api.updateStatus(TYPES.nodes, next));
    if (!healthy)
      ctx.afterWrites(() =>
        ctx.api.event(node, 'Normal', 'NodeReady', `Node ${node.metadata.name} status is now: NodeReady`, {
          component: 'kubelet',
          host: node.metadata.name,
        }),
      );
    return every || undefined;
  }

  private nodeObject(name: string, index: number, now: Date): KubeObject {
    const { capacity } = this.options;
    const cidr = `10.244.${index}.0/24`;
    const at = rfc3339(now);
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      lastHeartbeatTime: at,
      lastTransitionTime: at,
      reason,
      message,
    });
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'beta.kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
        },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kubetime.io/simulated': 'true' },
      },
      spec: { podCIDR: cidr, podCIDRs: [cidr], providerID: `kubetime://${name}` },
      status: {
        capacity: { ...capacity, 'ephemeral-storage': '100Gi' },
        allocatable: { ...capacity, 'ephemeral-storage': '100Gi' },
        conditions: [
          condition(
            'MemoryPressure',
            'False',
            'KubeletHasSufficientMemory',
            'kubelet has sufficient memory available',
          ),
          condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
          condition(
            'PIDPressure',
            'False',
            'KubeletHasSufficientPID',
            'kubelet has sufficient PID available',
          ),
          condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
        ],
        addresses: [
          { type: 'InternalIP', address: nodeAddress(index) },
          { type: 'Hostname', address: name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          architecture: 'amd64',
          bootID: '',
          containerRuntimeVersion: 'containerd://1.7.24',
          kernelVersion: '6.8.0-kubetime',
          kubeProxyVersion: 'v1.32.0',
          kubeletVersion: 'v1.32.0',
          machineID: '',
          operatingSystem: 'linux',
          osImage: 'kubetime simulated node',
          systemUUID: '',
        },
      },
    };
  }
}

export function nodeAddress(index: number): string {
  return `172.18.0.${index + 2}`;
}

/** Lease times are MicroTime: microsecond precision. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Whether a node is simulated here and its simulated kubelet is running (not `stopped`). */
export function isRunningNode(cache: ObjectCache, node: string | undefined): boolean {
  return (
    isSimulated(cache, node) &&
    cache.object('nodes', undefined, node!)?.metadata.annotations?.[SIMULATED_STATE] !== 'stopped'
  );
}

/** Whether a node is one of ours (its kubelet is simulated here). */
export function isSimulated(cache: ObjectCache, node: string | undefined): boolean {
  return (
    !!node &&
    cache.object('nodes', undefined, node)?.metadata.annotations?.['kubetime.io/simulated'] === 'true'
  );
}
