import type { KubeObject } from '@kubetime/api-machinery';
import type { EventType, RequestMetadata, StoredEvent } from './types';

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
  type, object, sealed, prev_revision, create_revision, version, actor, cause, request, recorded_at`;

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
}

export function withResourceVersion(object: KubeObject, revision: number): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } };
}

export function eventFromRow(row: EventRow, bodies: BodyTransformer): StoredEvent {
  const revision = Number(row.revision);
  const body =
    row.object ?? (JSON.parse(bodies.open(row.sealed as Buffer, row.key).toString('utf8')) as KubeObject);
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
  };
}
