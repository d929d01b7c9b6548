import { KubeObject } from '../../object';
import { containerCells, formatSelector, NONE, parseTime, printBool, since } from '../format';
import { humanDuration } from '../human-duration';
import {
  AGE_COLUMN,
  columns,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  Printer,
  SELECTOR_COLUMN,
} from '../printer';

/** The first condition of a type decides, as the job controller never repeats a type. */
function hasCondition(job: KubeObject, type: string): boolean {
  const condition = (job.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
  return condition?.status === 'True';
}

function jobStatus(job: KubeObject): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (hasCondition(job, 'Suspended')) return 'Suspended';
  if (hasCondition(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

function jobCompletions(job: KubeObject): string {
  const succeeded = job.status?.succeeded ?? 0;
  const completions: number | undefined = job.spec?.completions ?? undefined;
  if (completions !== undefined) return `${succeeded}/${completions}`;
  // A work-queue job finishes on its first success, however many pods run in parallel.
  const parallelism: number = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(job: KubeObject, now: Date): string {
  const started = parseTime(job.status?.startTime);
  if (started === undefined) return '';
  const completed = parseTime(job.status?.completionTime);
  return humanDuration((completed ?? now.getTime()) - started);
}

export const jobPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Status', 'string', 'Whether the job is running, complete, failed or suspended.'],
    ['Completions', 'string', 'Succeeded pods out of required completions.'],
    ['Duration', 'string', 'How long the job ran, or has been running.'],
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ),
  row(job, now) {
    return {
      cells: [
        job.metadata.name ?? '',
        jobStatus(job),
        jobCompletions(job),
        jobDuration(job, now),
        since(job.metadata.creationTimestamp, now),
        ...containerCells(job.spec?.template?.spec),
        formatSelector(job.spec?.selector),
      ],
    };
  },
};

export const cronJobPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Schedule', 'string', 'Cron schedule the jobs are created on.'],
    ['Timezone', 'string', 'Time zone the schedule is read in.'],
    ['Suspend', 'boolean', 'Whether new runs are held back.'],
    ['Active', 'integer', 'Jobs of this cron job that are running.'],
    ['Last Schedule', 'string', 'Time since a job was last scheduled.'],
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ),
  row(cronJob, now) {
    const spec = cronJob.spec ?? {};
    const lastSchedule: string | undefined = cronJob.status?.lastScheduleTime;
    const jobSpec = spec.jobTemplate?.spec;
    return {
      cells: [
        cronJob.metadata.name ?? '',
        spec.schedule ?? '',
        spec.timeZone ?? NONE,
        printBool(spec.suspend),
        (cronJob.status?.active ?? []).length,
        lastSchedule ? since(lastSchedule, now) : NONE,
        since(cronJob.metadata.creationTimestamp, now),
        ...containerCells(jobSpec?.template?.spec),
        formatSelector(jobSpec?.selector),
      ],
    };
  },
};
