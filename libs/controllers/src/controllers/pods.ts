import type { KubeObject } from '@kubetime/api-machinery';
import { findCondition, milliCpu, quantity } from './objects';

export function isTerminating(pod: KubeObject): boolean {
  return !!pod.metadata.deletionTimestamp;
}

/** Pods that count toward a ReplicaSet: not being deleted and not finished. */
export function isActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !isTerminating(pod) && phase !== 'Succeeded' && phase !== 'Failed';
}

export function isReady(pod: KubeObject): boolean {
  return findCondition(pod, 'Ready')?.status === 'True';
}

/** Ready for at least minReadySeconds; the second value is how long until it will be, when not yet. */
export function availability(
  pod: KubeObject,
  minReadySeconds: number,
  now: Date,
): { available: boolean; inMs?: number } {
  const ready = findCondition(pod, 'Ready');
  if (ready?.status !== 'True') return { available: false };
  if (!minReadySeconds) return { available: true };
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : now.getTime();
  const remaining = since + minReadySeconds * 1000 - now.getTime();
  return remaining <= 0 ? { available: true } : { available: false, inMs: remaining };
}

export interface Resources {
  milliCpu: number;
  memory: number;
}

/**
 * What the scheduler reserves for a pod: the sum of its containers' requests, or the largest init
 * container's when that is more (init containers run one at a time, before the others), plus the
 * pod overhead.
 */
export function podRequests(pod: KubeObject): Resources {
  const sum: Resources = { milliCpu: 0, memory: 0 };
  for (const c of pod.spec?.containers ?? []) {
    sum.milliCpu += milliCpu(c.resources?.requests?.cpu);
    sum.memory += quantity(c.resources?.requests?.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    sum.milliCpu = Math.max(sum.milliCpu, milliCpu(c.resources?.requests?.cpu));
    sum.memory = Math.max(sum.memory, quantity(c.resources?.requests?.memory));
  }
  sum.milliCpu += milliCpu(pod.spec?.overhead?.cpu);
  sum.memory += quantity(pod.spec?.overhead?.memory);
  return sum;
}
