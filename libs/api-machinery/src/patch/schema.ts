/**
 * Patch metadata of the built-in kinds: which lists merge by key, which merge as sets of
 * primitives. Only the exceptions are written down, mirroring the `patchStrategy` and
 * `patchMergeKey` struct tags of k8s.io/api: any other object merges field by field and any
 * other list is atomic (replaced whole). Server-side apply reuses the same keys as list-map keys.
 */
import { RESOURCE_TYPES, splitApiVersion } from '../registry';

export type FieldSchema = MapSchema | KeyedListSchema | SetSchema;

export interface MapSchema {
  type: 'map';
  fields: Readonly<Record<string, FieldSchema>>;
}

export interface KeyedListSchema {
  type: 'keyedList';
  mergeKey: string;
  item: MapSchema;
}

/** A list of primitives merged as a set (`finalizers`, `podCIDRs`). */
export interface SetSchema {
  type: 'set';
}

/** Fields not named here merge as plain maps; lists under it are atomic. */
export const OPEN_MAP: MapSchema = { type: 'map', fields: {} };
const PRIMITIVE_SET: SetSchema = { type: 'set' };

function map(fields: Record<string, FieldSchema>): MapSchema {
  return { type: 'map', fields };
}

function keyed(mergeKey: string, item: MapSchema = OPEN_MAP): KeyedListSchema {
  return { type: 'keyedList', mergeKey, item };
}

export function childSchema(schema: FieldSchema, field: string): FieldSchema {
  return (schema.type === 'map' && schema.fields[field]) || OPEN_MAP;
}

const OBJECT_META = map({ ownerReferences: keyed('uid'), finalizers: PRIMITIVE_SET });

const CONTAINER = map({
  ports: keyed('containerPort'),
  env: keyed('name'),
  volumeMounts: keyed('mountPath'),
  volumeDevices: keyed('devicePath'),
});

const POD_SPEC = map({
  volumes: keyed('name'),
  initContainers: keyed('name', CONTAINER),
  containers: keyed('name', CONTAINER),
  ephemeralContainers: keyed('name', CONTAINER),
  imagePullSecrets: keyed('name'),
  hostAliases: keyed('ip'),
  topologySpreadConstraints: keyed('topologyKey'),
  schedulingGates: keyed('name'),
  resourceClaims: keyed('name'),
});

const POD_TEMPLATE_SPEC = map({ metadata: OBJECT_META, spec: POD_SPEC });

const CONDITIONS = { conditions: keyed('type') };

const WORKLOAD = { spec: map({ template: POD_TEMPLATE_SPEC }), status: map(CONDITIONS) };

const KIND_SCHEMAS: Readonly<Record<string, Record<string, FieldSchema>>> = {
  Pod: {
    spec: POD_SPEC,
    status: map({
      ...CONDITIONS,
      podIPs: keyed('ip'),
      hostIPs: keyed('ip'),
      resourceClaimStatuses: keyed('name'),
    }),
  },
  PodTemplate: { template: POD_TEMPLATE_SPEC },
  Deployment: WORKLOAD,
  ReplicaSet: WORKLOAD,
  StatefulSet: WORKLOAD,
  DaemonSet: WORKLOAD,
  Job: WORKLOAD,
  CronJob: {
    spec: map({ jobTemplate: map({ metadata: OBJECT_META, spec: map({ template: POD_TEMPLATE_SPEC }) }) }),
  },
  Service: { spec: map({ ports: keyed('port') }), status: map(CONDITIONS) },
  Node: {
    spec: map({ podCIDRs: PRIMITIVE_SET }),
    status: map({ ...CONDITIONS, addresses: keyed('type') }),
  },
  ServiceAccount: { secrets: keyed('name') },
};

const BUILT_IN_GROUPS = new Set(RESOURCE_TYPES.map((t) => t.group));
const BUILT_IN_KINDS = new Set(RESOURCE_TYPES.flatMap((t) => [t.kind, ...t.subresources.map((s) => s.kind)]));

const schemaCache = new Map<string, MapSchema>();

/**
 * The schema of a built-in kind, or undefined for kinds kube-apiserver has no Go type for
 * (custom resources), which patch like JSON merge patch. A missing apiVersion means the
 * caller only knows the kind.
 */
export function schemaForKind(kind: string, apiVersion?: string): MapSchema | undefined {
  if (!BUILT_IN_KINDS.has(kind)) return undefined;
  if (apiVersion !== undefined && !BUILT_IN_GROUPS.has(splitApiVersion(apiVersion).group)) return undefined;
  let schema = schemaCache.get(kind);
  if (!schema) {
    // Every built-in kind keeps its conditions keyed by type, whatever else its status holds.
    schema = map({ status: map(CONDITIONS), ...KIND_SCHEMAS[kind], metadata: OBJECT_META });
    schemaCache.set(kind, schema);
  }
  return schema;
}
