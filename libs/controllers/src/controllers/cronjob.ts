import { deepClone, KubeObject, rfc3339, StatusError } from '@kubetime/api-machinery';
import { CronExpressionParser } from 'cron-parser';
import type { CacheChange, ObjectCache } from '../runtime/cache';
import type { Controller, ReconcileContext, ReconcileResult } from '../runtime/manager';
import { canonicalJson, controllerRef, findCondition, namespacedKey, ownerRefTo, splitKey } from './objects';
import { WORKLOAD_TYPES } from './workload-types';

const SOURCE = { component: 'cronjob-controller' };
const SCHEDULED_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

interface JobRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
  resourceVersion?: string;
}

/**
 * Starts Jobs on a CronJob's schedule, read on the injected clock: the most recent schedule time not
 * yet started (after lastScheduleTime, within startingDeadlineSeconds) gets a Job named
 * `<cronjob>-<minutes since the epoch>`, so a restarted controller re-deriving the same time finds
 * the Job it made instead of making another. concurrencyPolicy Allow/Forbid/Replace, suspend, the
 * history limits and status active/lastScheduleTime/lastSuccessfulTime as upstream's cronjob v2.
 */
export class CronJobController implements Controller {
  readonly name = 'cronjob-controller';
  readonly user = {
    username: 'system:serviceaccount:kube-system:cronjob-controller',
    groups: ['system:serviceaccounts', 'system:masters'],
  };

  *startKeys(cache: ObjectCache): Iterable<string> {
    for (const cj of cache.list('cronjobs')) yield namespacedKey(cj);
  }

  *keysFor(change: CacheChange): Iterable<string> {
    if (change.resource === 'cronjobs') yield namespacedKey(change.object);
    if (change.resource !== 'jobs') return;
    const ref = controllerRef(change.object);
    if (ref?.kind === 'CronJob') yield `${change.object.metadata.namespace}/${ref.name}`;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cj = ctx.cache.object('cronjobs', namespace, name);
    if (!cj) return;
    const jobs = ctx.cache.list('jobs', namespace).filter((j) => controllerRef(j)?.uid === cj.metadata.uid);
    const status = deepClone(cj.status ?? {});
    let active: JobRef[] = [...(status.active ?? [])];

    // Active list against the Jobs as they are: finished ones leave it, unlisted running ones join it.
    for (const job of jobs) {
      const listed = active.some((r) => r.uid === job.metadata.uid);
      const outcome = finishedAs(job);
      if (!outcome && !listed) active.push(refTo(job));
      if (outcome && listed) {
        active = active.filter((r) => r.uid !== job.metadata.uid);
        await ctx.api.event(
          cj,
          'Normal',
          'SawCompletedJob',
          `Saw completed job: ${job.metadata.name}, condition: ${outcome}`,
          SOURCE,
        );
      }
      if (outcome === 'Complete') {
        const done = job.status?.completionTime;
        if (done && (!status.lastSuccessfulTime || Date.parse(done) > Date.parse(status.lastSuccessfulTime)))
          status.lastSuccessfulTime = done;
      }
    }
    for (const r of active.filter((r) => !jobs.some((j) => j.metadata.uid === r.uid))) {
      active = active.filter((a) => a.uid !== r.uid);
      await ctx.api.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${r.name}`, SOURCE);
    }

    await this.trimHistory(cj, jobs, ctx);

    let requeueAfterMs: number | undefined;
    if (!cj.metadata.deletionTimestamp && !cj.spec?.suspend) {
      const plan = this.plan(cj, status, ctx);
      requeueAfterMs = plan.nextMs;
      if (plan.due) {
        const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
        const jobName = `${cj.metadata.name}-${Math.floor(plan.due.getTime() / 60_000)}`;
        const already = jobs.some((j) => j.metadata.name === jobName);
        if (already) status.lastScheduleTime = rfc3339(plan.due);
        else if (policy === 'Forbid' && active.length) {
          // Upstream waits for the running Job and then starts this missed time late, if still allowed.
          await ctx.api.event(
            cj,
            'Normal',
            'JobAlreadyActive',
            'Not starting job because prior execution is running and concurrency policy is Forbid',
            SOURCE,
          );
        } else {
          if (policy === 'Replace') {
            for (const r of active) {
              const job = jobs.find((j) => j.metadata.uid === r.uid);
              if (job) {
                await ctx.api.delete(WORKLOAD_TYPES.jobs, job, { propagationPolicy: 'Background' });
                await ctx.api.event(
                  cj,
                  'Normal',
                  'SuccessfulDelete',
                  `Deleted job ${job.metadata.name}`,
                  SOURCE,
                );
              }
            }
            active = [];
          }
          const job = await this.createJob(cj, jobName, plan.due, ctx);
          if (job) active.push(refTo(job));
          status.lastScheduleTime = rfc3339(plan.due);
        }
      }
    }

    if (active.length) status.active = active;
    else delete status.active;
    if (canonicalJson(status) !== canonicalJson(cj.status ?? {})) {
      const next = deepClone(cj);
      next.status = status;
      await ctx.api.updateStatus(WORKLOAD_TYPES.cronjobs, next);
    }
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /**
   * The most recent schedule time not yet started, if it is still within startingDeadlineSeconds,
   * and how long until the next one. Computed from the schedule, not by walking every missed time.
   */
  private plan(
    cj: KubeObject,
    status: Record<string, string>,
    ctx: ReconcileContext,
  ): { due?: Date; nextMs?: number } {
    const now = ctx.now.getTime();
    const tz = cj.spec?.timeZone ?? 'UTC';
    let next: Date;
    let recent: Date | undefined;
    try {
      next = CronExpressionParser.parse(cj.spec.schedule, { currentDate: new Date(now), tz })
        .next()
        .toDate();
      recent = CronExpressionParser.parse(cj.spec.schedule, { currentDate: new Date(now + 1), tz })
        .prev()
        .toDate();
    } catch {
      // Validation admits only parseable schedules; one that is not simply never runs.
      return {};
    }
    const since = Date.parse(status.lastScheduleTime ?? cj.metadata.creationTimestamp);
    const deadline = cj.spec?.startingDeadlineSeconds;
    const nextMs = Math.max(1, next.getTime() - now);
    if (recent.getTime() <= since) return { nextMs };
    if (deadline != null && recent.getTime() + deadline * 1000 < now) return { nextMs };
    return { due: recent, nextMs };
  }

  private async createJob(
    cj: KubeObject,
    name: string,
    scheduled: Date,
    ctx: ReconcileContext,
  ): Promise<KubeObject | undefined> {
    const template = cj.spec?.jobTemplate ?? {};
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: deepClone(template.metadata?.labels ?? {}),
        annotations: {
          ...deepClone(template.metadata?.annotations ?? {}),
          [SCHEDULED_ANNOTATION]: rfc3339(scheduled),
        },
        ownerReferences: [ownerRefTo(cj)],
      },
      spec: deepClone(template.spec ?? {}),
    };
    try {
      const created = await ctx.api.create(WORKLOAD_TYPES.jobs, job);
      await ctx.api.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${name}`, SOURCE);
      return created;
    } catch (error) {
      // A Job of that name that is not ours blocks this run; ours would have been in the cache.
      if (error instanceof StatusError && error.code === 409) {
        await ctx.api.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${error.message}`, SOURCE);
        return undefined;
      }
      throw error;
    }
  }

  /** Finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit go, oldest first. */
  private async trimHistory(cj: KubeObject, jobs: KubeObject[], ctx: ReconcileContext): Promise<void> {
    const limits = {
      Complete: cj.spec?.successfulJobsHistoryLimit ?? 3,
      Failed: cj.spec?.failedJobsHistoryLimit ?? 1,
    };
    for (const outcome of ['Complete', 'Failed'] as const) {
      const done = jobs
        .filter((j) => finishedAs(j) === outcome && !j.metadata.deletionTimestamp)
        .sort((a, b) => started(a) - started(b) || (a.metadata.name! < b.metadata.name! ? -1 : 1));
      for (const job of done.slice(0, Math.max(0, done.length - limits[outcome]))) {
        await ctx.api.delete(WORKLOAD_TYPES.jobs, job, { propagationPolicy: 'Background' });
        await ctx.api.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata.name}`, SOURCE);
      }
    }
  }
}

function finishedAs(job: KubeObject): 'Complete' | 'Failed' | undefined {
  if (findCondition(job, 'Complete')?.status === 'True') return 'Complete';
  if (findCondition(job, 'Failed')?.status === 'True') return 'Failed';
  return undefined;
}

function started(job: KubeObject): number {
  return Date.parse(job.status?.startTime ?? job.metadata.creationTimestamp ?? '') || 0;
}

function refTo(job: KubeObject): JobRef {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: job.metadata.name!,
    namespace: job.metadata.namespace!,
    uid: job.metadata.uid!,
    resourceVersion: job.metadata.resourceVersion,
  };
}
