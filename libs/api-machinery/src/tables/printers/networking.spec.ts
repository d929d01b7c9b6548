import { KubeObject } from '../../object';
import { ago, rowByColumn } from '../spec-fixtures';

describe('networking tables', () => {
  it('prints an Ingress with class, hosts, address and TLS ports', () => {
    const ingress: KubeObject = {
      metadata: { name: 'web', creationTimestamp: ago(3600) },
      spec: {
        ingressClassName: 'traefik',
        tls: [{ hosts: ['a.example.com'], secretName: 'tls' }],
        rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }],
      },
      status: { loadBalancer: { ingress: [{ ip: '192.168.0.7' }] } },
    };
    expect(rowByColumn('networking.k8s.io/v1', 'ingresses', ingress)).toEqual({
      Name: 'web',
      Class: 'traefik',
      Hosts: 'a.example.com,b.example.com',
      Address: '192.168.0.7',
      Ports: '80, 443',
      Age: '60m',
    });
  });

  it('prints * for host-less rules, <none> without a class, and counts extra rules', () => {
    const bare: KubeObject = { metadata: { name: 'catch-all' }, spec: { rules: [{}] } };
    expect(rowByColumn('networking.k8s.io/v1', 'ingresses', bare)).toMatchObject({
      Class: '<none>',
      Hosts: '*',
      Address: '',
      Ports: '80',
    });
    const many: KubeObject = {
      metadata: { name: 'many' },
      spec: { rules: [{ host: 'a' }, {}, { host: 'b' }, { host: 'c' }, { host: 'd' }] },
    };
    expect(rowByColumn('networking.k8s.io/v1', 'ingresses', many).Hosts).toBe('a,b,c + 2 more...');
  });

  it('prints IngressClass parameters as Kind.group/name', () => {
    const ingressClass: KubeObject = {
      metadata: { name: 'external-lb', creationTimestamp: ago(10) },
      spec: {
        controller: 'example.com/ingress-controller',
        parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'external-lb' },
      },
    };
    expect(rowByColumn('networking.k8s.io/v1', 'ingressclasses', ingressClass)).toEqual({
      Name: 'external-lb',
      Controller: 'example.com/ingress-controller',
      Parameters: 'IngressParameters.k8s.example.com/external-lb',
      Age: '10s',
    });
  });

  it('prints a NetworkPolicy selecting every pod as <none>', () => {
    const policy: KubeObject = {
      metadata: { name: 'deny-all', creationTimestamp: ago(10) },
      spec: { podSelector: {} },
    };
    expect(rowByColumn('networking.k8s.io/v1', 'networkpolicies', policy)['Pod-Selector']).toBe('<none>');
  });

  it('prints EndpointSlice ports and addresses', () => {
    const slice: KubeObject = {
      metadata: { name: 'hostname-svc-clusterip-x7k2p', creationTimestamp: ago(660) },
      addressType: 'IPv4',
      ports: [{ name: 'web-port', port: 80, protocol: 'TCP' }],
      endpoints: ['10.42.0.144', '10.42.0.145', '10.42.0.146', '10.42.0.147'].map((ip) => ({
        addresses: [ip],
      })),
    };
    expect(rowByColumn('discovery.k8s.io/v1', 'endpointslices', slice)).toEqual({
      Name: 'hostname-svc-clusterip-x7k2p',
      AddressType: 'IPv4',
      Ports: '80',
      Endpoints: '10.42.0.144,10.42.0.145,10.42.0.146 + 1 more...',
      Age: '11m',
    });
    expect(
      rowByColumn('discovery.k8s.io/v1', 'endpointslices', {
        metadata: { name: 'empty' },
        addressType: 'IPv4',
      }),
    ).toMatchObject({
      Ports: '<unset>',
      Endpoints: '<unset>',
    });
  });
});
