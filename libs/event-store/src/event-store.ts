import { Client, Pool, PoolClient } from 'pg';
import type { KubeObject, RawJson } from '@kubetime/api-machinery';
import { Observable } from 'rxjs';
import { BranchHead } from './branch';
import { BranchCatalog, lockBranchHistory } from './branches';
import { ImportBranchOptions, ImportBranchResult, ImportChange, importBranch } from './bulk-import';
import { HistoryReader, Lineage, prefixEnd } from './history';
import {
  BodyTransformer,
  EVENT_COLUMNS,
  EventRow,
  eventColumns,
  eventFromRow,
  groupResource,
  plaintextBodies,
  withResourceVersion,
} from './rows';
import {
  Body,
  BodyForm,
  Clock,
  FutureRevision,
  IncompletePrefix,
  PreconditionFailed,
  RevisionCompacted,
  StoredEvent,
  StoredObject,
  UnknownBranch,
  wallClock,
  WriteIntent,
} from './types';

export interface EventStoreOptions {
  pool: Pool;
  /** Connection string for the LISTEN connection that tells this process about other writers. */
  url: string;
  bodies?: BodyTransformer;
  clock?: Clock;
  /** Write a checkpoint of live-object references every this many revisions. */
  checkpointInterval?: number;
  /** Events kept in memory per branch for watches that start a little in the past. */
  recentEvents?: number;
  maxBatch?: number;
  onAppended?: (count: number) => void;
}

const NOTIFY_CHANNEL = 'kubetime_events';
/** Batches in flight per branch: one committing while the next ones insert their rows. */
const PIPELINE_DEPTH = 3;
const CATCH_UP_PAGE = 2000;
/** Live-object references a checkpoint may cost per event appended since the previous one. */
const CHECKPOINT_REFS_PER_EVENT = 4;

/** Bodies that arrived in stored form, by the event that carries them until it is inserted. */
const storedForms = new WeakMap<StoredEvent, NonNullable<WriteIntent['stored']>>();

interface Pending {
  intent: WriteIntent;
  resolve(event: StoredEvent): void;
  reject(error: unknown): void;
}

interface Decided {
  accepted: { pending: Pending; event: StoredEvent }[];
  rejected: { pending: Pending; error: PreconditionFailed }[];
  revision: number;
}

interface InFlight {
  batch: Pending[];
  decided: Decided;
  /** 'committed', 'moved' (another process moved the head first), or the database error. */
  outcome: Promise<unknown>;
}

/** Keys decided by batches not yet folded into the head: their object (null when deleted). */
type Overlay = Map<string, { revision: number; object: StoredObject | null }>;

/**
 * The append-only log with a gapless, commit-ordered revision per branch.
 *
 * Sequence ids from concurrent transactions commit out of order, so revisions are assigned by a
 * single writer per branch that batches concurrent requests into one transaction (group commit)
 * while holding the branch row lock; the lock also serialises writers in other processes, and
 * LISTEN/NOTIFY tells every process to fold in what the others committed.
 */
export class EventStore {
  private readonly heads = new Map<string, Promise<BranchHead>>();
  private readonly headsById = new Map<number, BranchHead>();
  private readonly queues = new Map<number, Pending[]>();
  private readonly flushing = new Set<number>();
  /** Per-branch chain that orders commits and catch-ups, so events are folded strictly in order. */
  private readonly locks = new Map<number, Promise<unknown>>();
  /** Per branch id, the newest head revision another process has announced (NOTIFY). */
  private readonly announced = new Map<number, number>();
  /**
   * Per branch id, the head revisions this process's batches in flight move it to. Their NOTIFY can
   * arrive before the batch is folded in; it is this process's own and must not be read back from
   * the database. Should another process have committed that revision instead, the batch finds the
   * head moved and the flush folds the other process's events itself.
   */
  private readonly ownCommits = new Map<number, Set<number>>();
  readonly history: HistoryReader;
  readonly branches: BranchCatalog;
  readonly bodies: BodyTransformer;
  private readonly clock: Clock;
  private listener?: Client;
  private closed = false;

  private constructor(private readonly options: EventStoreOptions) {
    this.bodies = options.bodies ?? plaintextBodies;
    this.clock = options.clock ?? wallClock;
    this.history = new HistoryReader(options.pool, this.bodies);
    this.branches = new BranchCatalog(options.pool);
  }

  static async open(options: EventStoreOptions): Promise<EventStore> {
    const store = new EventStore(options);
    await store.listen();
    await store.branch('main');
    return store;
  }

  get pool(): Pool {
    return this.options.pool;
  }

  /** The branch's in-memory head, loaded from the newest checkpoint plus the events after it. */
  branch(name = 'main'): Promise<BranchHead> {
    let head = this.heads.get(name);
    if (!head) {
      head = this.loadBranch(name);
      this.heads.set(name, head);
      head.catch(() => this.heads.delete(name));
    }
    return head;
  }

  /**
   * Forgets history below a revision, as etcd's compaction does: superseded versions and tombstones
   * at or below it are deleted, the latest version of every key live at it is kept, so the state at
   * the revision and everything after stay readable. The only DELETE the events table accepts, and
   * only inside the transaction that records it in `compactions`.
   */
  async compact(
    branchName: string,
    revision: number,
    actor: string,
    policy: Record<string, unknown> = { keep: 'latest' },
  ): Promise<{ deletedEvents: number }> {
    const head = await this.branch(branchName);
    if (revision > head.revision) throw new FutureRevision(revision, head.revision);
    if (revision <= head.compactRevision) return { deletedEvents: 0 };
    const client = await this.pool.connect();
    let deletedEvents = 0;
    let raisedDescendants: number[] = [];
    try {
      await client.query('BEGIN');
      await lockBranchHistory(client, head.id, 'compact');
      const { rows: children } = await client.query<{ name: string; fork_revision: string }>(
        `SELECT name, fork_revision FROM branches WHERE parent_id = $1 AND deleted_at IS NULL AND fork_revision < $2 ORDER BY fork_revision LIMIT 1`,
        [head.id, revision],
      );
      if (children.length) {
        throw new Error(
          `branch "${children[0].name}" was forked at revision ${children[0].fork_revision} and reads this history: compact at or below it`,
        );
      }
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO compactions (branch_id, revision, policy, actor) VALUES ($1, $2, $3, $4) RETURNING id`,
        [head.id, revision, JSON.stringify(policy), actor],
      );
      deletedEvents = await deleteSuperseded(client, head, revision);
      await client.query(`UPDATE compactions SET deleted_events = $2 WHERE id = $1`, [
        rows[0].id,
        deletedEvents,
      ]);
      await client.query(`UPDATE branches SET compact_revision = $2 WHERE id = $1`, [head.id, revision]);
      // Branches forked from this one (and their forks) read this history below their fork point; what
      // was deleted here is gone for them too, so their reads below the point must be refused as well.
      const { rows: descendants } = await client.query<{ id: number; head_revision: string }>(
        `WITH RECURSIVE lineage AS (
           SELECT id FROM branches WHERE parent_id = $1
           UNION ALL SELECT b.id FROM branches b JOIN lineage l ON b.parent_id = l.id)
         UPDATE branches SET compact_revision = $2
          WHERE id IN (SELECT id FROM lineage) AND compact_revision < $2
          RETURNING id, head_revision`,
        [head.id, revision],
      );
      for (const descendant of descendants)
        await client.query('SELECT pg_notify($1, $2)', [
          NOTIFY_CHANNEL,
          `${descendant.id}:${descendant.head_revision}:${revision}`,
        ]);
      raisedDescendants = descendants.map((d) => Number(d.id));
      // Checkpoints below the compaction point may name versions that are gone now.
      await client.query(`DELETE FROM checkpoints WHERE branch_id = $1 AND revision < $2`, [
        head.id,
        revision,
      ]);
      await client.query('SELECT pg_notify($1, $2)', [
        NOTIFY_CHANNEL,
        `${head.id}:${head.revision}:${revision}`,
      ]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    head.compactRevision = revision;
    for (const id of raisedDescendants) {
      const descendant = this.headsById.get(id);
      if (descendant) descendant.compactRevision = Math.max(descendant.compactRevision, revision);
    }
    head.lastCheckpoint = 0;
    this.maybeCheckpoint(head);
    return { deletedEvents };
  }

  /**
   * A retention rule: forgets the history of the keys under the given storage prefixes only, as the
   * full compaction does for every key (superseded versions and tombstones at or below the cutoff go,
   * the version current at it stays), so reads of those keys at or above the cutoff stay exact and
   * reads below it answer "compacted" naming the cutoff; other keys keep their whole history. The
   * cutoff is capped at the oldest fork point of a live child branch, which reads this history up to
   * there. Checkpoints are kept: a reference to a version deleted here names a version superseded
   * after the checkpoint and at or below the cutoff, so readers at or above the cutoff find its
   * successor among the events since the checkpoint, and readers below it are refused.
   */
  async compactKeys(
    branchName: string,
    keyPrefixes: string[],
    cutoff: number,
    actor: string,
    policy: Record<string, unknown>,
  ): Promise<{ cutoff: number; deletedEvents: number; compacted: string[] }> {
    const head = await this.branch(branchName);
    if (cutoff > head.revision) throw new FutureRevision(cutoff, head.revision);
    const before = new Map<string, { reader: BranchHead; prefix: string; previous?: number }>();
    const client = await this.pool.connect();
    let deletedEvents = 0;
    let compacted: string[] = [];
    try {
      await client.query('BEGIN');
      await lockBranchHistory(client, head.id, 'compact');
      const { rows: children } = await client.query<{ fork_revision: string | null }>(
        // A branch forked before this one's first event (a restored snapshot forks main at 1) reads none of it.
        `SELECT min(c.fork_revision) AS fork_revision FROM branches c
          WHERE c.parent_id = $1 AND c.deleted_at IS NULL
            AND EXISTS (SELECT 1 FROM events e WHERE e.branch_id = $1 AND e.revision <= c.fork_revision)`,
        [head.id],
      );
      if (children[0].fork_revision !== null) cutoff = Math.min(cutoff, Number(children[0].fork_revision));
      compacted = [...new Set(keyPrefixes)].filter(
        (prefix) => cutoff > head.horizonCovering(prefix).revision,
      );
      if (!compacted.length) {
        await client.query('ROLLBACK');
        return { cutoff, deletedEvents: 0, compacted };
      }
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO compactions (branch_id, revision, policy, actor) VALUES ($1, $2, $3, $4) RETURNING id`,
        [head.id, cutoff, JSON.stringify({ ...policy, keyPrefixes: compacted }), actor],
      );
      for (const prefix of compacted) deletedEvents += await deleteSuperseded(client, head, cutoff, prefix);
      await client.query(`UPDATE compactions SET deleted_events = $2 WHERE id = $1`, [
        rows[0].id,
        deletedEvents,
      ]);
      // Branches forked from this one (at or above the cutoff) read the history just forgotten.
      const { rows: readers } = await client.query<{ id: number }>(
        `WITH RECURSIVE readers AS (
           SELECT id FROM branches WHERE id = $1
           UNION SELECT b.id FROM branches b JOIN readers r ON b.parent_id = r.id
                  WHERE b.deleted_at IS NULL
                    AND (r.id <> $1 OR EXISTS (SELECT 1 FROM events e WHERE e.branch_id = $1 AND e.revision <= b.fork_revision)))
         INSERT INTO key_horizons (branch_id, key_prefix, compact_revision)
         SELECT r.id, p, $3 FROM readers r, unnest($2::text[]) AS p
         ON CONFLICT (branch_id, key_prefix) DO UPDATE
           SET compact_revision = greatest(key_horizons.compact_revision, EXCLUDED.compact_revision)
         RETURNING branch_id AS id`,
        [head.id, compacted, cutoff],
      );
      const readerIds = [...new Set(readers.map((r) => r.id))];
      for (const id of readerIds)
        await client.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, `${id}:0:0:horizons`]);
      // Readers here are refused below the cutoff before the deletion becomes visible to them.
      for (const id of readerIds) {
        const reader = this.headsById.get(id);
        if (!reader) continue;
        for (const prefix of compacted) {
          const previous = reader.horizons.get(prefix);
          if (!before.has(`${id}:${prefix}`)) before.set(`${id}:${prefix}`, { reader, prefix, previous });
          reader.horizons.set(prefix, Math.max(previous ?? 0, cutoff));
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      for (const { reader, prefix, previous } of before.values()) {
        if (previous === undefined) reader.horizons.delete(prefix);
        else reader.horizons.set(prefix, previous);
      }
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return { cutoff, deletedEvents, compacted };
  }

  /** Deletes a branch (recorded, history kept) and ends its live streams. */
  async deleteBranch(name: string): Promise<void> {
    await this.branches.delete(name);
    const head = await this.heads.get(name)?.catch(() => undefined);
    this.heads.delete(name);
    if (head) {
      this.headsById.delete(head.id);
      head.events.complete();
    }
  }

  /**
   * Appends one write; resolves after COMMIT with the event as stored. `onSequenced` runs once the
   * write has its place in the branch's queue: writes queued after it get later revisions (if they
   * are accepted), so a caller can issue its next write then instead of waiting for the commit.
   */
  async append(branchName: string, intent: WriteIntent, onSequenced?: () => void): Promise<StoredEvent> {
    if (this.closed) throw new Error('event store is closed');
    const head = await this.branch(branchName);
    return new Promise<StoredEvent>((resolve, reject) => {
      let queue = this.queues.get(head.id);
      if (!queue) this.queues.set(head.id, (queue = []));
      queue.push({ intent, resolve, reject });
      onSequenced?.();
      if (!this.flushing.has(head.id)) {
        this.flushing.add(head.id);
        // Let requests that arrive in the same tick join the first batch.
        setImmediate(() => void this.flush(head));
      }
    });
  }

  /**
   * Creates a branch holding a long ordered stream of changes, written in large batches inside one
   * transaction (see importBranch): the branch appears with all its events or not at all. Its
   * in-memory head is not built; it is loaded from the database when the branch is first served.
   */
  async importBranch(
    options: ImportBranchOptions,
    changes: AsyncIterable<ImportChange>,
  ): Promise<ImportBranchResult> {
    if (this.closed) throw new Error('event store is closed');
    const client = await this.pool.connect();
    // A connection whose ROLLBACK failed is in an unknown state: it is discarded, not reused.
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await importBranch(
        client,
        { branches: this.branches, bodies: this.bodies, clock: this.clock, notifyChannel: NOTIFY_CHANNEL },
        options,
        changes,
      );
      await client.query('COMMIT');
      if (result.events) this.options.onAppended?.(result.events);
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async get(branchName: string, key: string, revision?: number): Promise<StoredObject | undefined> {
    const head = await this.branch(branchName);
    if (revision === undefined || revision === head.revision) return head.get(key);
    this.checkReadable(head, revision, key);
    const event = await this.history.objectAt(head.lineage, key, revision);
    return event && toStoredObject(event);
  }

  /**
   * Live objects under prefix at the head, or at a past revision. In the raw form, a past read leaves
   * plaintext bodies as stored text; the head's objects are in memory, decoded, either way.
   */
  async list<F extends BodyForm = 'decoded'>(
    branchName: string,
    prefix: string,
    revision?: number,
    form?: F,
  ): Promise<{ revision: number; items: StoredObject<Body<F>>[]; incomplete: IncompletePrefix[] }> {
    const head = await this.branch(branchName);
    if (revision === undefined || revision === head.revision)
      return { revision: head.revision, items: head.list(prefix) as StoredObject<Body<F>>[], incomplete: [] };
    this.checkReadable(head, revision, prefix);
    // A wider read keeps the resources it can answer exactly and names those it leaves out.
    const incomplete = head.horizonsWithin(prefix, revision);
    const live = await this.history.stateAt(head.lineage, revision, prefix, form);
    const items = live.filter((o) => !incomplete.some((i) => o.key.startsWith(i.keyPrefix)));
    return { revision, items, incomplete };
  }

  /**
   * Every event after fromRevision on the branch, in revision order: first what is already in the
   * log (from memory when recent, else from the database), then live events as they commit. A watch
   * confined to a prefix is refused below that prefix's retention horizon.
   */
  watch(branchName: string, fromRevision: number, prefix = '/'): Observable<StoredEvent> {
    return new Observable<StoredEvent>((subscriber) => {
      let last = fromRevision;
      let live = false;
      const early: StoredEvent[] = [];
      let unsubscribed = false;
      let liveSubscription: { unsubscribe(): void } | undefined;
      this.branch(branchName)
        .then(async (head) => {
          if (unsubscribed) return;
          const horizon = head.horizonCovering(prefix);
          if (fromRevision < horizon.revision)
            throw new RevisionCompacted(fromRevision, horizon.revision, horizon.keyPrefix);
          // Subscribe before reading what is there, then drop duplicates by revision: nothing committed
          // in between can be missed.
          liveSubscription = head.events.subscribe((event) => {
            if (!live) early.push(event);
            else if (event.revision > last) {
              last = event.revision;
              subscriber.next(event);
            }
          });
          const target = head.revision;
          const recent = head.recentSince(fromRevision);
          if (recent) {
            for (const event of recent) if (event.revision > last && event.revision <= target) emit(event);
          } else {
            while (last < target && !unsubscribed) {
              const page = await this.history.eventsBetween(head.lineage, last, target, CATCH_UP_PAGE);
              if (!page.length) break;
              for (const event of page) emit(event);
            }
          }
          for (const event of early) if (event.revision > last) emit(event);
          early.length = 0;
          live = true;
        })
        .catch((error) => subscriber.error(error));
      function emit(event: StoredEvent) {
        last = event.revision;
        subscriber.next(event);
      }
      return () => {
        unsubscribed = true;
        liveSubscription?.unsubscribe();
      };
    });
  }

  /** Events of the branch in (after, upTo], for history browsing; bodies in the form asked for. */
  async events<F extends BodyForm = 'decoded'>(
    branchName: string,
    after: number,
    upTo: number,
    limit: number,
    form?: F,
  ): Promise<StoredEvent<Body<F>>[]> {
    const head = await this.branch(branchName);
    this.checkReadable(head, Math.max(after, head.compactRevision));
    return this.history.eventsBetween(head.lineage, after, Math.min(upTo, head.revision), limit, form);
  }

  async close(): Promise<void> {
    this.closed = true;
    // Writes already accepted finish: queued and in-flight batches commit before the pool closes.
    while (this.flushing.size || [...this.queues.values()].some((q) => q.length)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all([...this.locks.values()].map((p) => p.catch(() => undefined)));
    for (const head of this.headsById.values()) head.events.complete();
    await this.listener?.end().catch(() => undefined);
  }

  /**
   * Whether the stored body of this object is not what a write would store now: sealed with a key
   * that is no longer the write key, or sealed while its resource is now kept in plaintext. An
   * otherwise unchanged update of such an object is still written, which is how a rotation
   * re-encrypts (as `kubectl replace` over all Secrets does on a real cluster).
   */
  isStale(group: string, resource: string, stored: StoredObject): boolean {
    const gr = groupResource(group, resource);
    if (!this.bodies.encrypts(gr)) return stored.sealedWith !== undefined;
    if (!stored.sealedWith) return true;
    const [provider, ...key] = stored.sealedWith.split(':');
    const probe = Buffer.from(`k8s:enc:${provider}:v1:${key.join(':')}:`);
    return this.bodies.needsRewrite(gr, probe);
  }

  private checkReadable(head: BranchHead, revision: number, prefix = '/'): void {
    const horizon = head.horizonCovering(prefix);
    if (revision < horizon.revision)
      throw new RevisionCompacted(revision, horizon.revision, horizon.keyPrefix);
    if (revision > head.revision) throw new FutureRevision(revision, head.revision);
  }

  private async loadBranch(name: string): Promise<BranchHead> {
    const lineage: Lineage = [];
    const { rows } = await this.pool.query<{
      id: number;
      head_revision: string;
      compact_revision: string;
      deleted_at: Date | null;
    }>(`SELECT id, head_revision, compact_revision, deleted_at FROM branches WHERE name = $1`, [name]);
    if (!rows.length || rows[0].deleted_at) throw new UnknownBranch(name);
    const branch = rows[0];
    let id: number | null = branch.id;
    let upTo = Number.MAX_SAFE_INTEGER;
    while (id !== null) {
      const parent: { parent_id: number | null; fork_revision: string | null }[] = (
        await this.pool.query(`SELECT parent_id, fork_revision FROM branches WHERE id = $1`, [id])
      ).rows;
      const after = parent[0].fork_revision === null ? 0 : Number(parent[0].fork_revision);
      lineage.push({ branchId: id, after, upTo });
      upTo = after;
      id = parent[0].parent_id;
    }
    const revision = Number(branch.head_revision);
    const head = new BranchHead(
      branch.id,
      name,
      lineage,
      revision,
      Number(branch.compact_revision),
      this.options.recentEvents ?? 10_000,
    );
    head.load(await this.history.stateAt(lineage, revision));
    const { rows: cp } = await this.pool.query<{ revision: string | null }>(
      `SELECT max(revision) AS revision FROM checkpoints WHERE branch_id = $1`,
      [branch.id],
    );
    head.lastCheckpoint = Number(cp[0].revision ?? 0);
    head.horizons = await this.loadHorizons(head.id);
    this.headsById.set(head.id, head);
    return head;
  }

  private async loadHorizons(branchId: number): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ key_prefix: string; compact_revision: string }>(
      `SELECT key_prefix, compact_revision FROM key_horizons WHERE branch_id = $1`,
      [branchId],
    );
    return new Map(rows.map((r) => [r.key_prefix, Number(r.compact_revision)]));
  }

  private serialize<T>(branchId: number, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(branchId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(branchId, next);
    return next;
  }

  /**
   * Group commit with a short pipeline: while one batch's statement is committing, the next one is
   * already decided against the head plus the batches in flight and sent on another connection,
   * where its head move waits on the first one's row lock. A batch that fails makes every later
   * one fail too (their expected head never existed), so they are decided again from the head.
   */
  private async flush(head: BranchHead): Promise<void> {
    const queue = this.queues.get(head.id)!;
    const inflight: InFlight[] = [];
    const overlay: Overlay = new Map();
    let virtualRevision = head.revision;
    // Writes to send one per statement, after a statement failed for a reason of its own.
    let isolate = 0;
    let own = this.ownCommits.get(head.id);
    if (!own) this.ownCommits.set(head.id, (own = new Set()));
    try {
      while (queue.length || inflight.length) {
        while (queue.length && inflight.length < PIPELINE_DEPTH) {
          if (!inflight.length) virtualRevision = head.revision;
          const batch = queue.splice(0, isolate > 0 ? 1 : (this.options.maxBatch ?? 500));
          isolate = Math.max(0, isolate - batch.length);
          const decided = this.decide(head, batch, overlay, virtualRevision);
          const from = virtualRevision;
          virtualRevision = decided.revision;
          const outcome = decided.accepted.length
            ? this.insertAtHead(
                head,
                from,
                decided.revision,
                decided.accepted.map((a) => a.event),
              ).then(
                (moved) => (moved ? 'committed' : 'moved'),
                (error: unknown) => error,
              )
            : Promise.resolve('committed');
          if (decided.accepted.length) own.add(decided.revision);
          inflight.push({ batch, decided, outcome });
        }
        const oldest = inflight.shift()!;
        const outcome = await oldest.outcome;
        if (outcome === 'committed') {
          for (const { pending, error } of oldest.decided.rejected) pending.reject(error);
          for (const { pending, event } of oldest.decided.accepted) {
            head.apply(event);
            // Later batches in flight may have decided on this key again: keep their view.
            if (overlay.get(event.key)?.revision === event.revision) overlay.delete(event.key);
            pending.resolve(event);
          }
          own.delete(oldest.decided.revision);
          if (oldest.decided.accepted.length) this.options.onAppended?.(oldest.decided.accepted.length);
          this.maybeCheckpoint(head);
          continue;
        }
        // Everything after a failed batch fails as well: wait for it, then decide again from the head.
        await Promise.all(inflight.map((f) => f.outcome));
        own.clear();
        const retry = inflight.splice(0).flatMap((f) => f.batch);
        overlay.clear();
        if (outcome === 'moved') {
          await this.foldToDatabaseHead(head);
          queue.unshift(...oldest.batch, ...retry);
          continue;
        }
        // Another process's NOTIFY for a revision this batch aimed at was ignored as this process's
        // own (ownCommits), and a statement whose reply was lost may have committed: either way the
        // head learns what the database has, if it can be reached.
        await this.foldToDatabaseHead(head).catch(() => undefined);
        if (oldest.batch.length > 1) {
          // One write the database refuses (say a NUL character in its actor, which jsonb cannot
          // hold) must not fail the others that shared its statement: they go again one per statement.
          isolate = oldest.batch.length;
          queue.unshift(...oldest.batch, ...retry);
        } else {
          for (const pending of oldest.batch) pending.reject(outcome);
          queue.unshift(...retry);
        }
      }
    } finally {
      own.clear();
      this.flushing.delete(head.id);
      if (queue.length) {
        this.flushing.add(head.id);
        setImmediate(() => void this.flush(head));
      }
    }
  }

  private async foldToDatabaseHead(head: BranchHead): Promise<void> {
    const { rows } = await this.pool.query<{ head_revision: string }>(
      'SELECT head_revision FROM branches WHERE id = $1',
      [head.id],
    );
    await this.serialize(head.id, () => this.foldForeignEvents(head, Number(rows[0].head_revision)));
  }

  /**
   * Validates each write against the head plus the writes decided before it (in flight or earlier
   * in this batch), exactly as if they had been committed one by one, and numbers the accepted ones
   * consecutively after `base`.
   */
  private decide(head: BranchHead, batch: Pending[], overlay: Overlay, base: number): Decided {
    const accepted: { pending: Pending; event: StoredEvent }[] = [];
    const rejected: { pending: Pending; error: PreconditionFailed }[] = [];
    let revision = base;
    const now = this.clock.now();
    for (const pending of batch) {
      const { intent } = pending;
      const decidedBefore = overlay.get(intent.key);
      const current = decidedBefore ? decidedBefore.object : head.get(intent.key);
      const actual = current?.revision ?? 0;
      const expected = intent.expectedRevision ?? (intent.type === 'ADDED' ? 0 : actual);
      if (
        expected !== actual ||
        (intent.type !== 'ADDED' && !current) ||
        (intent.type === 'ADDED' && current)
      ) {
        rejected.push({ pending, error: new PreconditionFailed(intent.key, expected, actual) });
        continue;
      }
      revision += 1;
      const event: StoredEvent = {
        branchId: head.id,
        revision,
        key: intent.key,
        group: intent.group,
        version: intent.version,
        resource: intent.resource,
        kind: intent.object.kind ?? '',
        namespace: intent.object.metadata.namespace ?? null,
        name: intent.object.metadata.name ?? '',
        uid: intent.object.metadata.uid ?? '',
        type: intent.type,
        object: withResourceVersion(intent.object, revision),
        prevRevision: actual,
        createRevision: intent.type === 'ADDED' || !current ? revision : current.createRevision,
        keyVersion: intent.type === 'ADDED' || !current ? 1 : current.keyVersion + 1,
        actor: intent.actor,
        cause: intent.cause ?? null,
        request: intent.request ?? null,
        recordedAt: intent.recordedAt ?? now,
      };
      if (intent.stored) {
        storedForms.set(event, intent.stored);
        if ('raw' in intent.stored) {
          event.opaque = {
            reason: `the stored value of ${intent.key} (${intent.stored.raw.length} bytes) could not be decoded when it was imported; it is kept as raw bytes`,
          };
        } else {
          const { provider, keyName } = this.bodies.describe(intent.stored.sealed);
          event.opaque = {
            reason: `the stored value of ${intent.key} is sealed with ${provider} key "${keyName}", which this server cannot open; it is kept sealed`,
          };
        }
      }
      accepted.push({ pending, event });
      overlay.set(intent.key, { revision, object: intent.type === 'DELETED' ? null : toStoredObject(event) });
    }
    return { accepted, rejected, revision };
  }

  /**
   * One statement, so one round trip and one implicit transaction (kubetime_append): insert the
   * events, then move the branch head from the revision this process knows to the new one (the row
   * lock orders writers across processes), and notify other processes. False when another process
   * had moved the head first; nothing is written then.
   */
  private async insertAtHead(
    head: BranchHead,
    from: number,
    to: number,
    events: StoredEvent[],
  ): Promise<boolean> {
    const [branchId, scalars, objects, sealed, raw] = eventColumns(events, this.bodies, (e) =>
      storedForms.get(e),
    );
    try {
      await this.pool.query({
        name: 'kubetime_append',
        text: 'SELECT kubetime_append($1, $2, $3, $4, $5, $6, $7, $8)',
        values: [branchId, from, to, scalars, objects, sealed, raw, NOTIFY_CHANNEL],
      });
      return true;
    } catch (error) {
      if (headMoved(error)) return false;
      throw error;
    }
  }

  /** Another process committed on this branch: fold its events in before deciding anything. */
  private async foldForeignEvents(head: BranchHead, upTo: number): Promise<void> {
    this.announced.set(head.id, Math.max(upTo, this.announced.get(head.id) ?? 0));
    // Reads up to the newest revision announced so far, not just this call's: commits announced while
    // a read is running come in its next page, and the folds queued for them find nothing left to do.
    while (head.revision < this.announced.get(head.id)!) {
      const { rows } = await this.pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE branch_id = $1 AND revision > $2 AND revision <= $3
          ORDER BY revision LIMIT $4`,
        [head.id, head.revision, this.announced.get(head.id), CATCH_UP_PAGE],
      );
      if (!rows.length) break;
      for (const row of rows) head.apply(eventFromRow(row, this.bodies));
    }
  }

  private maybeCheckpoint(head: BranchHead): void {
    // A checkpoint costs one reference per live object, so the interval grows with the live set: the
    // references written stay at most CHECKPOINT_REFS_PER_EVENT per event appended, however many
    // objects a branch holds, and a past read still starts from a checkpoint no more than a quarter
    // of the live set (or the configured interval) behind it.
    const live = head.count();
    const interval = Math.max(
      this.options.checkpointInterval ?? 5_000,
      Math.ceil(live / CHECKPOINT_REFS_PER_EVENT),
    );
    if (head.revision - head.lastCheckpoint < interval) return;
    const revision = head.revision;
    head.lastCheckpoint = revision;
    // References only: a checkpoint names the event holding each live object, so bodies (and sealed
    // Secrets) are never copied. The arrays go as literals: pg would otherwise escape each element.
    const { branchIds, revisions } = head.liveReferences();
    this.pool
      .query(
        `INSERT INTO checkpoints (branch_id, revision, ref_branches, ref_revisions) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [head.id, revision, `{${branchIds.join(',')}}`, `{${revisions.join(',')}}`],
      )
      .catch(() => {
        head.lastCheckpoint = 0;
      });
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.options.url });
    client.on('error', () => undefined);
    client.on('notification', (message) => {
      // `branch:head`, `branch:head:compacted` when a compaction committed, or
      // `branch:0:0:horizons` when a retention rule moved a prefix's horizon.
      const [id, revision, compacted] = (message.payload ?? '').split(':').map(Number);
      const head = this.headsById.get(id);
      if (head && compacted > head.compactRevision) head.compactRevision = compacted;
      if (head && message.payload?.endsWith(':horizons'))
        void this.loadHorizons(id)
          .then((loaded) => {
            for (const [prefix, horizon] of loaded)
              head.horizons.set(prefix, Math.max(horizon, head.horizons.get(prefix) ?? 0));
          })
          .catch(() => undefined);
      if (!head || revision <= head.revision || this.ownCommits.get(id)?.has(revision)) return;
      this.announced.set(id, Math.max(revision, this.announced.get(id) ?? 0));
      void this.serialize(id, () => this.foldForeignEvents(head, revision)).catch(() => undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.listener = client;
    let lost = false;
    const onLost = () => {
      if (lost || this.closed) return;
      lost = true;
      if (this.listener === client) this.listener = undefined;
      void client.end().catch(() => undefined);
      void this.listenAgain(0);
    };
    client.on('error', onLost);
    client.on('end', onLost);
  }

  /**
   * The LISTEN connection dropped (a restarted or failed-over database, a killed backend). What was
   * announced meanwhile is lost with it, so once listening again every head reads up to the
   * database's head; until then this process only sees others' commits when it writes itself.
   */
  private async listenAgain(attempt: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 250 * 2 ** attempt)));
    if (this.closed) return;
    try {
      await this.listen();
    } catch {
      return this.listenAgain(attempt + 1);
    }
    for (const head of this.headsById.values()) await this.foldToDatabaseHead(head).catch(() => undefined);
  }
}

/**
 * The compaction's DELETE over the keys under prefix (every key without one): versions superseded at or below the cutoff and
 * tombstones at or below it. A tombstone on a forked branch is kept when an ancestor branch has
 * events of its key, because it is what hides the ancestor's version from readers of this branch.
 */
async function deleteSuperseded(
  client: PoolClient,
  head: BranchHead,
  cutoff: number,
  prefix?: string,
): Promise<number> {
  const params: unknown[] = [head.id, cutoff];
  let range = '';
  if (prefix !== undefined) {
    params.push(prefix, prefixEnd(prefix));
    range = 'AND e.key >= $3 AND e.key < $4';
  }
  const ancestors = head.lineage.slice(1).map((s) => {
    params.push(s.branchId, s.after, s.upTo);
    const n = params.length;
    return `(a.branch_id = $${n - 2} AND a.revision > $${n - 1} AND a.revision <= $${n})`;
  });
  const inAncestor = ancestors.length
    ? `AND NOT EXISTS (SELECT 1 FROM events a WHERE a.key = e.key AND (${ancestors.join(' OR ')}))`
    : '';
  const deleted = await client.query(
    `DELETE FROM events e
      WHERE e.branch_id = $1 AND e.revision <= $2 ${range}
        AND ((e.type = 'DELETED' ${inAncestor})
             OR EXISTS (SELECT 1 FROM events n
                         WHERE n.branch_id = e.branch_id AND n.key = e.key AND n.revision > e.revision AND n.revision <= $2))`,
    params,
  );
  return deleted.rowCount ?? 0;
}

function toStoredObject<B extends KubeObject | RawJson>(event: StoredEvent<B>): StoredObject<B> {
  return {
    key: event.key,
    object: event.object,
    revision: event.revision,
    branchId: event.branchId,
    createRevision: event.createRevision,
    keyVersion: event.keyVersion,
    sealedWith: event.sealedWith,
    ...(event.opaque ? { opaque: event.opaque } : {}),
  };
}

/**
 * Whether an append failed because the head was not where this process thought: kubetime_append
 * found it moved (KT409), or another process had already inserted the same revisions.
 */
function headMoved(error: unknown): boolean {
  const { code, constraint } = error as { code?: string; constraint?: string };
  return code === 'KT409' || (code === '23505' && constraint === 'events_pkey');
}
