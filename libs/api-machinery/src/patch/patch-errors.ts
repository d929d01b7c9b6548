/**
 * The failures kube-apiserver answers bad patches with. Wording follows upstream where clients
 * or users match on it; `unknownReason` mirrors errors the apiserver never converts to a
 * typed Status, which reach clients as a 500 with an empty reason.
 */
import { Errors, StatusError } from '../errors';
import { goFormat, goJsonTypeName } from './json-values';

export function notAnObject(body: unknown, prefix = ''): StatusError {
  return Errors.badRequest(
    `${prefix}json: cannot unmarshal ${goJsonTypeName(body)} into Go value of type map[string]interface {}`,
  );
}

/** The 422 kube-apiserver gives when a patch cannot be applied; it carries no detail. */
export function patchNotApplicable(): StatusError {
  return new StatusError(
    422,
    'Invalid',
    'the server rejected our request due to an error in our request',
    {},
  );
}

export function unknownReason(message: string): StatusError {
  return new StatusError(500, '', message);
}

export function unknownPatchType(directive: unknown, map: Record<string, unknown>): StatusError {
  return unknownReason(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(map)}`);
}

export function missingMergeKey(item: unknown, mergeKey: string): StatusError {
  return unknownReason(`map: ${goFormat(item)} does not contain declared merge key: ${mergeKey}`);
}

export const BAD_PRIMITIVE_LIST = 'invalid patch format of primitive list';
export const BAD_RETAIN_KEYS = 'invalid patch format of retainKeys';
export const BAD_SET_ELEMENT_ORDER = 'invalid patch format of setElementOrder list';
