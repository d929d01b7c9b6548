/**
 * The path items of a group-version document. kubectl reads two things from them: `explain` finds
 * a resource's kind through the `x-kubernetes-group-version-kind` of its operations, and apply,
 * create and replace only trust the server to validate fields when the kind's PATCH operation lists
 * a `fieldValidation` query parameter. PATCH carries no requestBody on purpose: with one, kubectl
 * would compute strategic merge patches from these schemas instead of its compiled-in types.
 */
import { groupVersion, ResourceType, SubresourceType } from '../registry';
import { GroupVersionKind, Schema } from './schema';

interface Parameter {
  name: string;
  in: 'query' | 'path';
  description: string;
  required?: boolean;
  schema: Schema;
}

export interface Operation {
  description: string;
  operationId: string;
  tags: string[];
  parameters: Parameter[];
  requestBody?: object;
  responses: Record<string, object>;
  'x-kubernetes-action': string;
  'x-kubernetes-group-version-kind': GroupVersionKind;
}

export type PathItem = { parameters?: Parameter[] } & Partial<
  Record<'get' | 'put' | 'post' | 'patch' | 'delete', Operation>
>;

const STRING: Schema = { type: 'string' };
const INTEGER: Schema = { type: 'integer' };
const BOOLEAN: Schema = { type: 'boolean' };

function query(name: string, schema: Schema, description: string): Parameter {
  return { name, in: 'query', description, schema };
}

const PRETTY = query('pretty', STRING, "If 'true', the output is indented for people to read.");
const DRY_RUN = query(
  'dryRun',
  STRING,
  'When set to All, the request is checked and processed but nothing is persisted. No other value is accepted.',
);
const FIELD_MANAGER = query(
  'fieldManager',
  STRING,
  'The name recorded in managedFields for the actor making this change. At most 128 printable characters.',
);
const FIELD_VALIDATION = query(
  'fieldValidation',
  STRING,
  'What to do with fields the schema does not know or that appear twice: Ignore drops them silently, ' +
    'Warn (the default) drops them and returns a warning header per field, Strict rejects the request.',
);
const FORCE = query(
  'force',
  BOOLEAN,
  'Apply patches only: take ownership of fields other managers own instead of failing with a conflict.',
);
const GRACE_PERIOD = query(
  'gracePeriodSeconds',
  INTEGER,
  'Seconds to wait before the object is deleted; zero deletes at once, unset uses the kind’s default.',
);
const PROPAGATION = query(
  'propagationPolicy',
  STRING,
  'How dependents are garbage collected: Orphan, Background or Foreground.',
);
const LIST_PARAMETERS: Parameter[] = [
  query(
    'allowWatchBookmarks',
    BOOLEAN,
    'Watch only: ask for BOOKMARK events carrying the latest resourceVersion.',
  ),
  query('continue', STRING, 'The token from a previous chunked list response, to fetch the next chunk.'),
  query(
    'fieldSelector',
    STRING,
    'Restrict the result to objects whose fields match, e.g. metadata.name=web.',
  ),
  query('labelSelector', STRING, 'Restrict the result to objects whose labels match the selector.'),
  query(
    'limit',
    INTEGER,
    'The most items to return in one response; a continue token is given if more remain.',
  ),
  query('resourceVersion', STRING, 'The resource version the list or watch starts from.'),
  query('resourceVersionMatch', STRING, 'How resourceVersion is compared for lists: Exact or NotOlderThan.'),
  query('sendInitialEvents', BOOLEAN, 'Watch only: start with synthetic ADDED events for the current state.'),
  query('timeoutSeconds', INTEGER, 'End the list or watch call after this many seconds.'),
  query('watch', BOOLEAN, 'Stream changes to the selected objects instead of listing them.'),
];

function pathParameter(name: string, description: string): Parameter {
  return { name, in: 'path', required: true, description, schema: STRING };
}

const NAME = pathParameter('name', 'The name of the object.');
const NAMESPACE = pathParameter('namespace', 'The namespace the object lives in.');

function json(schema: Schema): object {
  return { content: { 'application/json': { schema }, 'application/yaml': { schema } } };
}

function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}

/** Tag and operation-id stem the way kube-apiserver words them: apps_v1 / AppsV1, core_v1 / CoreV1. */
function groupVersionWords(type: ResourceType): { tag: string; stem: string } {
  const group = type.group
    ? type.group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, 'Authorization')
    : 'core';
  return { tag: `${group.replace(/\./g, '_')}_${type.version}`, stem: pascal(group) + pascal(type.version) };
}

export interface OperationSchemas {
  /** Component name of a kind's schema, when the types package has it. */
  schemaOf(gvk: GroupVersionKind): string | undefined;
  ref(componentName: string): Schema;
}

/** Every path item serving one resource type: its collection, its objects and their subresources. */
export function resourcePaths(type: ResourceType, schemas: OperationSchemas): Record<string, PathItem> {
  const base = type.group ? `/apis/${groupVersion(type)}` : `/api/${type.version}`;
  const collection = type.namespaced
    ? `${base}/namespaces/{namespace}/${type.resource}`
    : `${base}/${type.resource}`;
  const { tag, stem } = groupVersionWords(type);
  const scope = type.namespaced ? 'Namespaced' : '';
  const gvk: GroupVersionKind = { group: type.group, version: type.version, kind: type.kind };
  const kindSchema = schemas.schemaOf(gvk);
  const body = kindSchema ? schemas.ref(kindSchema) : { type: 'object' as const };
  const listSchema = schemas.schemaOf({ ...gvk, kind: `${type.kind}List` });
  const verbs = new Set(type.verbs);

  const operation = (
    action: string,
    idVerb: string,
    suffix: string,
    description: string,
    parameters: Parameter[],
    response: Schema,
    operationGvk: GroupVersionKind = gvk,
  ): Operation => ({
    description,
    operationId: `${idVerb}${stem}${scope}${type.kind}${suffix}`,
    tags: [tag],
    parameters,
    responses: { '200': { description: 'OK', ...json(response) }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': operationGvk,
  });
  const withBody = (op: Operation, schema: Schema): Operation => ({
    ...op,
    requestBody: { required: true, ...json(schema) },
  });

  const paths: Record<string, PathItem> = {};
  const collectionItem: PathItem = { parameters: type.namespaced ? [NAMESPACE, PRETTY] : [PRETTY] };
  if (verbs.has('list')) {
    collectionItem.get = operation(
      'list',
      'list',
      '',
      `list or watch objects of kind ${type.kind}`,
      LIST_PARAMETERS,
      listSchema ? schemas.ref(listSchema) : { type: 'object' },
    );
  }
  if (verbs.has('create')) {
    collectionItem.post = withBody(
      operation(
        'post',
        'create',
        '',
        `create a ${type.kind}`,
        [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        body,
      ),
      body,
    );
  }
  if (verbs.has('deletecollection')) {
    collectionItem.delete = operation(
      'deletecollection',
      'deleteCollection',
      '',
      `delete collection of ${type.kind}`,
      [DRY_RUN, GRACE_PERIOD, PROPAGATION, ...LIST_PARAMETERS],
      { type: 'object' },
    );
  }
  paths[collection] = collectionItem;

  const item = `${collection}/{name}`;
  const objectItem: PathItem = { parameters: [NAME, ...(type.namespaced ? [NAMESPACE] : []), PRETTY] };
  if (verbs.has('get'))
    objectItem.get = operation('get', 'read', '', `read the specified ${type.kind}`, [], body);
  if (verbs.has('update')) {
    objectItem.put = withBody(
      operation(
        'put',
        'replace',
        '',
        `replace the specified ${type.kind}`,
        [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION],
        body,
      ),
      body,
    );
  }
  if (verbs.has('patch')) {
    objectItem.patch = operation(
      'patch',
      'patch',
      '',
      `partially update the specified ${type.kind}`,
      [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION, FORCE],
      body,
    );
  }
  if (verbs.has('delete')) {
    objectItem.delete = operation(
      'delete',
      'delete',
      '',
      `delete a ${type.kind}`,
      [DRY_RUN, GRACE_PERIOD, PROPAGATION],
      { type: 'object' },
    );
  }
  if (Object.keys(objectItem).length > 1) paths[item] = objectItem;

  for (const sub of type.subresources) {
    paths[`${item}/${sub.name}`] = subresourcePathItem(
      type,
      sub,
      objectItem.parameters!,
      operation,
      withBody,
      schemas,
    );
  }
  return paths;
}

type OperationFactory = (
  action: string,
  idVerb: string,
  suffix: string,
  description: string,
  parameters: Parameter[],
  response: Schema,
  operationGvk?: GroupVersionKind,
) => Operation;

function subresourcePathItem(
  type: ResourceType,
  sub: SubresourceType,
  parameters: Parameter[],
  operation: OperationFactory,
  withBody: (op: Operation, schema: Schema) => Operation,
  schemas: OperationSchemas,
): PathItem {
  const gvk: GroupVersionKind = {
    group: sub.group ?? type.group,
    version: sub.version ?? type.version,
    kind: sub.kind,
  };
  const subSchema = schemas.schemaOf(gvk);
  // Logs come back as plain text, not as the Pod the path belongs to.
  const response: Schema =
    sub.name === 'log' ? STRING : subSchema ? schemas.ref(subSchema) : { type: 'object' };
  const suffix = pascal(sub.name);
  const writeParameters = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
  const pathItem: PathItem = { parameters };
  for (const verb of sub.verbs) {
    const words = `${sub.name} of the specified ${type.kind}`;
    if (verb === 'get') pathItem.get = operation('get', 'read', suffix, `read ${words}`, [], response, gvk);
    if (verb === 'update') {
      pathItem.put = withBody(
        operation('put', 'replace', suffix, `replace ${words}`, writeParameters, response, gvk),
        response,
      );
    }
    if (verb === 'patch') {
      pathItem.patch = operation(
        'patch',
        'patch',
        suffix,
        `partially update ${words}`,
        [...writeParameters, FORCE],
        response,
        gvk,
      );
    }
    if (verb === 'create') {
      pathItem.post = withBody(
        operation('post', 'create', suffix, `create ${words}`, writeParameters, response, gvk),
        response,
      );
    }
  }
  return pathItem;
}
