/**
 * etcd v3 snapshot files (`etcdctl snapshot save/restore`) without etcd: a streaming bbolt writer and
 * reader plus etcd's MVCC encoding. Memory stays flat in the file size in both directions.
 */
export { SnapshotFormatError } from './errors';
export type {
  EtcdEvent,
  LeaseGrant,
  LiveKey,
  SnapshotMeta,
  WriteSnapshotOptions,
  WriteSnapshotResult,
} from './types';
export { writeEtcdSnapshot } from './write-snapshot';
export { readEtcdSnapshot, type EtcdSnapshotReader } from './read-snapshot';
export { stateFromEvents, stateToEvents } from './state';
