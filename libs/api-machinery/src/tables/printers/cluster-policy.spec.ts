import { KubeObject } from '../../object';
import { ago, rowByColumn } from '../spec-fixtures';

describe('policy, storage, scheduling and coordination tables', () => {
  it('prints PodDisruptionBudget bounds with N/A for the unset one', () => {
    const budget: KubeObject = {
      metadata: { name: 'web-pdb', creationTimestamp: ago(30) },
      spec: { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } },
      status: { disruptionsAllowed: 1 },
    };
    expect(rowByColumn('policy/v1', 'poddisruptionbudgets', budget)).toEqual({
      Name: 'web-pdb',
      'Min Available': '50%',
      'Max Unavailable': 'N/A',
      'Allowed Disruptions': 1,
      Age: '30s',
    });
  });

  it('marks the default StorageClass and fills defaults', () => {
    const storageClass: KubeObject = {
      metadata: {
        name: 'local-path',
        creationTimestamp: ago(86400 * 25),
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
    };
    expect(rowByColumn('storage.k8s.io/v1', 'storageclasses', storageClass)).toEqual({
      Name: 'local-path (default)',
      Provisioner: 'rancher.io/local-path',
      ReclaimPolicy: 'Delete',
      VolumeBindingMode: 'WaitForFirstConsumer',
      AllowVolumeExpansion: false,
      Age: '25d',
    });
  });

  it('prints PriorityClass value, default flag and preemption policy', () => {
    const priorityClass: KubeObject = {
      metadata: { name: 'system-cluster-critical', creationTimestamp: ago(86400 * 25) },
      value: 2000000000,
      preemptionPolicy: 'PreemptLowerPriority',
    };
    expect(rowByColumn('scheduling.k8s.io/v1', 'priorityclasses', priorityClass)).toEqual({
      Name: 'system-cluster-critical',
      Value: 2000000000,
      'Global-Default': false,
      Age: '25d',
      PreemptionPolicy: 'PreemptLowerPriority',
    });
  });

  it('prints the Lease holder', () => {
    const lease: KubeObject = {
      metadata: { name: 'rpi4b', namespace: 'kube-node-lease', creationTimestamp: ago(86400 * 25) },
      spec: { holderIdentity: 'rpi4b', leaseDurationSeconds: 40 },
    };
    expect(rowByColumn('coordination.k8s.io/v1', 'leases', lease)).toEqual({
      Name: 'rpi4b',
      Holder: 'rpi4b',
      Age: '25d',
    });
  });
});
