import { KubeObject } from '../object';
import { findResourceType, RESOURCE_TYPES } from '../registry';
import { ago, NOW } from './spec-fixtures';
import { renderTable } from './table';

const deployments = findResourceType('apps', 'v1', 'deployments')!;
const roles = findResourceType('rbac.authorization.k8s.io', 'v1', 'roles')!;

const deployment: KubeObject = {
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: '0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d',
    resourceVersion: '126',
    creationTimestamp: ago(9),
    labels: { app: 'web' },
    managedFields: [
      { manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: {} },
    ],
  },
  spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [] } } },
  status: { readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 },
};

describe('renderTable', () => {
  it('wraps rows in a meta.k8s.io/v1 Table with list metadata', () => {
    const table = renderTable(deployments, [deployment], {
      now: NOW,
      includeObject: 'Metadata',
      resourceVersion: '130',
      continueToken: 'eyJydiI6MTMwfQ',
      remainingItemCount: 4,
    });
    expect(table).toMatchObject({
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: '130', continue: 'eyJydiI6MTMwfQ', remainingItemCount: 4 },
    });
    expect((table.columnDefinitions as unknown[]).length).toBe(8);
    expect(table.columnDefinitions).toContainEqual({
      name: 'Name',
      type: 'string',
      format: 'name',
      description: expect.any(String),
      priority: 0,
    });
  });

  it('answers an empty list with empty rows and no continue token', () => {
    const table = renderTable(deployments, [], { now: NOW, includeObject: 'Metadata', resourceVersion: '7' });
    expect(table.rows).toEqual([]);
    expect(table.metadata).toEqual({ resourceVersion: '7' });
  });

  it('puts PartialObjectMetadata without managedFields in rows by default', () => {
    const table = renderTable(deployments, [deployment], { now: NOW, includeObject: 'Metadata' });
    const [row] = table.rows as { cells: unknown[]; object: any }[];
    expect(row.cells.slice(0, 5)).toEqual(['web', '3/3', 3, 3, '9s']);
    expect(row.object).toEqual({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: {
        name: 'web',
        namespace: 'default',
        uid: '0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d',
        resourceVersion: '126',
        creationTimestamp: ago(9),
        labels: { app: 'web' },
      },
    });
    expect(deployment.metadata.managedFields).toHaveLength(1);
  });

  it('embeds the whole typed object for includeObject=Object and null for None', () => {
    const full = renderTable(deployments, [deployment], { now: NOW, includeObject: 'Object' });
    expect((full.rows as any[])[0].object).toMatchObject({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      spec: deployment.spec,
    });
    const none = renderTable(deployments, [deployment], { now: NOW, includeObject: 'None' });
    expect((none.rows as any[])[0].object).toBeNull();
  });

  it('leaves column definitions out for watch events after the first', () => {
    const table = renderTable(deployments, [deployment], {
      now: NOW,
      includeObject: 'Metadata',
      noHeaders: true,
    });
    expect(table).not.toHaveProperty('columnDefinitions');
    expect((table.rows as any[])[0].cells[0]).toBe('web');
  });

  it('falls back to Name and Created At for kinds without a printer', () => {
    const role: KubeObject = {
      metadata: { name: 'pod-reader', creationTimestamp: '2025-09-15T08:30:00Z' },
      rules: [],
    };
    const table = renderTable(roles, [role, { metadata: { name: 'undated' } }], {
      now: NOW,
      includeObject: 'None',
    });
    expect(table.columnDefinitions).toEqual([
      expect.objectContaining({ name: 'Name', type: 'string', format: 'name', priority: 0 }),
      expect.objectContaining({ name: 'Created At', type: 'date', format: '', priority: 0 }),
    ]);
    expect((table.rows as any[]).map((r) => r.cells)).toEqual([
      ['pod-reader', '2025-09-15T08:30:00Z'],
      ['undated', '0001-01-01T00:00:00Z'],
    ]);
  });

  it('renders every served kind without throwing, even for bare objects', () => {
    for (const type of RESOURCE_TYPES) {
      const table = renderTable(type, [{ metadata: { name: 'bare' } }], {
        now: NOW,
        includeObject: 'Metadata',
      });
      const columns = table.columnDefinitions as unknown[];
      const [row] = table.rows as { cells: unknown[] }[];
      expect([type.kind, row.cells.length]).toEqual([type.kind, columns.length]);
    }
  });
});
