import { Printer } from '../printer';
import {
  controllerRevisionPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  replicaSetPrinter,
  statefulSetPrinter,
} from './apps';
import { horizontalPodAutoscalerPrinter } from './autoscaling';
import { cronJobPrinter, jobPrinter } from './batch';
import {
  leasePrinter,
  podDisruptionBudgetPrinter,
  priorityClassPrinter,
  storageClassPrinter,
} from './cluster-policy';
import {
  configMapPrinter,
  endpointsPrinter,
  namespacePrinter,
  nodePrinter,
  persistentVolumeClaimPrinter,
  persistentVolumePrinter,
  podTemplatePrinter,
  resourceQuotaPrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
} from './core';
import { eventPrinter, eventsV1Printer } from './event';
import {
  endpointSlicePrinter,
  ingressClassPrinter,
  ingressPrinter,
  networkPolicyPrinter,
} from './networking';
import { podPrinter } from './pod';
import { clusterRoleBindingPrinter, roleBindingPrinter } from './rbac';

/**
 * Printers by `group/Kind` (core kinds have an empty group). Kinds missing here (Role,
 * ClusterRole, LimitRange, the reviews) get the default Name/Created At table, as upstream.
 */
const PRINTERS: Record<string, Printer> = {
  '/ConfigMap': configMapPrinter,
  '/Endpoints': endpointsPrinter,
  '/Event': eventPrinter,
  '/Namespace': namespacePrinter,
  '/Node': nodePrinter,
  '/PersistentVolume': persistentVolumePrinter,
  '/PersistentVolumeClaim': persistentVolumeClaimPrinter,
  '/Pod': podPrinter,
  '/PodTemplate': podTemplatePrinter,
  '/ResourceQuota': resourceQuotaPrinter,
  '/Secret': secretPrinter,
  '/Service': servicePrinter,
  '/ServiceAccount': serviceAccountPrinter,
  'apps/ControllerRevision': controllerRevisionPrinter,
  'apps/DaemonSet': daemonSetPrinter,
  'apps/Deployment': deploymentPrinter,
  'apps/ReplicaSet': replicaSetPrinter,
  'apps/StatefulSet': statefulSetPrinter,
  'autoscaling/HorizontalPodAutoscaler': horizontalPodAutoscalerPrinter,
  'batch/CronJob': cronJobPrinter,
  'batch/Job': jobPrinter,
  'coordination.k8s.io/Lease': leasePrinter,
  'discovery.k8s.io/EndpointSlice': endpointSlicePrinter,
  'events.k8s.io/Event': eventsV1Printer,
  'networking.k8s.io/Ingress': ingressPrinter,
  'networking.k8s.io/IngressClass': ingressClassPrinter,
  'networking.k8s.io/NetworkPolicy': networkPolicyPrinter,
  'policy/PodDisruptionBudget': podDisruptionBudgetPrinter,
  'rbac.authorization.k8s.io/ClusterRoleBinding': clusterRoleBindingPrinter,
  'rbac.authorization.k8s.io/RoleBinding': roleBindingPrinter,
  'scheduling.k8s.io/PriorityClass': priorityClassPrinter,
  'storage.k8s.io/StorageClass': storageClassPrinter,
};

export function printerFor(group: string, kind: string): Printer | undefined {
  return PRINTERS[`${group}/${kind}`];
}
