import type { WriteIntent } from '@kubetime/event-store';
import { filler } from './harness';

/** Bytes of ConfigMap data; with metadata the stored object is about 1 KB. */
export const VALUE_BYTES = 900;

export function configMap(name: string, namespace = 'bench') {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data: { value: filler(VALUE_BYTES, name.length) },
  };
}

/** A create as the apiserver would hand it to the store: must-not-exist precondition, fresh uid. */
export function createIntent(name: string, namespace = 'bench'): WriteIntent {
  const object = configMap(name, namespace);
  return {
    key: `/registry/configmaps/${namespace}/${name}`,
    type: 'ADDED',
    group: '',
    version: 'v1',
    resource: 'configmaps',
    object: { ...object, metadata: { ...object.metadata, uid: `uid-${namespace}-${name}` } },
    expectedRevision: 0,
    actor: 'bench',
  };
}
