import { RESOURCE_TYPES, storageTypeOf, type ResourceType } from '@kubetime/api-machinery';
import type { EventStore } from '@kubetime/event-store';
import { TimeTravelContext } from './context';
import { invalid, Params } from './params';
import { RpcCodes, RpcError } from './rpc';
import type { Session } from './session';
import { LogReader } from './store';

/** "Resources older than N seconds keep only their latest version", resolved to storage prefixes. */
export interface RetentionRule {
  resources: string[];
  olderThanSeconds: number;
}

export interface RuleOutcome extends RetentionRule {
  /** The revision the rule compacted at; null when nothing on the branch is that old yet. */
  cutoff: number | null;
  deletedEvents: number;
}

/** Any number other tools are unlikely to take: one retention run at a time across servers. */
const RETENTION_LOCK = 0x6b757274;

/**
 * The storage prefix of a rule's resource: `coordination.k8s.io/leases`, or a bare name such as
 * `leases` when one storage holds every resource of that name (core and events.k8s.io Events do).
 */
export function retentionPrefix(name: string): string {
  const slash = name.lastIndexOf('/');
  const group = slash < 0 ? undefined : name.slice(0, slash);
  const resource = slash < 0 ? name : name.slice(slash + 1);
  const candidates = RESOURCE_TYPES.filter(
    (t: ResourceType) => !t.virtual && t.resource === resource && (group === undefined || t.group === group),
  );
  const prefixes = new Set(candidates.map((t) => `/registry/${storageTypeOf(t).storagePrefix}/`));
  if (!prefixes.size)
    throw new Error(`unknown resource "${name}" (write group/resource, e.g. apps/deployments)`);
  if (prefixes.size > 1)
    throw new Error(
      `"${name}" names resources of several groups (${candidates.map((t) => t.group || 'core').join(', ')}): write group/resource`,
    );
  return [...prefixes][0];
}

/** Checks rules given as JSON (`policy.rules`), every problem an InvalidParams error naming its field. */
export function readRules(policy: Params): RetentionRule[] {
  const field = policy.field('rules');
  const list = policy.list('rules');
  if (!list.length) throw invalid(`${field} must be a non-empty list of {resources, olderThanSeconds}`);
  return list.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw invalid(`${field}[${i}] must be an object {resources, olderThanSeconds}`);
    const rule = new Params(entry as Record<string, unknown>, `${field}[${i}].`);
    const resources = rule.stringList('resources');
    if (!resources.length) throw invalid(`${rule.field('resources')} must list at least one resource`);
    resources.forEach((name, j) => {
      try {
        retentionPrefix(name);
      } catch (error) {
        throw invalid(`${rule.field('resources')}[${j}]: ${(error as Error).message}`);
      }
    });
    const olderThanSeconds = rule.optionalInteger('olderThanSeconds', 0);
    if (olderThanSeconds === undefined)
      throw invalid(`${rule.field('olderThanSeconds')} is required (an integer of seconds, 0 or more)`);
    return { resources, olderThanSeconds };
  });
}

/**
 * Applies retention rules to a branch: each rule's cutoff is the newest revision recorded before
 * now minus its age (a virtual-clock branch's now is the time of its newest event), and the event
 * store compacts the rule's resources there, capped at the fork point of any child branch.
 */
export async function applyRetention(
  events: EventStore,
  branch: string,
  rules: RetentionRule[],
  actor: string,
  now: Date,
): Promise<RuleOutcome[]> {
  const log = new LogReader(events);
  const info = await events.branches.get(branch);
  const reference = info.clock === 'wall' ? now : ((await log.timeOf(branch)) ?? now);
  const outcomes: RuleOutcome[] = [];
  for (const rule of rules) {
    const before = new Date(reference.getTime() - rule.olderThanSeconds * 1000);
    const newest = await log.newestRecordedBy(branch, before);
    if (newest === undefined) {
      outcomes.push({ ...rule, cutoff: null, deletedEvents: 0 });
      continue;
    }
    const { cutoff, deletedEvents } = await events.compactKeys(
      branch,
      rule.resources.map(retentionPrefix),
      newest,
      actor,
      { keep: 'latest', resources: rule.resources, olderThanSeconds: rule.olderThanSeconds, before },
    );
    outcomes.push({ ...rule, cutoff, deletedEvents });
  }
  return outcomes;
}

/**
 * The server's retention timer: every interval, the rules on main and every live branch. One server
 * at a time does it when several share the database (an advisory lock the others skip on); failures
 * are reported and the next round runs regardless.
 */
export class RetentionSchedule {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly options: {
      events: EventStore;
      rules: RetentionRule[];
      intervalSeconds: number;
      onRun?: (branch: string, outcomes: RuleOutcome[]) => void;
      onError: (error: unknown) => void;
      now?: () => Date;
    },
  ) {}

  start(): void {
    if (!this.options.rules.length) return;
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.runOnce().finally(() => (this.running = undefined));
    }, this.options.intervalSeconds * 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async runOnce(): Promise<void> {
    const client = await this.options.events.pool.connect().catch((error: unknown) => {
      this.options.onError(error);
      return undefined;
    });
    if (!client) return;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        RETENTION_LOCK,
      ]);
      if (!rows[0].locked) return;
      try {
        for (const branch of await this.options.events.branches.list()) {
          try {
            const outcomes = await applyRetention(
              this.options.events,
              branch.name,
              this.options.rules,
              'system:kubetime:retention',
              this.options.now?.() ?? new Date(),
            );
            this.options.onRun?.(branch.name, outcomes);
          } catch (error) {
            this.options.onError(error);
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]);
      }
    } catch (error) {
      this.options.onError(error);
    } finally {
      client.release();
    }
  }
}

/**
 * retention.compact and retention.history: compaction is explicit and leaves a trace. The event store
 * deletes superseded versions at or below a revision inside the transaction that records the
 * compaction (actor, policy, revision, events deleted); reads below it then answer -32005 naming the
 * oldest readable revision. With `policy.rules`, only the rules' resources are compacted, each at the
 * newest revision older than its age.
 */
export class RetentionMethods {
  constructor(private readonly ctx: TimeTravelContext) {}

  async compact(raw: Record<string, unknown>, session: Session): Promise<unknown> {
    const params = new Params(raw);
    await this.ctx.requireWrite(session, 'retention.compact');
    const branch = params.optionalString('branch') ?? 'main';
    const policy = params.optionalObject('policy');
    if (policy) {
      if (params.has('revision')) throw invalid('give revision or policy, not both');
      const rules = readRules(policy);
      await this.ctx.events.branches.get(branch);
      const outcomes = await applyRetention(
        this.ctx.events,
        branch,
        rules,
        session.user.username,
        this.ctx.now(),
      );
      return { branch, rules: outcomes };
    }
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

  /** The compactions recorded for a branch, newest first, and the horizons retention rules left. */
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
      `SELECT revision, policy, actor, deleted_events, created_at FROM compactions WHERE branch_id = $1 ORDER BY id DESC LIMIT 1000`,
      [info.id],
    );
    const head = await this.ctx.events.branch(branch);
    return {
      branch,
      compactRevision: info.compactRevision,
      oldestAvailable: info.compactRevision + 1,
      horizons: [...head.horizons]
        .map(([keyPrefix, revision]) => ({ keyPrefix, oldestAvailable: revision }))
        .sort((a, b) => (a.keyPrefix < b.keyPrefix ? -1 : 1)),
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
