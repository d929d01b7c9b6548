import { parseQuantity, type KubeObject, type OwnerReference } from '@kubetime/api-machinery';

/** The owner reference with controller: true, if any: an object has at most one controller. */
export function controllerRef(object: KubeObject): OwnerReference | undefined {
  return (object.metadata.ownerReferences ?? []).find((r) => r.controller);
}

export function ownerRefTo(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function namespacedKey(object: KubeObject): string {
  return object.metadata.namespace
    ? `${object.metadata.namespace}/${object.metadata.name}`
    : object.metadata.name!;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: undefined, name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string | null;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
}

export function findCondition(object: KubeObject, type: string): Condition | undefined {
  return (object.status?.conditions ?? []).find((c: Condition) => c.type === type);
}

/** Canonical JSON: keys sorted, so equal objects compare and hash equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A resource quantity ("250m", "1Gi", "1e3") as a number of base units; 0 when unparseable. */
export function quantity(value: unknown): number {
  return parseQuantity(value) ?? 0;
}

/** CPU in millicores, rounded up as the scheduler counts it. */
export function milliCpu(value: unknown): number {
  return Math.ceil(quantity(value) * 1000 - 1e-9);
}
