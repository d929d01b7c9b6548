import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { KubeObject } from '@kubetime/api-machinery';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { BranchCatalog } from './branches';
import { copyTextRow } from './copy-text';
import { KeyFilter } from './key-filter';
import { BodyTransformer, EVENT_COLUMNS, EventRow, eventFromRow, eventValues } from './rows';
import type { Clock, RequestMetadata, StoredEvent, WriteIntent } from './types';

/** One change of a bulk import, in the order it is to be applied. */
export type ImportChange = ImportPut | ImportDelete;

interface ImportCommon {
  key: string;
  actor: string;
  request?: RequestMetadata;
}

/** Writes the object: ADDED when the key is absent at that point of the import, else MODIFIED. */
export interface ImportPut extends ImportCommon {
  type: 'put';
  /** Without metadata.resourceVersion; only the identity when `stored` is set. */
  object: KubeObject;
  group: string;
  version: string;
  resource: string;
  stored?: WriteIntent['stored'];
}

/** Removes the key (a DELETED event carrying its last state); nothing is written when it is absent. */
export interface ImportDelete extends ImportCommon {
  type: 'delete';
}

export interface ImportBranchOptions {
  /** The branch to create, forked from main at revision 1 (an empty cluster); it must not exist. */
  name: string;
  /** The head before the first imported event (default 1): the branch's revisions start above it. */
  startRevision?: number;
  /** Also records a compaction at startRevision, so reads below it answer "compacted". */
  compaction?: { actor: string; policy: Record<string, unknown> };
  /** Called after each batch is written (inside the transaction) with the events written so far. */
  onProgress?: (events: number) => Promise<void> | void;
}

export interface ImportBranchResult {
  branch: string;
  /** The branch head after the import. */
  revision: number;
  events: number;
  /** Live keys on the branch afterwards. */
  keys: number;
}

/**
 * Changes per batch: each batch is one lookup of its keys' predecessors and one COPY, so large enough
 * that their round trips are small next to the rows' work, and small enough to hold in memory.
 */
export const IMPORT_BATCH = 2_000;

/** Rows go to the COPY in chunks of about this many characters: one protocol message each. */
const COPY_CHUNK = 64 * 1024;

const COPY_EVENTS = `COPY events (${EVENT_COLUMNS}) FROM STDIN`;

/** A key at the current point of the import. */
interface KeyState {
  revision: number;
  createRevision: number;
  keyVersion: number;
  deleted: boolean;
}

/**
 * Writes a new branch and all its events in one transaction, a COPY per batch, so a restore runs at
 * PostgreSQL's load rate instead of one group commit per window of requests. The branch row
 * is created in the same transaction, so until COMMIT no other reader or process sees the branch, and
 * a failure anywhere leaves nothing. Memory is bounded by one batch and a fixed-size filter of the
 * keys written (KeyFilter): the predecessor of each key in a batch that may have one (prev_revision,
 * create_revision, version, and the last body for a delete) is read back from the rows this
 * transaction already wrote, never kept for the whole import.
 */
export async function importBranch(
  client: PoolClient,
  deps: { branches: BranchCatalog; bodies: BodyTransformer; clock: Clock; notifyChannel: string },
  options: ImportBranchOptions,
  changes: AsyncIterable<ImportChange>,
): Promise<ImportBranchResult> {
  const { bodies } = deps;
  const info = await deps.branches.fork(options.name, 'main', 1, 'wall', client);
  const branchId = info.id;
  let revision = info.headRevision;
  if (options.startRevision !== undefined && options.startRevision !== revision) {
    revision = options.startRevision;
    await client.query(
      `UPDATE branches SET head_revision = $2, compact_revision = CASE WHEN $3 THEN $2 ELSE compact_revision END
        WHERE id = $1`,
      [branchId, revision, options.compaction !== undefined],
    );
  }
  if (options.compaction) {
    await client.query(
      `INSERT INTO compactions (branch_id, revision, policy, actor, deleted_events) VALUES ($1, $2, $3, $4, 0)`,
      [branchId, revision, JSON.stringify(options.compaction.policy), options.compaction.actor],
    );
  }

  let written = 0;
  let keys = 0;
  const seen = new KeyFilter();
  // A batch's COPY runs while the next batch is read from the caller (the file, decoding); it is
  // awaited before the next lookup, which must see its rows.
  let copying: Promise<void> | undefined;
  const flushBatch = async (batch: ImportChange[]) => {
    if (copying) await copying;
    const events = await decideBatch(client, bodies, branchId, revision, batch, seen, deps.clock.now());
    for (const e of events) keys += e.type === 'ADDED' ? 1 : e.type === 'DELETED' ? -1 : 0;
    if (!events.length) return;
    revision = events[events.length - 1].revision;
    written += events.length;
    copying = copyEvents(client, bodies, events);
    // Awaited before the next batch or at the end; a failure must not go unhandled meanwhile.
    copying.catch(() => undefined);
    await options.onProgress?.(written);
  };

  let batch: ImportChange[] = [];
  for await (const change of changes) {
    batch.push(change);
    if (batch.length >= IMPORT_BATCH) {
      await flushBatch(batch);
      batch = [];
    }
  }
  if (batch.length) await flushBatch(batch);
  if (copying) await copying;
  await client.query(`UPDATE branches SET head_revision = $2 WHERE id = $1`, [branchId, revision]);
  await client.query('SELECT pg_notify($1, $2)', [deps.notifyChannel, `${branchId}:${revision}`]);
  return { branch: options.name, revision, events: written, keys };
}

/**
 * Streams the events into one COPY, encoding rows as the connection takes them. A failure on either
 * side ends the COPY with an error (the stream is destroyed, which sends CopyFail), so the transaction
 * fails instead of waiting on a COPY that never ends.
 */
function copyEvents(client: PoolClient, bodies: BodyTransformer, events: StoredEvent[]): Promise<void> {
  function* chunks(): Generator<string> {
    let chunk = '';
    for (const e of events) {
      chunk += copyTextRow(eventValues(e, bodies, storedForms.get(e)));
      if (chunk.length >= COPY_CHUNK) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  return pipeline(Readable.from(chunks()), client.query(copyFrom(COPY_EVENTS)));
}

/** Bodies that arrived in stored form, by the event that carries them until it is inserted. */
const storedForms = new WeakMap<StoredEvent, NonNullable<WriteIntent['stored']>>();

/**
 * Numbers the batch's changes after `base` as a sequence of single writes would: each key's
 * predecessor is the latest row already written for it (looked up only for keys `seen` may hold), or
 * an earlier change in this batch. Adds the batch's keys to `seen`.
 */
async function decideBatch(
  client: PoolClient,
  bodies: BodyTransformer,
  branchId: number,
  base: number,
  batch: ImportChange[],
  seen: KeyFilter,
  now: Date,
): Promise<StoredEvent[]> {
  const keys = [...new Set(batch.map((c) => c.key))].filter((key) => seen.mayHave(key));
  const deletedKeys = [...new Set(batch.filter((c) => c.type === 'delete').map((c) => c.key))].filter((key) =>
    seen.mayHave(key),
  );
  for (const change of batch) seen.add(change.key);
  const stateRows = keys.length
    ? await client.query<{
        key: string;
        revision: string;
        type: string;
        create_revision: string;
        version: number;
      }>(
        `SELECT DISTINCT ON (key) key, revision, type, create_revision, version FROM events
          WHERE branch_id = $1 AND key = ANY($2::text[]) ORDER BY key, revision DESC`,
        [branchId, keys],
      )
    : undefined;
  // A delete carries the key's last state, which may have been written by an earlier batch.
  const bodyRows = deletedKeys.length
    ? await client.query<EventRow>(
        `SELECT DISTINCT ON (key) ${EVENT_COLUMNS} FROM events
          WHERE branch_id = $1 AND key = ANY($2::text[]) ORDER BY key, revision DESC`,
        [branchId, deletedKeys],
      )
    : undefined;
  const state = new Map<string, KeyState>();
  for (const row of stateRows?.rows ?? []) {
    state.set(row.key, {
      revision: Number(row.revision),
      createRevision: Number(row.create_revision),
      keyVersion: row.version,
      deleted: row.type === 'DELETED',
    });
  }
  const lastEvent = new Map<string, StoredEvent>();
  for (const row of bodyRows?.rows ?? []) {
    const last = eventFromRow(row, bodies);
    lastEvent.set(row.key, last);
    // A body kept as raw bytes, or sealed with a key not configured here, is carried as stored.
    if (row.raw) storedForms.set(last, { raw: row.raw });
    else if (row.sealed && last.opaque) storedForms.set(last, { sealed: row.sealed });
  }

  const events: StoredEvent[] = [];
  let revision = base;
  for (const change of batch) {
    const current = state.get(change.key);
    const live = current && !current.deleted ? current : undefined;
    let event: StoredEvent;
    if (change.type === 'put') {
      const object = change.object;
      revision += 1;
      event = {
        branchId,
        revision,
        key: change.key,
        group: change.group,
        version: change.version,
        resource: change.resource,
        kind: object.kind ?? '',
        namespace: object.metadata.namespace ?? null,
        name: object.metadata.name ?? '',
        uid: object.metadata.uid ?? '',
        type: live ? 'MODIFIED' : 'ADDED',
        object,
        prevRevision: live?.revision ?? 0,
        createRevision: live ? live.createRevision : revision,
        keyVersion: live ? live.keyVersion + 1 : 1,
        actor: change.actor,
        cause: null,
        request: change.request ?? null,
        recordedAt: now,
      };
      if (change.stored) storedForms.set(event, change.stored);
    } else {
      const last = lastEvent.get(change.key);
      if (!live || !last) continue;
      revision += 1;
      event = {
        ...last,
        revision,
        type: 'DELETED',
        prevRevision: live.revision,
        createRevision: live.createRevision,
        keyVersion: live.keyVersion + 1,
        actor: change.actor,
        cause: null,
        request: change.request ?? null,
        recordedAt: now,
      };
    }
    if (event.type === 'DELETED') {
      // The tombstone carries the last state in the form it was stored, not its identity-only stand-in.
      const lastStored = storedForms.get(lastEvent.get(change.key)!);
      if (lastStored) storedForms.set(event, lastStored);
    }
    state.set(change.key, {
      revision,
      createRevision: event.createRevision,
      keyVersion: event.keyVersion,
      deleted: event.type === 'DELETED',
    });
    lastEvent.set(change.key, event);
    events.push(event);
  }
  return events;
}
