import type { ResourceStore } from '@kubetime/apiserver';
import type { EventStore } from '@kubetime/event-store';
import { CronJobController } from './controllers/cronjob';
import { DaemonSetController } from './controllers/daemonset';
import { DeploymentController } from './controllers/deployment';
import { EndpointsController } from './controllers/endpoints';
import { DisruptionController } from './controllers/disruption';
import { GarbageCollector } from './controllers/garbage-collector';
import { JobController } from './controllers/job';
import {
  DEFAULT_NODE_LIFECYCLE,
  NodeLifecycleController,
  NodeLifecycleOptions,
  TaintEvictionController,
} from './controllers/node-lifecycle';
import { DEFAULT_KUBELET, KubeletController, KubeletOptions } from './controllers/kubelet';
import { DEFAULT_NODE_POOL, NodePoolController, NodePoolOptions } from './controllers/nodes';
import { ReplicaSetController } from './controllers/replicaset';
import { SchedulerController } from './controllers/scheduler';
import { RootCaPublisher } from './controllers/root-ca';
import { ServiceAccountsController } from './controllers/serviceaccounts';
import { LoadBalancerPool, ServiceLoadBalancerController } from './controllers/service-lb';
import { StatefulSetController } from './controllers/statefulset';
import { Clock, WallClock } from './runtime/clock';
import { ControllerManager, ProgressStore } from './runtime/manager';

export interface ControllersOptions {
  events: EventStore;
  resources: ResourceStore;
  branch?: string;
  clock?: Clock;
  /** Seeds every random choice (pod names, Event names, container ids): same seed, same choices. */
  seed?: string;
  nodes?: Partial<NodePoolOptions>;
  kubelet?: Partial<KubeletOptions>;
  nodeLifecycle?: Partial<NodeLifecycleOptions>;
  /** The apiserver's CA (PEM), published as `kube-root-ca.crt` in every namespace; none, none published. */
  caPem?: string;
  /** Addresses for LoadBalancer Services; without a pool they stay pending, as without a cloud provider. */
  loadBalancerPool?: LoadBalancerPool;
  onError?: (controller: string, key: string, error: unknown) => void;
  /** Resume from each controller's recorded revision and keep recording it; without it, start from the head. */
  progress?: ProgressStore;
  onNotice?: (message: string, details: Record<string, unknown>) => void;
  /** Abandons the start while it is catching up on the log (see ManagerOptions.signal). */
  signal?: AbortSignal;
}

/**
 * Starts the built-in control plane on a branch: node pool and kubelets, scheduler, ReplicaSet and
 * Deployment controllers, garbage collector. With a progress store they resume from the revision
 * each recorded, else from the branch's head state; `stop()` lets the reconcile in progress finish.
 */
export function startControllers(options: ControllersOptions): Promise<ControllerManager> {
  const clock = options.clock ?? new WallClock();
  return ControllerManager.start({
    events: options.events,
    resources: options.resources,
    branch: options.branch,
    clock,
    seed: options.seed ?? 'kubetime',
    onError: options.onError,
    progress: options.progress,
    onNotice: options.onNotice,
    signal: options.signal,
    controllers: [
      new NodePoolController({ ...DEFAULT_NODE_POOL, ...options.nodes }),
      new DeploymentController(),
      new ReplicaSetController(clock),
      new SchedulerController(),
      new KubeletController({ ...DEFAULT_KUBELET, ...options.kubelet }),
      new GarbageCollector(),
      // A quiet pool (leases never renewed) sends no heartbeats: nothing could tell a stopped node
      // from a silent one, so node monitoring runs only when the leases do.
      ...((options.nodes?.leaseRenewIntervalMs ?? DEFAULT_NODE_POOL.leaseRenewIntervalMs)
        ? [new NodeLifecycleController({ ...DEFAULT_NODE_LIFECYCLE, ...options.nodeLifecycle })]
        : []),
      new TaintEvictionController(),
      new DisruptionController(),
      new ServiceAccountsController(),
      ...(options.caPem ? [new RootCaPublisher(options.caPem)] : []),
      new EndpointsController(),
      ...(options.loadBalancerPool ? [new ServiceLoadBalancerController(options.loadBalancerPool)] : []),
      new JobController(clock),
      new CronJobController(),
      new StatefulSetController(),
      new DaemonSetController(),
    ],
  });
}
