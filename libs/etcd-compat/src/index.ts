/**
 * kubetime in etcd's terms, for the tools operators already use on a cluster's etcd: snapshots in etcd's
 * v3 format in both directions, and a read-only etcd v3 gRPC endpoint over the event log.
 */
export { saveEtcdSnapshot, type SaveEtcdSnapshotOptions, type SaveEtcdSnapshotResult } from './export';
export {
  restoreEtcdSnapshot,
  RestoreRefused,
  RESTORE_ACTOR,
  type RestoreEtcdSnapshotOptions,
  type RestoreEtcdSnapshotResult,
  type RestoreProgress,
  type UnimportedKey,
} from './import';
export { startEtcdEndpoint, type EtcdEndpoint, type EtcdEndpointOptions } from './endpoint';
