/**
 * validateObject: one table row per kind, naming the rule for metadata.name, the spec checks
 * and, for updates, what may no longer change. Causes come back in the order upstream
 * reports them: metadata first, then the kind's own rules.
 */
import { groupVersion, ResourceType } from '../../registry';
import { KubeObject } from '../../object';
import { Errors, StatusCause, StatusError } from '../../errors';
import { Causes, FieldPath } from '../field-errors';
import {
  dns1035LabelProblems,
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  pathSegmentProblems,
} from '../name-rules';
import { NameRule, validateObjectMeta } from './meta';
import { validatePodSpec, validatePodTemplate, validatePodUpdate } from './pod';
import {
  validateCronJob,
  validateDaemonSet,
  validateDaemonSetUpdate,
  validateDeployment,
  validateDeploymentUpdate,
  validateJob,
  validateJobUpdate,
  validateReplicaSet,
  validateReplicaSetUpdate,
  validateStatefulSet,
  validateStatefulSetUpdate,
} from './workloads';
import { validateEndpoints, validateService, validateServiceUpdate } from './service';
import { validateConfigMap, validateConfigMapUpdate, validateSecret, validateSecretUpdate } from './data';
import {
  validateClaimSpec,
  validatePersistentVolume,
  validatePersistentVolumeClaim,
  validatePersistentVolumeClaimUpdate,
} from './storage';
import {
  validateBindingUpdate,
  validateClusterRole,
  validateClusterRoleBinding,
  validateHorizontalPodAutoscaler,
  validateIngress,
  validateNode,
  validateNodeUpdate,
  validatePodDisruptionBudget,
  validateRole,
  validateRoleBinding,
} from './cluster';

type Json = Record<string, any>;

interface KindRules {
  name?: NameRule;
  create?: (obj: Json) => Causes;
  update?: (obj: Json, old: Json) => Causes;
}

function validateStatefulSetWithClaims(obj: Json): Causes {
  const claimsPath = FieldPath.root('spec').child('volumeClaimTemplates');
  const claimCauses = (obj.spec?.volumeClaimTemplates ?? []).flatMap((claim: Json, i: number) =>
    validateClaimSpec(claim.spec, claimsPath.index(i).child('spec')),
  );
  return [...validateStatefulSet(obj), ...claimCauses];
}

const RULES: Record<string, KindRules> = {
  'v1/Pod': { create: (pod) => validatePodSpec(pod.spec, FieldPath.root('spec')), update: validatePodUpdate },
  'v1/PodTemplate': { create: (obj) => validatePodTemplate(obj.template, FieldPath.root('template')) },
  'v1/Service': { name: dns1035LabelProblems, create: validateService, update: validateServiceUpdate },
  'v1/Endpoints': { create: validateEndpoints },
  'v1/Namespace': { name: dns1123LabelProblems },
  'v1/Secret': { create: validateSecret, update: validateSecretUpdate },
  'v1/ConfigMap': { create: validateConfigMap, update: validateConfigMapUpdate },
  'v1/PersistentVolumeClaim': {
    create: validatePersistentVolumeClaim,
    update: validatePersistentVolumeClaimUpdate,
  },
  'v1/PersistentVolume': { create: validatePersistentVolume },
  'v1/Node': { create: validateNode, update: validateNodeUpdate },
  'apps/v1/Deployment': { create: validateDeployment, update: validateDeploymentUpdate },
  'apps/v1/ReplicaSet': { create: validateReplicaSet, update: validateReplicaSetUpdate },
  'apps/v1/DaemonSet': { create: validateDaemonSet, update: validateDaemonSetUpdate },
  'apps/v1/StatefulSet': { create: validateStatefulSetWithClaims, update: validateStatefulSetUpdate },
  'batch/v1/Job': { create: validateJob, update: validateJobUpdate },
  'batch/v1/CronJob': { create: validateCronJob },
  'autoscaling/v1/HorizontalPodAutoscaler': { create: validateHorizontalPodAutoscaler },
  'autoscaling/v2/HorizontalPodAutoscaler': { create: validateHorizontalPodAutoscaler },
  'networking.k8s.io/v1/Ingress': { create: validateIngress },
  'policy/v1/PodDisruptionBudget': { create: validatePodDisruptionBudget },
  'rbac.authorization.k8s.io/v1/Role': { name: pathSegmentProblems, create: validateRole },
  'rbac.authorization.k8s.io/v1/ClusterRole': { name: pathSegmentProblems, create: validateClusterRole },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    name: pathSegmentProblems,
    create: validateRoleBinding,
    update: validateBindingUpdate,
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    name: pathSegmentProblems,
    create: validateClusterRoleBinding,
    update: validateBindingUpdate,
  },
};

/**
 * Field errors for `obj` (already defaulted), worded like kube-apiserver. With `old`, the
 * update rules (immutable fields) are checked as well. An empty list means valid.
 */
export function validateObject(type: ResourceType, obj: KubeObject, old?: KubeObject): StatusCause[] {
  const rules = RULES[`${groupVersion(type)}/${type.kind}`] ?? {};
  const causes: Causes = validateObjectMeta(obj.metadata, {
    namespaced: type.namespaced,
    nameRule: rules.name ?? dns1123SubdomainProblems,
  });
  causes.push(...(rules.create?.(obj) ?? []));
  if (old && rules.update) causes.push(...rules.update(obj, old));
  return causes;
}

/** The 422 kube-apiserver answers with, e.g. `Deployment.apps "web" is invalid: [...]`. */
export function invalid(type: ResourceType, obj: KubeObject, causes: StatusCause[]): StatusError {
  return Errors.invalid(type.kind, type.group, obj.metadata?.name ?? '', causes);
}
