import type { KubeObject, RawJson } from '@kubetime/api-machinery';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What a request wants written; the sequencer turns it into an event with a revision. */
export interface WriteIntent {
  key: string;
  type: EventType;
  /** The object after the write (for DELETED: its last state), without metadata.resourceVersion. */
  object: KubeObject;
  group: string;
  version: string;
  resource: string;
  /**
   * Optimistic concurrency, as an etcd Txn compare on mod_revision: the revision the caller based the
   * write on, 0 when the key must not exist. Undefined only for writes that may blindly overwrite.
   */
  expectedRevision?: number;
  actor: string;
  cause?: number;
  request?: RequestMetadata;
  /** The time of the write on its branch's clock (a virtual branch's own time); default: the store's clock. */
  recordedAt?: Date;
  /**
   * A body that arrives already in stored form (an import): `sealed` is kept as sealed, under the key
   * it names; `raw` is a value kubetime cannot decode, kept byte for byte. `object` then only carries
   * the identity (kind, name, namespace, uid).
   */
  stored?: { sealed: Buffer } | { raw: Buffer };
}

/** Why a stored body cannot be shown as an object: undecodable, or sealed with a key not configured. */
export interface Opaque {
  reason: string;
}

export interface RequestMetadata {
  verb?: string;
  userAgent?: string;
  requestId?: string;
}

/**
 * How a read returns bodies. `raw` is for callers that pass bodies on without looking inside (past
 * states and replays sent to a client): a plaintext body then comes as the JSON text PostgreSQL holds,
 * its resourceVersion already set there, and is never parsed in Node. Sealed and undecodable bodies
 * come decoded either way, since they have to be opened or stood in for.
 */
export type BodyForm = 'decoded' | 'raw';

/** What `object` holds in a read of the given form. */
export type Body<F extends BodyForm> = F extends 'raw' ? KubeObject | RawJson : KubeObject;

/** One committed event, decrypted, as readers see it. */
export interface StoredEvent<B extends KubeObject | RawJson = KubeObject> {
  branchId: number;
  revision: number;
  key: string;
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespace: string | null;
  name: string;
  uid: string;
  type: EventType;
  /** With metadata.resourceVersion set to this revision. */
  object: B;
  prevRevision: number;
  createRevision: number;
  /** Writes to the key since it was created (etcd's KeyValue.version). */
  keyVersion: number;
  actor: string;
  cause: number | null;
  request: RequestMetadata | null;
  recordedAt: Date;
  /** `provider:key` that sealed the stored body; absent when it is stored in plaintext. */
  sealedWith?: string;
  /** Set when `object` is only the identity because the body cannot be read. */
  opaque?: Opaque;
}

/** The live value of one key. */
export interface StoredObject<B extends KubeObject | RawJson = KubeObject> {
  key: string;
  object: B;
  revision: number;
  branchId: number;
  createRevision: number;
  keyVersion: number;
  sealedWith?: string;
  opaque?: Opaque;
}

export class PreconditionFailed extends Error {
  override readonly name = 'PreconditionFailed';
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`key ${key}: expected revision ${expected}, found ${actual}`);
  }
}

export class RevisionCompacted extends Error {
  override readonly name = 'RevisionCompacted';
  constructor(
    readonly requested: number,
    readonly compacted: number,
    /** Set when a retention rule compacted only the keys under this storage prefix. */
    readonly keyPrefix?: string,
  ) {
    super(
      `required revision ${requested}${keyPrefix ? ` of ${keyPrefix}` : ''} has been compacted (oldest available: ${compacted})`,
    );
  }
}

/** A compacted storage prefix inside a wider read: its objects are left out of the answer. */
export interface IncompletePrefix {
  keyPrefix: string;
  oldestAvailable: number;
}

export class FutureRevision extends Error {
  override readonly name = 'FutureRevision';
  constructor(
    readonly requested: number,
    readonly head: number,
  ) {
    super(`revision ${requested} is newer than the current revision ${head}`);
  }
}

export class UnknownBranch extends Error {
  override readonly name = 'UnknownBranch';
  constructor(readonly branch: string) {
    super(`branch "${branch}" does not exist`);
  }
}

export interface Clock {
  now(): Date;
}

export const wallClock: Clock = { now: () => new Date() };
