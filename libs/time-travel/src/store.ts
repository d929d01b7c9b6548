import type { KubeObject } from '@kubetime/api-machinery';
import {
  EVENT_COLUMNS,
  eventFromRow,
  type EventRow,
  type EventStore,
  type StoredEvent,
} from '@kubetime/event-store';
import type { BranchHead } from '@kubetime/event-store';

/**
 * Reads the event store does not offer yet, done against the `events` table directly with the same
 * lineage walk as its own history reader: every version of one key, the revision current at a point
 * in time, and rows as stored (sealed bodies untouched) for snapshots. Read-only, so the append-only
 * rules and the sequencer are untouched.
 */
export class LogReader {
  constructor(private readonly events: EventStore) {}

  /** Every event of one key on a branch, oldest first. One index range scan per lineage segment. */
  async keyHistory(branch: string, key: string, limit: number): Promise<StoredEvent[]> {
    const head = await this.events.branch(branch);
    const found: StoredEvent[] = [];
    for (const segment of segments(head)) {
      const { rows } = await this.events.pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE branch_id = $1 AND key = $2 AND revision > $3 AND revision <= $4
          ORDER BY revision LIMIT $5`,
        [segment.branchId, key, segment.after, Math.min(segment.upTo, head.revision), limit - found.length],
      );
      for (const row of rows) found.push(eventFromRow(row, this.events.bodies));
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * The newest revision recorded at or before a time, or the branch's first readable revision when
   * nothing was. Revisions are gapless and time only moves forward on one branch, so the newest
   * segment with such an event has the answer.
   */
  async revisionAt(branch: string, time: Date): Promise<number> {
    const head = await this.events.branch(branch);
    return (await this.newestRecordedBy(branch, time)) ?? Math.max(1, head.compactRevision + 1);
  }

  /** The newest revision of the branch recorded at or before a time; undefined when none was. */
  async newestRecordedBy(branch: string, time: Date): Promise<number | undefined> {
    const head = await this.events.branch(branch);
    for (const segment of [...segments(head)].reverse()) {
      const { rows } = await this.events.pool.query<{ revision: string | null }>(
        `SELECT max(revision) AS revision FROM events
          WHERE branch_id = $1 AND revision > $2 AND revision <= $3 AND recorded_at <= $4`,
        [segment.branchId, segment.after, Math.min(segment.upTo, head.revision), time],
      );
      if (rows[0].revision !== null) return Number(rows[0].revision);
    }
    return undefined;
  }

  /** The time of the branch's newest event: where its own clock stands. */
  async timeOf(branch: string): Promise<Date | undefined> {
    const head = await this.events.branch(branch);
    for (const segment of [...segments(head)].reverse()) {
      const { rows } = await this.events.pool.query<{ recorded_at: Date }>(
        `SELECT recorded_at FROM events WHERE branch_id = $1 AND revision > $2 AND revision <= $3
          ORDER BY revision DESC LIMIT 1`,
        [segment.branchId, segment.after, Math.min(segment.upTo, head.revision)],
      );
      if (rows.length) return rows[0].recorded_at;
    }
    return undefined;
  }

  /** Rows as stored, by (branch id, revision): `sealed` stays the ciphertext with its key id. */
  async storedRows(refs: { branchId: number; revision: number }[]): Promise<StoredRow[]> {
    if (!refs.length) return [];
    const { rows } = await this.events.pool.query<{
      branch_id: number;
      revision: string;
      object: KubeObject | null;
      sealed: Buffer | null;
    }>(
      `SELECT e.branch_id, e.revision, e.object, e.sealed
         FROM unnest($1::int[], $2::bigint[]) AS r(branch_id, revision)
         JOIN events e ON e.branch_id = r.branch_id AND e.revision = r.revision`,
      [refs.map((r) => r.branchId), refs.map((r) => r.revision)],
    );
    return rows.map((r) => ({
      branchId: r.branch_id,
      revision: Number(r.revision),
      object: r.object,
      sealed: r.sealed,
    }));
  }
}

export interface StoredRow {
  branchId: number;
  revision: number;
  object: KubeObject | null;
  sealed: Buffer | null;
}

/** (branch, revision range) pieces a branch reads, root first, as the event store walks them. */
function segments(head: BranchHead): { branchId: number; after: number; upTo: number }[] {
  return [...head.lineage].reverse();
}
