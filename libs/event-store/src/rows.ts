import { RawJson, type KubeObject } from '@kubetime/api-machinery';
import type {
  Body,
  BodyForm,
  EventType,
  Opaque,
  RequestMetadata,
  StoredEvent,
  StoredObject,
  WriteIntent,
} from './types';

/**
 * Encryption at rest is pluggable: @kubetime/encryption's ValueTransformer fits this shape.
 * Bodies of encrypted resources are sealed whole, as kube-apiserver seals whole etcd values,
 * because annotations such as last-applied-configuration repeat the payload.
 */
export interface BodyTransformer {
  encrypts(groupResource: string): boolean;
  seal(groupResource: string, plaintext: Buffer, storageKey: string): Buffer;
  open(stored: Buffer, storageKey: string): Buffer;
  describe(stored: Buffer): { encrypted: boolean; provider?: string; keyName?: string };
  /** The stored value is not in the form a write would produce now (the key was rotated). */
  needsRewrite(groupResource: string, stored: Buffer): boolean;
}

export const plaintextBodies: BodyTransformer = {
  encrypts: () => false,
  seal: (_r, plaintext) => plaintext,
  open: (stored) => stored,
  describe: () => ({ encrypted: false }),
  needsRewrite: () => false,
};

export function sealedWith(bodies: BodyTransformer, sealed: Buffer | null): string | undefined {
  if (!sealed) return undefined;
  const { provider, keyName } = bodies.describe(sealed);
  return provider ? `${provider}:${keyName}` : undefined;
}

export function groupResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

const COLUMN_NAMES = [
  'branch_id',
  'revision',
  'key',
  'api_group',
  'api_version',
  'resource',
  'kind',
  'namespace',
  'name',
  'uid',
  'type',
  'object',
  'sealed',
  'prev_revision',
  'create_revision',
  'version',
  'actor',
  'cause',
  'request',
  'recorded_at',
  'raw',
];

/**
 * What a state read needs of a row to make a StoredObject: the body, whatever opens or stands in for
 * it, and the key's counters. The audit columns are left out, since `pg` would parse each of them
 * (a timestamp, a JSON document) for every one of about 10,000 rows only for them to be dropped.
 */
const STATE_COLUMN_NAMES = [
  'branch_id',
  'revision',
  'key',
  'type',
  'object',
  'sealed',
  'raw',
  'create_revision',
  'version',
  'api_group',
  'api_version',
  'kind',
  'namespace',
  'name',
  'uid',
] as const;

function selectColumns(names: readonly string[], form: BodyForm, alias?: string): string {
  const t = alias ? `${alias}.` : '';
  return names
    .map((c) =>
      c === 'object' && form === 'raw'
        ? `jsonb_set(${t}object, '{metadata,resourceVersion}', to_jsonb(${t}revision::text))::text AS object`
        : `${t}${c}`,
    )
    .join(', ');
}

/**
 * The event columns to select for a read of the given form, of the table under `alias` when given. A
 * raw read takes the body as text with resourceVersion set by PostgreSQL, so `pg` hands the string on
 * unparsed and the bytes are already what a client is sent.
 */
export function selectEventColumns(form: BodyForm, alias?: string): string {
  return selectColumns(COLUMN_NAMES, form, alias);
}

/** selectEventColumns for a state read: the columns of a StateRow. */
export function selectStateColumns(form: BodyForm, alias?: string): string {
  return selectColumns(STATE_COLUMN_NAMES, form, alias);
}

export const EVENT_COLUMNS = selectEventColumns('decoded');

/**
 * Whether PostgreSQL's jsonb can hold this JSON text: it refuses U+0000 and unpaired surrogates in
 * strings, which etcd (and so Kubernetes) stores. JSON.stringify writes both as `\u` escapes, so a
 * text without the escapes is always fine; an escaped backslash followed by such letters is taken for
 * one too, which only means that body is kept as bytes.
 */
function jsonbHolds(json: string): boolean {
  return !json.includes('\\u') || !/\\u(?:0000|[dD][89a-fA-F])/.test(json);
}

/** A column value as both write paths send it: text, a number, bytes, or NULL. */
export type ColumnValue = string | number | Buffer | null;

/**
 * One event's values in EVENT_COLUMNS order, shared by the INSERT (eventColumns) and the COPY of a bulk
 * import so the two cannot store an event differently. Bodies are stored without resourceVersion (the
 * revision is), sealed when their resource is encrypted, and a body that arrived in stored form is kept
 * as it came. Sets the event's sealedWith.
 */
export function eventValues(
  e: StoredEvent,
  bodies: BodyTransformer,
  stored: WriteIntent['stored'] | undefined,
): ColumnValue[] {
  const raw = stored && 'raw' in stored ? stored.raw : null;
  let sealed: Buffer | null = stored && 'sealed' in stored ? stored.sealed : null;
  let body: string | null = null;
  if (!stored) {
    const { resourceVersion: _rv, ...metadata } = e.object.metadata;
    body = JSON.stringify({ ...e.object, metadata });
    if (bodies.encrypts(groupResource(e.group, e.resource))) {
      sealed = bodies.seal(groupResource(e.group, e.resource), Buffer.from(body, 'utf8'), e.key);
      body = null;
    } else if (!jsonbHolds(body)) {
      // Kept as plaintext bytes, which is what the identity provider stores and reads back: the
      // object is stored as a real apiserver would store it, only not queryable as jsonb.
      sealed = Buffer.from(body, 'utf8');
      body = null;
    }
  }
  e.sealedWith = sealedWith(bodies, sealed);
  return [
    e.branchId,
    e.revision,
    e.key,
    e.group,
    e.version,
    e.resource,
    e.kind,
    e.namespace,
    e.name,
    e.uid,
    e.type,
    body,
    sealed,
    e.prevRevision,
    e.createRevision,
    e.keyVersion,
    e.actor,
    e.cause,
    e.request ? JSON.stringify(e.request) : null,
    e.recordedAt.toISOString(),
    raw,
  ];
}

/** Positions in eventValues of the columns kubetime_append does not take from an event's JSON array. */
const BRANCH = 0;
const BODY = 11;
const SEALED = 12;
const RAW = 20;

/**
 * The parameters of kubetime_append (see its migration) for these events of one branch: the branch,
 * the other scalar columns as one JSON array per event, the plaintext bodies as one JSON array, and
 * the sealed and raw bytes, the n-th of each list being the n-th event (see eventValues). Text and
 * numbers go as JSON because `pg` escapes each element of a text[] parameter in JavaScript, one
 * regular expression and several string copies per value, about a tenth of the append path's busy CPU
 * time; JSON.stringify does the same escaping natively in one pass. JSON null and "" stay apart as
 * NULL and ''. Bodies are already JSON text, so they are joined into their array as they are.
 */
export function eventColumns(
  events: StoredEvent[],
  bodies: BodyTransformer,
  storedForm: (event: StoredEvent) => WriteIntent['stored'] | undefined,
): unknown[] {
  const branchId = events[0].branchId;
  const scalars: ColumnValue[][] = [];
  const objects: string[] = [];
  const sealed: (Buffer | null)[] = [];
  const raw: (Buffer | null)[] = [];
  for (const e of events) {
    if (e.branchId !== branchId)
      throw new Error(`one INSERT carries events of branches ${branchId} and ${e.branchId}`);
    const values = eventValues(e, bodies, storedForm(e));
    objects.push((values[BODY] as string | null) ?? 'null');
    sealed.push(values[SEALED] as Buffer | null);
    raw.push(values[RAW] as Buffer | null);
    scalars.push(values.filter((_v, i) => i !== BRANCH && i !== BODY && i !== SEALED && i !== RAW));
  }
  return [branchId, JSON.stringify(scalars), `[${objects.join(',')}]`, sealed, raw];
}

export interface EventRow<F extends BodyForm = 'decoded'> {
  branch_id: number;
  revision: string;
  key: string;
  api_group: string;
  api_version: string;
  resource: string;
  kind: string;
  namespace: string | null;
  name: string;
  uid: string;
  type: EventType;
  /** Text in a raw read, with resourceVersion set. */
  object: (F extends 'raw' ? string : KubeObject) | null;
  sealed: Buffer | null;
  prev_revision: string;
  create_revision: string;
  version: number;
  actor: string;
  cause: string | null;
  request: RequestMetadata | null;
  recorded_at: Date;
  raw: Buffer | null;
}

export type StateRow<F extends BodyForm = 'decoded'> = Pick<EventRow<F>, (typeof STATE_COLUMN_NAMES)[number]>;

/** The object of a body read in either form: decoded here if it came as text. */
export function objectOf(body: KubeObject | RawJson): KubeObject {
  return body instanceof RawJson ? (JSON.parse(body.text) as KubeObject) : body;
}

export function withResourceVersion(object: KubeObject, revision: number): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } };
}

/**
 * The body of a row. A value that cannot be read (kept raw, or sealed with a key that is not
 * configured) becomes an identity-only object marked opaque, so one such row never stops a branch
 * from loading; reading that object then fails with the reason, as kube-apiserver answers a value it
 * cannot decrypt.
 */
function bodyOf(
  row: StateRow<BodyForm>,
  bodies: BodyTransformer,
): { body: KubeObject | RawJson; opaque?: Opaque } {
  if (typeof row.object === 'string') return { body: new RawJson(row.object) };
  const versioned = (object: KubeObject) => withResourceVersion(object, Number(row.revision));
  if (row.object) return { body: versioned(row.object) };
  if (row.sealed) {
    try {
      return { body: versioned(JSON.parse(bodies.open(row.sealed, row.key).toString('utf8')) as KubeObject) };
    } catch (error) {
      return {
        body: versioned(identity(row)),
        opaque: { reason: error instanceof Error ? error.message : String(error) },
      };
    }
  }
  return {
    body: versioned(identity(row)),
    opaque: {
      reason: `the stored value of ${row.key} (${row.raw?.length ?? 0} bytes) could not be decoded when it was imported; it is kept as raw bytes`,
    },
  };
}

function identity(row: StateRow<BodyForm>): KubeObject {
  const apiVersion = row.api_group ? `${row.api_group}/${row.api_version}` : row.api_version;
  const metadata: KubeObject['metadata'] = { name: row.name, uid: row.uid };
  if (row.namespace) metadata.namespace = row.namespace;
  return { apiVersion, kind: row.kind, metadata };
}

export function eventFromRow<F extends BodyForm = 'decoded'>(
  row: EventRow<F>,
  bodies: BodyTransformer,
): StoredEvent<Body<F>> {
  const revision = Number(row.revision);
  // A decoded row's body is always decoded, so the body matches the row's form.
  const { body, opaque } = bodyOf(row, bodies) as { body: Body<F>; opaque?: Opaque };
  return {
    branchId: row.branch_id,
    revision,
    key: row.key,
    group: row.api_group,
    version: row.api_version,
    resource: row.resource,
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    uid: row.uid,
    type: row.type,
    object: body,
    prevRevision: Number(row.prev_revision),
    createRevision: Number(row.create_revision),
    keyVersion: row.version,
    actor: row.actor,
    cause: row.cause === null ? null : Number(row.cause),
    request: row.request,
    recordedAt: row.recorded_at,
    sealedWith: sealedWith(bodies, row.sealed),
    ...(opaque ? { opaque } : {}),
  };
}

export function storedObjectFromRow<F extends BodyForm = 'decoded'>(
  row: StateRow<F>,
  bodies: BodyTransformer,
): StoredObject<Body<F>> {
  // A decoded row's body is always decoded, so the body matches the row's form.
  const { body, opaque } = bodyOf(row, bodies) as { body: Body<F>; opaque?: Opaque };
  return {
    key: row.key,
    object: body,
    revision: Number(row.revision),
    branchId: row.branch_id,
    createRevision: Number(row.create_revision),
    keyVersion: row.version,
    sealedWith: sealedWith(bodies, row.sealed),
    ...(opaque ? { opaque } : {}),
  };
}
