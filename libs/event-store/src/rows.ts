import type { KubeObject } from '@kubetime/api-machinery';
import type { EventType, Opaque, RequestMetadata, StoredEvent, WriteIntent } from './types';

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

export const EVENT_COLUMNS = `branch_id, revision, key, api_group, api_version, resource, kind, namespace, name, uid,
  type, object, sealed, prev_revision, create_revision, version, actor, cause, request, recorded_at, raw`;

/**
 * An INSERT of many events in one statement: `$1`..`$21` are one array per column, in the order
 * eventColumns fills them, so the statement's size does not depend on how many rows it carries.
 */
export const INSERT_EVENT_COLUMNS = `INSERT INTO events (${EVENT_COLUMNS})
  SELECT b, r, k, g, v, res, kind, ns, n, u, t, o::jsonb, s, p, c, ver, a, cause, req::jsonb, at, raw
    FROM unnest($1::int[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bigint[],
                $15::bigint[], $16::int[], $17::text[], $18::bigint[], $19::text[], $20::timestamptz[],
                $21::bytea[])
      AS x(b, r, k, g, v, res, kind, ns, n, u, t, o, s, p, c, ver, a, cause, req, at, raw)`;

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

/** The column arrays of INSERT_EVENT_COLUMNS for these events (see eventValues). */
export function eventColumns(
  events: StoredEvent[],
  bodies: BodyTransformer,
  storedForm: (event: StoredEvent) => WriteIntent['stored'] | undefined,
): ColumnValue[][] {
  const columns: ColumnValue[][] = Array.from({ length: 21 }, () => []);
  for (const e of events) eventValues(e, bodies, storedForm(e)).forEach((v, i) => columns[i].push(v));
  return columns;
}

export interface EventRow {
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
  object: KubeObject | null;
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

export function withResourceVersion(object: KubeObject, revision: number): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } };
}

/**
 * The body of a row. A value that cannot be read (kept raw, or sealed with a key that is not
 * configured) becomes an identity-only object marked opaque, so one such row never stops a branch
 * from loading; reading that object then fails with the reason, as kube-apiserver answers a value it
 * cannot decrypt.
 */
function bodyOf(row: EventRow, bodies: BodyTransformer): { body: KubeObject; opaque?: Opaque } {
  if (row.object) return { body: row.object };
  if (row.sealed) {
    try {
      return { body: JSON.parse(bodies.open(row.sealed, row.key).toString('utf8')) as KubeObject };
    } catch (error) {
      return {
        body: identity(row),
        opaque: { reason: error instanceof Error ? error.message : String(error) },
      };
    }
  }
  return {
    body: identity(row),
    opaque: {
      reason: `the stored value of ${row.key} (${row.raw?.length ?? 0} bytes) could not be decoded when it was imported; it is kept as raw bytes`,
    },
  };
}

function identity(row: EventRow): KubeObject {
  const apiVersion = row.api_group ? `${row.api_group}/${row.api_version}` : row.api_version;
  const metadata: KubeObject['metadata'] = { name: row.name, uid: row.uid };
  if (row.namespace) metadata.namespace = row.namespace;
  return { apiVersion, kind: row.kind, metadata };
}

export function eventFromRow(row: EventRow, bodies: BodyTransformer): StoredEvent {
  const revision = Number(row.revision);
  const { body, opaque } = bodyOf(row, bodies);
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
    object: withResourceVersion(body, revision),
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
