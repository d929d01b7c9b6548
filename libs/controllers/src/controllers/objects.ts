import type { KubeObject, OwnerReference } from '@kubetime/api-machinery';

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

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** A resource quantity ("250m", "1Gi", "1e3") as a number of base units; 0 when unparseable. */
export function quantity(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return 0;
  const match = /^([+-]?[0-9.]+)(e[+-]?[0-9]+|E[+-]?[0-9]+|[a-zA-Z]*)$/.exec(value.trim());
  if (!match) return 0;
  const number = Number(match[1]);
  const suffix = match[2];
  if (/^[eE][+-]?[0-9]+$/.test(suffix)) return number * 10 ** Number(suffix.slice(1));
  const factor = BINARY[suffix] ?? DECIMAL[suffix];
  return factor === undefined ? 0 : number * factor;
}

/** CPU in millicores, rounded up as the scheduler counts it. */
export function milliCpu(value: unknown): number {
  return Math.ceil(quantity(value) * 1000 - 1e-9);
}
