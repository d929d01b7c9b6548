import { KubeObject } from '../../object';
import { ago, rowByColumn } from '../spec-fixtures';

describe('rbac binding tables', () => {
  it('prints the role and, wide, the subjects by kind', () => {
    const binding: KubeObject = {
      metadata: { name: 'read-pods', namespace: 'default', creationTimestamp: ago(45) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [
        { kind: 'User', name: 'jane' },
        { kind: 'User', name: 'joe' },
        { kind: 'Group', name: 'devs' },
        { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' },
      ],
    };
    expect(rowByColumn('rbac.authorization.k8s.io/v1', 'rolebindings', binding)).toEqual({
      Name: 'read-pods',
      Role: 'Role/pod-reader',
      Age: '45s',
      Users: 'jane, joe',
      Groups: 'devs',
      ServiceAccounts: 'ci/builder',
    });
    expect(
      rowByColumn('rbac.authorization.k8s.io/v1', 'clusterrolebindings', {
        metadata: { name: 'cluster-admin', creationTimestamp: ago(86400 * 400) },
        roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'Group', name: 'system:masters' }],
      }),
    ).toMatchObject({ Role: 'ClusterRole/cluster-admin', Age: '400d', Users: '', Groups: 'system:masters' });
  });
});
