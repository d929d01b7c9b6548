import { KubeObject, rfc3339 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { TYPES } from '../runtime/types';

export interface NodePoolOptions {
  /** Nodes created on first start: `<prefix>1` .. `<prefix>N`. */
  count: number;
  prefix: string;
  capacity: { cpu: string; memory: string; pods: string };
  /** How often each node renews its Lease in kube-node-lease; 0 creates the Lease and never renews it. */
  leaseRenewIntervalMs: number;
}

export const DEFAULT_NODE_POOL: NodePoolOptions = {
  count: 3,
  prefix: 'node-',
  capacity: { cpu: '4', memory: '8Gi', pods: '110' },
  leaseRenewIntervalMs: 10_000,
};

const LEASE_DURATION_SECONDS = 40;
const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export function nodeUser(node: string) {
  return {
    username: `system:node:${node}`,
    groups: ['system:nodes', 'system:authenticated', 'system:masters'],
  };
}

/**
 * The simulated nodes' own agents: each node registers its Node object (capacity, podCIDR, Ready)
 * when it is missing, and keeps its Lease in kube-node-lease renewed, as a kubelet does.
 */
export class NodePoolController implements Controller {
  readonly name = 'node-pool';
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
    if (change.type !== 'DELETED') return;
    const name = change.object.metadata.name!;
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
    const lease = ctx.cache.object('leases', NODE_LEASE_NAMESPACE, name);
    const interval = this.options.leaseRenewIntervalMs;
    if (!lease) {
      await ctx.api.create(TYPES.leases, {
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
      });
      return interval ? { requeueAfterMs: interval } : undefined;
    }
    if (!interval) return;
    const due = Date.parse(lease.spec?.renewTime ?? '') + interval - ctx.now.getTime();
    if (due > 0) return { requeueAfterMs: due };
    await ctx.api.update(TYPES.leases, { ...lease, spec: { ...lease.spec, renewTime: microTime(ctx.now) } });
    return { requeueAfterMs: interval };
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

/** Whether a node is one of ours (its kubelet is simulated here). */
export function isSimulated(cache: ObjectCache, node: string | undefined): boolean {
  return (
    !!node &&
    cache.object('nodes', undefined, node)?.metadata.annotations?.['kubetime.io/simulated'] === 'true'
  );
}
