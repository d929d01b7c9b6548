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
