import { writeEtcdSnapshot, type EtcdEvent, type WriteSnapshotResult } from '@kubetime/etcd-snapshot';
import type { EventStore } from '@kubetime/event-store';
import { FutureRevision, RevisionCompacted } from '@kubetime/event-store';
import { ExportRow, historySql, RowQuery, rowsAtSql, stateSql, storageJson, streamRows } from './rows';

export interface SaveEtcdSnapshotOptions {
  /** Branch to export; `main` when omitted. */
  branch?: string;
  /** Revision to export the state at; the branch head when omitted. */
  revision?: number;
  path: string;
  /**
   * Also write the events above the branch's compaction point up to the revision, so the restored
   * etcd serves `--rev` reads and watches from those revisions, as a snapshot of a real etcd would.
   * Without it the file holds the state only, marked compacted at the revision.
   */
  history?: boolean;
}

export interface SaveEtcdSnapshotResult extends WriteSnapshotResult {
  branch: string;
  revision: number;
  /** `meta/finishedCompactRev` written: etcd answers "compacted" below it and never goes back past it. */
  compactRevision: number;
}

/**
 * Writes a branch at a revision as an etcd v3 snapshot that `etcdctl snapshot restore` accepts, with the
 * keys and values kube-apiserver would have stored in etcd. Rows stream from PostgreSQL through binary
 * COPY into the bbolt writer, so memory stays flat in the size of the cluster.
 */
export async function saveEtcdSnapshot(
  store: EventStore,
  options: SaveEtcdSnapshotOptions,
): Promise<SaveEtcdSnapshotResult> {
  const branch = options.branch ?? 'main';
  const head = await store.branch(branch);
  const revision = options.revision ?? head.revision;
  if (!Number.isSafeInteger(revision) || revision < 1) throw new Error(`revision ${revision} is not valid`);
  if (revision > head.revision) throw new FutureRevision(revision, head.revision);
  // The state at the compact revision itself is still whole (it is the baseline of what follows).
  // A retention rule's horizon counts too: an etcd file cannot say that one resource is missing.
  const horizon = head.horizonOverlapping('');
  if (revision < horizon.revision) throw new RevisionCompacted(revision, horizon.revision, horizon.keyPrefix);

  // etcd's first write is revision 2, so compacting at 1 hides nothing and keeps the restored
  // revision pinned even when the branch has no event at its head.
  const compactRevision = options.history ? Math.max(horizon.revision, 1) : revision;
  const baseline: RowQuery[] = [];
  // Taken in the same tick as `revision`: the head in memory is exactly the state there.
  if (compactRevision === head.revision) baseline.push(...rowsAtSql(head, head.liveRevisions()));
  else {
    const state = { params: [] as unknown[], sql: '' };
    state.sql = stateSql(head, compactRevision, { from: '' }, 'revision', state.params);
    baseline.push(state);
  }
  const later = { params: [] as unknown[], sql: '' };
  if (options.history) later.sql = historySql(head, compactRevision, revision, later.params);
  else {
    // A state ending in a delete: its tombstone at R keeps R the last revision in `key`, which is what
    // `etcdctl snapshot status` reports (it does not look at finishedCompactRev).
    later.sql = `SELECT * FROM (${historySql(head, revision - 1, revision, later.params)}) last WHERE type = 'DELETED'`;
  }
  const queries = [...baseline, later];

  const result = await writeEtcdSnapshot(options.path, toEtcdEvents(streamRows(store.pool, queries)), {
    revision,
    compactRevision,
  });
  return { ...result, branch, revision, compactRevision };
}

/** One batch of events per batch of rows: the writer then takes an asynchronous step per batch. */
async function* toEtcdEvents(batches: AsyncIterable<ExportRow[]>): AsyncGenerator<EtcdEvent[]> {
  for await (const rows of batches) {
    // One apiserver write is one etcd transaction of one change, hence sub revision 0.
    yield rows.map((row): EtcdEvent =>
      row.deleted
        ? { key: row.key, revision: row.revision, type: 'delete', createRevision: 0, version: 0 }
        : {
            key: row.key,
            revision: row.revision,
            type: 'put',
            value: row.sealed ?? row.raw ?? storageJson(row.object ?? Buffer.from('null')),
            createRevision: row.createRevision,
            version: row.version,
          },
    );
  }
}
