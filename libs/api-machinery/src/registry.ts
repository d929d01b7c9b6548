/**
 * The built-in resource types kubetime serves, with the group/version, scope, names and
 * categories a real v1.32 apiserver advertises. Everything that needs to know "what is a
 * deployment" (discovery, storage keys, tables, OpenAPI, the protobuf codec) starts here.
 */

export interface SubresourceType {
  name: string;
  /** Kind the subresource speaks, when it differs from the parent (scale -> autoscaling/v1 Scale). */
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
}

export interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: SubresourceType[];
  /**
   * etcd key segment under /registry, exactly where kube-apiserver puts this resource
   * (services live under services/specs, nodes under minions...). Two API views of one
   * storage (core/v1 and events.k8s.io/v1 Events; autoscaling v1 and v2) share it.
   */
  storagePrefix: string;
  /** The group/version objects of this storage are kept in; other views convert. */
  storageVersion: string;
  /** Resources that no store keeps: reviews answered on the spot. */
  virtual?: boolean;
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS = (kind: string): SubresourceType => ({
  name: 'status',
  kind,
  verbs: ['get', 'patch', 'update'],
});
const SCALE: SubresourceType = {
  name: 'scale',
  group: 'autoscaling',
  version: 'v1',
  kind: 'Scale',
  verbs: ['get', 'patch', 'update'],
};

interface Spec {
  gv: string;
  resource: string;
  kind: string;
  namespaced?: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: SubresourceType[];
  storagePrefix?: string;
  storageVersion?: string;
  virtual?: boolean;
  verbs?: string[];
}

function define(spec: Spec): ResourceType {
  const [group, version] = spec.gv.includes('/') ? spec.gv.split('/') : ['', spec.gv];
  return {
    group,
    version,
    resource: spec.resource,
    kind: spec.kind,
    singular: spec.kind.toLowerCase(),
    namespaced: spec.namespaced ?? true,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    verbs: spec.verbs ?? (spec.virtual ? ['create'] : CRUD),
    subresources: spec.subresources ?? [],
    storagePrefix: spec.storagePrefix ?? spec.resource,
    storageVersion: spec.storageVersion ?? spec.gv,
    virtual: spec.virtual,
  };
}

const ALL = ['all'];

export const RESOURCE_TYPES: readonly ResourceType[] = [
  // core/v1
  define({ gv: 'v1', resource: 'bindings', kind: 'Binding', verbs: ['create'], virtual: true }),
  define({ gv: 'v1', resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] }),
  define({
    gv: 'v1',
    resource: 'endpoints',
    kind: 'Endpoints',
    shortNames: ['ep'],
    storagePrefix: 'services/endpoints',
  }),
  define({ gv: 'v1', resource: 'events', kind: 'Event', shortNames: ['ev'] }),
  define({ gv: 'v1', resource: 'limitranges', kind: 'LimitRange', shortNames: ['limits'] }),
  define({
    gv: 'v1',
    resource: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    subresources: [STATUS('Namespace'), { name: 'finalize', kind: 'Namespace', verbs: ['update'] }],
  }),
  define({
    gv: 'v1',
    resource: 'nodes',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    subresources: [STATUS('Node')],
    storagePrefix: 'minions',
  }),
  define({
    gv: 'v1',
    resource: 'persistentvolumeclaims',
    kind: 'PersistentVolumeClaim',
    shortNames: ['pvc'],
    subresources: [STATUS('PersistentVolumeClaim')],
  }),
  define({
    gv: 'v1',
    resource: 'persistentvolumes',
    kind: 'PersistentVolume',
    namespaced: false,
    shortNames: ['pv'],
    subresources: [STATUS('PersistentVolume')],
  }),
  define({
    gv: 'v1',
    resource: 'pods',
    kind: 'Pod',
    shortNames: ['po'],
    categories: ALL,
    subresources: [
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'eviction', group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      STATUS('Pod'),
    ],
  }),
  define({ gv: 'v1', resource: 'podtemplates', kind: 'PodTemplate' }),
  define({
    gv: 'v1',
    resource: 'resourcequotas',
    kind: 'ResourceQuota',
    shortNames: ['quota'],
    subresources: [STATUS('ResourceQuota')],
  }),
  define({ gv: 'v1', resource: 'secrets', kind: 'Secret' }),
  define({
    gv: 'v1',
    resource: 'serviceaccounts',
    kind: 'ServiceAccount',
    shortNames: ['sa'],
    subresources: [
      {
        name: 'token',
        group: 'authentication.k8s.io',
        version: 'v1',
        kind: 'TokenRequest',
        verbs: ['create'],
      },
    ],
  }),
  define({
    gv: 'v1',
    resource: 'services',
    kind: 'Service',
    shortNames: ['svc'],
    categories: ALL,
    subresources: [STATUS('Service')],
    storagePrefix: 'services/specs',
  }),
  // apps/v1
  define({ gv: 'apps/v1', resource: 'controllerrevisions', kind: 'ControllerRevision' }),
  define({
    gv: 'apps/v1',
    resource: 'daemonsets',
    kind: 'DaemonSet',
    shortNames: ['ds'],
    categories: ALL,
    subresources: [STATUS('DaemonSet')],
  }),
  define({
    gv: 'apps/v1',
    resource: 'deployments',
    kind: 'Deployment',
    shortNames: ['deploy'],
    categories: ALL,
    subresources: [SCALE, STATUS('Deployment')],
  }),
  define({
    gv: 'apps/v1',
    resource: 'replicasets',
    kind: 'ReplicaSet',
    shortNames: ['rs'],
    categories: ALL,
    subresources: [SCALE, STATUS('ReplicaSet')],
  }),
  define({
    gv: 'apps/v1',
    resource: 'statefulsets',
    kind: 'StatefulSet',
    shortNames: ['sts'],
    categories: ALL,
    subresources: [SCALE, STATUS('StatefulSet')],
  }),
  // autoscaling: v2 is the storage version and the preferred one
  define({
    gv: 'autoscaling/v2',
    resource: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
    shortNames: ['hpa'],
    categories: ALL,
    subresources: [STATUS('HorizontalPodAutoscaler')],
  }),
  define({
    gv: 'autoscaling/v1',
    resource: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
    shortNames: ['hpa'],
    categories: ALL,
    subresources: [STATUS('HorizontalPodAutoscaler')],
    storageVersion: 'autoscaling/v2',
  }),
  // batch/v1
  define({
    gv: 'batch/v1',
    resource: 'cronjobs',
    kind: 'CronJob',
    shortNames: ['cj'],
    categories: ALL,
    subresources: [STATUS('CronJob')],
  }),
  define({ gv: 'batch/v1', resource: 'jobs', kind: 'Job', categories: ALL, subresources: [STATUS('Job')] }),
  // coordination, discovery, events
  define({ gv: 'coordination.k8s.io/v1', resource: 'leases', kind: 'Lease' }),
  define({ gv: 'discovery.k8s.io/v1', resource: 'endpointslices', kind: 'EndpointSlice' }),
  define({
    gv: 'events.k8s.io/v1',
    resource: 'events',
    kind: 'Event',
    shortNames: ['ev'],
    storageVersion: 'v1',
  }),
  // networking, policy, rbac, scheduling, storage
  define({
    gv: 'networking.k8s.io/v1',
    resource: 'ingressclasses',
    kind: 'IngressClass',
    namespaced: false,
  }),
  define({
    gv: 'networking.k8s.io/v1',
    resource: 'ingresses',
    kind: 'Ingress',
    shortNames: ['ing'],
    subresources: [STATUS('Ingress')],
    storagePrefix: 'ingress',
  }),
  define({
    gv: 'networking.k8s.io/v1',
    resource: 'networkpolicies',
    kind: 'NetworkPolicy',
    shortNames: ['netpol'],
  }),
  define({
    gv: 'policy/v1',
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    shortNames: ['pdb'],
    subresources: [STATUS('PodDisruptionBudget')],
  }),
  define({
    gv: 'rbac.authorization.k8s.io/v1',
    resource: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    namespaced: false,
  }),
  define({
    gv: 'rbac.authorization.k8s.io/v1',
    resource: 'clusterroles',
    kind: 'ClusterRole',
    namespaced: false,
  }),
  define({ gv: 'rbac.authorization.k8s.io/v1', resource: 'rolebindings', kind: 'RoleBinding' }),
  define({ gv: 'rbac.authorization.k8s.io/v1', resource: 'roles', kind: 'Role' }),
  define({
    gv: 'scheduling.k8s.io/v1',
    resource: 'priorityclasses',
    kind: 'PriorityClass',
    namespaced: false,
    shortNames: ['pc'],
  }),
  define({
    gv: 'storage.k8s.io/v1',
    resource: 'storageclasses',
    kind: 'StorageClass',
    namespaced: false,
    shortNames: ['sc'],
  }),
  // reviews: answered on the spot, never stored
  define({
    gv: 'authentication.k8s.io/v1',
    resource: 'selfsubjectreviews',
    kind: 'SelfSubjectReview',
    namespaced: false,
    virtual: true,
  }),
  define({
    gv: 'authentication.k8s.io/v1',
    resource: 'tokenreviews',
    kind: 'TokenReview',
    namespaced: false,
    virtual: true,
  }),
  define({
    gv: 'authorization.k8s.io/v1',
    resource: 'localsubjectaccessreviews',
    kind: 'LocalSubjectAccessReview',
    virtual: true,
  }),
  define({
    gv: 'authorization.k8s.io/v1',
    resource: 'selfsubjectaccessreviews',
    kind: 'SelfSubjectAccessReview',
    namespaced: false,
    virtual: true,
  }),
  define({
    gv: 'authorization.k8s.io/v1',
    resource: 'selfsubjectrulesreviews',
    kind: 'SelfSubjectRulesReview',
    namespaced: false,
    virtual: true,
  }),
  define({
    gv: 'authorization.k8s.io/v1',
    resource: 'subjectaccessreviews',
    kind: 'SubjectAccessReview',
    namespaced: false,
    virtual: true,
  }),
];

export function groupVersion(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Group versions in discovery order; within a group the preferred (first listed) version leads. */
export function servedGroupVersions(): { group: string; versions: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const t of RESOURCE_TYPES) {
    const versions = groups.get(t.group) ?? [];
    if (!versions.includes(t.version)) versions.push(t.version);
    groups.set(t.group, versions);
  }
  return [...groups].map(([group, versions]) => ({ group, versions }));
}

export function findResourceType(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.resource === resource);
}

export function findResourceTypeByKind(apiVersion: string, kind: string): ResourceType | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.kind === kind);
}

export function resourcesInGroupVersion(group: string, version: string): ResourceType[] {
  return RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
}

/** The storage view of a resource type (the one whose storageVersion is its own group/version). */
export function storageTypeOf(type: ResourceType): ResourceType {
  if (groupVersion(type) === type.storageVersion) return type;
  const { group, version } = splitApiVersion(type.storageVersion);
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.kind === type.kind)!;
}

/** `deployments.apps` for messages, `pods` for the core group, as kube-apiserver words them. */
export function qualifiedResource(type: Pick<ResourceType, 'group' | 'resource'>): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

/** etcd-style key: /registry/<storagePrefix>/<namespace>/<name>, or without namespace when cluster-scoped. */
export function storageKey(type: ResourceType, namespace: string | undefined, name: string): string {
  return type.namespaced
    ? `/registry/${type.storagePrefix}/${namespace}/${name}`
    : `/registry/${type.storagePrefix}/${name}`;
}

export function storageKeyPrefix(type: ResourceType, namespace?: string): string {
  return type.namespaced && namespace
    ? `/registry/${type.storagePrefix}/${namespace}/`
    : `/registry/${type.storagePrefix}/`;
}
