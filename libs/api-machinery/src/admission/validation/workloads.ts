/** apps/v1 and batch/v1 workloads: selectors, templates, strategies, and what may change later. */
import { Causes, FieldError, FieldPath, goLabelSelector, isEqual, nonNegative, oneOf } from '../field-errors';
import { JOB_LABELS } from '../defaults';
import { isEmptySelector, selectorMatches, validateLabelSelector } from './meta';
import { validatePodTemplate } from './pod';

type Json = Record<string, any>;
const spec = FieldPath.root('spec');

/** Selector present, well formed, non-empty, and matching the template's labels. */
function validateSelectorAndTemplate(workload: Json, kindNoun: string): Causes {
  const selector = workload.spec?.selector;
  const template = workload.spec?.template;
  const causes: Causes = [];
  if (!selector) {
    causes.push(FieldError.required(spec.child('selector')));
  } else {
    causes.push(...validateLabelSelector(selector, spec.child('selector')));
    if (isEmptySelector(selector)) {
      causes.push(
        FieldError.invalid(
          spec.child('selector'),
          goLabelSelector(selector),
          `empty selector is invalid for ${kindNoun}`,
        ),
      );
    } else if (!selectorMatches(selector, template?.metadata?.labels)) {
      causes.push(
        FieldError.invalid(
          spec.child('template', 'metadata', 'labels'),
          template?.metadata?.labels ?? {},
          '`selector` does not match template `labels`',
        ),
      );
    }
  }
  return causes;
}

/** Controllers that keep pods running only accept restartPolicy Always in their template. */
function validateAlwaysRestartTemplate(template: Json | undefined, extraVolumeNames?: string[]): Causes {
  const path = spec.child('template');
  const causes = validatePodTemplate(template, path, { extraVolumeNames });
  const restartPolicy = template?.spec?.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== 'Always') {
    causes.push(FieldError.notSupported(path.child('spec', 'restartPolicy'), restartPolicy, ['Always']));
  }
  if (template?.spec?.activeDeadlineSeconds !== undefined) {
    causes.push(
      FieldError.forbidden(
        path.child('spec', 'activeDeadlineSeconds'),
        'activeDeadlineSeconds in ReplicaSet is not Supported',
      ),
    );
  }
  return causes;
}

const PERCENT = /^[0-9]+%$/;

function validateIntOrPercent(value: unknown, path: FieldPath): Causes {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number') return nonNegative(value, path);
  if (typeof value === 'string' && PERCENT.test(value)) {
    return parseInt(value, 10) > 100
      ? [FieldError.invalid(path, value, 'must not be greater than 100%')]
      : [];
  }
  return [
    FieldError.invalid(
      path,
      value,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ),
  ];
}

function isZero(value: unknown): boolean {
  return value === 0 || value === '0%';
}

function validateRollingUpdate(
  rollingUpdate: Json | undefined,
  path: FieldPath,
  surgeDefault: unknown,
): Causes {
  if (!rollingUpdate) return [];
  const causes = [
    ...validateIntOrPercent(rollingUpdate.maxUnavailable, path.child('maxUnavailable')),
    ...validateIntOrPercent(rollingUpdate.maxSurge, path.child('maxSurge')),
  ];
  if (isZero(rollingUpdate.maxUnavailable) && isZero(rollingUpdate.maxSurge ?? surgeDefault)) {
    causes.push(
      FieldError.invalid(
        path.child('maxUnavailable'),
        rollingUpdate.maxUnavailable,
        'may not be 0 when `maxSurge` is 0',
      ),
    );
  }
  return causes;
}

export function validateDeployment(obj: Json): Causes {
  const s = obj.spec ?? {};
  const causes: Causes = [
    ...nonNegative(s.replicas, spec.child('replicas')),
    ...validateSelectorAndTemplate(obj, 'deployment'),
    ...validateAlwaysRestartTemplate(s.template),
  ];
  const strategy = s.strategy ?? {};
  causes.push(...oneOf(strategy.type, spec.child('strategy', 'type'), ['Recreate', 'RollingUpdate']));
  if (strategy.type === 'Recreate' && strategy.rollingUpdate) {
    causes.push(
      FieldError.forbidden(
        spec.child('strategy', 'rollingUpdate'),
        "may not be specified when strategy `type` is 'Recreate'",
      ),
    );
  }
  causes.push(
    ...validateRollingUpdate(strategy.rollingUpdate, spec.child('strategy', 'rollingUpdate'), undefined),
  );
  causes.push(...nonNegative(s.minReadySeconds, spec.child('minReadySeconds')));
  causes.push(...nonNegative(s.revisionHistoryLimit, spec.child('revisionHistoryLimit')));
  if (typeof s.progressDeadlineSeconds === 'number') {
    causes.push(...nonNegative(s.progressDeadlineSeconds, spec.child('progressDeadlineSeconds')));
    if (s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0)) {
      causes.push(
        FieldError.invalid(
          spec.child('progressDeadlineSeconds'),
          s.progressDeadlineSeconds,
          'must be greater than minReadySeconds',
        ),
      );
    }
  }
  return causes;
}

export function validateReplicaSet(obj: Json): Causes {
  return [
    ...nonNegative(obj.spec?.replicas, spec.child('replicas')),
    ...nonNegative(obj.spec?.minReadySeconds, spec.child('minReadySeconds')),
    ...validateSelectorAndTemplate(obj, 'deployment'),
    ...validateAlwaysRestartTemplate(obj.spec?.template),
  ];
}

export function validateDaemonSet(obj: Json): Causes {
  const s = obj.spec ?? {};
  const strategy = s.updateStrategy ?? {};
  const causes: Causes = [
    ...validateSelectorAndTemplate(obj, 'daemonset'),
    ...validateAlwaysRestartTemplate(s.template),
    ...nonNegative(s.minReadySeconds, spec.child('minReadySeconds')),
    ...nonNegative(s.revisionHistoryLimit, spec.child('revisionHistoryLimit')),
    ...oneOf(strategy.type, spec.child('updateStrategy', 'type'), ['OnDelete', 'RollingUpdate']),
  ];
  if (strategy.type === 'RollingUpdate') {
    causes.push(
      ...validateRollingUpdate(strategy.rollingUpdate, spec.child('updateStrategy', 'rollingUpdate'), 0),
    );
  }
  return causes;
}

export function validateStatefulSet(obj: Json): Causes {
  const s = obj.spec ?? {};
  const claimNames: string[] = (s.volumeClaimTemplates ?? [])
    .map((claim: Json) => claim.metadata?.name)
    .filter(Boolean);
  const strategy = s.updateStrategy ?? {};
  const causes: Causes = [
    ...oneOf(s.podManagementPolicy, spec.child('podManagementPolicy'), ['OrderedReady', 'Parallel']),
    ...oneOf(strategy.type, spec.child('updateStrategy', 'type'), ['OnDelete', 'RollingUpdate']),
    ...nonNegative(s.replicas, spec.child('replicas')),
    ...nonNegative(s.minReadySeconds, spec.child('minReadySeconds')),
    ...nonNegative(s.revisionHistoryLimit, spec.child('revisionHistoryLimit')),
    ...validateSelectorAndTemplate(obj, 'statefulset'),
    ...validateAlwaysRestartTemplate(s.template, claimNames),
  ];
  if (strategy.type === 'OnDelete' && strategy.rollingUpdate) {
    causes.push(
      FieldError.invalid(
        spec.child('updateStrategy', 'rollingUpdate'),
        strategy.rollingUpdate,
        "only allowed for updateStrategy 'RollingUpdate'",
      ),
    );
  }
  causes.push(
    ...nonNegative(
      strategy.rollingUpdate?.partition,
      spec.child('updateStrategy', 'rollingUpdate', 'partition'),
    ),
  );
  const retention = s.persistentVolumeClaimRetentionPolicy ?? {};
  causes.push(
    ...oneOf(retention.whenDeleted, spec.child('persistentVolumeClaimRetentionPolicy', 'whenDeleted'), [
      'Retain',
      'Delete',
    ]),
  );
  causes.push(
    ...oneOf(retention.whenScaled, spec.child('persistentVolumeClaimRetentionPolicy', 'whenScaled'), [
      'Retain',
      'Delete',
    ]),
  );
  return causes;
}

/** The template rules shared by Jobs and the job template of a CronJob. */
function validateJobSpec(jobSpec: Json, path: FieldPath): Causes {
  const causes: Causes = [];
  for (const field of [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
  ]) {
    causes.push(...nonNegative(jobSpec[field], path.child(field)));
  }
  causes.push(...oneOf(jobSpec.completionMode, path.child('completionMode'), ['NonIndexed', 'Indexed']));
  if (jobSpec.completionMode === 'Indexed' && jobSpec.completions == null) {
    causes.push(FieldError.required(path.child('completions'), 'when completion mode is Indexed'));
  }
  causes.push(
    ...oneOf(jobSpec.podReplacementPolicy, path.child('podReplacementPolicy'), [
      'Failed',
      'TerminatingOrFailed',
    ]),
  );
  const template = jobSpec.template;
  causes.push(...validatePodTemplate(template, path.child('template')));
  const restartPolicy = template?.spec?.restartPolicy;
  if (restartPolicy !== 'OnFailure' && restartPolicy !== 'Never') {
    causes.push(
      FieldError.notSupported(path.child('template', 'spec', 'restartPolicy'), restartPolicy ?? '', [
        'OnFailure',
        'Never',
      ]),
    );
  }
  if (jobSpec.selector) {
    causes.push(...validateLabelSelector(jobSpec.selector, path.child('selector')));
    if (!selectorMatches(jobSpec.selector, template?.metadata?.labels)) {
      causes.push(
        FieldError.invalid(
          path.child('template', 'metadata', 'labels'),
          template?.metadata?.labels ?? {},
          '`selector` does not match template `labels`',
        ),
      );
    }
  }
  return causes;
}

/** Without manualSelector the selector must be the one generated from the Job's own uid. */
function validateGeneratedJobSelector(job: Json): Causes {
  if (job.spec?.manualSelector === true || !job.spec?.selector) return [];
  const causes: Causes = [];
  const uid: string | undefined = job.metadata?.uid;
  const name: string | undefined = job.metadata?.name;
  if (!uid) causes.push(FieldError.required('metadata.uid'));
  const labelsPath = FieldPath.root('spec').child('template', 'metadata', 'labels');
  const labels: Json = job.spec.template?.metadata?.labels ?? {};
  const expected: [string, string | undefined][] = [
    [JOB_LABELS.controllerUid, uid],
    [JOB_LABELS.jobName, name],
    [JOB_LABELS.legacyControllerUid, uid],
    [JOB_LABELS.legacyJobName, name],
  ];
  for (const [key, value] of expected) {
    if (labels[key] === undefined)
      causes.push(FieldError.required(labelsPath.key(key), `must be '${value ?? ''}'`));
    else if (labels[key] !== value)
      causes.push(FieldError.invalid(labelsPath.key(key), labels[key], `must be '${value ?? ''}'`));
  }
  if (!selectorMatches(job.spec.selector, Object.fromEntries(expected.filter(([, v]) => v !== undefined)))) {
    causes.push(
      FieldError.invalid(
        'spec.selector',
        goLabelSelector(job.spec.selector),
        '`selector` not auto-generated',
      ),
    );
  }
  return causes;
}

export function validateJob(obj: Json): Causes {
  const causes = [...validateGeneratedJobSelector(obj), ...validateJobSpec(obj.spec ?? {}, spec)];
  if (!obj.spec?.selector) causes.push(FieldError.required(spec.child('selector')));
  return causes;
}

/** Five fields, or one of the @ shorthands cron understands. */
function cronScheduleProblem(schedule: string): string | undefined {
  const withoutZone = schedule.replace(/^(CRON_)?TZ=\S+\s+/, '');
  if (withoutZone.startsWith('@')) {
    const known = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
    return known.includes(withoutZone) || withoutZone.startsWith('@every ')
      ? undefined
      : `unrecognized descriptor: ${withoutZone}`;
  }
  const fields = withoutZone.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${withoutZone}`;
  const badField = fields.find((f) => !/^[0-9A-Za-z*?/,\-]+$/.test(f));
  return badField ? `failed to parse int from ${badField}` : undefined;
}

export function validateCronJob(obj: Json): Causes {
  const s = obj.spec ?? {};
  const causes: Causes = [];
  const name: string = obj.metadata?.name ?? '';
  // Job names get an 11-character suffix and must still fit a DNS label.
  if (name.length > 52)
    causes.push(FieldError.invalid('metadata.name', name, 'must be no more than 52 characters'));
  if (!s.schedule) {
    causes.push(FieldError.required(spec.child('schedule')));
  } else {
    const problem = cronScheduleProblem(s.schedule);
    if (problem) causes.push(FieldError.invalid(spec.child('schedule'), s.schedule, problem));
  }
  causes.push(...oneOf(s.concurrencyPolicy, spec.child('concurrencyPolicy'), ['Allow', 'Forbid', 'Replace']));
  for (const field of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) {
    causes.push(...nonNegative(s[field], spec.child(field)));
  }
  causes.push(...validateJobSpec(s.jobTemplate?.spec ?? {}, spec.child('jobTemplate', 'spec')));
  return causes;
}

function immutableSelector(obj: Json, old: Json): Causes {
  return isEqual(obj.spec?.selector, old.spec?.selector)
    ? []
    : [FieldError.immutable(spec.child('selector'), goLabelSelector(obj.spec?.selector))];
}

export const validateDeploymentUpdate = immutableSelector;
export const validateReplicaSetUpdate = immutableSelector;
export const validateDaemonSetUpdate = immutableSelector;

const STATEFULSET_MUTABLE_FIELDS = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'revisionHistoryLimit',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

export function validateStatefulSetUpdate(obj: Json, old: Json): Causes {
  const frozen = (s: Json | undefined) =>
    Object.fromEntries(Object.entries(s ?? {}).filter(([k]) => !STATEFULSET_MUTABLE_FIELDS.includes(k)));
  if (isEqual(frozen(obj.spec), frozen(old.spec))) return [];
  const quoted = STATEFULSET_MUTABLE_FIELDS.map((f) => `'${f}'`);
  const listed = `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
  return [
    FieldError.forbidden('spec', `updates to statefulset spec for fields other than ${listed} are forbidden`),
  ];
}

export function validateJobUpdate(obj: Json, old: Json): Causes {
  const causes = immutableSelector(obj, old);
  for (const field of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'manualSelector']) {
    if (!isEqual(obj.spec?.[field], old.spec?.[field]))
      causes.push(FieldError.immutable(spec.child(field), obj.spec?.[field] ?? null));
  }
  if (!isEqual(obj.spec?.template, old.spec?.template)) {
    causes.push(FieldError.immutable(spec.child('template'), obj.spec?.template ?? null));
  }
  return causes;
}
