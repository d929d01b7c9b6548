import { applyOperation, getValueByPointer, Operation } from 'fast-json-patch';
import { Errors, StatusError } from '../errors';
import { KubeObject } from '../object';
import { jsonMergePatch } from './json-merge-patch';
import { goJsonTypeName, isJsonObject } from './json-values';
import { notAnObject, patchNotApplicable } from './patch-errors';
import { strategicMergePatch } from './strategic-merge-patch';

export type PatchType =
  | 'application/json-patch+json'
  | 'application/merge-patch+json'
  | 'application/strategic-merge-patch+json'
  | 'application/apply-patch+yaml';

/** kube-apiserver refuses longer JSON patches outright. */
const MAX_JSON_PATCH_OPERATIONS = 10000;

/**
 * Applies a decoded PATCH body to the current object. Server-side apply has its own entry point
 * (`serverSideApply`) because it needs the field manager and ownership, not just the body.
 */
export function applyPatch(
  kind: string,
  apiVersion: string,
  current: KubeObject,
  patchType: Exclude<PatchType, 'application/apply-patch+yaml'>,
  patch: unknown,
): KubeObject {
  switch (patchType) {
    case 'application/json-patch+json':
      return applyJsonPatch(current, patch);
    case 'application/merge-patch+json':
      if (!isJsonObject(patch)) throw notAnObject(patch, 'error decoding patch: ');
      return jsonMergePatch(current, patch) as KubeObject;
    case 'application/strategic-merge-patch+json':
      // `null` decodes to an empty patch upstream, which changes nothing.
      if (patch === null) return structuredClone(current);
      if (!isJsonObject(patch)) throw notAnObject(patch);
      return strategicMergePatch(kind, { ...current, apiVersion: current.apiVersion ?? apiVersion }, patch);
  }
}

function applyJsonPatch(current: KubeObject, patch: unknown): KubeObject {
  // A JSON `null` decodes to an empty operation list upstream.
  if (patch === null) return structuredClone(current);
  if (!Array.isArray(patch)) {
    throw Errors.badRequest(
      `json: cannot unmarshal ${goJsonTypeName(patch)} into Go value of type jsonpatch.Patch`,
    );
  }
  const malformed = patch.find((operation) => !isJsonObject(operation));
  if (malformed !== undefined) {
    throw Errors.badRequest(
      `json: cannot unmarshal ${goJsonTypeName(malformed)} into Go value of type jsonpatch.Operation`,
    );
  }
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new StatusError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    );
  }
  let patched: unknown = structuredClone(current);
  try {
    for (const [index, operation] of (structuredClone(patch) as Operation[]).entries()) {
      const lenient = replacesMissingMember(patched, operation)
        ? ({ ...operation, op: 'add' } as Operation)
        : operation;
      patched = applyOperation(patched, lenient, true, true, true, index).newDocument;
    }
  } catch {
    // Upstream answers every failed operation (a false `test`, a missing path, an unknown op)
    // with the same bare 422, so there is nothing more specific to say.
    throw patchNotApplicable();
  }
  if (!isJsonObject(patched)) throw patchNotApplicable();
  return patched as KubeObject;
}

/**
 * kube-apiserver's JSON patch library lets `replace` create a missing object member, and
 * clients depend on it (kubectl replaces /metadata/managedFields whether or not it exists).
 */
function replacesMissingMember(document: unknown, operation: Operation): boolean {
  if (operation.op !== 'replace' || typeof operation.path !== 'string' || !operation.path.includes('/'))
    return false;
  const split = operation.path.lastIndexOf('/');
  const member = operation.path
    .slice(split + 1)
    .replace(/~1/g, '/')
    .replace(/~0/g, '~');
  let parent: unknown;
  try {
    parent = getValueByPointer(document, operation.path.slice(0, split));
  } catch {
    return false;
  }
  return isJsonObject(parent) && !(member in parent);
}
