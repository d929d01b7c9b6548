import { findResourceType, RESOURCE_TYPES, ResourceType } from '@kubetime/api-machinery';

function type(group: string, version: string, resource: string): ResourceType {
  const found = findResourceType(group, version, resource);
  if (!found) throw new Error(`resource ${group}/${version}/${resource} is not registered`);
  return found;
}

/** The API types controllers write. Cache resources are the storage names (`pods`, `replicasets`). */
export const TYPES = {
  pods: type('', 'v1', 'pods'),
  nodes: type('', 'v1', 'nodes'),
  events: type('', 'v1', 'events'),
  replicasets: type('apps', 'v1', 'replicasets'),
  deployments: type('apps', 'v1', 'deployments'),
  leases: type('coordination.k8s.io', 'v1', 'leases'),
};

const STORED = RESOURCE_TYPES.filter(
  (t) => !t.virtual && t.storageVersion === (t.group ? `${t.group}/${t.version}` : t.version),
)
  // Longest prefix first, so `services/specs` wins over anything shorter it shares a start with.
  .sort((a, b) => b.storagePrefix.length - a.storagePrefix.length);

/** The storage type a key belongs to (`/registry/minions/n1` -> core/v1 nodes). */
export function typeOfKey(key: string): ResourceType | undefined {
  return STORED.find((t) => key.startsWith(`/registry/${t.storagePrefix}/`));
}

/** The type to write an object of a cached (storage) resource through. */
export function typeOfStored(group: string, version: string, resource: string): ResourceType | undefined {
  return findResourceType(group, version, resource);
}
