import type { Pool } from 'pg';

/**
 * The revision each controller has fully processed on a branch (`controller_progress`). Not the
 * event log: rows are overwritten as controllers move on, and losing one only costs a full resync.
 */
export class ControllerProgressStore {
  constructor(private readonly pool: Pool) {}

  async load(branchId: number): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ controller: string; revision: string }>(
      `SELECT controller, revision FROM controller_progress WHERE branch_id = $1`,
      [branchId],
    );
    return new Map(rows.map((row) => [row.controller, Number(row.revision)]));
  }

  /** Records every controller's revision in one statement, so a crash leaves all or none. */
  async record(branchId: number, revisions: ReadonlyMap<string, number>): Promise<void> {
    if (!revisions.size) return;
    await this.pool.query(
      `INSERT INTO controller_progress (branch_id, controller, revision, updated_at)
       SELECT $1, controller, revision, now() FROM unnest($2::text[], $3::bigint[]) AS p(controller, revision)
       ON CONFLICT (branch_id, controller)
       DO UPDATE SET revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
      [branchId, [...revisions.keys()], [...revisions.values()]],
    );
  }
}
