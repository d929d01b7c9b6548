/**
 * Compiles the message tables into descriptors and maps each apiVersion/kind the codec accepts to
 * its top-level message. Kubernetes ships no protobuf schema for JavaScript, so this table is ours.
 */
import { CORE_V1 } from './core-v1';
import {
  APPS_V1,
  AUTHENTICATION_V1,
  AUTHORIZATION_V1,
  AUTOSCALING_V1,
  AUTOSCALING_V2,
  BATCH_V1,
  COORDINATION_V1,
  DISCOVERY_V1,
  EVENTS_V1,
  NETWORKING_V1,
  POLICY_V1,
  RBAC_V1,
  SCHEDULING_V1,
  STORAGE_V1,
} from './groups';
import { META, SPECIAL_MESSAGES, SpecialMessage } from './meta';
import type { MessageTable } from './notation';

export type ScalarType = 'string' | 'int32' | 'int64' | 'bool' | 'double' | 'bytes';

export type ValueType = { scalar: ScalarType } | { message: MessageDescriptor };

export interface FieldDescriptor {
  name: string;
  number: number;
  type: ValueType;
  cardinality: 'single' | 'repeated' | 'map';
  /** The Go struct is embedded with `json:",inline"`: its fields sit directly in the parent's JSON. */
  inline: boolean;
  /** Go drops the zero value from JSON (non-pointer omitempty scalar). */
  omitZero: boolean;
}

export interface MessageDescriptor {
  name: string;
  special?: SpecialMessage;
  fields: FieldDescriptor[];
  byNumber: Map<number, FieldDescriptor>;
}

const PACKAGES: Record<string, MessageTable> = {
  meta: META,
  core: CORE_V1,
  apps: APPS_V1,
  autoscalingV1: AUTOSCALING_V1,
  autoscalingV2: AUTOSCALING_V2,
  batch: BATCH_V1,
  coordination: COORDINATION_V1,
  discovery: DISCOVERY_V1,
  events: EVENTS_V1,
  networking: NETWORKING_V1,
  policy: POLICY_V1,
  rbac: RBAC_V1,
  scheduling: SCHEDULING_V1,
  storage: STORAGE_V1,
  authentication: AUTHENTICATION_V1,
  authorization: AUTHORIZATION_V1,
};

/** Which package each group/version's kinds live in; Status and DeleteOptions are added to all. */
const GROUP_VERSIONS: Record<string, string> = {
  v1: 'core',
  'apps/v1': 'apps',
  'autoscaling/v1': 'autoscalingV1',
  'autoscaling/v2': 'autoscalingV2',
  'batch/v1': 'batch',
  'coordination.k8s.io/v1': 'coordination',
  'discovery.k8s.io/v1': 'discovery',
  'events.k8s.io/v1': 'events',
  'networking.k8s.io/v1': 'networking',
  'policy/v1': 'policy',
  'rbac.authorization.k8s.io/v1': 'rbac',
  'scheduling.k8s.io/v1': 'scheduling',
  'storage.k8s.io/v1': 'storage',
  'authentication.k8s.io/v1': 'authentication',
  'authorization.k8s.io/v1': 'authorization',
};

/** Messages that are top-level kinds although they carry no ObjectMeta of their own. */
const KINDS_WITHOUT_OBJECT_META = new Set(['meta.Status', 'meta.DeleteOptions']);

const SCALARS = new Set<string>(['string', 'int32', 'int64', 'bool', 'double', 'bytes']);
const TOKEN =
  /^(\.\.\.)?([A-Za-z][A-Za-z0-9]*)=([1-9][0-9]*)(?::(\[[A-Za-z.0-9]+\]|\{[A-Za-z.0-9]+\}|[A-Za-z.0-9]+))?(\?)?$/;

const descriptors = new Map<string, MessageDescriptor>();

function resolveName(pkg: string, typeName: string): string {
  if (typeName.includes('.')) return typeName;
  for (const candidate of [pkg, 'meta', 'core']) {
    const qualified = `${candidate}.${typeName}`;
    if (PACKAGES[candidate][typeName] !== undefined || (candidate === 'meta' && isSpecial(typeName)))
      return qualified;
  }
  throw new Error(`protobuf schema: ${pkg} refers to unknown message ${typeName}`);
}

function isSpecial(name: string): name is SpecialMessage {
  return (SPECIAL_MESSAGES as readonly string[]).includes(name);
}

function descriptorFor(qualifiedName: string): MessageDescriptor {
  const existing = descriptors.get(qualifiedName);
  if (existing) return existing;
  const [pkg, name] = qualifiedName.split('.');
  const descriptor: MessageDescriptor = { name: qualifiedName, fields: [], byNumber: new Map() };
  descriptors.set(qualifiedName, descriptor);
  if (pkg === 'meta' && isSpecial(name)) {
    descriptor.special = name;
    return descriptor;
  }
  const layout = PACKAGES[pkg]?.[name];
  if (layout === undefined) throw new Error(`protobuf schema: unknown message ${qualifiedName}`);
  for (const token of layout.split(/\s+/).filter(Boolean)) {
    const match = TOKEN.exec(token);
    if (!match) throw new Error(`protobuf schema: bad field token "${token}" in ${qualifiedName}`);
    const [, inline, fieldName, number, rawType = 'string', optionalZero] = match;
    const cardinality = rawType.startsWith('[') ? 'repeated' : rawType.startsWith('{') ? 'map' : 'single';
    const typeName = cardinality === 'single' ? rawType : rawType.slice(1, -1);
    const type: ValueType = SCALARS.has(typeName)
      ? { scalar: typeName as ScalarType }
      : { message: descriptorFor(resolveName(pkg, typeName)) };
    const field: FieldDescriptor = {
      name: fieldName,
      number: Number(number),
      type,
      cardinality,
      inline: Boolean(inline),
      omitZero: Boolean(optionalZero),
    };
    if (descriptor.byNumber.has(field.number)) {
      throw new Error(`protobuf schema: ${qualifiedName} uses field number ${field.number} twice`);
    }
    descriptor.fields.push(field);
    descriptor.byNumber.set(field.number, field);
  }
  descriptor.fields.sort((a, b) => a.number - b.number);
  return descriptor;
}

function buildKindIndex(): Map<string, MessageDescriptor> {
  const index = new Map<string, MessageDescriptor>();
  for (const [groupVersion, pkg] of Object.entries(GROUP_VERSIONS)) {
    for (const [name, layout] of Object.entries(PACKAGES[pkg])) {
      if (/(^|\s)metadata=1:ObjectMeta(\s|$)/.test(layout)) {
        index.set(`${groupVersion}/${name}`, descriptorFor(`${pkg}.${name}`));
      }
    }
    for (const qualified of KINDS_WITHOUT_OBJECT_META) {
      index.set(`${groupVersion}/${qualified.split('.')[1]}`, descriptorFor(qualified));
    }
  }
  // Templates and claim templates carry ObjectMeta but are never top-level objects.
  for (const key of [...index.keys()]) {
    if (/Template(Spec)?$/.test(key) && !key.endsWith('/PodTemplate')) index.delete(key);
  }
  return index;
}

const KIND_INDEX = buildKindIndex();

export function messageForKind(apiVersion: string, kind: string): MessageDescriptor | undefined {
  return KIND_INDEX.get(`${apiVersion}/${kind}`);
}

export function registeredKinds(): string[] {
  return [...KIND_INDEX.keys()];
}

/** Every message reachable from any table, compiled eagerly so a schema typo fails at load. */
export function allMessages(): MessageDescriptor[] {
  for (const [pkg, table] of Object.entries(PACKAGES)) {
    for (const name of Object.keys(table)) descriptorFor(`${pkg}.${name}`);
  }
  return [...descriptors.values()];
}
