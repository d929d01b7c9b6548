export { startControllers, ControllersOptions } from './start';
export {
  ControllerManager,
  Controller,
  ReconcileContext,
  ReconcileResult,
  StartAborted,
} from './runtime/manager';
export { Clock, WallClock, VirtualClock } from './runtime/clock';
export { ObjectCache, CacheChange } from './runtime/cache';
export { seededRandom, Random } from './runtime/random';
export { podTemplateHash } from './controllers/deployment';
export { DEFAULT_NODE_POOL, NodePoolOptions } from './controllers/nodes';
export { DEFAULT_KUBELET, KubeletOptions } from './controllers/kubelet';
export { LoadBalancerPool } from './controllers/service-lb';
export { SIMULATED_STATE } from './controllers/nodes';
export { ProgressStore } from './runtime/manager';
export {
  DEFAULT_LEADER_ELECTION,
  ElectionClock,
  LeaderElector,
  LeaderElectionOptions,
  LeaseClient,
  resourceLeaseClient,
  wallElectionClock,
} from './runtime/leader-election';
