/**
 * One entry of etcd's `key` bucket: a put or a delete at revision `revision` (etcd's main revision, one
 * per transaction) and `sub` (the change's position inside that transaction, 0 when omitted).
 */
export interface EtcdEvent {
  key: Buffer;
  revision: number;
  sub?: number;
  type: 'put' | 'delete';
  /** The stored bytes of a put; absent for a delete. */
  value?: Buffer;
  /** Revision of the put that created this generation of the key; 0 for a delete (a tombstone holds only the key). */
  createRevision: number;
  /** Number of puts since creation, 1 for the creating put; 0 for a delete. */
  version: number;
  /** etcd lease IDs are random 63-bit numbers, beyond a double's exact range, hence a bigint. */
  lease?: bigint;
}

/** A lease for the `lease` bucket, so keys that reference it expire again after a restore. */
export interface LeaseGrant {
  id: bigint;
  ttlSeconds: number;
}

export interface WriteSnapshotOptions {
  /** The snapshot's revision: etcd restores at exactly this revision and continues above it. */
  revision: number;
  /**
   * Marks history up to here as compacted (`meta/finishedCompactRev` and `scheduledCompactRev`). Required
   * when no event carries `revision` itself, e.g. a state-only snapshot: etcd restores its revision as the
   * highest of the last event and this, so without it the revision would go backwards.
   */
  compactRevision?: number;
  /**
   * `meta/consistent_index`. `etcdctl snapshot restore` replaces it with the new raft log's index, so the
   * value only matters to tools that read the file directly; 1 is what a fresh member has applied.
   */
  consistentIndex?: number;
  /** Entries for the `lease` bucket. Keys whose lease is missing there never expire after a restore. */
  leases?: Iterable<LeaseGrant>;
  /** bbolt page size; 4096 unless the snapshot must look like one from a host with larger pages. */
  pageSize?: number;
}

export interface WriteSnapshotResult {
  /** File size, including the 32-byte sha256 trailer. */
  bytes: number;
  /** Hex sha256 of the database bytes, as appended to the file. */
  sha256: string;
  /** Number of entries in the `key` bucket. */
  keys: number;
}

export interface SnapshotMeta {
  pageSize: number;
  /** bbolt transaction id of the meta page in use. */
  txid: number;
  /** The revision etcd would restore at: the last revision in `key`, or the compact revision if higher. */
  revision: number;
  /** `meta/finishedCompactRev`: events at or below it are each key's surviving latest version, not history. */
  compactRevision?: number;
  /** `meta/scheduledCompactRev`; above `compactRevision` it means a compaction was cut short. */
  scheduledCompactRevision?: number;
  consistentIndex?: number;
  /** `meta/term` (etcd 3.5+). */
  term?: number;
  /** `cluster/clusterVersion`, e.g. "3.4.0". */
  clusterVersion?: string;
  /** `auth/authEnabled`: the source cluster had authentication on. */
  authEnabled: boolean;
  /** Whether the file ended with the sha256 trailer `etcdctl snapshot save` appends (a raw data-dir db has none). */
  sha256Verified: boolean;
}

/** A live key as etcd shows it (`etcdctl get -w json`). */
export interface LiveKey {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  lease?: bigint;
}
