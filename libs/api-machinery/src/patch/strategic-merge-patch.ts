/**
 * Strategic merge patch as kube-apiserver applies it to built-in kinds: maps merge, `null`
 * deletes, keyed lists merge element-wise, set lists union, other lists are replaced; plus the
 * directives kubectl emits (`$patch`, `$retainKeys`, `$setElementOrder/`, `$deleteFromPrimitiveList/`).
 */
import { Errors } from '../errors';
import { KubeObject } from '../object';
import { jsonMergePatch } from './json-merge-patch';
import { deepEqual, isJsonObject, JsonObject } from './json-values';
import {
  BAD_PRIMITIVE_LIST,
  BAD_RETAIN_KEYS,
  BAD_SET_ELEMENT_ORDER,
  missingMergeKey,
  notAnObject,
  patchNotApplicable,
  unknownPatchType,
} from './patch-errors';
import { childSchema, FieldSchema, KeyedListSchema, MapSchema, OPEN_MAP, schemaForKind } from './schema';

const PATCH_DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

export function strategicMergePatch(
  kind: string,
  original: KubeObject,
  patch: Record<string, unknown>,
): KubeObject {
  if (!isJsonObject(patch)) throw notAnObject(patch);
  const schema = schemaForKind(kind, original.apiVersion);
  if (!schema) return jsonMergePatch(original, patch) as KubeObject;
  return mergeMap(structuredClone(original) as JsonObject, patch, schema) as KubeObject;
}

/** `original` is a private copy owned by the merge; `patch` is only read. */
function mergeMap(original: JsonObject, patch: JsonObject, schema: MapSchema): JsonObject {
  const directive = patch[PATCH_DIRECTIVE];
  if (directive === 'replace') {
    const { [PATCH_DIRECTIVE]: _replace, ...replacement } = patch;
    return mergeMap({}, replacement, schema);
  }
  if (directive === 'delete') return {};
  if (directive !== undefined && directive !== 'merge') throw unknownPatchType(directive, patch);

  const result = RETAIN_KEYS in patch ? retainKeys(original, patch) : original;
  for (const field of patchedFields(patch)) {
    const fieldSchema = childSchema(schema, field);
    const before = result[field];
    const deletions = patch[DELETE_FROM_PRIMITIVE_LIST + field];
    if (deletions !== undefined) {
      if (!Array.isArray(deletions)) throw Errors.badRequest(BAD_PRIMITIVE_LIST);
      if (Array.isArray(result[field])) {
        result[field] = (result[field] as unknown[]).filter((v) => !deletions.some((d) => deepEqual(d, v)));
      }
    }
    if (field in patch) {
      const value = patch[field];
      if (value === null) delete result[field];
      else result[field] = mergeValue(result[field], value, fieldSchema);
    }
    const order = patch[SET_ELEMENT_ORDER + field];
    if (order !== undefined && Array.isArray(result[field])) {
      result[field] = applyElementOrder(result[field] as unknown[], before, order, fieldSchema);
    }
  }
  return result;
}

/** Field names the patch touches, directly or through a per-field directive. */
function patchedFields(patch: JsonObject): Set<string> {
  const fields = new Set<string>();
  for (const key of Object.keys(patch)) {
    if (key === PATCH_DIRECTIVE || key === RETAIN_KEYS) continue;
    if (key.startsWith(SET_ELEMENT_ORDER)) fields.add(key.slice(SET_ELEMENT_ORDER.length));
    else if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST))
      fields.add(key.slice(DELETE_FROM_PRIMITIVE_LIST.length));
    else fields.add(key);
  }
  return fields;
}

function retainKeys(original: JsonObject, patch: JsonObject): JsonObject {
  const keep = patch[RETAIN_KEYS];
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string'))
    throw Errors.badRequest(BAD_RETAIN_KEYS);
  // Clearing a key outside the list is how clients drop the old variant (`rollingUpdate: null`).
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$') || value === null) continue;
    if (!keep.includes(key)) throw patchNotApplicable();
  }
  return Object.fromEntries(Object.entries(original).filter(([key]) => keep.includes(key)));
}

function asMapSchema(schema: FieldSchema): MapSchema {
  return schema.type === 'map' ? schema : OPEN_MAP;
}

function mergeValue(original: unknown, patch: unknown, schema: FieldSchema): unknown {
  if (isJsonObject(patch)) {
    // A subtree the original lacks still goes through the merge, so directives and nulls inside
    // it are honoured rather than stored.
    return mergeMap(isJsonObject(original) ? original : {}, patch, asMapSchema(schema));
  }
  if (Array.isArray(patch)) {
    const base = Array.isArray(original) ? original : [];
    if (schema.type === 'keyedList') return mergeKeyedList(base, patch, schema);
    if (schema.type === 'set') return mergeSet(base, patch);
  }
  return structuredClone(patch);
}

function mergeKeyedList(original: unknown[], patch: unknown[], schema: KeyedListSchema): unknown[] {
  const { mergeKey } = schema;
  const replaceWhole = patch.some(
    (item) => isJsonObject(item) && item[PATCH_DIRECTIVE] === 'replace' && !(mergeKey in item),
  );
  const result = replaceWhole ? [] : original;
  for (const item of patch) {
    if (!isJsonObject(item)) throw missingMergeKey(item, mergeKey);
    const directive = item[PATCH_DIRECTIVE];
    if (directive === 'replace' && !(mergeKey in item)) continue;
    if (!(mergeKey in item)) throw missingMergeKey(item, mergeKey);
    const matches = (candidate: unknown) =>
      isJsonObject(candidate) && deepEqual(candidate[mergeKey], item[mergeKey]);
    if (directive === 'delete') {
      for (let i = result.length - 1; i >= 0; i--) if (matches(result[i])) result.splice(i, 1);
      continue;
    }
    const index = result.findIndex(matches);
    if (index >= 0) result[index] = mergeMap(result[index] as JsonObject, item, schema.item);
    else result.push(mergeMap({}, item, schema.item));
  }
  return result;
}

function mergeSet(original: unknown[], patch: unknown[]): unknown[] {
  const result = [...original];
  for (const value of patch) {
    if (!result.some((existing) => deepEqual(existing, value))) result.push(structuredClone(value));
  }
  return result;
}

/**
 * `$setElementOrder/<field>` fixes the order of the elements the client knows about; elements
 * only the server has keep their place relative to those, judged by the list before the patch.
 */
function applyElementOrder(
  merged: unknown[],
  before: unknown,
  order: unknown,
  schema: FieldSchema,
): unknown[] {
  if (!Array.isArray(order)) throw Errors.badRequest(BAD_SET_ELEMENT_ORDER);
  const identity = (item: unknown): unknown => {
    if (schema.type !== 'keyedList') return item;
    return isJsonObject(item) ? item[schema.mergeKey] : undefined;
  };
  const wanted = order.map((entry) => {
    if (schema.type === 'keyedList' && !(isJsonObject(entry) && schema.mergeKey in entry)) {
      throw Errors.badRequest(BAD_SET_ELEMENT_ORDER);
    }
    return identity(entry);
  });
  const positionIn = (list: unknown[], item: unknown) =>
    list.findIndex((candidate) => deepEqual(candidate, identity(item)));
  const beforeIds = (Array.isArray(before) ? before : []).map(identity);
  const serverPosition = (item: unknown) => {
    const position = positionIn(beforeIds, item);
    return position < 0 ? Number.POSITIVE_INFINITY : position;
  };

  const ordered = merged
    .filter((item) => positionIn(wanted, item) >= 0)
    .sort((a, b) => positionIn(wanted, a) - positionIn(wanted, b));
  const serverOnly = merged.filter((item) => positionIn(wanted, item) < 0);
  const result: unknown[] = [];
  while (ordered.length && serverOnly.length) {
    result.push(
      serverPosition(serverOnly[0]) < serverPosition(ordered[0]) ? serverOnly.shift() : ordered.shift(),
    );
  }
  return [...result, ...ordered, ...serverOnly];
}
