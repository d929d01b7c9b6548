import type { Pool } from 'pg';
import {
  BodyTransformer,
  EVENT_COLUMNS,
  EventRow,
  StateRow,
  eventFromRow,
  selectEventColumns,
  selectStateColumns,
  storedObjectFromRow,
} from './rows';
import type { Body, BodyForm, StoredEvent, StoredObject } from './types';

/**
 * A branch sees its own events after its fork point and its ancestors' events up to it, so reads walk
 * a lineage of (branch, revision range) segments instead of copying history into each branch.
 */
export interface Segment {
  branchId: number;
  /** Exclusive lower bound: the fork revision of this segment's branch (0 for main). */
  after: number;
  /** Inclusive upper bound: the revision at which the next branch down the lineage forked. */
  upTo: number;
}

export type Lineage = Segment[];

/** Segments in revision order (root first), clipped to (after, R]. */
function clip(lineage: Lineage, after: number, revision: number): Segment[] {
  const clipped: Segment[] = [];
  for (const s of [...lineage].reverse()) {
    const lo = Math.max(s.after, after);
    const hi = Math.min(s.upTo, revision);
    if (hi > lo) clipped.push({ branchId: s.branchId, after: lo, upTo: hi });
  }
  return clipped;
}

/** The smallest string above every string that starts with prefix, in byte (COLLATE "C") order. */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export class HistoryReader {
  constructor(
    private readonly pool: Pool,
    private readonly bodies: BodyTransformer,
  ) {}

  /** One key at revision R: an index probe per segment, newest segment first. */
  async objectAt(lineage: Lineage, key: string, revision: number): Promise<StoredEvent | undefined> {
    for (const s of clip(lineage, 0, revision).reverse()) {
      const { rows } = await this.pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events
          WHERE branch_id = $1 AND key = $2 AND revision > $3 AND revision <= $4
          ORDER BY revision DESC LIMIT 1`,
        [s.branchId, key, s.after, s.upTo],
      );
      if (rows.length) {
        const event = eventFromRow(rows[0], this.bodies);
        return event.type === 'DELETED' ? undefined : event;
      }
    }
    return undefined;
  }

  /**
   * Every live object under a key prefix at revision R: the nearest checkpoint at or below R plus the
   * latest event per key since it, so the cost follows live objects and recent events, not history.
   */
  async stateAt<F extends BodyForm = 'decoded'>(
    lineage: Lineage,
    revision: number,
    prefix = '/',
    form: F = 'decoded' as F,
  ): Promise<StoredObject<Body<F>>[]> {
    const segments = clip(lineage, 0, revision);
    const checkpoint = await this.nearestCheckpoint(segments);
    const end = prefixEnd(prefix);
    const latest = new Map<string, StateRow<F>>();
    // The checkpoint's references and the events since it are independent reads: run them together.
    const checkpointRows = checkpoint
      ? this.pool.query<StateRow<F>>(
          // OFFSET 0 keeps the key range out of the join: pushed down, it turns each reference's
          // primary-key probe into a scan of the key index over the whole range. Unlike a
          // materialized CTE it does so without first copying every referenced row aside.
          `SELECT ${selectStateColumns(form, 'e')}
             FROM (SELECT e.*
                     FROM checkpoints c
                     CROSS JOIN LATERAL unnest(c.ref_branches, c.ref_revisions) AS r(branch_id, revision)
                     JOIN events e ON e.branch_id = r.branch_id AND e.revision = r.revision
                    WHERE c.branch_id = $1 AND c.revision = $2
                   OFFSET 0) e
            WHERE e.key >= $3 AND e.key < $4`,
          [checkpoint.branchId, checkpoint.revision, prefix, end],
        )
      : Promise.resolve({ rows: [] as StateRow<F>[] });
    const deltaRows = clip(lineage, checkpoint?.revision ?? 0, revision).map((s) =>
      this.pool.query<StateRow<F>>(
        // The body is rendered after DISTINCT ON, only for the versions that are kept.
        `SELECT ${selectStateColumns(form, 'e')}
           FROM (SELECT DISTINCT ON (key) * FROM events
                  WHERE branch_id = $1 AND revision > $2 AND revision <= $3 AND key >= $4 AND key < $5
                  ORDER BY key, revision DESC) e`,
        [s.branchId, s.after, s.upTo, prefix, end],
      ),
    );
    for (const row of (await checkpointRows).rows) latest.set(row.key, row);
    // Segments are in revision order, so a later one's version of a key replaces an earlier one's.
    for (const result of await Promise.all(deltaRows))
      for (const row of result.rows) latest.set(row.key, row);
    const live: StoredObject<Body<F>>[] = [];
    for (const row of latest.values()) {
      if (row.type !== 'DELETED') live.push(storedObjectFromRow(row, this.bodies));
    }
    return live.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Events with after < revision <= upTo in revision order, at most limit of them. */
  async eventsBetween<F extends BodyForm = 'decoded'>(
    lineage: Lineage,
    after: number,
    upTo: number,
    limit: number,
    form: F = 'decoded' as F,
  ): Promise<StoredEvent<Body<F>>[]> {
    const events: StoredEvent<Body<F>>[] = [];
    for (const s of clip(lineage, after, upTo)) {
      const { rows } = await this.pool.query<EventRow<F>>(
        `SELECT ${selectEventColumns(form)} FROM events
          WHERE branch_id = $1 AND revision > $2 AND revision <= $3
          ORDER BY revision LIMIT $4`,
        [s.branchId, s.after, s.upTo, limit - events.length],
      );
      for (const row of rows) events.push(eventFromRow(row, this.bodies));
      if (events.length >= limit) break;
    }
    return events;
  }

  private async nearestCheckpoint(
    segments: Segment[],
  ): Promise<{ branchId: number; revision: number } | undefined> {
    if (!segments.length) return undefined;
    const clauses = segments.map(
      (_, i) => `(branch_id = $${i * 3 + 1} AND revision > $${i * 3 + 2} AND revision <= $${i * 3 + 3})`,
    );
    const { rows } = await this.pool.query<{ branch_id: number; revision: string }>(
      `SELECT branch_id, revision FROM checkpoints WHERE ${clauses.join(' OR ')} ORDER BY revision DESC LIMIT 1`,
      segments.flatMap((s) => [s.branchId, s.after, s.upTo]),
    );
    return rows.length ? { branchId: rows[0].branch_id, revision: Number(rows[0].revision) } : undefined;
  }
}
