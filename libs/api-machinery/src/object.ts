/** Objects move through kubetime as plain JSON; typed views come from the resource type. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: any;
}

/**
 * A deep copy. Plain objects and arrays (all a decoded JSON body holds) are copied by hand, which is
 * several times faster than structuredClone for objects of a few KB and shows on every write; any
 * other object (a Date, a Buffer, a class instance) still goes through structuredClone.
 */
export function deepClone<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(deepClone) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = deepClone((value as Record<string, unknown>)[key]);
    // Assigning "__proto__" would set the copy's prototype instead of a field (JSON.parse makes it a field).
    if (key === '__proto__')
      Object.defineProperty(copy, key, {
        value: field,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else copy[key] = field;
  }
  return copy as T;
}

/** Kubernetes timestamps are RFC 3339 with second precision and a Z. */
export function rfc3339(date: Date): string {
  // A write stamps the same second several times (creation, managedFields), and writes come many
  // to a second: the last second's text is kept.
  const second = Math.floor(date.getTime() / 1000);
  if (second !== lastStamp.second) {
    // toISOString always ends in ".sssZ".
    lastStamp = { second, text: `${date.toISOString().slice(0, -5)}Z` };
  }
  return lastStamp.text;
}

let lastStamp = { second: NaN, text: '' };
