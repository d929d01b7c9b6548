/** Printers of the small policy, storage, scheduling and coordination kinds. */
import { intOrString, since } from '../format';
import { AGE_COLUMN, columns, NAME_COLUMN, Printer } from '../printer';

export const podDisruptionBudgetPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Min Available', 'string', 'Pods that must stay available during voluntary disruptions.'],
    ['Max Unavailable', 'string', 'Pods that may be unavailable during voluntary disruptions.'],
    ['Allowed Disruptions', 'integer', 'Pods that may be evicted right now.'],
    AGE_COLUMN,
  ),
  row(budget, now) {
    const spec = budget.spec ?? {};
    const orNotApplicable = (value: number | string | undefined) => intOrString(value) || 'N/A';
    return {
      cells: [
        budget.metadata.name ?? '',
        orNotApplicable(spec.minAvailable),
        orNotApplicable(spec.maxUnavailable),
        budget.status?.disruptionsAllowed ?? 0,
        since(budget.metadata.creationTimestamp, now),
      ],
    };
  },
};

const DEFAULT_CLASS_ANNOTATIONS = [
  'storageclass.kubernetes.io/is-default-class',
  'storageclass.beta.kubernetes.io/is-default-class',
];

export const storageClassPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Provisioner', 'string', 'Volume plugin that provisions volumes of this class.'],
    ['ReclaimPolicy', 'string', 'Reclaim policy given to provisioned volumes.'],
    ['VolumeBindingMode', 'string', 'When volumes are bound and provisioned.'],
    ['AllowVolumeExpansion', 'string', 'Whether claims of this class can grow.'],
    AGE_COLUMN,
  ),
  row(storageClass, now) {
    const annotations = storageClass.metadata.annotations ?? {};
    const isDefault = DEFAULT_CLASS_ANNOTATIONS.some((key) => annotations[key] === 'true');
    return {
      cells: [
        `${storageClass.metadata.name ?? ''}${isDefault ? ' (default)' : ''}`,
        storageClass.provisioner ?? '',
        storageClass.reclaimPolicy ?? 'Delete',
        storageClass.volumeBindingMode ?? 'Immediate',
        storageClass.allowVolumeExpansion ?? false,
        since(storageClass.metadata.creationTimestamp, now),
      ],
    };
  },
};

export const priorityClassPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Value', 'integer', 'Priority of pods using this class; higher wins.'],
    ['Global-Default', 'boolean', 'Whether pods without a class get this one.'],
    AGE_COLUMN,
    ['PreemptionPolicy', 'string', 'Whether pods of this class may preempt others.'],
  ),
  row(priorityClass, now) {
    return {
      cells: [
        priorityClass.metadata.name ?? '',
        priorityClass.value ?? 0,
        priorityClass.globalDefault ?? false,
        since(priorityClass.metadata.creationTimestamp, now),
        priorityClass.preemptionPolicy ?? '',
      ],
    };
  },
};

export const leasePrinter: Printer = {
  columns: columns(NAME_COLUMN, ['Holder', 'string', 'Identity currently holding the lease.'], AGE_COLUMN),
  row: (lease, now) => ({
    cells: [
      lease.metadata.name ?? '',
      lease.spec?.holderIdentity ?? '',
      since(lease.metadata.creationTimestamp, now),
    ],
  }),
};
