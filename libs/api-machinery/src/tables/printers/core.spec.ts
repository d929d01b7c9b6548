import { KubeObject } from '../../object';
import { ago, rowByColumn, rowsByColumn } from '../spec-fixtures';

function service(
  name: string,
  spec: Record<string, unknown>,
  status: Record<string, unknown> = {},
): KubeObject {
  return { metadata: { name, namespace: 'default', creationTimestamp: ago(174) }, spec, status };
}

const webPort = { name: 'web-port', port: 8080, targetPort: 80, protocol: 'TCP' };

describe('service table', () => {
  it('prints the ClusterIP and NodePort services of seed 004', () => {
    const rows = rowsByColumn('v1', 'services', [
      service('hostname-svc-clusterip', {
        type: 'ClusterIP',
        clusterIP: '10.43.49.255',
        clusterIPs: ['10.43.49.255'],
        ports: [webPort],
        selector: { app: 'webserver' },
      }),
      service('hostname-svc-nodeport', {
        type: 'NodePort',
        clusterIP: '10.43.36.241',
        clusterIPs: ['10.43.36.241'],
        ports: [{ ...webPort, nodePort: 31294 }],
        selector: { app: 'webserver' },
      }),
    ]);
    expect(rows).toEqual([
      {
        Name: 'hostname-svc-clusterip',
        Type: 'ClusterIP',
        'Cluster-IP': '10.43.49.255',
        'External-IP': '<none>',
        'Port(s)': '8080/TCP',
        Age: '2m54s',
        Selector: 'app=webserver',
      },
      expect.objectContaining({ Type: 'NodePort', 'External-IP': '<none>', 'Port(s)': '8080:31294/TCP' }),
    ]);
  });

  it('shows <pending> for a LoadBalancer without an address, then its ingress points', () => {
    const spec = {
      type: 'LoadBalancer',
      clusterIPs: ['10.43.1.2'],
      ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }],
    };
    expect(rowByColumn('v1', 'services', service('lb', spec))['External-IP']).toBe('<pending>');
    const assigned = service('lb', spec, {
      loadBalancer: {
        ingress: [{ ip: '192.168.0.7' }, { hostname: 'lb.example.com' }, { ip: '192.168.0.7' }],
      },
    });
    expect(rowByColumn('v1', 'services', assigned)).toMatchObject({
      'External-IP': '192.168.0.7,lb.example.com',
      'Port(s)': '80:30080/TCP',
    });
  });

  it('prints an ExternalName service with its target and no ports', () => {
    const row = rowByColumn(
      'v1',
      'services',
      service('externalname-svc', { type: 'ExternalName', externalName: 'my.database.com' }),
    );
    expect(row).toMatchObject({
      Type: 'ExternalName',
      'Cluster-IP': '<none>',
      'External-IP': 'my.database.com',
      'Port(s)': '<none>',
      Selector: '<none>',
    });
  });
});

describe('endpoints table', () => {
  it('lists ip:port pairs as in seed 004 and counts the rest', () => {
    const ips = ['10.42.0.144', '10.42.0.145', '10.42.0.146'];
    const endpoints = (name: string, addresses: string[]): KubeObject => ({
      metadata: { name, creationTimestamp: ago(660) },
      subsets: [{ addresses: addresses.map((ip) => ({ ip })), ports: [{ name: 'web-port', port: 80 }] }],
    });
    const rows = rowsByColumn('v1', 'endpoints', [
      endpoints('hostname-svc-clusterip', ips),
      endpoints('bigger', [...ips, '10.42.0.147', '10.42.0.148']),
      { metadata: { name: 'no-pods', creationTimestamp: ago(5) } },
    ]);
    expect(rows.map((r) => r.Endpoints)).toEqual([
      '10.42.0.144:80,10.42.0.145:80,10.42.0.146:80',
      '10.42.0.144:80,10.42.0.145:80,10.42.0.146:80 + 2 more...',
      '<none>',
    ]);
    expect(rows[0].Age).toBe('11m');
  });
});

describe('node table', () => {
  const node = (
    labels: Record<string, string>,
    ready: string | undefined,
    unschedulable = false,
  ): KubeObject => ({
    metadata: { name: 'rpi4b', labels, creationTimestamp: ago(86400 * 25) },
    spec: unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        ...(ready === undefined ? [] : [{ type: 'Ready', status: ready }]),
      ],
      addresses: [
        { type: 'InternalIP', address: '192.168.0.7' },
        { type: 'Hostname', address: 'rpi4b' },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.5+k3s1',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.6.51+rpt-rpi-v8',
        containerRuntimeVersion: 'containerd://1.7.23-k3s2',
      },
    },
  });

  it('prints a ready control-plane node with roles and its wide cells', () => {
    const labels = {
      'node-role.kubernetes.io/master': 'true',
      'node-role.kubernetes.io/control-plane': 'true',
    };
    expect(rowByColumn('v1', 'nodes', node(labels, 'True'))).toEqual({
      Name: 'rpi4b',
      Status: 'Ready',
      Roles: 'control-plane,master',
      Age: '25d',
      Version: 'v1.32.5+k3s1',
      'Internal-IP': '192.168.0.7',
      'External-IP': '<none>',
      'OS-Image': 'Debian GNU/Linux 12 (bookworm)',
      'Kernel-Version': '6.6.51+rpt-rpi-v8',
      'Container-Runtime': 'containerd://1.7.23-k3s2',
    });
  });

  it.each([
    ['True', true, 'Ready,SchedulingDisabled'],
    ['False', false, 'NotReady'],
    ['Unknown', false, 'NotReady'],
    [undefined, false, 'Unknown'],
  ])('Ready=%s unschedulable=%s is %s', (ready, unschedulable, expected) => {
    expect(rowByColumn('v1', 'nodes', node({}, ready, unschedulable)).Status).toBe(expected);
  });

  it('shows <none> without role labels and honours the legacy role label', () => {
    expect(rowByColumn('v1', 'nodes', node({}, 'True')).Roles).toBe('<none>');
    expect(rowByColumn('v1', 'nodes', node({ 'kubernetes.io/role': 'worker' }, 'True')).Roles).toBe('worker');
  });
});

describe('config and identity tables', () => {
  it('counts ConfigMap, Secret and ServiceAccount entries', () => {
    const at = ago(86400 * 45);
    expect(
      rowByColumn('v1', 'configmaps', {
        metadata: { name: 'kube-root-ca.crt', creationTimestamp: at },
        data: { 'ca.crt': 'x' },
        binaryData: { blob: 'eA==' },
      }),
    ).toEqual({ Name: 'kube-root-ca.crt', Data: 2, Age: '45d' });
    expect(
      rowByColumn('v1', 'secrets', {
        metadata: { name: 'db-pass', creationTimestamp: at },
        type: 'Opaque',
        data: { user: 'YQ==', password: 'Yg==' },
      }),
    ).toEqual({ Name: 'db-pass', Type: 'Opaque', Data: 2, Age: '45d' });
    expect(
      rowByColumn('v1', 'serviceaccounts', { metadata: { name: 'default', creationTimestamp: at } }),
    ).toEqual({
      Name: 'default',
      Secrets: 0,
      Age: '45d',
    });
    expect(
      rowByColumn('v1', 'namespaces', {
        metadata: { name: 'default', creationTimestamp: at },
        status: { phase: 'Active' },
      }),
    ).toEqual({ Name: 'default', Status: 'Active', Age: '45d' });
  });
});

describe('volume tables', () => {
  it('prints a bound PersistentVolume and its claim', () => {
    const volume: KubeObject = {
      metadata: { name: 'pvc-3f2a', creationTimestamp: ago(600) },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteMany', 'ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'local-path',
        claimRef: { namespace: 'default', name: 'data' },
        volumeMode: 'Filesystem',
      },
      status: { phase: 'Bound' },
    };
    expect(rowByColumn('v1', 'persistentvolumes', volume)).toEqual({
      Name: 'pvc-3f2a',
      Capacity: '1Gi',
      'Access Modes': 'RWO,RWX',
      'Reclaim Policy': 'Delete',
      Status: 'Bound',
      Claim: 'default/data',
      StorageClass: 'local-path',
      VolumeAttributesClass: '<unset>',
      Reason: '',
      Age: '10m',
      VolumeMode: 'Filesystem',
    });

    const claim: KubeObject = {
      metadata: { name: 'data', creationTimestamp: ago(600) },
      spec: {
        volumeName: 'pvc-3f2a',
        storageClassName: 'local-path',
        resources: { requests: { storage: '1Gi' } },
      },
      status: { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] },
    };
    expect(rowByColumn('v1', 'persistentvolumeclaims', claim)).toEqual({
      Name: 'data',
      Status: 'Bound',
      Volume: 'pvc-3f2a',
      Capacity: '1Gi',
      'Access Modes': 'RWO',
      StorageClass: 'local-path',
      VolumeAttributesClass: '<unset>',
      Age: '10m',
      VolumeMode: '<unset>',
    });
  });

  it('leaves capacity blank on a pending claim and shows Terminating when deleted', () => {
    const claim: KubeObject = {
      metadata: { name: 'waiting', creationTimestamp: ago(5), deletionTimestamp: ago(1) },
      spec: { resources: { requests: { storage: '5Gi' } } },
      status: { phase: 'Pending' },
    };
    expect(rowByColumn('v1', 'persistentvolumeclaims', claim)).toMatchObject({
      Status: 'Terminating',
      Volume: '',
      Capacity: '',
      'Access Modes': '',
      StorageClass: '',
    });
  });
});

describe('quota and template tables', () => {
  it('splits ResourceQuota usage into request and limit columns', () => {
    const quota: KubeObject = {
      metadata: { name: 'compute', creationTimestamp: ago(30) },
      status: {
        hard: { 'limits.memory': '2Gi', 'requests.cpu': '1', pods: '10', 'limits.cpu': '2' },
        used: { 'requests.cpu': '500m', pods: '3', 'limits.cpu': '1' },
      },
    };
    expect(rowByColumn('v1', 'resourcequotas', quota)).toEqual({
      Name: 'compute',
      Request: 'pods: 3/10, requests.cpu: 500m/1',
      Limit: 'limits.cpu: 1/2, limits.memory: 0/2Gi',
      Age: '30s',
    });
  });

  it('prints a PodTemplate without an age column', () => {
    const podTemplate: KubeObject = {
      metadata: { name: 'tpl' },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      },
    };
    expect(rowByColumn('v1', 'podtemplates', podTemplate)).toEqual({
      Name: 'tpl',
      Containers: 'web',
      Images: 'nginx',
      'Pod Labels': 'app=web',
    });
  });
});
