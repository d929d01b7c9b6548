import { deepClone, KubeObject, rfc3339 } from '@kubetime/api-machinery';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Clock } from '../runtime/clock';
import { Expectations } from '../runtime/expectations';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { NAME_SUFFIX_ALPHABET } from '../runtime/random';
import { TYPES } from '../runtime/types';
import {
  canonicalJson,
  Condition,
  controllerRef,
  findCondition,
  namespacedKey,
  ownerRefTo,
  splitKey,
} from './objects';
import { isReady } from './pods';
import { WORKLOAD_TYPES } from './workload-types';

const SOURCE = { component: 'job-controller' };
/** Held on every pod of a Job until the controller has counted it, so no finished pod goes uncounted. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
const BURST = 500;
/** Replacements of failed pods wait 10 s, doubling with each failure up to 10 min, as upstream. */
const POD_BACKOFF_MS = 10_000;
const MAX_POD_BACKOFF_MS = 600_000;
const MAX_NAME_BASE = 58;

type Outcome = 'succeeded' | 'failed';

/**
 * Runs a Job's pods to completion (NonIndexed): keeps min(parallelism, remaining completions) pods
 * active, counts finished pods through the job-tracking finalizer and `uncountedTerminatedPods` as
 * upstream does (record the uid in status, drop the finalizer, then move it into the counters), and
 * ends the Job with SuccessCriteriaMet then Complete, or FailureTarget then Failed (backoffLimit,
 * activeDeadlineSeconds) once no pod of it is still running.
 */
export class JobController implements Controller {
  readonly name = 'job-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:job-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };
  private readonly expectations: Expectations;

  constructor(clock: Clock) {
    this.expectations = new Expectations(clock);
  }

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const job of cache.list('jobs')) yield namespacedKey(job);
  }

  *keysFor(change: CacheChange): Iterable<string> {
    if (change.resource === 'jobs') {
      yield namespacedKey(change.object);
      return;
    }
    if (change.resource !== 'pods') return;
    const ref = controllerRef(change.object);
    if (ref?.kind !== 'Job') return;
    const owner = `${change.object.metadata.namespace}/${ref.name}`;
    if (change.type === 'ADDED') this.expectations.observeAdd(owner, change.object.metadata.name!);
    // A pod with a finalizer lingers once deleted: its deletionTimestamp is the deletion observed.
    const marked = change.object.metadata.deletionTimestamp && !change.old?.metadata.deletionTimestamp;
    if (change.type === 'DELETED' || marked)
      this.expectations.observeDelete(owner, change.object.metadata.name!);
    yield owner;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    let job = ctx.cache.object('jobs', namespace, name);
    if (!job) {
      this.expectations.clear(key);
      return;
    }
    if (!this.expectations.satisfied(key)) return;
    const pods = ctx.cache.list('pods', namespace).filter((p) => controllerRef(p)?.uid === job!.metadata.uid);
    const finished = isFinished(job);

    // 1. Finished pods still holding the finalizer are recorded as uncounted before anything else.
    const uncounted = {
      succeeded: [...(job.status?.uncountedTerminatedPods?.succeeded ?? [])] as string[],
      failed: [...(job.status?.uncountedTerminatedPods?.failed ?? [])] as string[],
    };
    const known = new Set([...uncounted.succeeded, ...uncounted.failed]);
    // Once the Job's fate is decided, the pods it deletes itself are not failures: they just let go.
    const decided = !!(
      finished ||
      job.spec?.suspend ||
      findCondition(job, 'FailureTarget') ||
      findCondition(job, 'SuccessCriteriaMet')
    );
    const dismissed: KubeObject[] = [];
    let recorded = 0;
    for (const pod of pods) {
      const outcome = outcomeOf(pod);
      if (!outcome || !hasFinalizer(pod) || known.has(pod.metadata.uid!)) continue;
      if (decided && !terminal(pod)) dismissed.push(pod);
      else {
        uncounted[outcome].push(pod.metadata.uid!);
        recorded++;
      }
    }
    for (const pod of dismissed) await releasePod(pod, ctx);
    if (recorded)
      job = await this.writeStatus(job, { ...job.status, uncountedTerminatedPods: uncounted }, ctx);

    // 2. Recorded pods release their finalizer; 3. released (or vanished) pods move into the counters.
    const byUid = new Map(pods.map((p) => [p.metadata.uid!, p]));
    const released = new Set<string>();
    for (const uid of [...uncounted.succeeded, ...uncounted.failed]) {
      const pod = byUid.get(uid);
      if (pod && hasFinalizer(pod)) await releasePod(pod, ctx);
      released.add(uid);
    }
    const succeeded =
      (job.status?.succeeded ?? 0) + uncounted.succeeded.filter((u) => released.has(u)).length;
    const failed = (job.status?.failed ?? 0) + uncounted.failed.filter((u) => released.has(u)).length;
    // Finished pods without the finalizer were counted when it came off (upstream's assumption too).

    const active = pods.filter((p) => !outcomeOf(p));
    const terminating = pods.filter((p) => p.metadata.deletionTimestamp && !terminal(p));
    const spec = job.spec ?? {};
    const completions: number | undefined = spec.completions ?? undefined;
    const parallelism: number = spec.parallelism ?? 1;
    const conditions: Condition[] = deepClone(job.status?.conditions ?? []);
    const now = rfc3339(ctx.now);
    const suspended = !!spec.suspend;
    // A suspended Job has not started; resuming starts its clock (and its deadline) again.
    let startTime: string | undefined = job.status?.startTime ?? (suspended ? undefined : now);
    let requeueAfterMs: number | undefined;
    const wasSuspended = findCondition(job, 'Suspended')?.status === 'True';
    if (!finished && suspended && !wasSuspended) {
      setCondition(conditions, 'Suspended', 'JobSuspended', 'Job suspended', now);
      await ctx.api.event(job, 'Normal', 'Suspended', 'Job suspended', SOURCE);
    } else if (!finished && !suspended && wasSuspended) {
      setCondition(conditions, 'Suspended', 'JobResumed', 'Job resumed', now, 'False');
      startTime = now;
      await ctx.api.event(job, 'Normal', 'Resumed', 'Job resumed', SOURCE);
    }

    // The Job's fate, decided once: the target conditions come first, the final ones after the pods are gone.
    if (
      !finished &&
      !suspended &&
      startTime &&
      !hasCondition(conditions, 'FailureTarget') &&
      !hasCondition(conditions, 'SuccessCriteriaMet')
    ) {
      const deadline = spec.activeDeadlineSeconds;
      const overdue = deadline != null && ctx.now.getTime() >= Date.parse(startTime) + deadline * 1000;
      const complete = completions != null ? succeeded >= completions : succeeded > 0 && active.length === 0;
      if (failed > (spec.backoffLimit ?? 6))
        setCondition(
          conditions,
          'FailureTarget',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
          now,
        );
      else if (overdue)
        setCondition(
          conditions,
          'FailureTarget',
          'DeadlineExceeded',
          'Job was active longer than specified deadline',
          now,
        );
      else if (complete)
        setCondition(
          conditions,
          'SuccessCriteriaMet',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
          now,
        );
      else if (deadline != null) requeueAfterMs = Date.parse(startTime) + deadline * 1000 - ctx.now.getTime();
    }
    const failing = findConditionIn(conditions, 'FailureTarget');
    const succeeding = hasCondition(conditions, 'SuccessCriteriaMet');

    let live = active.filter((p) => !p.metadata.deletionTimestamp);
    // Pods created in this reconcile are active already, though the cache has not folded them yet.
    let created = 0;
    // Pods deleted in this reconcile are terminating already, though the cache has not folded it yet.
    let deleted = 0;
    if (failing || succeeding || finished || suspended) {
      await this.deletePods(key, job, live, ctx);
      deleted = live.length;
      live = [];
    } else {
      const remaining = completions != null ? completions - succeeded : succeeded > 0 ? 0 : parallelism;
      const want = Math.max(0, Math.min(parallelism, remaining));
      const retryAt = failed ? lastFailure(pods) + podBackoffMs(failed) : 0;
      if (live.length < want && ctx.now.getTime() < retryAt) {
        const waitMs = retryAt - ctx.now.getTime();
        requeueAfterMs = Math.min(requeueAfterMs ?? waitMs, waitMs);
      } else if (live.length < want) {
        created = await this.createPods(key, job, Math.min(want - live.length, BURST), ctx);
      }
      if (live.length > want) {
        const extra = [...live]
          .sort((a, b) => (a.metadata.name! < b.metadata.name! ? 1 : -1))
          .slice(0, live.length - want);
        await this.deletePods(key, job, extra, ctx);
        deleted = extra.length;
        live = live.filter((p) => !extra.includes(p));
      }
    }

    const pending = [...uncounted.succeeded, ...uncounted.failed].filter((u) => !released.has(u));
    const settled = live.length + created === 0 && terminating.length + deleted === 0 && pending.length === 0;
    let completionTime = job.status?.completionTime;
    if (!finished && settled && failing) {
      setCondition(conditions, 'Failed', failing.reason!, failing.message!, now);
      await ctx.api.event(job, 'Warning', failing.reason!, failing.message!, SOURCE);
    } else if (!finished && settled && succeeding) {
      setCondition(
        conditions,
        'Complete',
        'CompletionsReached',
        'Reached expected number of succeeded pods',
        now,
      );
      completionTime = now;
      await ctx.api.event(job, 'Normal', 'Completed', 'Job completed', SOURCE);
    }
    const status: Record<string, unknown> = {
      ...(conditions.length ? { conditions } : {}),
      ...(startTime ? { startTime } : {}),
      ...(completionTime ? { completionTime } : {}),
      ...(live.length + created ? { active: live.length + created } : {}),
      ...(succeeded ? { succeeded } : {}),
      ...(failed ? { failed } : {}),
      terminating: terminating.length + deleted,
      uncountedTerminatedPods: {
        ...(pending.filter((u) => uncounted.succeeded.includes(u)).length
          ? { succeeded: pending.filter((u) => uncounted.succeeded.includes(u)) }
          : {}),
        ...(pending.filter((u) => uncounted.failed.includes(u)).length
          ? { failed: pending.filter((u) => uncounted.failed.includes(u)) }
          : {}),
      },
      ready: live.filter(isReady).length,
    };
    await this.writeStatus(job, status, ctx);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  private async createPods(
    key: string,
    job: KubeObject,
    count: number,
    ctx: ReconcileContext,
  ): Promise<number> {
    const base = `${job.metadata.name!.slice(0, MAX_NAME_BASE)}-`;
    const template = job.spec?.template ?? {};
    for (let i = 0; i < count; i++) {
      let podName = base + ctx.random.string(5, NAME_SUFFIX_ALPHABET);
      while (ctx.cache.object('pods', job.metadata.namespace, podName))
        podName = base + ctx.random.string(5, NAME_SUFFIX_ALPHABET);
      const pod: KubeObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          generateName: base,
          namespace: job.metadata.namespace,
          labels: deepClone(template.metadata?.labels ?? {}),
          ...(template.metadata?.annotations
            ? { annotations: deepClone(template.metadata.annotations) }
            : {}),
          ownerReferences: [ownerRefTo(job)],
          finalizers: [JOB_TRACKING_FINALIZER],
        },
        spec: deepClone(template.spec ?? {}),
      };
      this.expectations.expectAdd(key, podName);
      try {
        await ctx.api.create(TYPES.pods, pod);
      } catch (error) {
        this.expectations.forget(key, podName);
        throw error;
      }
      await ctx.api.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${podName}`, SOURCE);
    }
    return count;
  }

  private async deletePods(
    key: string,
    job: KubeObject,
    pods: KubeObject[],
    ctx: ReconcileContext,
  ): Promise<void> {
    for (const pod of pods) {
      this.expectations.expectDelete(key, pod.metadata.name!);
      try {
        await ctx.api.delete(TYPES.pods, pod);
      } catch (error) {
        this.expectations.forget(key, pod.metadata.name!);
        throw error;
      }
      await ctx.api.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, SOURCE);
    }
  }

  private async writeStatus(
    job: KubeObject,
    status: Record<string, unknown>,
    ctx: ReconcileContext,
  ): Promise<KubeObject> {
    if (canonicalJson(status) === canonicalJson(job.status ?? {})) return job;
    const next = deepClone(job);
    next.status = status;
    return ctx.api.updateStatus(WORKLOAD_TYPES.jobs, next);
  }
}

function podBackoffMs(failures: number): number {
  return Math.min(MAX_POD_BACKOFF_MS, POD_BACKOFF_MS * 2 ** Math.min(failures - 1, 16));
}

/** When the newest failure happened: its containers' finish, or its deletion for a pod deleted first. */
function lastFailure(pods: KubeObject[]): number {
  let last = 0;
  for (const pod of pods) {
    if (outcomeOf(pod) !== 'failed') continue;
    const finished = (pod.status?.containerStatuses ?? []).map(
      (c: { state?: { terminated?: { finishedAt?: string } } }) =>
        Date.parse(c.state?.terminated?.finishedAt ?? '') || 0,
    );
    const at = Math.max(0, ...finished) || Date.parse(pod.metadata.deletionTimestamp ?? '') || 0;
    last = Math.max(last, at);
  }
  return last;
}

async function releasePod(pod: KubeObject, ctx: ReconcileContext): Promise<void> {
  const next = deepClone(pod);
  next.metadata.finalizers = pod.metadata.finalizers!.filter((f) => f !== JOB_TRACKING_FINALIZER);
  if (!next.metadata.finalizers!.length) delete next.metadata.finalizers;
  await ctx.api.update(TYPES.pods, next);
}

function terminal(pod: KubeObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/**
 * How a pod ended, if it has: its phase, or failed when it is being deleted before succeeding
 * (podReplacementPolicy TerminatingOrFailed replaces it at once, so it counts as a failure then).
 */
function outcomeOf(pod: KubeObject): Outcome | undefined {
  if (pod.status?.phase === 'Succeeded') return 'succeeded';
  if (pod.status?.phase === 'Failed' || pod.metadata.deletionTimestamp) return 'failed';
  return undefined;
}

function hasFinalizer(pod: KubeObject): boolean {
  return (pod.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

function isFinished(job: KubeObject): boolean {
  return ['Complete', 'Failed'].some((t) => findCondition(job, t)?.status === 'True');
}

function findConditionIn(conditions: Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type && c.status === 'True');
}

function hasCondition(conditions: Condition[], type: string): boolean {
  return !!findConditionIn(conditions, type);
}

function setCondition(
  conditions: Condition[],
  type: string,
  reason: string,
  message: string,
  now: string,
  status: 'True' | 'False' = 'True',
): void {
  const existing = conditions.find((c) => c.type === type);
  const condition = { type, status, reason, message, lastProbeTime: now, lastTransitionTime: now };
  if (existing) Object.assign(existing, condition);
  else conditions.push(condition);
}
