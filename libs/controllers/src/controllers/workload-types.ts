import { findResourceType, ResourceType } from '@kubetime/api-machinery';

function type(group: string, version: string, resource: string): ResourceType {
  const found = findResourceType(group, version, resource);
  if (!found) throw new Error(`resource ${group}/${version}/${resource} is not registered`);
  return found;
}

/**
 * The API types the workload controllers write, kept apart from the runtime's TYPES so these
 * controllers add kinds without touching the shared runtime.
 */
export const WORKLOAD_TYPES = {
  serviceaccounts: type('', 'v1', 'serviceaccounts'),
  configmaps: type('', 'v1', 'configmaps'),
  services: type('', 'v1', 'services'),
  endpoints: type('', 'v1', 'endpoints'),
  endpointslices: type('discovery.k8s.io', 'v1', 'endpointslices'),
  jobs: type('batch', 'v1', 'jobs'),
  cronjobs: type('batch', 'v1', 'cronjobs'),
  statefulsets: type('apps', 'v1', 'statefulsets'),
  daemonsets: type('apps', 'v1', 'daemonsets'),
  controllerrevisions: type('apps', 'v1', 'controllerrevisions'),
  persistentvolumeclaims: type('', 'v1', 'persistentvolumeclaims'),
};
