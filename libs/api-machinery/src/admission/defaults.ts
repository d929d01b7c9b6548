/**
 * Defaulting: the fields kube-apiserver fills in between decoding a request and storing it,
 * so `kubectl get -o yaml`, `kubectl diff` and `rollout undo` see what a real cluster shows.
 * Allocation (cluster IPs, node ports) and name generation belong to the apiserver.
 */
import { groupVersion, ResourceType } from '../registry';
import { deepClone, KubeObject } from '../object';
import { defaultPod, defaultPodTemplate } from './pod-defaults';

type Json = Record<string, any>;
type Defaulter = (obj: Json) => void;

function setIfAbsent(target: Json, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

function defaultDeployment(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'replicas', 1);
  spec.strategy ??= {};
  setIfAbsent(spec.strategy, 'type', 'RollingUpdate');
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    setIfAbsent(spec.strategy.rollingUpdate, 'maxUnavailable', '25%');
    setIfAbsent(spec.strategy.rollingUpdate, 'maxSurge', '25%');
  }
  setIfAbsent(spec, 'revisionHistoryLimit', 10);
  setIfAbsent(spec, 'progressDeadlineSeconds', 600);
  defaultPodTemplate(spec.template);
}

function defaultReplicaSet(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'replicas', 1);
  defaultPodTemplate(spec.template);
}

function defaultPersistentVolumeClaim(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'volumeMode', 'Filesystem');
  obj.status ??= {};
  setIfAbsent(obj.status, 'phase', 'Pending');
}

function defaultStatefulSet(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'replicas', 1);
  setIfAbsent(spec, 'podManagementPolicy', 'OrderedReady');
  spec.updateStrategy ??= {};
  setIfAbsent(spec.updateStrategy, 'type', 'RollingUpdate');
  if (spec.updateStrategy.type === 'RollingUpdate') {
    spec.updateStrategy.rollingUpdate ??= {};
    setIfAbsent(spec.updateStrategy.rollingUpdate, 'partition', 0);
  }
  spec.persistentVolumeClaimRetentionPolicy ??= {};
  setIfAbsent(spec.persistentVolumeClaimRetentionPolicy, 'whenDeleted', 'Retain');
  setIfAbsent(spec.persistentVolumeClaimRetentionPolicy, 'whenScaled', 'Retain');
  setIfAbsent(spec, 'revisionHistoryLimit', 10);
  for (const claim of spec.volumeClaimTemplates ?? []) {
    setIfAbsent(claim, 'apiVersion', 'v1');
    setIfAbsent(claim, 'kind', 'PersistentVolumeClaim');
    claim.metadata ??= {};
    if (!('creationTimestamp' in claim.metadata)) claim.metadata.creationTimestamp = null;
    defaultPersistentVolumeClaim(claim);
  }
  defaultPodTemplate(spec.template);
}

function defaultDaemonSet(obj: Json): void {
  const spec = (obj.spec ??= {});
  spec.updateStrategy ??= {};
  setIfAbsent(spec.updateStrategy, 'type', 'RollingUpdate');
  if (spec.updateStrategy.type === 'RollingUpdate') {
    spec.updateStrategy.rollingUpdate ??= {};
    setIfAbsent(spec.updateStrategy.rollingUpdate, 'maxUnavailable', 1);
    setIfAbsent(spec.updateStrategy.rollingUpdate, 'maxSurge', 0);
  }
  setIfAbsent(spec, 'revisionHistoryLimit', 10);
  defaultPodTemplate(spec.template);
}

export const JOB_LABELS = {
  controllerUid: 'batch.kubernetes.io/controller-uid',
  jobName: 'batch.kubernetes.io/job-name',
  legacyControllerUid: 'controller-uid',
  legacyJobName: 'job-name',
} as const;

/**
 * Unless the user opted into manualSelector, a Job selects its pods by its own uid, so the
 * selector can only be generated once metadata.uid is set. Labels the user already put on
 * the template are left alone; validation reports them if they contradict the generated ones.
 */
function generateJobSelector(job: Json): void {
  const uid = job.metadata?.uid;
  if (!uid || job.spec.manualSelector === true) return;
  const template = (job.spec.template ??= {});
  const labels: Json = (template.metadata ??= {}).labels ?? {};
  setIfAbsent(labels, JOB_LABELS.legacyJobName, job.metadata.name);
  setIfAbsent(labels, JOB_LABELS.jobName, job.metadata.name);
  setIfAbsent(labels, JOB_LABELS.legacyControllerUid, uid);
  setIfAbsent(labels, JOB_LABELS.controllerUid, uid);
  template.metadata.labels = labels;
  job.spec.selector ??= {};
  job.spec.selector.matchLabels ??= {};
  setIfAbsent(job.spec.selector.matchLabels, JOB_LABELS.controllerUid, uid);
}

function defaultJob(obj: Json): void {
  const spec = (obj.spec ??= {});
  if (spec.completions == null && spec.parallelism == null) spec.completions = 1;
  setIfAbsent(spec, 'parallelism', 1);
  setIfAbsent(spec, 'backoffLimit', 6);
  setIfAbsent(spec, 'completionMode', 'NonIndexed');
  setIfAbsent(spec, 'suspend', false);
  setIfAbsent(spec, 'manualSelector', false);
  setIfAbsent(spec, 'podReplacementPolicy', spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed');
  generateJobSelector(obj);
  // A Job without labels of its own is labelled like its pods.
  const templateLabels = spec.template?.metadata?.labels;
  obj.metadata ??= {};
  if (templateLabels && Object.keys(obj.metadata.labels ?? {}).length === 0) {
    obj.metadata.labels = { ...templateLabels };
  }
  defaultPodTemplate(spec.template);
}

function defaultCronJob(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'concurrencyPolicy', 'Allow');
  setIfAbsent(spec, 'suspend', false);
  setIfAbsent(spec, 'successfulJobsHistoryLimit', 3);
  setIfAbsent(spec, 'failedJobsHistoryLimit', 1);
  const jobTemplate = (spec.jobTemplate ??= {});
  jobTemplate.metadata ??= {};
  if (!('creationTimestamp' in jobTemplate.metadata)) jobTemplate.metadata.creationTimestamp = null;
  jobTemplate.spec ??= {};
  defaultPodTemplate(jobTemplate.spec.template);
}

function defaultServicePorts(ports: Json[] | undefined): void {
  for (const port of ports ?? []) {
    setIfAbsent(port, 'protocol', 'TCP');
    if (
      port.targetPort === undefined ||
      port.targetPort === null ||
      port.targetPort === 0 ||
      port.targetPort === ''
    ) {
      port.targetPort = port.port;
    }
  }
}

function defaultService(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'type', 'ClusterIP');
  setIfAbsent(spec, 'sessionAffinity', 'None');
  if (spec.sessionAffinity === 'ClientIP') {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    setIfAbsent(spec.sessionAffinityConfig.clientIP, 'timeoutSeconds', 10800);
  }
  defaultServicePorts(spec.ports);
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer')
    setIfAbsent(spec, 'externalTrafficPolicy', 'Cluster');
  if (spec.type === 'LoadBalancer') setIfAbsent(spec, 'allocateLoadBalancerNodePorts', true);
  if (spec.type === 'ExternalName') return;
  setIfAbsent(spec, 'internalTrafficPolicy', 'Cluster');
  // kubetime is a single-stack IPv4 cluster. Headless services without a selector get every
  // family the cluster has, which upstream expresses as RequireDualStack.
  const headlessWithoutSelector = spec.clusterIP === 'None' && !spec.selector;
  setIfAbsent(spec, 'ipFamilyPolicy', headlessWithoutSelector ? 'RequireDualStack' : 'SingleStack');
  setIfAbsent(spec, 'ipFamilies', ['IPv4']);
}

function defaultNamespace(obj: Json): void {
  obj.metadata ??= {};
  if (obj.metadata.name) {
    obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
  }
  obj.spec ??= {};
  setIfAbsent(obj.spec, 'finalizers', ['kubernetes']);
  obj.status ??= {};
  setIfAbsent(obj.status, 'phase', 'Active');
}

/** stringData is write-only convenience: the apiserver folds it into data (it wins) and drops it. */
function defaultSecret(obj: Json): void {
  setIfAbsent(obj, 'type', 'Opaque');
  if (obj.stringData) {
    obj.data ??= {};
    for (const [key, value] of Object.entries(obj.stringData)) {
      obj.data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    }
    delete obj.stringData;
  }
}

function defaultPersistentVolume(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'persistentVolumeReclaimPolicy', 'Retain');
  setIfAbsent(spec, 'volumeMode', 'Filesystem');
  obj.status ??= {};
  setIfAbsent(obj.status, 'phase', 'Pending');
}

function defaultEndpoints(obj: Json): void {
  for (const subset of obj.subsets ?? []) {
    for (const port of subset.ports ?? []) setIfAbsent(port, 'protocol', 'TCP');
  }
}

function defaultEndpointSlice(obj: Json): void {
  for (const port of obj.ports ?? []) {
    setIfAbsent(port, 'name', '');
    setIfAbsent(port, 'protocol', 'TCP');
  }
}

function defaultHpaV1(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'minReplicas', 1);
}

/** 80% CPU is what the autoscaler targets when no metric is given. */
const DEFAULT_CPU_UTILIZATION = 80;

function defaultHpaV2(obj: Json): void {
  const spec = (obj.spec ??= {});
  setIfAbsent(spec, 'minReplicas', 1);
  if (!spec.metrics || spec.metrics.length === 0) {
    spec.metrics = [
      {
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION },
        },
      },
    ];
  }
  // Scaling rules are only completed when the user asked for custom behavior.
  if (spec.behavior) {
    const scaleUp = (spec.behavior.scaleUp ??= {});
    setIfAbsent(scaleUp, 'stabilizationWindowSeconds', 0);
    setIfAbsent(scaleUp, 'selectPolicy', 'Max');
    setIfAbsent(scaleUp, 'policies', [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ]);
    const scaleDown = (spec.behavior.scaleDown ??= {});
    setIfAbsent(scaleDown, 'selectPolicy', 'Max');
    setIfAbsent(scaleDown, 'policies', [{ type: 'Percent', value: 100, periodSeconds: 15 }]);
  }
}

function defaultNetworkPolicy(obj: Json): void {
  const spec = (obj.spec ??= {});
  for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
    for (const port of rule.ports ?? []) setIfAbsent(port, 'protocol', 'TCP');
  }
  if (!spec.policyTypes || spec.policyTypes.length === 0) {
    spec.policyTypes = spec.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}

function defaultIngressClass(obj: Json): void {
  const parameters = obj.spec?.parameters;
  if (parameters && parameters.scope === undefined) parameters.scope = 'Cluster';
}

function defaultRoleBindingSubjects(obj: Json): void {
  for (const subject of obj.subjects ?? []) {
    if (subject.apiGroup !== undefined) continue;
    subject.apiGroup = subject.kind === 'ServiceAccount' ? '' : 'rbac.authorization.k8s.io';
  }
}

function defaultStorageClass(obj: Json): void {
  setIfAbsent(obj, 'reclaimPolicy', 'Delete');
  setIfAbsent(obj, 'volumeBindingMode', 'Immediate');
}

function defaultPriorityClass(obj: Json): void {
  setIfAbsent(obj, 'preemptionPolicy', 'PreemptLowerPriority');
}

function defaultPodTemplateObject(obj: Json): void {
  defaultPodTemplate((obj.template ??= {}));
}

function defaultNode(obj: Json): void {
  // A node that reports capacity but no allocatable can hand out all of it.
  const status = obj.status;
  if (status?.capacity && !status.allocatable) status.allocatable = { ...status.capacity };
}

function defaultLimitRange(obj: Json): void {
  // For containers a max doubles as the default limit, and the default limit (else the min)
  // as the default request.
  for (const limit of obj.spec?.limits ?? []) {
    if (limit.type !== 'Container') continue;
    const defaultLimit = { ...limit.max, ...limit.default };
    const defaultRequest = { ...limit.min, ...defaultLimit, ...limit.defaultRequest };
    if (Object.keys(defaultLimit).length) limit.default = defaultLimit;
    if (Object.keys(defaultRequest).length) limit.defaultRequest = defaultRequest;
  }
}

/** Keyed by `<group/version>/<Kind>` because the two HPA versions default differently. */
const DEFAULTERS: Record<string, Defaulter> = {
  'v1/Pod': defaultPod,
  'v1/PodTemplate': defaultPodTemplateObject,
  'v1/Service': defaultService,
  'v1/Namespace': defaultNamespace,
  'v1/Secret': defaultSecret,
  'v1/PersistentVolumeClaim': defaultPersistentVolumeClaim,
  'v1/PersistentVolume': defaultPersistentVolume,
  'v1/Endpoints': defaultEndpoints,
  'v1/Node': defaultNode,
  'v1/LimitRange': defaultLimitRange,
  'apps/v1/Deployment': defaultDeployment,
  'apps/v1/ReplicaSet': defaultReplicaSet,
  'apps/v1/StatefulSet': defaultStatefulSet,
  'apps/v1/DaemonSet': defaultDaemonSet,
  'batch/v1/Job': defaultJob,
  'batch/v1/CronJob': defaultCronJob,
  'autoscaling/v1/HorizontalPodAutoscaler': defaultHpaV1,
  'autoscaling/v2/HorizontalPodAutoscaler': defaultHpaV2,
  'discovery.k8s.io/v1/EndpointSlice': defaultEndpointSlice,
  'networking.k8s.io/v1/NetworkPolicy': defaultNetworkPolicy,
  'networking.k8s.io/v1/IngressClass': defaultIngressClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': defaultRoleBindingSubjects,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': defaultRoleBindingSubjects,
  'storage.k8s.io/v1/StorageClass': defaultStorageClass,
  'scheduling.k8s.io/v1/PriorityClass': defaultPriorityClass,
};

/**
 * Returns a defaulted copy of `obj`; the input is never changed. Jobs get their generated
 * selector and pod labels only when `metadata.uid` is already set, so callers assign the uid
 * first. Safe to call again on an already defaulted object.
 */
export function applyDefaults(type: ResourceType, obj: KubeObject): KubeObject {
  const copy = deepClone(obj);
  copy.metadata ??= {};
  DEFAULTERS[`${groupVersion(type)}/${type.kind}`]?.(copy);
  return copy;
}
