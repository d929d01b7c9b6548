import { basename } from 'node:path';
import { readEtcdSnapshot, type EtcdEvent, type SnapshotMeta } from '@kubetime/etcd-snapshot';
import type { EventStore, ImportChange, WriteIntent } from '@kubetime/event-store';
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
   * Called after the check pass (`check`, every change read) and after every batch of the write pass
   * (`write`); the restore waits for it, so a caller streaming progress to a slow client slows the
   * restore instead of queueing messages.
   */
  onProgress?: (progress: RestoreProgress) => Promise<void> | void;
}

export interface RestoreProgress {
  phase: 'check' | 'write';
  /** Changes read from the file so far (check) or appended to the branch so far (write). */
  events: number;
  /** Changes the file holds under /registry/: what the write pass goes through. */
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
 * The file is read twice, streamed: a first pass checks every page and value, and nothing is written
 * unless it passes (a damaged file is a SnapshotFormatError, undecodable values a RestoreRefused). The
 * second pass goes through the event store's bulk import: one transaction, so the branch appears
 * whole or not at all, and its in-memory head is only loaded when the branch is first served.
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
  const { unimported, changes } = await checkValues(store, snapshot.events());
  await options.onProgress?.({ phase: 'check', events: changes, total: changes });
  if (unimported.length && !options.allowUnimported) throw new RestoreRefused(unimported);

  let bumpedTo: number | undefined;
  if (options.bumpRevision !== undefined) {
    const main = await store.branch('main');
    bumpedTo = Math.max(meta.revision, main.revision) + options.bumpRevision;
  }
  const progress = options.onProgress;
  // One transaction: a failure anywhere (a file that changed between the passes, the database) leaves
  // no branch and no events behind.
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
      ...(progress ? { onProgress: (events) => progress({ phase: 'write', events, total: changes }) } : {}),
    },
    toChanges(store, snapshot.events(), meta, basename(path)),
  );
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
 * First pass: every value decoded, every key outside the Kubernetes keyspace or undecodable listed, and
 * the changes under /registry/ counted (the second pass's total).
 */
async function checkValues(
  store: EventStore,
  events: AsyncIterable<EtcdEvent>,
): Promise<{ unimported: UnimportedKey[]; changes: number }> {
  const problems = new Map<string, UnimportedKey>();
  let changes = 0;
  for await (const e of events) {
    const key = e.key.toString('utf8');
    if (key.startsWith(REGISTRY)) changes++;
    if (e.type === 'delete') continue;
    const reason = unimportableReason(store, key, e);
    if (reason === undefined) continue;
    const known = problems.get(key);
    if (known) known.revisions.push(e.revision);
    else problems.set(key, { key, revisions: [e.revision], reason });
  }
  return { unimported: [...problems.values()], changes };
}

function unimportableReason(store: EventStore, key: string, e: EtcdEvent): string | undefined {
  if (!key.startsWith(REGISTRY)) return 'outside /registry/: not Kubernetes state';
  if (!Buffer.from(key, 'utf8').equals(e.key)) return 'the key is not valid UTF-8';
  try {
    decodeEtcdValue(key, e.value ?? Buffer.alloc(0), store.bodies);
    return undefined;
  } catch (error) {
    if (error instanceof UndecodableValue) return error.message;
    throw error;
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

/** Second pass: each change under /registry/ in the file's order, as the event store imports it. */
async function* toChanges(
  store: EventStore,
  events: AsyncIterable<EtcdEvent>,
  meta: SnapshotMeta,
  file: string,
): AsyncGenerator<ImportChange> {
  for await (const e of events) {
    const key = e.key.toString('utf8');
    if (!key.startsWith(REGISTRY)) continue;
    const request = {
      verb: 'etcd-restore',
      userAgent: 'kubetime-etcd-restore',
      // Where the change came from: the file and its etcd revision, so the restore is traceable.
      requestId: `${file}@${e.revision}${meta.compactRevision && e.revision <= meta.compactRevision ? ' (baseline)' : ''}`,
    };
    if (e.type === 'delete') {
      // A delete of a key that never became an object (it was unimportable) has nothing to delete:
      // the store skips deletes of absent keys.
      yield { type: 'delete', key, actor: RESTORE_ACTOR, request };
      continue;
    }
    let decoded: DecodedValue;
    try {
      decoded = decodeEtcdValue(key, e.value ?? Buffer.alloc(0), store.bodies);
    } catch (error) {
      // Listed by the first pass; kept byte for byte so nothing in the file is lost.
      if (error instanceof UndecodableValue) decoded = opaqueValue(key, e.value ?? Buffer.alloc(0));
      else throw error;
    }
    yield {
      type: 'put',
      key,
      object: decoded.object,
      ...(decoded.stored ? { stored: decoded.stored } : {}),
      group: decoded.group,
      version: decoded.version,
      resource: decoded.resource,
      actor: RESTORE_ACTOR,
      request,
    };
  }
}
