/**
 * How kube-apiserver merges lists of the built-in types. The TypeScript declarations the schemas
 * are generated from do not carry the Go struct tags behind these extensions, so the facts are
 * kept here for the types kubetime serves; everything not listed is a plain list (replaced whole).
 */
import { Schema } from './schema';

type ListExtensions = Pick<
  Schema,
  | 'x-kubernetes-patch-merge-key'
  | 'x-kubernetes-patch-strategy'
  | 'x-kubernetes-list-type'
  | 'x-kubernetes-list-map-keys'
>;

/** A list merged item by item, items told apart by the first key (strategic merge) or all keys (server-side apply). */
function keyed(...keys: string[]): ListExtensions {
  return {
    'x-kubernetes-patch-merge-key': keys[0],
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': keys,
  };
}

/** Like keyed, but a patch that switches an item's source (volumes) also drops the old source's fields. */
function keyedRetainingKeys(key: string): ListExtensions {
  return { ...keyed(key), 'x-kubernetes-patch-strategy': 'merge,retainKeys' };
}

/** Status conditions: merged by type, but each controller rewrites the whole list under server-side apply. */
function mergedByKeyAtomic(key: string): ListExtensions {
  return {
    'x-kubernetes-patch-merge-key': key,
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-list-type': 'atomic',
  };
}

const MERGED_SET: ListExtensions = {
  'x-kubernetes-patch-strategy': 'merge',
  'x-kubernetes-list-type': 'set',
};
const PLAIN_SET: ListExtensions = { 'x-kubernetes-list-type': 'set' };
const ATOMIC: ListExtensions = { 'x-kubernetes-list-type': 'atomic' };

const CORE = 'io.k8s.api.core.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

const CONTAINER_LISTS: Record<string, ListExtensions> = {
  args: ATOMIC,
  command: ATOMIC,
  env: keyed('name'),
  envFrom: ATOMIC,
  ports: keyed('containerPort', 'protocol'),
  resizePolicy: ATOMIC,
  volumeDevices: keyed('devicePath'),
  volumeMounts: keyed('mountPath'),
};

const CONDITIONS_BY_TYPE = { conditions: keyed('type') };

export const LIST_SEMANTICS: Record<string, Record<string, ListExtensions>> = {
  [`${META}.ObjectMeta`]: { finalizers: MERGED_SET, managedFields: ATOMIC, ownerReferences: keyed('uid') },
  [`${META}.LabelSelector`]: { matchExpressions: ATOMIC },
  [`${META}.LabelSelectorRequirement`]: { values: ATOMIC },

  [`${CORE}.PodSpec`]: {
    containers: keyed('name'),
    ephemeralContainers: keyed('name'),
    hostAliases: keyed('ip'),
    imagePullSecrets: keyed('name'),
    initContainers: keyed('name'),
    readinessGates: ATOMIC,
    resourceClaims: keyedRetainingKeys('name'),
    schedulingGates: keyed('name'),
    tolerations: ATOMIC,
    topologySpreadConstraints: keyed('topologyKey', 'whenUnsatisfiable'),
    volumes: keyedRetainingKeys('name'),
  },
  [`${CORE}.Container`]: CONTAINER_LISTS,
  [`${CORE}.EphemeralContainer`]: CONTAINER_LISTS,
  [`${CORE}.PodStatus`]: {
    conditions: keyed('type'),
    containerStatuses: ATOMIC,
    ephemeralContainerStatuses: ATOMIC,
    hostIPs: mergedByKeyAtomic('ip'),
    initContainerStatuses: ATOMIC,
    podIPs: keyed('ip'),
    resourceClaimStatuses: keyedRetainingKeys('name'),
  },
  [`${CORE}.PodSecurityContext`]: { supplementalGroups: ATOMIC, sysctls: ATOMIC },
  [`${CORE}.Capabilities`]: { add: ATOMIC, drop: ATOMIC },
  [`${CORE}.PodDNSConfig`]: { nameservers: ATOMIC, options: ATOMIC, searches: ATOMIC },
  [`${CORE}.HostAlias`]: { hostnames: ATOMIC },
  [`${CORE}.NodeSelector`]: { nodeSelectorTerms: ATOMIC },
  [`${CORE}.NodeSelectorTerm`]: { matchExpressions: ATOMIC, matchFields: ATOMIC },
  [`${CORE}.NodeSelectorRequirement`]: { values: ATOMIC },
  [`${CORE}.NodeAffinity`]: { preferredDuringSchedulingIgnoredDuringExecution: ATOMIC },
  [`${CORE}.PodAffinity`]: {
    preferredDuringSchedulingIgnoredDuringExecution: ATOMIC,
    requiredDuringSchedulingIgnoredDuringExecution: ATOMIC,
  },
  [`${CORE}.PodAntiAffinity`]: {
    preferredDuringSchedulingIgnoredDuringExecution: ATOMIC,
    requiredDuringSchedulingIgnoredDuringExecution: ATOMIC,
  },
  [`${CORE}.PodAffinityTerm`]: { matchLabelKeys: ATOMIC, mismatchLabelKeys: ATOMIC, namespaces: ATOMIC },
  [`${CORE}.TopologySpreadConstraint`]: { matchLabelKeys: ATOMIC },
  [`${CORE}.ConfigMapVolumeSource`]: { items: ATOMIC },
  [`${CORE}.SecretVolumeSource`]: { items: ATOMIC },
  [`${CORE}.ProjectedVolumeSource`]: { sources: ATOMIC },
  [`${CORE}.ExecAction`]: { command: ATOMIC },
  [`${CORE}.HTTPGetAction`]: { httpHeaders: ATOMIC },
  [`${CORE}.PersistentVolumeClaimSpec`]: { accessModes: ATOMIC },
  [`${CORE}.PersistentVolumeClaimStatus`]: { accessModes: ATOMIC, ...CONDITIONS_BY_TYPE },
  [`${CORE}.PersistentVolumeSpec`]: { accessModes: ATOMIC, mountOptions: ATOMIC },
  [`${CORE}.ServiceSpec`]: {
    clusterIPs: ATOMIC,
    externalIPs: ATOMIC,
    ipFamilies: ATOMIC,
    loadBalancerSourceRanges: ATOMIC,
    ports: keyed('port', 'protocol'),
  },
  [`${CORE}.ServiceStatus`]: CONDITIONS_BY_TYPE,
  [`${CORE}.LoadBalancerStatus`]: { ingress: ATOMIC },
  [`${CORE}.NodeSpec`]: { podCIDRs: MERGED_SET, taints: ATOMIC },
  [`${CORE}.NodeStatus`]: {
    addresses: keyed('type'),
    conditions: keyed('type'),
    images: ATOMIC,
    volumesAttached: ATOMIC,
    volumesInUse: ATOMIC,
  },
  [`${CORE}.NamespaceSpec`]: { finalizers: ATOMIC },
  [`${CORE}.NamespaceStatus`]: CONDITIONS_BY_TYPE,
  [`${CORE}.Endpoints`]: { subsets: ATOMIC },
  [`${CORE}.EndpointSubset`]: { addresses: ATOMIC, notReadyAddresses: ATOMIC, ports: ATOMIC },
  [`${CORE}.ServiceAccount`]: { imagePullSecrets: ATOMIC, secrets: keyed('name') },
  [`${CORE}.LimitRangeSpec`]: { limits: ATOMIC },
  [`${CORE}.ResourceQuotaSpec`]: { scopes: ATOMIC },
  [`${CORE}.ScopeSelector`]: { matchExpressions: ATOMIC },
  [`${CORE}.ScopedResourceSelectorRequirement`]: { values: ATOMIC },

  // Not a list: switching the strategy's type drops the old type's fields (`$retainKeys`), which
  // kubectl apply learns from this extension once /openapi/v2 serves it.
  'io.k8s.api.apps.v1.DeploymentSpec': { strategy: { 'x-kubernetes-patch-strategy': 'retainKeys' } },
  'io.k8s.api.apps.v1.DeploymentStatus': CONDITIONS_BY_TYPE,
  'io.k8s.api.apps.v1.ReplicaSetStatus': CONDITIONS_BY_TYPE,
  'io.k8s.api.apps.v1.StatefulSetStatus': CONDITIONS_BY_TYPE,
  'io.k8s.api.apps.v1.DaemonSetStatus': CONDITIONS_BY_TYPE,
  'io.k8s.api.apps.v1.StatefulSetSpec': { volumeClaimTemplates: ATOMIC },

  'io.k8s.api.batch.v1.JobStatus': { conditions: mergedByKeyAtomic('type') },
  'io.k8s.api.batch.v1.CronJobStatus': { active: ATOMIC },
  'io.k8s.api.batch.v1.PodFailurePolicy': { rules: ATOMIC },
  'io.k8s.api.batch.v1.PodFailurePolicyRule': { onPodConditions: ATOMIC },
  'io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement': { values: PLAIN_SET },

  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec': { metrics: ATOMIC },
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus': {
    conditions: keyed('type'),
    currentMetrics: ATOMIC,
  },
  'io.k8s.api.autoscaling.v2.HPAScalingRules': { policies: ATOMIC },

  'io.k8s.api.discovery.v1.EndpointSlice': { endpoints: ATOMIC, ports: ATOMIC },
  'io.k8s.api.discovery.v1.Endpoint': { addresses: PLAIN_SET },

  'io.k8s.api.networking.v1.IngressSpec': { rules: ATOMIC, tls: ATOMIC },
  'io.k8s.api.networking.v1.IngressTLS': { hosts: ATOMIC },
  'io.k8s.api.networking.v1.HTTPIngressRuleValue': { paths: ATOMIC },
  'io.k8s.api.networking.v1.IngressLoadBalancerStatus': { ingress: ATOMIC },
  'io.k8s.api.networking.v1.NetworkPolicySpec': { egress: ATOMIC, ingress: ATOMIC, policyTypes: ATOMIC },
  'io.k8s.api.networking.v1.NetworkPolicyIngressRule': { from: ATOMIC, ports: ATOMIC },
  'io.k8s.api.networking.v1.NetworkPolicyEgressRule': { ports: ATOMIC, to: ATOMIC },

  'io.k8s.api.policy.v1.PodDisruptionBudgetStatus': CONDITIONS_BY_TYPE,

  'io.k8s.api.rbac.v1.Role': { rules: ATOMIC },
  'io.k8s.api.rbac.v1.ClusterRole': { rules: ATOMIC },
  'io.k8s.api.rbac.v1.AggregationRule': { clusterRoleSelectors: ATOMIC },
  'io.k8s.api.rbac.v1.RoleBinding': { subjects: ATOMIC },
  'io.k8s.api.rbac.v1.ClusterRoleBinding': { subjects: ATOMIC },
  'io.k8s.api.rbac.v1.PolicyRule': {
    apiGroups: ATOMIC,
    nonResourceURLs: ATOMIC,
    resourceNames: ATOMIC,
    resources: ATOMIC,
    verbs: ATOMIC,
  },

  'io.k8s.api.storage.v1.StorageClass': { allowedTopologies: ATOMIC, mountOptions: ATOMIC },
};

/** Adds the list extensions to the properties of converted schemas, in place. */
export function applyListSemantics(schemas: Map<string, Schema>): void {
  for (const [name, fields] of Object.entries(LIST_SEMANTICS)) {
    const properties = schemas.get(name)?.properties;
    if (!properties) continue;
    for (const [field, extensions] of Object.entries(fields)) {
      if (properties[field]) properties[field] = { ...properties[field], ...extensions };
    }
  }
}
