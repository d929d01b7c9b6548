import { Errors, findResourceType, ResourceType } from '@kubetime/api-machinery';

/** What a resource URL names, as kube-apiserver's RequestInfoResolver splits it. */
export interface ResourceRequest {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Set for the legacy `/api/v1/watch/...` and `/apis/G/V/watch/...` forms. */
  legacyWatch: boolean;
}

/**
 * `/api/v1/namespaces/default/pods/web/status` -> pods, default, web, status. Returns undefined
 * for paths that are not resource paths (discovery, health...).
 */
export function parseResourcePath(path: string): ResourceRequest | undefined {
  const parts = path
    .split('/')
    .filter((p) => p.length)
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;

  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // `namespaces/x/pods` is a namespaced collection; `namespaces/x` alone and `namespaces/x/status`
  // address the Namespace object itself.
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(group === '' && (rest[2] === 'status' || rest[2] === 'finalize') && rest.length === 3)
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (extra.length) throw Errors.pathNotFound();
  const type = findResourceType(group, version, resource);
  if (!type) throw Errors.pathNotFound();
  if (namespace !== undefined && !type.namespaced) throw Errors.pathNotFound();
  if (subresource && !type.subresources.some((s) => s.name === subresource)) throw Errors.pathNotFound();
  return { type, namespace, name, subresource, legacyWatch };
}
