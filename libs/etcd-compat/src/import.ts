import { basename } from 'node:path';
import { readEtcdSnapshot, type EtcdEvent, type SnapshotMeta } from '@kubetime/etcd-snapshot';
import type { EventStore, ImportChange, RequestMetadata, WriteIntent } from '@kubetime/event-store';
import { decodeEtcdValue, DecodedValue, UndecodableValue } from './values';

export const RESTORE_ACTOR = 'kubetime:etcd-restore';

/** Keys are written under this prefix by kube-apiserver; the rest of an etcd keyspace is not Kubernetes state. */
const REGISTRY = '/registry/';

export interface RestoreEtcdSnapshotOptions {
  path: string;
  /** Name of the branch to create; it must not exist yet. */
  branch: string;
  /**
   * Values that cannot become objects (see UnimportedKey) make the restore refuse, listing them, unless
   * this is set: then they are kept as they were stored (raw bytes, or still sealed under their own
   * key), reading them answers an error that says so, and they are reported in the result. Keys outside
   * /registry/ are not Kubernetes state and are only reported.
   */
  allowUnimported?: boolean;
  /**
   * Restore-safety, as `etcdutl snapshot restore --bump-revision N`: the branch's revisions start N above
   * the highest revision any client could have seen (the snapshot's and main's), so no resourceVersion
   * a client holds is ever reused for different content.
   */
  bumpRevision?: number;
  /**
   * With bumpRevision, as `--mark-compacted`: the branch is compacted at the bumped revision, so a watch
   * or list from any older resourceVersion gets 410 Gone and the client re-lists.
   */
  markCompacted?: boolean;
  /**
   * Called after every batch written; the restore waits for it, so a caller streaming progress to a
   * slow client slows the restore instead of queueing messages.
   */
  onProgress?: (progress: RestoreProgress) => Promise<void> | void;
}

export interface RestoreProgress {
  /** The one phase: each change is checked as it is written (see restoreEtcdSnapshot). */
  phase: 'write';
  /** Changes of the file gone through so far, checked and written or skipped. */
  events: number;
  /** Changes the file holds, under /registry/ or not: `events` reaches it at the end. */
  total: number;
}

export interface UnimportedKey {
  key: string;
  /** etcd revisions of the values that could not be imported. */
  revisions: number[];
  reason: string;
}

export interface RestoreEtcdSnapshotResult {
  branch: string;
  /** The branch head after the restore. */
  revision: number;
  /** The revision the snapshot was taken at, and its compaction point (history below it is gone). */
  snapshot: { revision: number; compactRevision: number; sha256Verified: boolean };
  /** Events appended: the file's compacted baseline, then its history above the compaction point. */
  events: number;
  /** Live keys on the branch afterwards. */
  keys: number;
  /** Present when revisions were bumped: the revision the branch's own events start above. */
  bumpedTo?: number;
  unimported: { count: number; keys: UnimportedKey[] };
}

/** The snapshot holds values kubetime cannot turn into objects and the caller did not accept leaving them out. */
export class RestoreRefused extends Error {
  override readonly name = 'RestoreRefused';
  constructor(readonly unimported: UnimportedKey[]) {
    super(
      `${unimported.length} key(s) in the snapshot cannot be restored as objects (pass allowUnimported to keep them as raw bytes and ` +
        `restore the rest and report them): ` +
        unimported
          .slice(0, 20)
          .map((u) => `${u.key} (${u.reason})`)
          .join('; ') +
        (unimported.length > 20 ? `; and ${unimported.length - 20} more` : ''),
    );
  }
}

/**
 * Restores an etcd v3 snapshot (`etcdctl snapshot save` output, or one of ours) into a new branch forked
 * from main at revision 1, i.e. an empty cluster. Every change the file still holds becomes an event by
 * `kubetime:etcd-restore`, in the file's revision order: the compacted baseline first, then the history
 * above the compaction point, so the branch's head equals what `etcdctl get --prefix /registry` showed.
 *
 * The file is read once, streamed, after its metas, sizes and sha256 trailer are checked. Each value is
 * checked as it goes to the event store's bulk import, which writes the branch and its events in one
 * transaction: a damaged page (a SnapshotFormatError) or undecodable values (a RestoreRefused, listing
 * all of them; once one is found nothing more is written and the rest of the file is only checked)
 * roll it back, so the branch appears whole or not at all, and a refused file leaves nothing behind.
 * The branch's in-memory head is only loaded when the branch is first served.
 */
export async function restoreEtcdSnapshot(
  store: EventStore,
  options: RestoreEtcdSnapshotOptions,
): Promise<RestoreEtcdSnapshotResult> {
  const { path, branch } = options;
  if (
    options.bumpRevision !== undefined &&
    !(Number.isSafeInteger(options.bumpRevision) && options.bumpRevision > 0)
  ) {
    throw new Error(`bumpRevision ${options.bumpRevision} must be a positive integer`);
  }
  if (options.markCompacted && options.bumpRevision === undefined) {
    // As etcdutl: compacting without a bump would mark revisions clients still hold as current.
    throw new Error('markCompacted needs bumpRevision');
  }
  const snapshot = readEtcdSnapshot(path);
  const meta = await snapshot.meta();
  const total = options.onProgress ? await snapshot.count() : 0;

  let bumpedTo: number | undefined;
  if (options.bumpRevision !== undefined) {
    const main = await store.branch('main');
    bumpedTo = Math.max(meta.revision, main.revision) + options.bumpRevision;
  }
  const progress = options.onProgress;
  const checked = new CheckedChanges(store, snapshot.events(), meta, basename(path), options.allowUnimported);
  const imported = await store.importBranch(
    {
      name: branch,
      ...(bumpedTo === undefined ? {} : { startRevision: bumpedTo }),
      ...(options.markCompacted && bumpedTo !== undefined
        ? {
            compaction: {
              actor: RESTORE_ACTOR,
              policy: { etcdRestore: { snapshotRevision: meta.revision, bumpedTo } },
            },
          }
        : {}),
      ...(progress ? { onProgress: () => progress({ phase: 'write', events: checked.read, total }) } : {}),
    },
    checked.changes(),
  );
  const unimported = [...checked.problems.values()];
  return {
    branch,
    revision: imported.revision,
    snapshot: {
      revision: meta.revision,
      compactRevision: meta.compactRevision ?? 0,
      sha256Verified: meta.sha256Verified,
    },
    events: imported.events,
    keys: imported.keys,
    ...(bumpedTo === undefined ? {} : { bumpedTo }),
    unimported: { count: unimported.length, keys: unimported },
  };
}

/**
 * The file's changes under /registry/ as the event store imports them, each value decoded once, and
 * what cannot be imported listed on the way: keys outside the Kubernetes keyspace or not UTF-8, and
 * undecodable values (kept byte for byte when allowed). Without allowUnimported the first problem
 * ends the writing; the rest of the file is still read to list every problem, then RestoreRefused.
 */
class CheckedChanges {
  readonly problems = new Map<string, UnimportedKey>();
  /** Changes of the file gone through so far. */
  read = 0;

  constructor(
    private readonly store: EventStore,
    private readonly events: AsyncIterable<EtcdEvent>,
    private readonly meta: SnapshotMeta,
    private readonly file: string,
    private readonly allowUnimported = false,
  ) {}

  async *changes(): AsyncGenerator<ImportChange> {
    for await (const e of this.events) {
      this.read++;
      const key = e.key.toString('utf8');
      if (e.type === 'delete') {
        // A delete of a key that never became an object (it was unimportable) has nothing to delete:
        // the store skips deletes of absent keys.
        if (key.startsWith(REGISTRY) && this.writing())
          yield { type: 'delete', key, actor: RESTORE_ACTOR, request: this.request(e) };
        continue;
      }
      const decoded = this.decode(key, e);
      if (decoded && this.writing()) yield this.put(key, e, decoded);
    }
    if (!this.writing()) throw new RestoreRefused([...this.problems.values()]);
  }

  private writing(): boolean {
    return this.allowUnimported || this.problems.size === 0;
  }

  /** The value as an object, or as its stored bytes when it has none; undefined outside /registry/. */
  private decode(key: string, e: EtcdEvent): DecodedValue | undefined {
    const value = e.value ?? Buffer.alloc(0);
    if (!key.startsWith(REGISTRY)) {
      this.problem(key, e, 'outside /registry/: not Kubernetes state');
      return undefined;
    }
    // Listed, yet still imported under the key as decoded when allowed, as a value that decodes.
    const mangled = !Buffer.from(key, 'utf8').equals(e.key);
    if (mangled) this.problem(key, e, 'the key is not valid UTF-8');
    try {
      return decodeEtcdValue(key, value, this.store.bodies);
    } catch (error) {
      if (!(error instanceof UndecodableValue)) throw error;
      if (!mangled) this.problem(key, e, error.message);
      // Kept byte for byte so nothing in the file is lost.
      return opaqueValue(key, value);
    }
  }

  private problem(key: string, e: EtcdEvent, reason: string): void {
    const known = this.problems.get(key);
    if (known) known.revisions.push(e.revision);
    else this.problems.set(key, { key, revisions: [e.revision], reason });
  }

  private put(key: string, e: EtcdEvent, decoded: DecodedValue): ImportChange {
    return {
      type: 'put',
      key,
      object: decoded.object,
      ...(decoded.stored ? { stored: decoded.stored } : {}),
      group: decoded.group,
      version: decoded.version,
      resource: decoded.resource,
      actor: RESTORE_ACTOR,
      request: this.request(e),
    };
  }

  /** Where the change came from: the file and its etcd revision, so the restore is traceable. */
  private request(e: EtcdEvent): RequestMetadata {
    const { compactRevision } = this.meta;
    return {
      verb: 'etcd-restore',
      userAgent: 'kubetime-etcd-restore',
      requestId: `${this.file}@${e.revision}${compactRevision && e.revision <= compactRevision ? ' (baseline)' : ''}`,
    };
  }
}

/**
 * A value kubetime cannot decode, as an event: the identity the key gives (`/registry/<resource>/
 * [<namespace>/]<name>`, group-qualified for custom resources) and the bytes as they were, sealed ones
 * still sealed under their own key.
 */
function opaqueValue(
  key: string,
  value: Buffer,
): DecodedValue & { stored: NonNullable<WriteIntent['stored']> } {
  const segments = key.slice(REGISTRY.length).split('/');
  const qualified = segments.length > 3 || (segments.length === 3 && segments[0].includes('.'));
  const [group, resource, ...rest] = qualified ? segments : ['', ...segments];
  const name = rest[rest.length - 1] ?? '';
  const namespace = rest.length > 1 ? rest[0] : undefined;
  const sealed = value.subarray(0, 8).toString('latin1') === 'k8s:enc:';
  return {
    group,
    version: '',
    resource: resource ?? '',
    object: { kind: '', metadata: { name, ...(namespace ? { namespace } : {}), uid: '' } },
    stored: sealed ? { sealed: value } : { raw: value },
  };
}
