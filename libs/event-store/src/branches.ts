import type { Pool, PoolClient } from 'pg';
import { FutureRevision, RevisionCompacted, UnknownBranch } from './types';

export interface BranchInfo {
  id: number;
  name: string;
  parent: string | null;
  forkRevision: number | null;
  headRevision: number;
  compactRevision: number;
  clock: 'wall' | 'virtual';
  createdAt: Date;
}

const BRANCH_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

export class BranchExists extends Error {
  override readonly name = 'BranchExists';
  constructor(readonly branch: string) {
    super(`branch "${branch}" already exists`);
  }
}

export class InvalidBranchName extends Error {
  override readonly name = 'InvalidBranchName';
  constructor(readonly branch: string) {
    super(
      `invalid branch name "${branch}": use lower-case letters, digits, '-' and '.', at most 63 characters`,
    );
  }
}

/**
 * Branch bookkeeping. Forking writes one row: the new branch starts at the fork revision and reads
 * its parent's events up to it, so creating a branch costs the same at any history length.
 */
export class BranchCatalog {
  constructor(private readonly pool: Pool) {}

  async list(): Promise<BranchInfo[]> {
    const { rows } = await this.pool.query(
      `SELECT b.id, b.name, p.name AS parent, b.fork_revision, b.head_revision, b.compact_revision, b.clock, b.created_at
         FROM branches b LEFT JOIN branches p ON p.id = b.parent_id
        WHERE b.deleted_at IS NULL ORDER BY b.id`,
    );
    return rows.map(toInfo);
  }

  async get(name: string): Promise<BranchInfo> {
    const found = (await this.list()).find((b) => b.name === name);
    if (!found) throw new UnknownBranch(name);
    return found;
  }

  /**
   * `tx` lets a caller create the branch inside its own transaction (a bulk import), so the branch
   * exists only if everything written with it commits.
   */
  async fork(
    name: string,
    from: string,
    revision: number,
    clock: 'wall' | 'virtual',
    tx?: PoolClient,
  ): Promise<BranchInfo> {
    if (!BRANCH_NAME.test(name)) throw new InvalidBranchName(name);
    let parent = await this.get(from);
    // Forking below the parent's own fork point is forking the grandparent.
    while (parent.forkRevision !== null && revision < parent.forkRevision)
      parent = await this.get(parent.parent!);
    if (tx) return this.forkLocked(name, parent, revision, clock, tx);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const forked = await this.forkLocked(name, parent, revision, clock, client);
      await client.query('COMMIT');
      return forked;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Inside a transaction: the history of the parent and of every branch above it, all of which the
   * child reads, is held against compaction until it ends. A compaction further up also raises the
   * bounds of its descendants, a row this child copies from its parent.
   */
  private async forkLocked(
    name: string,
    parent: BranchInfo,
    revision: number,
    clock: 'wall' | 'virtual',
    tx: PoolClient,
  ): Promise<BranchInfo> {
    const { rows: lineage } = await tx.query<{ id: number }>(
      `WITH RECURSIVE up AS (
         SELECT id, parent_id FROM branches WHERE id = $1
         UNION ALL
         SELECT b.id, b.parent_id FROM branches b JOIN up ON b.id = up.parent_id)
       SELECT id FROM up`,
      [parent.id],
    );
    for (const { id } of lineage) await lockBranchHistory(tx, id, 'read');
    // Read again under the lock: a compaction that committed while this waited has moved the bounds.
    const { rows: bounds } = await tx.query<{ head_revision: string; compact_revision: string }>(
      `SELECT head_revision, compact_revision FROM branches WHERE id = $1`,
      [parent.id],
    );
    const headRevision = Number(bounds[0].head_revision);
    const compactRevision = Number(bounds[0].compact_revision);
    if (revision > headRevision) throw new FutureRevision(revision, headRevision);
    if (revision < compactRevision) throw new RevisionCompacted(revision, compactRevision);
    // A retention rule's horizon is a compaction of its resource: the fork's state of it would be wrong
    // (unless the fork is before the parent's first event, as a restored snapshot's is).
    const { rows: horizons } = await tx.query<{ key_prefix: string; compact_revision: string }>(
      `SELECT key_prefix, compact_revision FROM key_horizons
        WHERE branch_id = $1 AND compact_revision > $2
          AND EXISTS (SELECT 1 FROM events WHERE branch_id = $1 AND revision <= $2)
        ORDER BY compact_revision DESC LIMIT 1`,
      [parent.id, revision],
    );
    if (horizons.length)
      throw new RevisionCompacted(revision, Number(horizons[0].compact_revision), horizons[0].key_prefix);
    try {
      // The child reads the parent's history below the fork (when there is any), so it inherits the
      // parent's horizons.
      const { rows } = await tx.query(
        `WITH child AS (
           INSERT INTO branches (name, parent_id, fork_revision, head_revision, compact_revision, clock)
           VALUES ($1, $2, $3, $3, $4, $5)
           RETURNING id, name, $6::text AS parent, fork_revision, head_revision, compact_revision, clock, created_at),
         inherited AS (
           INSERT INTO key_horizons (branch_id, key_prefix, compact_revision)
           SELECT child.id, h.key_prefix, h.compact_revision FROM child, key_horizons h
            WHERE h.branch_id = $2 AND EXISTS (SELECT 1 FROM events WHERE branch_id = $2 AND revision <= $3))
         SELECT * FROM child`,
        [name, parent.id, revision, compactRevision, clock, parent.name],
      );
      return toInfo(rows[0]);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new BranchExists(name);
      throw error;
    }
  }

  /**
   * Deleting keeps history: the row is marked deleted and renamed out of the way, so the name can be
   * reused and events already written stay readable to branches forked from it.
   */
  async delete(name: string): Promise<void> {
    if (name === 'main') throw new Error('the main branch cannot be deleted');
    const branch = await this.get(name);
    await this.pool.query(
      `UPDATE branches SET deleted_at = now(), name = name || '@deleted-' || id WHERE id = $1`,
      [branch.id],
    );
  }
}

/**
 * Compaction deletes history that forks read, and a fork reads history a compaction may be deleting:
 * each checks the other's rows, so the check and the write must not interleave. Forks share the lock;
 * a compaction holds it alone. Transaction-scoped, so a crash cannot leave it held. Two-key advisory
 * locks are a separate space from the one-key locks used elsewhere.
 *
 * A compaction waits a bounded time: a restore forks inside its own long transaction, and while a
 * compaction queues for the lock PostgreSQL makes every later fork of that branch queue behind it.
 */
export async function lockBranchHistory(
  tx: PoolClient,
  branchId: number,
  mode: 'read' | 'compact',
): Promise<void> {
  if (mode === 'read') {
    await tx.query(`SELECT pg_advisory_xact_lock_shared($1, $2)`, [BRANCH_HISTORY_LOCK, branchId]);
    return;
  }
  await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [`${COMPACTION_LOCK_WAIT_MS}ms`]);
  try {
    await tx.query(`SELECT pg_advisory_xact_lock($1, $2)`, [BRANCH_HISTORY_LOCK, branchId]);
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') throw new BranchHistoryBusy(branchId);
    throw error;
  }
  await tx.query(`SELECT set_config('lock_timeout', '0', true)`);
}

const COMPACTION_LOCK_WAIT_MS = 2_000;

/** A compaction gave up waiting for the forks or restores reading the branch's history. */
export class BranchHistoryBusy extends Error {
  override readonly name = 'BranchHistoryBusy';
  constructor(readonly branchId: number) {
    super(
      `a branch is being forked or restored from this history; compaction waited ${COMPACTION_LOCK_WAIT_MS / 1000} s and did not run: try again`,
    );
  }
}

/** The first key of the branch-history advisory locks ("kt" + "bh"), the second is the branch id. */
const BRANCH_HISTORY_LOCK = 0x6b746268;

function toInfo(row: Record<string, any>): BranchInfo {
  return {
    id: row.id,
    name: row.name,
    parent: row.parent,
    forkRevision: row.fork_revision === null ? null : Number(row.fork_revision),
    headRevision: Number(row.head_revision),
    compactRevision: Number(row.compact_revision),
    clock: row.clock,
    createdAt: row.created_at,
  };
}
