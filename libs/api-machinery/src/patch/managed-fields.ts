/**
 * Field ownership: server-side apply (merge, conflicts, dropping fields a manager stopped
 * applying) and the Update entries recorded for every other write. Objects are compared as
 * "tracked views": the object without the fields no manager ever owns.
 */
import { Errors, StatusCause, StatusError } from '../errors';
import { KubeObject, ManagedFieldsEntry, rfc3339 } from '../object';
import { describePath, FieldPath, FieldSet, fieldSetOf, removePath, valueAt } from './field-set';
import { deepEqual, isJsonObject, JsonObject } from './json-values';
import { notAnObject, unknownReason } from './patch-errors';
import { childSchema, FieldSchema, MapSchema, OPEN_MAP, schemaForKind } from './schema';

/** Upstream's name for whoever wrote an object before anyone applied to it. */
const BEFORE_FIRST_APPLY = 'before-first-apply';

/** System-set metadata, never owned by a manager. */
const UNTRACKED_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'name',
  'namespace',
  'generateName',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];

interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  subresource?: string;
  fields: FieldSet;
}

export interface ServerSideApplyArgs {
  current: KubeObject | undefined;
  applied: KubeObject;
  manager: string;
  force: boolean;
  now: Date;
  subresource?: string;
}

export interface TrackUpdateArgs {
  before: KubeObject | undefined;
  after: KubeObject;
  manager: string;
  now: Date;
  subresource?: string;
}

export function serverSideApply({
  current,
  applied,
  manager,
  force,
  now,
  subresource,
}: ServerSideApplyArgs): KubeObject {
  if (!manager) throw Errors.badRequest('fieldManager: Required value: is required for apply patch');
  if (!isJsonObject(applied)) throw notAnObject(applied, 'error decoding YAML: ');
  if (applied.metadata !== undefined && !isJsonObject(applied.metadata)) {
    throw notAnObject(applied.metadata, 'error decoding YAML: metadata: ');
  }
  const managedInRequest = applied.metadata?.managedFields;
  if (
    managedInRequest !== undefined &&
    managedInRequest !== null &&
    !(Array.isArray(managedInRequest) && !managedInRequest.length)
  ) {
    throw Errors.badRequest('metadata.managedFields must be nil');
  }

  const apiVersion = applied.apiVersion ?? current?.apiVersion ?? '';
  const kind = applied.kind ?? current?.kind ?? '';
  const schema = schemaForKind(kind, apiVersion) ?? OPEN_MAP;
  const live: KubeObject = current
    ? structuredClone(current)
    : {
        apiVersion,
        kind,
        metadata: withoutUndefined({ name: applied.metadata?.name, namespace: applied.metadata?.namespace }),
      };
  // Merging writes into these views, so they must not share anything with live or applied.
  const liveView = structuredClone(trackedView(live, subresource));
  const appliedView = withoutNulls(structuredClone(trackedView(applied, subresource))) as JsonObject;
  const merged = mergeApplied(liveView, appliedView, schema, [], { apiVersion, kind }) as JsonObject;
  const appliedFields = fieldSetOf(appliedView, schema);

  let managers = current ? (decodeManagers(current.metadata.managedFields) ?? []) : [];
  if (current && managers.length === 0) {
    managers = [
      {
        manager: BEFORE_FIRST_APPLY,
        operation: 'Update',
        apiVersion: current.apiVersion ?? apiVersion,
        fields: fieldSetOf(liveView, schema),
      },
    ];
  }
  const isApplier = (m: Manager) =>
    m.manager === manager && m.operation === 'Apply' && (m.subresource ?? '') === (subresource ?? '');

  const conflicts = findConflicts(
    managers.filter((m) => !isApplier(m)),
    appliedFields,
    liveView,
    merged,
  );
  if (conflicts.length && !force) throw conflictError(conflicts);
  for (const { owner, path } of conflicts) owner.fields = owner.fields.difference(new FieldSet([path]));

  const othersOwn = managers
    .filter((m) => !isApplier(m))
    .reduce((all, m) => all.union(m.fields), new FieldSet());
  const previouslyApplied = managers.find(isApplier)?.fields ?? new FieldSet();
  const dropped = [...previouslyApplied.difference(appliedFields)].sort((a, b) => a.length - b.length);
  for (const path of dropped) {
    if (othersOwn.hasAtOrBelow(path) || appliedFields.hasAtOrBelow(path) || isKeyOfListItem(path)) continue;
    removePath(merged, path);
  }

  const applierEntry: Manager = {
    manager,
    operation: 'Apply',
    apiVersion,
    time: rfc3339(now),
    subresource,
    fields: appliedFields,
  };
  const existing = managers.findIndex(isApplier);
  const nextManagers =
    existing >= 0 ? managers.map((m, i) => (i === existing ? applierEntry : m)) : [...managers, applierEntry];

  const result = recombine(merged, live, subresource);
  result.apiVersion = apiVersion;
  result.kind = kind;
  result.metadata.managedFields = encodeManagers(
    nextManagers.filter((m) => m === applierEntry || m.fields.size),
  );
  return result;
}

/**
 * Returns `after` with its managedFields brought up to date. Only the top level and metadata are
 * copied (managedFields is the one field written); everything below is shared with `after`.
 */
export function trackUpdate({ before, after, manager, now, subresource }: TrackUpdateArgs): KubeObject {
  const result = { ...after, metadata: { ...after.metadata } };
  if (!manager) return result;
  const supplied = after.metadata.managedFields as unknown;
  if (isResetRequest(supplied)) {
    delete result.metadata.managedFields;
    return result;
  }
  const previous = before?.metadata.managedFields;
  const suppliedChanged = supplied !== undefined && supplied !== null && !deepEqual(supplied, previous);
  // A client may hand-edit managedFields (kubectl does when migrating to server-side apply);
  // an undecodable list is ignored rather than allowed to wipe ownership.
  let managers = (suppliedChanged ? decodeManagers(supplied) : undefined) ?? decodeManagers(previous) ?? [];

  const schema = schemaForKind(after.kind ?? '', after.apiVersion) ?? OPEN_MAP;
  const beforeView = before ? trackedView(before, subresource) : undefined;
  const afterView = trackedView(after, subresource);
  // A create changes every field it sets and removes none.
  const changed = beforeView
    ? new FieldSet(
        [...fieldSetOf(afterView, schema)].filter((path) => {
          const was = valueAt(beforeView, path);
          if (was === undefined) return true;
          return isLeafField(path) && !deepEqual(was, valueAt(afterView, path));
        }),
      )
    : fieldSetOf(afterView, schema);
  const removed = beforeView
    ? new FieldSet(
        [...fieldSetOf(beforeView, schema)].filter((path) => valueAt(afterView, path) === undefined),
      )
    : new FieldSet();

  const apiVersion = after.apiVersion ?? '';
  const isUpdater = (m: Manager) =>
    m.manager === manager &&
    m.operation === 'Update' &&
    m.apiVersion === apiVersion &&
    (m.subresource ?? '') === (subresource ?? '');
  managers = managers.map((m) => ({
    ...m,
    fields: (isUpdater(m) ? m.fields : m.fields.difference(changed)).withoutSubtrees(removed),
  }));
  if (changed.size) {
    const own = managers.find(isUpdater);
    if (own) {
      own.fields = own.fields.union(changed);
      own.time = rfc3339(now);
    } else {
      managers.push({
        manager,
        operation: 'Update',
        apiVersion,
        time: rfc3339(now),
        subresource,
        fields: changed,
      });
    }
  }

  const entries = encodeManagers(managers.filter((m) => m.fields.size));
  if (entries.length) result.metadata.managedFields = entries;
  else delete result.metadata.managedFields;
  return result;
}

interface Conflict {
  owner: Manager;
  path: FieldPath;
}

/** Fields other managers own whose value the apply would change. */
function findConflicts(
  others: Manager[],
  applied: FieldSet,
  live: JsonObject,
  merged: JsonObject,
): Conflict[] {
  const conflicts: Conflict[] = [];
  for (const owner of others) {
    for (const path of owner.fields.intersection(applied)) {
      if (!isLeafField(path)) continue;
      const was = valueAt(live, path);
      if (was !== undefined && !deepEqual(was, valueAt(merged, path))) conflicts.push({ owner, path });
    }
  }
  return conflicts.sort((a, b) => describePath(a.path).localeCompare(describePath(b.path)));
}

function describeManager(m: Manager): string {
  let text = JSON.stringify(m.manager);
  if (m.subresource) text += ` with subresource ${JSON.stringify(m.subresource)}`;
  return m.operation === 'Update' ? `${text} using ${m.apiVersion}` : text;
}

function conflictError(conflicts: Conflict[]): StatusError {
  const causes: StatusCause[] = conflicts.map(({ owner, path }) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describeManager(owner)}`,
    field: describePath(path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: ${causes[0].message}: ${causes[0].field}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const { owner, path } of conflicts) {
      const name = describeManager(owner);
      byManager.set(name, [...(byManager.get(name) ?? []), describePath(path)]);
    }
    const lines = [...byManager.keys()]
      .sort()
      .flatMap((name) => [`conflicts with ${name}:`, ...byManager.get(name)!.map((p) => `- ${p}`)]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

/** A field whose value is owned as a whole, as opposed to a list item or set member. */
function isLeafField(path: FieldPath): boolean {
  return path[path.length - 1].startsWith('f:');
}

/** The key field of a list item lives and dies with the item itself. */
function isKeyOfListItem(path: FieldPath): boolean {
  if (path.length < 2 || !path[path.length - 2].startsWith('k:')) return false;
  const key = JSON.parse(path[path.length - 2].slice(2)) as JsonObject;
  return path[path.length - 1].slice(2) in key;
}

function gvkText({ apiVersion, kind }: { apiVersion: string; kind: string }): string {
  return `${apiVersion.includes('/') ? apiVersion : `/${apiVersion}`}, Kind=${kind}`;
}

/** Merges an apply configuration into the live tracked view, keyed lists matched by key. */
function mergeApplied(
  live: unknown,
  applied: unknown,
  schema: FieldSchema,
  path: string[],
  type: { apiVersion: string; kind: string },
): unknown {
  if (isJsonObject(applied)) {
    const mapSchema: MapSchema = schema.type === 'map' ? schema : OPEN_MAP;
    const result: JsonObject = isJsonObject(live) ? { ...live } : {};
    for (const [field, value] of Object.entries(applied)) {
      result[field] = mergeApplied(
        result[field],
        value,
        childSchema(mapSchema, field),
        [...path, `f:${field}`],
        type,
      );
    }
    return result;
  }
  if (Array.isArray(applied) && schema.type === 'keyedList') {
    const result = Array.isArray(live) ? [...live] : [];
    applied.forEach((item, index) => {
      if (!isJsonObject(item) || !(schema.mergeKey in item)) {
        throw unknownReason(
          `failed to create typed patch object (${gvkText(type)}): ${describePath(path)}: element ${index}: ` +
            `associative list with keys has an element that omits key field ${JSON.stringify(schema.mergeKey)} (and doesn't have default value)`,
        );
      }
      const at = result.findIndex(
        (existing) => isJsonObject(existing) && deepEqual(existing[schema.mergeKey], item[schema.mergeKey]),
      );
      if (at >= 0) result[at] = mergeApplied(result[at], item, schema.item, path, type);
      else result.push(structuredClone(item));
    });
    return result;
  }
  if (Array.isArray(applied) && schema.type === 'set') {
    const result = Array.isArray(live) ? [...live] : [];
    for (const value of applied)
      if (!result.some((existing) => deepEqual(existing, value))) result.push(value);
    return result;
  }
  return structuredClone(applied);
}

/**
 * The object as managers see it: no type meta, no system metadata, and only the half of spec/status
 * this endpoint writes. Below metadata it shares the object's values; clone it before writing.
 */
function trackedView(object: KubeObject, subresource: string | undefined): JsonObject {
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = object as unknown as JsonObject;
  delete rest[subresource === 'status' ? 'spec' : 'status'];
  if (isJsonObject(rest.metadata)) {
    const metadata = { ...rest.metadata };
    for (const field of UNTRACKED_METADATA) delete metadata[field];
    if (Object.keys(metadata).length) rest.metadata = metadata;
    else delete rest.metadata;
  }
  return rest;
}

/** Puts the untracked parts of `live` back around a tracked view. */
function recombine(view: JsonObject, live: KubeObject, subresource: string | undefined): KubeObject {
  const result = structuredClone(view) as KubeObject;
  const untouched = subresource === 'status' ? 'spec' : 'status';
  if (untouched in live) result[untouched] = structuredClone(live[untouched]);
  const metadata: JsonObject = isJsonObject(result.metadata) ? result.metadata : {};
  for (const field of UNTRACKED_METADATA) {
    if (live.metadata[field] !== undefined) metadata[field] = structuredClone(live.metadata[field]);
  }
  result.metadata = metadata;
  return result;
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isJsonObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

function withoutUndefined(value: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** `[{}]` is how a client asks for managedFields to be stripped (an empty list means "unchanged"). */
function isResetRequest(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((entry) => isJsonObject(entry) && !Object.keys(entry).length)
  );
}

function decodeManagers(entries: unknown): Manager[] | undefined {
  if (!Array.isArray(entries) || !entries.length) return undefined;
  const managers: Manager[] = [];
  for (const entry of entries) {
    if (
      !isJsonObject(entry) ||
      typeof entry.manager !== 'string' ||
      (entry.operation !== 'Apply' && entry.operation !== 'Update') ||
      entry.fieldsType !== 'FieldsV1' ||
      (entry.fieldsV1 !== undefined && !isJsonObject(entry.fieldsV1))
    ) {
      return undefined;
    }
    managers.push({
      manager: entry.manager,
      operation: entry.operation,
      apiVersion: typeof entry.apiVersion === 'string' ? entry.apiVersion : '',
      time: typeof entry.time === 'string' ? entry.time : undefined,
      subresource: typeof entry.subresource === 'string' && entry.subresource ? entry.subresource : undefined,
      fields: FieldSet.fromFieldsV1(entry.fieldsV1 ?? {}),
    });
  }
  return managers;
}

function encodeManagers(managers: Manager[]): ManagedFieldsEntry[] {
  return managers.map((m) => ({
    manager: m.manager,
    operation: m.operation,
    apiVersion: m.apiVersion,
    ...(m.time ? { time: m.time } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1: m.fields.toFieldsV1(),
    ...(m.subresource ? { subresource: m.subresource } : {}),
  }));
}
