import { KubeObject, ObjectMeta, rfc3339 } from '../object';
import { groupVersion, ResourceType } from '../registry';
import { columns, NAME_COLUMN, Printer } from './printer';
import { printerFor } from './printers';

export interface TableOptions {
  now: Date;
  includeObject: 'None' | 'Metadata' | 'Object';
  /** Watch events after the first carry rows only. */
  noHeaders?: boolean;
  resourceVersion?: string;
  continueToken?: string;
  remainingItemCount?: number;
}

const TABLE_API_VERSION = 'meta.k8s.io/v1';

/** Kinds without a printer of their own: the name and the creation time in RFC 3339. */
const defaultPrinter: Printer = {
  columns: columns(NAME_COLUMN, ['Created At', 'date', 'When the object was created (RFC 3339).']),
  row: (object) => ({
    cells: [object.metadata.name ?? '', createdAt(object.metadata.creationTimestamp)],
  }),
};

/** A missing timestamp prints as Go's zero time, the way kube-apiserver formats it. */
function createdAt(timestamp: string | null | undefined): string {
  const at = timestamp ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(at)) return '0001-01-01T00:00:00Z';
  return rfc3339(new Date(at));
}

function partialObjectMetadata(object: KubeObject): Record<string, unknown> {
  const metadata: ObjectMeta = { ...object.metadata };
  delete metadata.managedFields;
  return { kind: 'PartialObjectMetadata', apiVersion: TABLE_API_VERSION, metadata };
}

function rowObject(type: ResourceType, object: KubeObject, includeObject: TableOptions['includeObject']) {
  switch (includeObject) {
    case 'None':
      return null;
    case 'Object':
      return { ...object, kind: type.kind, apiVersion: groupVersion(type) };
    case 'Metadata':
      return partialObjectMetadata(object);
  }
}

/**
 * The meta.k8s.io/v1 Table kube-apiserver answers `kubectl get` with. Rows always hold
 * every cell, wide ones included; kubectl drops priority-1 columns unless asked for `-o wide`.
 */
export function renderTable(
  type: ResourceType,
  objects: KubeObject[],
  opts: TableOptions,
): Record<string, unknown> {
  const printer = printerFor(type.group, type.kind) ?? defaultPrinter;

  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continueToken) metadata.continue = opts.continueToken;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;

  const rows = objects.map((object) => {
    const { cells, conditions } = printer.row(object, opts.now);
    const row: Record<string, unknown> = { cells };
    if (conditions) row.conditions = conditions;
    row.object = rowObject(type, object, opts.includeObject);
    return row;
  });

  const table: Record<string, unknown> = { kind: 'Table', apiVersion: TABLE_API_VERSION, metadata };
  if (!opts.noHeaders) table.columnDefinitions = printer.columns.map((column) => ({ ...column }));
  table.rows = rows;
  return table;
}
