import { TimeTravelContext } from './context';
import { invalid, Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session } from './session';

/**
 * retention.compact and retention.history: compaction is explicit and leaves a trace. The event store
 * deletes superseded versions at or below a revision inside the transaction that records the
 * compaction (actor, policy, revision, events deleted); reads below it then answer -32005 naming the
 * oldest readable revision.
 */
export class RetentionMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  async compact(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'retention.compact');
    const branch = params.optionalString('branch') ?? 'main';
    if (params.has('policy'))
      throw invalid('policy: per-kind retention rules are not available yet; compact by revision');
    const head = await this.ctx.events.branch(branch);
    const revision = params.integer('revision', 1);
    if (revision > head.revision)
      throw invalid(`revision ${revision} is newer than the head of branch "${branch}" (${head.revision})`);
    try {
      const { deletedEvents } = await this.ctx.events.compact(branch, revision, session.user.username, {
        keep: 'latest',
        revision,
      });
      return {
        branch,
        compactRevision: Math.max(revision, head.compactRevision),
        oldestAvailable: head.compactRevision + 1,
        deletedEvents,
      };
    } catch (error) {
      // A branch forked below the point still reads that history: the store refuses, and says which.
      if (error instanceof Error && error.message.includes('reads this history'))
        throw new RpcError(RpcCodes.Conflict, error.message);
      throw error;
    }
  }

  /** The compactions recorded for a branch, newest first. */
  async history(raw: Record<string, unknown>): Promise<unknown> {
    const params = new Params(raw);
    const branch = params.optionalString('branch') ?? 'main';
    const info = await this.ctx.events.branches.get(branch);
    const { rows } = await this.ctx.events.pool.query<{
      revision: string;
      policy: unknown;
      actor: string;
      deleted_events: string | null;
      created_at: Date;
    }>(
      `SELECT revision, policy, actor, deleted_events, created_at FROM compactions WHERE branch_id = $1 ORDER BY revision DESC LIMIT 1000`,
      [info.id],
    );
    return {
      branch,
      compactRevision: info.compactRevision,
      oldestAvailable: info.compactRevision + 1,
      items: rows.map((r) => ({
        revision: Number(r.revision),
        policy: r.policy,
        actor: r.actor,
        deletedEvents: r.deleted_events === null ? null : Number(r.deleted_events),
        time: r.created_at.toISOString(),
      })),
    };
  }
}
