/** Shared by the table specs: a fixed clock and a way to read a rendered row by column name. */
import { KubeObject, rfc3339 } from '../object';
import { findResourceType } from '../registry';
import { renderTable } from './table';

export const NOW = new Date('2025-10-10T04:00:00Z');

/** An RFC 3339 timestamp `seconds` before NOW. */
export function ago(seconds: number): string {
  return rfc3339(new Date(NOW.getTime() - seconds * 1000));
}

export function render(apiVersion: string, resource: string, objects: KubeObject[]) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const type = findResourceType(group, version, resource);
  if (!type) throw new Error(`no resource type ${apiVersion} ${resource}`);
  return renderTable(type, objects, { now: NOW, includeObject: 'Metadata' }) as {
    columnDefinitions: { name: string; type: string; format: string; priority: number }[];
    rows: { cells: unknown[]; conditions?: unknown[]; object: unknown }[];
  };
}

/** Each row as `{ column name: cell }`, so expectations read like kubectl output. */
export function rowsByColumn(apiVersion: string, resource: string, objects: KubeObject[]) {
  const table = render(apiVersion, resource, objects);
  return table.rows.map((row) =>
    Object.fromEntries(table.columnDefinitions.map((column, i) => [column.name, row.cells[i]])),
  );
}

export function rowByColumn(apiVersion: string, resource: string, object: KubeObject) {
  return rowsByColumn(apiVersion, resource, [object])[0];
}
