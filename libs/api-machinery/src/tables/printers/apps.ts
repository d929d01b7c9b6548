import { KubeObject } from '../../object';
import {
  containerCells,
  formatLabels,
  formatSelector,
  NONE,
  qualifiedKindName,
  selectorString,
  since,
} from '../format';
import {
  AGE_COLUMN,
  columns,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  Printer,
  SELECTOR_COLUMN,
} from '../printer';

/** spec.replicas is defaulted to 1 on admission; a missing value means the default. */
function desiredReplicas(object: KubeObject): number {
  return object.spec?.replicas ?? 1;
}

export const deploymentPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Ready', 'string', 'Ready pods out of desired pods.'],
    ['Up-to-date', 'string', 'Pods already running the latest template.'],
    ['Available', 'string', 'Pods available to serve for at least minReadySeconds.'],
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ),
  row(deployment, now) {
    const status = deployment.status ?? {};
    const selector = selectorString(deployment.spec?.selector);
    return {
      cells: [
        deployment.metadata.name ?? '',
        `${status.readyReplicas ?? 0}/${desiredReplicas(deployment)}`,
        status.updatedReplicas ?? 0,
        status.availableReplicas ?? 0,
        since(deployment.metadata.creationTimestamp, now),
        ...containerCells(deployment.spec?.template?.spec),
        selector ?? '<invalid>',
      ],
    };
  },
};

export const replicaSetPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Desired', 'integer', 'Number of pods wanted.'],
    ['Current', 'integer', 'Number of pods that exist.'],
    ['Ready', 'integer', 'Number of pods that are ready.'],
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ),
  row(replicaSet, now) {
    const status = replicaSet.status ?? {};
    return {
      cells: [
        replicaSet.metadata.name ?? '',
        desiredReplicas(replicaSet),
        status.replicas ?? 0,
        status.readyReplicas ?? 0,
        since(replicaSet.metadata.creationTimestamp, now),
        ...containerCells(replicaSet.spec?.template?.spec),
        formatSelector(replicaSet.spec?.selector),
      ],
    };
  },
};

export const statefulSetPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Ready', 'string', 'Ready pods out of desired pods.'],
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
  ),
  row(statefulSet, now) {
    return {
      cells: [
        statefulSet.metadata.name ?? '',
        `${statefulSet.status?.readyReplicas ?? 0}/${desiredReplicas(statefulSet)}`,
        since(statefulSet.metadata.creationTimestamp, now),
        ...containerCells(statefulSet.spec?.template?.spec),
      ],
    };
  },
};

export const daemonSetPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Desired', 'integer', 'Nodes that should run the daemon pod.'],
    ['Current', 'integer', 'Nodes running at least one daemon pod.'],
    ['Ready', 'integer', 'Nodes whose daemon pod is ready.'],
    ['Up-to-date', 'integer', 'Nodes running the latest template.'],
    ['Available', 'integer', 'Nodes whose daemon pod is available.'],
    ['Node Selector', 'string', 'Node labels the daemon pods are restricted to.'],
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ),
  row(daemonSet, now) {
    const status = daemonSet.status ?? {};
    const podSpec = daemonSet.spec?.template?.spec;
    return {
      cells: [
        daemonSet.metadata.name ?? '',
        status.desiredNumberScheduled ?? 0,
        status.currentNumberScheduled ?? 0,
        status.numberReady ?? 0,
        status.updatedNumberScheduled ?? 0,
        status.numberAvailable ?? 0,
        formatLabels(podSpec?.nodeSelector),
        since(daemonSet.metadata.creationTimestamp, now),
        ...containerCells(podSpec),
        formatSelector(daemonSet.spec?.selector),
      ],
    };
  },
};

export const controllerRevisionPrinter: Printer = {
  columns: columns(
    NAME_COLUMN,
    ['Controller', 'string', 'The object that owns this revision.'],
    ['Revision', 'string', 'Revision number of the stored state.'],
    AGE_COLUMN,
  ),
  row(revision, now) {
    const owner = revision.metadata.ownerReferences?.find((ref) => ref.controller);
    return {
      cells: [
        revision.metadata.name ?? '',
        owner ? qualifiedKindName(owner.apiVersion, owner.kind, owner.name) : NONE,
        revision.revision ?? 0,
        since(revision.metadata.creationTimestamp, now),
      ],
    };
  },
};
